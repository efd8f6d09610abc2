package ops

import (
	"strings"
	"testing"
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
