// Package durability holds the crash-durability test of the metadata store
// (reliability.md T1, issue 2): a real `azimuth server` process, on SQLite
// and on PostgreSQL, is killed with SIGKILL while 1,000 connector creates
// run against it; after each restart every create that was answered with
// success must be there, unchanged, and the database must be intact.
//
//	go test -count=1 -v ./e2e/durability/
//	AZIMUTH_CRASH_CYCLES=30 go test -count=1 -timeout 60m ./e2e/durability/   # PR setting of T1
package durability

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // integrity_check on the SQLite file

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// Defaults: a few cycles of 1,000 creates each at 32 at a time.
const (
	defaultCycles = 3
	createsPerRun = 1000
	concurrency   = 32
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// azimuthBinary builds cmd/azimuth once for the whole test binary.
func azimuthBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "azimuth-durability-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "azimuth")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/azimuthcd/azimuth/cmd/azimuth")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func cycles(t *testing.T) int {
	v := os.Getenv("AZIMUTH_CRASH_CYCLES")
	if v == "" {
		return defaultCycles
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("AZIMUTH_CRASH_CYCLES=%q: want a positive number", v)
	}
	return n
}

// freePort finds a loopback port for the server to keep across restarts.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is one run of `azimuth server`.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	logs *bytes.Buffer
}

type serverSpec struct {
	bin, dataDir, dbURL, keyFile string
	port                         int
}

func (s serverSpec) url() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

// start runs the server and waits until /readyz answers.
func (s serverSpec) start(t *testing.T) *proc {
	t.Helper()
	cmd := exec.Command(s.bin, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", s.port), "--data-dir", s.dataDir,
		"--database-url", s.dbURL, "--master-key-file", s.keyFile, "--account", "acme", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "AZIMUTH_DATABASE_URL=", "AZIMUTH_LISTEN=")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &logs}, &syncWriter{w: &logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), logs: &logs}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("server exited while starting: %v\n%s", err, p.logs)
		default:
		}
		resp, err := http.Get(s.url() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready within 60 s:\n%s", p.logs)
	return nil
}

