package ops

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTailMasking(t *testing.T) {
	const secret = "tail-secret-planted-0001"
	tb := &tailBuffer{max: 64}
	_, _ = tb.Write([]byte(strings.Repeat("x", 50) + secret + "\n" + strings.Repeat("y", 20) + "\n"))
	out := maskSecrets(tb.String(), Secrets{"p": []byte(secret)})
	if !tb.truncated || strings.Contains(out, "0001") || out != strings.Repeat("y", 20)+"\n" {
		t.Errorf("%q", out)
	}
	tb = &tailBuffer{max: 1 << 10}
	_, _ = tb.Write([]byte("a " + secret + " b\nline\n"))
	if got := maskSecrets(tb.String(), Secrets{"p": []byte(secret)}); got != "a ************** b\nline\n" {
		t.Errorf("%q", got)
	}
}

func TestExpandKubeconfigPath(t *testing.T) {
	got := expandKubeconfigPath("export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}; cat <+HARNESS_KUBE_CONFIG_PATH> $HARNESS_KUBE_CONFIG_PATH", "/tmp/d/kubeconfig")
	if got != "export KUBECONFIG=/tmp/d/kubeconfig; cat /tmp/d/kubeconfig $HARNESS_KUBE_CONFIG_PATH" {
		t.Errorf("%q", got)
	}
}

func TestParseClusterAccess(t *testing.T) {
	for name, tc := range map[string]struct {
		doc, err string
		aad      bool
		serverID string
	}{
		"exec":          {doc: `{"apiVersion":"v1","clusters":[{"name":"c","cluster":{"server":"https://k","certificate-authority-data":"Q0E="}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x","users":[{"name":"u","user":{"exec":{"command":"kubelogin","args":["get-token","--server-id","S1"]}}}]}`, aad: true, serverID: "S1"},
		"auth-provider": {doc: `{"clusters":[{"name":"c","cluster":{"server":"https://k","certificate-authority-data":"Q0E="}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x","users":[{"name":"u","user":{"auth-provider":{"name":"azure","config":{"apiserver-id":"S2"}}}}]}`, aad: true, serverID: "S2"},
		"token":         {doc: `{"clusters":[{"name":"c","cluster":{"server":"https://k","certificate-authority-data":"Q0E="}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x","users":[{"name":"u","user":{"token":"t"}}]}`},
		"no server":     {doc: `{"clusters":[{"name":"c","cluster":{}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x","users":[]}`, err: "server url was not found"},
		"no CA":         {doc: `{"clusters":[{"name":"c","cluster":{"server":"https://k"}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x","users":[]}`, err: "certificate-authority-data"},
		"no user auth":  {doc: `{"clusters":[{"name":"c","cluster":{"server":"https://k","certificate-authority-data":"Q0E="}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x","users":[{"name":"u","user":{}}]}`, err: "no exec block"},
	} {
		t.Run(name, func(t *testing.T) {
			acc, err := parseClusterAccess([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || acc.AAD != tc.aad || acc.ServerID != tc.serverID || acc.Server != "https://k" || string(acc.CAData) != "CA" {
				t.Errorf("%+v %v", acc, err)
			}
		})
	}
}

// TestSweepStaleStepDirs: only this user's azimuth-step-* directories
// older than the cutoff go; younger ones (a step running on another
// delegate), files, symlinks and other names stay.
func TestSweepStaleStepDirs(t *testing.T) {
	base, elsewhere := t.TempDir(), t.TempDir()
	old := time.Now().Add(-StepDirMaxAge - time.Hour)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "kubeconfig"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale1, stale2 := mk("azimuth-step-111", old), mk("azimuth-step-222", old)
	running := mk("azimuth-step-333", time.Now())
	other := mk("something-else", old)
	file := filepath.Join(base, "azimuth-step-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(file, old, old)
	target := filepath.Join(elsewhere, "keep")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "azimuth-step-link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_ = os.Lchown(link, os.Getuid(), os.Getgid())

	if n := sweepStepDirs(slog.New(slog.DiscardHandler), []string{base, filepath.Join(base, "missing")}, time.Now().Add(-StepDirMaxAge)); n != 2 {
		t.Errorf("removed %d, want 2", n)
	}
	for _, p := range []string{stale1, stale2} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	for _, p := range []string{running, other, file, link, target} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
