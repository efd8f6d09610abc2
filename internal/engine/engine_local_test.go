package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/task"
)

const planted = "planted-Secret-value-9f8e7d"

func boolp(b bool) *bool { return &b }

func secretConnector(onDelegate bool, selectors ...string) *connector.Connector {
	return &connector.Connector{Name: "c", Identifier: "c", Type: "Azure", Spec: &connector.AzureSpec{
		ExecuteOnDelegate: boolp(onDelegate), DelegateSelectors: selectors,
		Credential: &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
			ApplicationID: "app", TenantID: "tenant",
			Auth: &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: "account.sp"}}}}}
}

func inheritConnector() *connector.Connector {
	return &connector.Connector{Name: "c", Identifier: "c", Type: "Azure", Spec: &connector.AzureSpec{
		DelegateSelectors: []string{"mi"},
		Credential:        &connector.Credential{Type: connector.CredentialInherit}}}
}

// resolver returns planted for every secret use, recording the calls.
type resolver struct {
	calls int
	err   error
}

func (r *resolver) Resolve(_ context.Context, p access.Principal, owner scope.Scope, uses []connector.SecretUse) ([]service.Resolved, error) {
	r.calls++
	if !p.IsSystem() {
		return nil, errors.New("tasks resolve secrets as the system")
	}
	if r.err != nil {
		return nil, r.err
	}
	out := make([]service.Resolved, 0, len(uses))
	for _, u := range uses {
		out = append(out, service.Resolved{Use: u, Scope: owner, Value: secret.NewValue([]byte(planted))})
	}
	return out, nil
}

func TestPlacement(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec task.Spec
		want task.Where
	}{
		{"no connector", task.Spec{}, task.Server},
		{"no connector, selectors", task.Spec{Selectors: []string{"x"}}, task.Delegate},
		{"through the server", task.Spec{Connector: secretConnector(false)}, task.Server},
		{"through a delegate", task.Spec{Connector: secretConnector(true)}, task.Delegate},
		{"through the server, step selectors", task.Spec{Connector: secretConnector(false), Selectors: []string{"x"}}, task.Delegate},
		{"executeOnDelegate unset is Harness's true", task.Spec{Connector: &connector.Connector{Spec: &connector.AzureSpec{}}}, task.Delegate},
		{"inherit from delegate", task.Spec{Connector: inheritConnector()}, task.Delegate},
		{"explicit server", task.Spec{Connector: secretConnector(true), Where: task.Server}, task.Server},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Placement(tc.spec); got != tc.want {
				t.Fatalf("Placement = %q, want %q", got, tc.want)
			}
		})
	}
}

func newEngine(r *resolver, fns map[task.Kind]ops.Func) *Engine {
	return New(Deps{Secrets: r, Env: ops.NewEnv(nil, nil, ""), Executors: fns})
}

