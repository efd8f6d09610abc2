package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

type syncBuf = testenv.Buffer

func run(ctx context.Context, args ...string) (int, string, string) {
	var out, errb syncBuf
	code := Main(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// start runs a command in the background until the returned stop is called;
// stop returns its exit code and output.
func start(t *testing.T, args ...string) (stop func() (int, string, string), out *syncBuf) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var o, e syncBuf
	done := make(chan int, 1)
	go func() { done <- Main(ctx, args, strings.NewReader(""), &o, &e) }()
	return func() (int, string, string) {
		cancel()
		select {
		case c := <-done:
			return c, o.String(), e.String()
		case <-time.After(30 * time.Second):
			t.Fatal("command did not stop")
			return 0, "", ""
		}
	}, &o
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if f() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestServerRefusesWithoutMasterKey(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := run(context.Background(), "server", "--data-dir", dir, "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(stderr, "refusing to start") || !strings.Contains(stderr, "head -c 32 /dev/urandom") {
		t.Fatalf("code %d, stderr %s", code, stderr)
	}
	code, _, stderr = run(context.Background(), "server", "--listen", "nope")
	if code != ExitUsage || !strings.Contains(stderr, "listen address") {
		t.Fatalf("bad flag: code %d, %s", code, stderr)
	}
}

func writeKey(t *testing.T, path string) {
	t.Helper()
	k, err := secret.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, k.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServerLifecycle: first start prints the admin key once and writes it
// (0600); a restart reuses the account; a wrong master key is refused; the
// offline rotation works on the stopped server's database.
func TestServerLifecycle(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	writeKey(t, keyFile)
	args := []string{"server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--account", "acme", "--master-key-file", keyFile}
	stop, out := start(t, args...)
	waitFor(t, "serving", func() bool { return strings.Contains(out.String(), "serving on") })
	code, stdout, stderr := stop()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	adminFile := filepath.Join(dir, "admin-api-key")
	b, err := os.ReadFile(adminFile)
	if err != nil || mode(t, adminFile) != 0o600 {
		t.Fatalf("admin key file: %v %o", err, mode(t, adminFile))
	}
	key := strings.TrimSpace(string(b))
	if !strings.HasPrefix(key, "azk.acme.") || !strings.Contains(stdout, key) {
		t.Fatalf("first start did not print the key: %s", stdout)
	}
	if strings.Contains(stderr, key) {
		t.Fatal("the key is in the log")
	}
	stop, out = start(t, args...)
	waitFor(t, "serving", func() bool { return strings.Contains(out.String(), "serving on") })
	if _, stdout, _ := stop(); strings.Contains(stdout, "Admin API key") {
		t.Fatal("second start printed an admin key")
	}
	// Offline rotation on the stopped server's database.
	code, stdout, stderr = run(context.Background(), "operator", "rotate-key", "--offline", "--data-dir", dir, "--master-key-file", keyFile)
	if code != 0 || !strings.Contains(stdout, "Data key 2 is active") {
		t.Fatalf("offline rotate: %d %s %s", code, stdout, stderr)
	}
	// Another master key is refused.
	other := filepath.Join(dir, "other.key")
	writeKey(t, other)
	code, _, stderr = run(context.Background(), "server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--master-key-file", other)
	if code == 0 || !strings.Contains(stderr, "does not match") {
		t.Fatalf("wrong key: %d %s", code, stderr)
	}
}

// TestDev: one command, everything in --dir, dev.json with the URL and
// key, a working API, online rotation, graceful stop.
func TestDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	stop, _ := start(t, "dev", "--dir", dir, "--listen", "127.0.0.1:0")
	info := filepath.Join(dir, "dev.json")
	waitFor(t, "dev.json", func() bool { _, err := os.Stat(info); return err == nil })
	var d DevInfo
	b, _ := os.ReadFile(info)
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{info, filepath.Join(dir, "master.key"), filepath.Join(dir, "admin-api-key"), filepath.Join(dir, "azimuth.db")} {
		if m := mode(t, f); m != 0o600 {
			t.Errorf("%s has mode %o", f, m)
		}
	}
	if d.URL == "" || !strings.HasPrefix(d.APIKey, "azk.default.") || d.AccountIdentifier != "default" {
		t.Fatalf("dev.json: %+v", d)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		r, err := http.Get(d.URL + p)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, err, r)
		}
		r.Body.Close()
	}
	req, _ := http.NewRequest("GET", d.URL+"/ng/api/organizations?accountIdentifier=default", nil)
	req.Header.Set("x-api-key", d.APIKey)
	r, err := http.DefaultClient.Do(req)
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("API: %v %v", err, r)
	}
	r.Body.Close()
	code, stdout, stderr := run(context.Background(), "operator", "rotate-key", "--url", d.URL, "--api-key", d.APIKey)
	if code != 0 || !strings.Contains(stdout, "Data key 2 is active") {
		t.Fatalf("online rotate: %d %s %s", code, stdout, stderr)
	}
	code, _, stderr = run(context.Background(), "operator", "rotate-key", "--url", d.URL, "--api-key", "azk.default.x.y")
	if code != ExitDenied {
		t.Fatalf("rotate with a bad key: %d %s", code, stderr)
	}
	if code, _, stderr := stop(); code != 0 {
		t.Fatalf("dev exit %d: %s", code, stderr)
	}
	// A restart of the same directory reuses it and prints the same key.
	stop, out := start(t, "dev", "--dir", dir, "--listen", "127.0.0.1:0")
	waitFor(t, "restart", func() bool { return strings.Contains(out.String(), "API key:") })
	if !strings.Contains(out.String(), d.APIKey) {
		t.Fatalf("restart printed another key: %s", out.String())
	}
	stop()
}
