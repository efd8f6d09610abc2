package delegates

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

const inherit = `{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`

// stamps records when each task's executor started, keyed by its message.
type stamps struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *stamps) executors() map[task.Kind]ops.Func {
	ex := ops.Registry()
	ex[ops.KindDiagEcho] = func(ctx context.Context, env *ops.Env, in ops.Input) (any, error) {
		now := time.Now()
		var p ops.DiagParams
		_ = json.Unmarshal(in.Params, &p)
		s.mu.Lock()
		s.at[p.Message] = now
		s.mu.Unlock()
		return ops.DiagEcho(ctx, env, in)
	}
	return ex
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(float64(len(d)-1) * p)
	return d[i]
}

// BenchmarkDispatch: dispatch latency (task created → its executor starts
// on a delegate) over 1,000 tasks with 4 delegates, one at a time and 64
// at a time, and the throughput, on SQLite and on PostgreSQL.
func BenchmarkDispatch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchDispatch(b, serverOpts{}) })
	b.Run("postgres", func(b *testing.B) { benchDispatch(b, serverOpts{dbURL: testenv.Postgres(b)}) })
}

func benchDispatch(b *testing.B, o serverOpts) {
	r := startServer(b, o)
	tok := r.token(b, "bench")
	st := &stamps{at: map[string]time.Time{}}
	for i := range 4 {
		startAgent(b, r.url, tok, fmt.Sprintf("bench-%d", i), []string{"bench"}, 32, st.executors())
	}
	waitDelegates(b, r, 4)
	r.createConnector(b, connectorDoc("bench", []string{"bench"}, inherit))
	const tasks = 1000
	for _, inFlight := range []int{1, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			var lat []time.Duration
			var total time.Duration
			for it := 0; it < b.N; it++ {
				sub := make([]time.Time, tasks)
				var wg sync.WaitGroup
				sem := make(chan struct{}, inFlight)
				start := time.Now()
				for i := range tasks {
					sem <- struct{}{}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer func() { <-sem }()
						msg := fmt.Sprintf("%d-%d-%d", inFlight, it, i)
						sub[i] = time.Now()
						if _, err := r.run(context.Background(), "bench", ops.KindDiagEcho, `{"message":"`+msg+`"}`); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				total += time.Since(start)
				st.mu.Lock()
				for i := range tasks {
					at, ok := st.at[fmt.Sprintf("%d-%d-%d", inFlight, it, i)]
					if !ok {
						b.Fatalf("task %d never started", i)
					}
					lat = append(lat, at.Sub(sub[i]))
				}
				st.mu.Unlock()
			}
			p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(tasks*b.N)/total.Seconds(), "tasks/s")
			b.Logf("%d tasks, %d in flight, 4 delegates: dispatch p50 %s p99 %s, %.0f tasks/s", tasks*b.N, inFlight, p50, p99, float64(tasks*b.N)/total.Seconds())
		})
	}
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// BenchmarkDelegateMemory: the resident memory of a real `azimuth
// delegate` process idle and with 100 tasks in flight.
func BenchmarkDelegateMemory(b *testing.B) {
	r := startServer(b, serverOpts{lease: 10 * time.Second})
	tok := r.token(b, "mem")
	p := startDelegate(b, r.url, tok, "mem", []string{"mem"}, "--concurrency", "100", "--log-level", "warn")
	waitDelegates(b, r, 1)
	r.createConnector(b, connectorDoc("mem", []string{"mem"}, inherit))
	for it := 0; it < b.N; it++ {
		time.Sleep(time.Second) // let it settle after registering
		idle, err := rssKiB(p.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.run(context.Background(), "mem", ops.KindDiagSleep, `{"millis":4000}`); err != nil {
					b.Error(err)
				}
			}()
		}
		peak, running := 0, 0
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			l, _, err := r.srv.Store.ListTasks(context.Background(), store.TaskFilter{Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: account}, Subtree: true}}, Status: store.TaskRunning, Page: store.Page{Size: 200}})
			if err != nil {
				b.Fatal(err)
			}
			if kib, err := rssKiB(p.cmd.Process.Pid); err == nil && len(l) >= running {
				running = len(l)
				peak = max(peak, kib)
			}
			if running >= 100 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		wg.Wait()
		b.ReportMetric(float64(idle)/1024, "idle-MiB")
		b.ReportMetric(float64(peak)/1024, "100-inflight-MiB")
		b.Logf("delegate RSS: idle %.1f MiB, with %d tasks in flight %.1f MiB", float64(idle)/1024, running, float64(peak)/1024)
	}
}