// kill sends SIGKILL (no chance to flush anything) and waits for the exit.
func (p *proc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(30 * time.Second):
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("graceful stop: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("server did not stop on SIGTERM")
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func connectorDoc(id string) []byte {
	return []byte(fmt.Sprintf(`{"connector":{"name":"crash %[1]s","identifier":"%[1]s","orgIdentifier":"default","projectIdentifier":"web",
"tags":{"cycle":"%[1]s"},"type":"Azure","spec":{"azureEnvironmentType":"AZURE","executeOnDelegate":false,
"credential":{"type":"ManualConfig","spec":{"applicationId":"app-%[1]s","tenantId":"tenant-1",
"auth":{"type":"Secret","spec":{"secretRef":"account.sp-secret"}}}}}}}`, id))
}

// acked is a create the server answered with success.
type acked struct {
	doc     json.RawMessage // the connector object of the answer
	version int64
}

func TestCrashDurabilitySQLite(t *testing.T) {
	dir := t.TempDir()
	crashTest(t, filepath.Join(dir, "azimuth.db"), func(t *testing.T) {
		integritySQLite(t, filepath.Join(dir, "azimuth.db"))
	}, dir)
}

func TestCrashDurabilityPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	crashTest(t, dsn, func(t *testing.T) { integrityPostgres(t, dsn) }, t.TempDir())
}

// crashTest runs the cycles against one database: creates, SIGKILL in the
// middle, integrity check, restart, every acknowledged create present.
func crashTest(t *testing.T, dbURL string, integrity func(*testing.T), dataDir string) {
	// -short leaves out this slow test on a developer's machine; in CI it
	// always runs.
	if testing.Short() && !testenv.InCI() {
		t.Skip("builds the binary and kills servers; not in -short (always run with CI=true)")
	}
	bin := azimuthBinary(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	m, err := secret.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, m.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := serverSpec{bin: bin, dataDir: dataDir, dbURL: dbURL, keyFile: keyFile, port: freePort(t)}
	p := spec.start(t)
	key, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Options{BaseURL: spec.url(), APIKey: strings.TrimSpace(string(key)), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CreateProject(ctx, "default", client.ProjectInfo{Identifier: "web", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTextSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: "sp-secret"}, []byte("s3cret-value")); err != nil {
		t.Fatal(err)
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 42))
	t.Logf("seed %d", seed)
	all := map[string]acked{}  // every acknowledged create so far
	tried := map[string]bool{} // every create sent, answered or not
	web := client.Scope{Org: "default", Project: "web"}
	n := cycles(t)
	for cycle := 0; cycle < n; cycle++ {
		// Kill after this many successes: somewhere in the middle.
		killAfter := int64(100 + rng.IntN(createsPerRun*6/10))
		got, sent, errs := createAndKill(t, c, p, cycle, killAfter)
		for id, a := range got {
			all[id] = a
		}
		for id := range sent {
			tried[id] = true
		}
		t.Logf("cycle %d: %d creates answered with success before SIGKILL (after %d), %d sent, %d failed at the crash",
			cycle, len(got), killAfter, len(sent), errs)
		if len(got) < int(killAfter) {
			t.Fatalf("cycle %d: only %d successes before the kill:\n%s", cycle, len(got), p.logs)
		}
		integrity(t)
		p = spec.start(t)

		// Every acknowledged create is present and equal.
		for id, a := range all {
			cur, err := c.GetConnector(ctx, web, id)
			if err != nil {
				t.Fatalf("cycle %d: acknowledged connector %s is lost: %v", cycle, id, err)
			}
			if !jsonEqual(cur.Connector.Raw, a.doc) || cur.Version != a.version {
				t.Fatalf("cycle %d: connector %s changed across the crash:\nacked %s (v%d)\nnow   %s (v%d)", cycle, id, a.doc, a.version, cur.Connector.Raw, cur.Version)
			}
		}
		// Nothing that was never sent appeared, and what is there is whole.
		items, err := client.All(ctx, func(ctx context.Context, i int) (client.Page[client.Connector], error) {
			return c.ListConnectors(ctx, web, client.ListConnectorsOptions{ListOptions: client.ListOptions{PageIndex: i, PageSize: 1000}})
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			id := it.Connector.Identifier
			if !tried[id] {
				t.Fatalf("cycle %d: connector %s was never sent", cycle, id)
			}
			if it.Connector.Spec == nil || it.Status.Status != "PENDING" {
				t.Fatalf("cycle %d: connector %s is half there: %s", cycle, id, it.Connector.Raw)
			}
		}
		if len(items) < len(all) {
			t.Fatalf("cycle %d: %d connectors listed, %d acknowledged", cycle, len(items), len(all))
		}
		t.Logf("cycle %d: all %d acknowledged creates present; %d connectors in all (the rest were in flight at the kill)", cycle, len(all), len(items))
	}
	// The audit chain survived every crash.
	if v, err := c.VerifyAudit(ctx); err != nil || !v.Valid {
		t.Fatalf("audit chain after %d crashes: %+v %v", n, v, err)
	}
	p.stop(t)
	integrity(t)
}

// createAndKill fires createsPerRun creates, concurrency at a time, and
// kills the server once killAfter of them succeeded.
func createAndKill(t *testing.T, c *client.Client, p *proc, cycle int, killAfter int64) (map[string]acked, map[string]bool, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu       sync.Mutex
		got      = map[string]acked{}
		sent     = map[string]bool{}
		failed   int
		ok       atomic.Int64
		killOnce sync.Once
		wg       sync.WaitGroup
	)
	ids := make(chan string)
	go func() {
		defer close(ids)
		for i := 0; i < createsPerRun; i++ {
			select {
			case ids <- fmt.Sprintf("c%d_%d", cycle, i):
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				mu.Lock()
				sent[id] = true
				mu.Unlock()
				r, err := c.CreateConnector(context.Background(), connectorDoc(id))
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					if ok.Load() < killAfter {
						t.Errorf("create %s failed before the kill: %v", id, err)
					}
					cancel() // the server is gone: stop sending
					continue
				}
				mu.Lock()
				got[id] = acked{doc: r.Connector.Raw, version: r.Version}
				mu.Unlock()
				if ok.Add(1) == killAfter {
					killOnce.Do(p.kill)
				}
			}
		}()
	}
	wg.Wait()
	killOnce.Do(p.kill) // all creates answered before the threshold
	return got, sent, failed
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// integritySQLite runs PRAGMA integrity_check on the file of a killed
// server (opening it recovers the WAL, as the next start would).
func integritySQLite(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Fatalf("PRAGMA integrity_check: %v", res)
	}
}

// integrityPostgres checks every B-tree index (bt_index_check with heapallindexed)
// and every table's heap (verify_heapam) with amcheck.
func integrityPostgres(t *testing.T, dsn string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS amcheck"); err != nil {
		testenv.Missing(t, "the amcheck extension: %v", err)
		return
	}
	var indexes int
	err = db.QueryRowContext(ctx, `SELECT count(bt_index_check(c.oid, true))
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace AND c.relpersistence <> 't'`).Scan(&indexes)
	if err != nil {
		t.Fatalf("amcheck indexes: %v", err)
	}
	var corrupt int
	var detail sql.NullString
	err = db.QueryRowContext(ctx, `SELECT count(*), string_agg(v.msg, '; ')
		FROM pg_class c, LATERAL verify_heapam(c.oid) v
		WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`).Scan(&corrupt, &detail)
	if err != nil {
		t.Fatalf("amcheck heap: %v", err)
	}
	if corrupt != 0 {
		t.Fatalf("verify_heapam found %d problems: %s", corrupt, detail.String)
	}
	if indexes == 0 {
		t.Fatal("amcheck checked no index: wrong schema?")
	}
}