func TestRunLocal(t *testing.T) {
	acct := scope.New("acme", "", "")
	var sawSecret []byte
	fns := map[task.Kind]ops.Func{
		"t.ok": func(_ context.Context, _ *ops.Env, in ops.Input) (any, error) {
			sawSecret = append([]byte(nil), in.Secrets[connector.PathSecretRef]...)
			fmt.Fprintf(in.Log, "using %s now\n", in.Secrets[connector.PathSecretRef])
			return map[string]string{"hello": "world"}, nil
		},
		"t.fail": func(_ context.Context, _ *ops.Env, in ops.Input) (any, error) {
			return nil, failure.New(failure.Forbidden, "refused with %s", in.Secrets[connector.PathSecretRef]).WithCode("Nope").WithHint("do %s", "better")
		},
		"t.panic": func(context.Context, *ops.Env, ops.Input) (any, error) { panic("boom") },
		"t.slow": func(ctx context.Context, _ *ops.Env, _ ops.Input) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	t.Run("success, secret resolved and masked in the log", func(t *testing.T) {
		r := &resolver{}
		e := newEngine(r, fns)
		var log bytes.Buffer
		res, err := e.RunLocal(context.Background(), task.Spec{Kind: "t.ok", Scope: acct, Connector: secretConnector(false)}, "tsk_1", time.Minute, &log)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != task.Succeeded || string(res.Output) != `{"hello":"world"}` {
			t.Fatalf("result %+v", res)
		}
		if string(sawSecret) != planted {
			t.Fatalf("executor saw secret %q", sawSecret)
		}
		if strings.Contains(log.String(), planted) || !strings.Contains(log.String(), "using "+Mask+" now") {
			t.Fatalf("log not masked: %q", log.String())
		}
		if r.calls != 1 {
			t.Fatalf("resolver called %d times", r.calls)
		}
	})
	t.Run("failure keeps kind, reason and hint, masks the message", func(t *testing.T) {
		e := newEngine(&resolver{}, fns)
		res, err := e.RunLocal(context.Background(), task.Spec{Kind: "t.fail", Scope: acct, Connector: secretConnector(false)}, "tsk_2", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != task.Failed || res.Error == nil || res.Error.Kind != failure.Forbidden.String() || res.Error.Reason != "Nope" || res.Error.Hint != "do better" {
			t.Fatalf("result %+v error %+v", res, res.Error)
		}
		if strings.Contains(res.Error.Message, planted) {
			t.Fatalf("error leaks the secret: %q", res.Error.Message)
		}
		b, _ := json.Marshal(res)
		if bytes.Contains(b, []byte(planted)) {
			t.Fatalf("result JSON leaks the secret: %s", b)
		}
	})
	t.Run("panic is contained", func(t *testing.T) {
		res, err := newEngine(&resolver{}, fns).RunLocal(context.Background(), task.Spec{Kind: "t.panic", Scope: acct}, "tsk_3", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != task.Failed || res.Error.Kind != failure.Internal.String() || !strings.Contains(res.Error.Message, "panicked") {
			t.Fatalf("result %+v", res.Error)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		res, err := newEngine(&resolver{}, fns).RunLocal(context.Background(), task.Spec{Kind: "t.slow", Scope: acct}, "tsk_4", 20*time.Millisecond, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != task.Failed || res.Error.Reason != "TaskTimeout" || res.Error.Kind != failure.Timeout.String() {
			t.Fatalf("result %+v", res.Error)
		}
	})
	t.Run("cancellation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := newEngine(&resolver{}, fns).RunLocal(ctx, task.Spec{Kind: "t.slow", Scope: acct}, "tsk_5", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != task.Cancelled {
			t.Fatalf("status %s", res.Status)
		}
	})
	t.Run("secrets that cannot be resolved fail the run", func(t *testing.T) {
		r := &resolver{err: failure.New(failure.Invalid, "secret gone")}
		_, err := newEngine(r, fns).RunLocal(context.Background(), task.Spec{Kind: "t.ok", Scope: acct, Connector: secretConnector(false)}, "tsk_6", time.Minute, nil)
		if failure.KindOf(err) != failure.Invalid {
			t.Fatalf("err %v", err)
		}
	})
}

func TestRunRefusals(t *testing.T) {
	e := newEngine(&resolver{}, map[task.Kind]ops.Func{"t.ok": func(context.Context, *ops.Env, ops.Input) (any, error) { return nil, nil }})
	acct := scope.New("acme", "", "")
	if _, err := e.Run(context.Background(), task.Spec{Kind: "t.unknown", Scope: acct}); failure.KindOf(err) != failure.Invalid {
		t.Fatalf("unknown kind: %v", err)
	}
	for _, c := range []*connector.Connector{secretConnector(true, "blue", "eu"), inheritConnector()} {
		_, err := e.Run(context.Background(), task.Spec{Kind: "t.ok", Scope: acct, Connector: c})
		fe, ok := failure.As(err)
		if !ok || fe.Kind != failure.Unavailable || fe.Code != "NoDelegate" || fe.Hint == "" {
			t.Fatalf("no dispatcher: %v", err)
		}
	}
	_, err := e.Run(context.Background(), task.Spec{Kind: "t.ok", Scope: acct, Connector: secretConnector(true, "blue", "eu")})
	if !strings.Contains(err.Error(), "blue, eu") {
		t.Fatalf("message does not name the selectors: %v", err)
	}
	res, err := e.Run(context.Background(), task.Spec{Kind: "t.ok", Scope: acct})
	if err != nil || res.Status != task.Succeeded || !strings.HasPrefix(res.TaskID, "tsk_") {
		t.Fatalf("server task: %+v %v", res, err)
	}
}

func TestMasker(t *testing.T) {
	multi := "-----BEGIN KEY-----\nMIIEabcdefgh\nQWERTYUIOPas\n-----END KEY-----"
	m := NewMasker([][]byte{[]byte(planted), []byte(multi), []byte(`quo"te\d`), []byte("ab")})
	for _, tc := range []struct{ in, leak string }{
		{"value " + planted + " end", planted},
		{"line QWERTYUIOPas alone", "QWERTYUIOPas"},
		{"json " + `quo\"te\\d`, `quo\"te\\d`},
		{"b64 " + base64.StdEncoding.EncodeToString([]byte(planted)), base64.StdEncoding.EncodeToString([]byte(planted))},
		{"b64url " + base64.RawURLEncoding.EncodeToString([]byte(planted)), base64.RawURLEncoding.EncodeToString([]byte(planted))},
	} {
		got := m.Mask(tc.in)
		if strings.Contains(got, tc.leak) || !strings.Contains(got, Mask) {
			t.Errorf("Mask(%q) = %q", tc.in, got)
		}
	}
	if got := m.Mask("about a cab"); got != "about a cab" {
		t.Errorf("short values must not mask ordinary text: %q", got)
	}
	// A value split across writes is still masked.
	var out bytes.Buffer
	w := m.Writer(&out)
	half := len(planted) / 2
	_, _ = w.Write([]byte("a " + planted[:half]))
	_, _ = w.Write([]byte(planted[half:] + " b\ntail " + planted))
	_ = w.Flush()
	if strings.Contains(out.String(), planted) || strings.Count(out.String(), Mask) != 2 {
		t.Fatalf("writer output %q", out.String())
	}
}

// TestMaskerQuotedForms: values holding what JSON escapes (<, >, &),
// quotes and newlines are masked as they are, line by line, JSON-quoted
// both ways (escaping HTML characters or not), Go-quoted, and in base64 —
// the whole value and each of its lines.
func TestMaskerQuotedForms(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	jsonHTML := func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }
	jsonPlain := func(s string) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		out := strings.TrimSuffix(buf.String(), "\n")
		return out[1 : len(out)-1]
	}
	goQuoted := func(s string) string { q := fmt.Sprintf("%q", s); return q[1 : len(q)-1] }
	for _, tc := range []struct {
		name, value string
	}{
		{"html characters", "p<a>ss&word"},
		{"quotes", `say "hi" it's`},
		{"html and quotes over lines", "first<line>&\"one\"\nsecond\tline&two"},
		{"crlf lines", "alpha-line-1\r\nbeta<line>-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMasker([][]byte{[]byte(tc.value)})
			forms := map[string]string{"as is": tc.value, "json": jsonHTML(tc.value), "json without html escaping": jsonPlain(tc.value),
				"go quoted": goQuoted(tc.value), "base64": b64(tc.value)}
			for i, line := range strings.Split(strings.ReplaceAll(tc.value, "\r\n", "\n"), "\n") {
				if !strings.Contains(tc.value, "\n") {
					break
				}
				forms[fmt.Sprintf("line %d", i)] = line
				forms[fmt.Sprintf("line %d json", i)] = jsonHTML(line)
				forms[fmt.Sprintf("line %d go quoted", i)] = goQuoted(line)
				forms[fmt.Sprintf("line %d base64", i)] = b64(line)
			}
			for name, f := range forms {
				got := m.Mask("x " + f + " y")
				if strings.Contains(got, f) || !strings.Contains(got, Mask) {
					t.Errorf("%s form %q: masked to %q", name, f, got)
				}
			}
		})
	}
}
