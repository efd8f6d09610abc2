package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/task"
)

// The diagnostic kinds: they touch nothing outside the process, so the
// engine, the delegate protocol and their benchmarks can be exercised
// end to end.
const (
	// KindDiagEcho logs lines and returns where it ran.
	KindDiagEcho task.Kind = "diag.echo"
	// KindDiagSleep waits, honouring cancellation.
	KindDiagSleep task.Kind = "diag.sleep"
)

// engineKinds are the executors of diagnostics (diag.*).
func engineKinds() map[task.Kind]Func {
	return map[task.Kind]Func{KindDiagEcho: DiagEcho, KindDiagSleep: DiagSleep}
}

// DiagParams are the parameters of the diag kinds.
type DiagParams struct {
	Message string `json:"message,omitempty"`
	Lines   int    `json:"lines,omitempty"`
	Millis  int    `json:"millis,omitempty"`
	// EchoSecrets writes each secret value of the task to its log, as it
	// is, JSON-quoted and base64-encoded, line by line: the masking test.
	EchoSecrets bool `json:"echoSecrets,omitempty"`
	// Fail makes the task fail (with the secrets in the message when
	// EchoSecrets is set: masking of errors).
	Fail bool `json:"fail,omitempty"`
}

// DiagOutput is what the diag kinds return.
type DiagOutput struct {
	Message    string `json:"message,omitempty"`
	DelegateID string `json:"delegateId,omitempty"`
	Secrets    int    `json:"secrets"`
	Connector  string `json:"connector,omitempty"`
}

func diagParams(in Input) (DiagParams, error) {
	var p DiagParams
	if len(in.Params) > 0 {
		if err := json.Unmarshal(in.Params, &p); err != nil {
			return p, failure.Wrap(failure.Invalid, err, "%s parameters", in.Kind)
		}
	}
	return p, nil
}

// DiagEcho is diag.echo.
func DiagEcho(ctx context.Context, env *Env, in Input) (any, error) {
	p, err := diagParams(in)
	if err != nil {
		return nil, err
	}
	for i := range p.Lines {
		fmt.Fprintf(in.Log, "%s line %d\n", p.Message, i+1)
	}
	paths := make([]string, 0, len(in.Secrets))
	for k := range in.Secrets {
		paths = append(paths, k)
	}
	sort.Strings(paths)
	var leak string
	if p.EchoSecrets {
		for _, k := range paths {
			v := in.Secrets[k]
			fmt.Fprintf(in.Log, "secret %s: %s\n", k, v)
			fmt.Fprintf(in.Log, "quoted: %s\n", strconv.Quote(string(v)))
			fmt.Fprintf(in.Log, "base64: %s\n", base64.StdEncoding.EncodeToString(v))
			leak += string(v)
		}
	}
	if p.Fail {
		return nil, failure.New(failure.Invalid, "diag.echo failed as asked%s", map[bool]string{true: " with " + leak, false: ""}[leak != ""]).WithCode("DiagFailed")
	}
	out := DiagOutput{Message: p.Message, Secrets: len(in.Secrets)}
	if env != nil {
		out.DelegateID = env.DelegateID
	}
	if in.Connector != nil {
		out.Connector = in.Connector.Identifier
	}
	return out, nil
}

// DiagSleep is diag.sleep.
func DiagSleep(ctx context.Context, env *Env, in Input) (any, error) {
	p, err := diagParams(in)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(time.Duration(p.Millis) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	out := DiagOutput{Message: p.Message, Secrets: len(in.Secrets)}
	if env != nil {
		out.DelegateID = env.DelegateID
	}
	return out, nil
}
