package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

func TestAzuresimCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cloud.json")
	hostCfg := filepath.Join(dir, "host.json")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuf
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"azuresim", "--cloud-config", cfg, "--host-config", "delegate-host=" + hostCfg}, strings.NewReader(""), &out, &errOut)
	}()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "control") {
		select {
		case code := <-done:
			t.Fatalf("exited early with %d: %s", code, errOut.String())
		case <-deadline:
			t.Fatalf("no endpoints printed: %s", errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	o, err := cloud.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Clouds) != 3 || !strings.HasPrefix(o.Clouds[cloud.Public].AuthorityHost, "https://127.0.0.1:") || o.CABundle == "" {
		t.Fatalf("override %s", o)
	}
	ho, err := cloud.Load(hostCfg)
	if err != nil || ho.AppService == nil || ho.Hosts["169.254.169.254:80"] == "" {
		t.Fatalf("host override: %v %+v", err, ho)
	}
	if st, _ := os.Stat(cfg); st.Mode().Perm() != 0o600 {
		t.Fatalf("override mode %v", st.Mode())
	}
	if strings.Contains(out.String(), ho.AppService.Header) {
		t.Fatal("the identity header must not be printed")
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}

	if code := Main(context.Background(), []string{"azuresim", "--world", filepath.Join(dir, "missing.yaml")}, strings.NewReader(""), &out, &errOut); code != ExitInvalid {
		t.Fatalf("missing world: exit %d", code)
	}
	if code := Main(context.Background(), []string{"azuresim", "--host-config", "nonsense"}, strings.NewReader(""), &out, &errOut); code != ExitUsage {
		t.Fatalf("bad flag: exit %d", code)
	}
}
