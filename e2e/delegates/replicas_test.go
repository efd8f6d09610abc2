package delegates

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serverProc is a real `azimuth server` process.
type serverProc struct {
	url  string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func startServerProc(t *testing.T, dataDir, dsn, keyFile, cloudConfig string) *serverProc {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(azimuthBinary(t), "server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir,
		"--database-url", dsn, "--master-key-file", keyFile, "--account", account, "--cloud-config", cloudConfig,
		"--delegate-lease", "2s", "--delegate-heartbeat", "1s", "--retest-interval", "0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "AZIMUTH_DATABASE_URL=", "AZIMUTH_LISTEN=")
	p := &serverProc{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, out: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server %s output:\n%s", p.url, p.out.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s not ready in 60 s:\n%s", p.url, p.out.String())
		}
	}
}

// TestReplicaKill (reliability.md's scale-out check): two real server
// processes on one PostgreSQL database, four delegates split between them,
// connection tests of a managed-identity connector through both, slowed by
// the simulator; one replica is killed with SIGKILL mid-run. Every test
// through the survivor succeeds, and no task is left queued or running:
// the ones the dead replica's delegates held are run again by the
// survivor's once their leases run out.
func TestReplicaKill(t *testing.T) {
	dsn := testenv.Postgres(t)
	sim := azuresim.StartForTestWith(t, azuresim.Options{})
	dir := t.TempDir()
	serverCfg, hostCfg := writeCloudConfigs(t, sim, dir)
	keyFile := filepath.Join(dir, "master.key")
	m, _ := secret.GenerateMasterKey()
	if err := os.WriteFile(keyFile, m.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	dirA, dirB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	a := startServerProc(t, dirA, dsn, keyFile, serverCfg)
	b := startServerProc(t, dirB, dsn, keyFile, serverCfg)
	keyBytes, err := os.ReadFile(filepath.Join(dirA, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	ca, _ := client.New(client.Options{BaseURL: a.url, APIKey: key, Account: account})
	cb, _ := client.New(client.Options{BaseURL: b.url, APIKey: key, Account: account})
	_, tok, err := ca.CreateDelegateToken(context.Background(), client.Scope{}, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		srv := a.url
		if i%2 == 1 {
			srv = b.url
		}
		startDelegate(t, srv, tok, fmt.Sprintf("mi-%d", i), []string{"mi"}, "--cloud-config", hostCfg, "--log-level", "warn")
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ds, err := cb.ListDelegates(context.Background(), client.Scope{})
		n := 0
		for _, d := range ds {
			if d.Connected {
				n++
			}
		}
		if err == nil && n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delegates: %+v %v", ds, err)
		}
	}
	if _, err := cb.CreateConnector(context.Background(), connectorDoc("mi", []string{"mi"}, inherit)); err != nil {
		t.Fatal(err)
	}
	// Every connection test takes over a second in ARM.
	if _, err := sim.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Latency: azuresim.Duration(1200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	const perReplica = 12
	var wg sync.WaitGroup
	errs := make(chan error, 2*perReplica)
	for i := range 2 * perReplica {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.TestConnector(context.Background(), client.Scope{}, "mi", nil)
			if c == ca {
				return // its replica is killed: any answer will do
			}
			if err != nil {
				errs <- fmt.Errorf("a test through the surviving replica: %v", err)
			} else if res.Status != "SUCCESS" {
				errs <- fmt.Errorf("a test through the surviving replica: %s %+v", res.Status, res.Errors)
			}
		}()
	}
	time.Sleep(600 * time.Millisecond)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var open, total, retried int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := db.QueryRow(`SELECT COUNT(*) FILTER (WHERE status IN ('QUEUED', 'RUNNING')), COUNT(*), COUNT(*) FILTER (WHERE attempts > 1) FROM tasks WHERE kind = 'azure.validate'`).Scan(&open, &total, &retried); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tasks still open 60 s after the kill", open, total)
		}
	}
	var bad int
	_ = db.QueryRow(`SELECT COUNT(*) FROM tasks WHERE kind = 'azure.validate' AND attempts > max_attempts`).Scan(&bad)
	if bad > 0 || total < perReplica {
		t.Fatalf("%d tasks, %d over their attempts", total, bad)
	}
	t.Logf("%d connection tests, replica A killed mid-run: all through B succeeded; every task ended within %s of the kill; %d ran a second time after a lease ran out",
		total, time.Since(killed).Round(time.Millisecond), retried)
}
