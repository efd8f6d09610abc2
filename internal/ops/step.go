package ops

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// KubeconfigPathVariable is Harness's expression and environment variable
// for the step's kubeconfig.
const KubeconfigPathVariable = "HARNESS_KUBE_CONFIG_PATH"

// StepParams are a script step's parameters: the cluster (as for
// aks.kubeconfig), the script and its bounds.
type StepParams struct {
	KubeconfigParams
	// Script is bash source. ${HARNESS_KUBE_CONFIG_PATH} (and
	// <+HARNESS_KUBE_CONFIG_PATH>) in it are replaced by the kubeconfig's
	// path, which is also in the environment under that name and as
	// KUBECONFIG.
	Script string `json:"script"`
	// TimeoutSeconds bounds the script (default 600, at most 3600).
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// Env are extra environment variables for the script.
	Env map[string]string `json:"env,omitempty"`
}

// StepNotePrefix starts every line a step's executor writes to the task
// log around the script's own output (who it authenticated as, the
// cluster, how the script ended), so a reader of the log can tell them
// apart: `azimuth run` prints the script's lines on stdout and these on
// stderr. A script line that happens to start with it is taken for a note.
const StepNotePrefix = "[azimuth] "

// Step statuses.
const (
	StepSucceeded = "SUCCESS"
	StepFailed    = "FAILURE"
)

// StepOutputTail bounds the output a step's result carries (the whole
// output is streamed to the task log).
const StepOutputTail = 64 << 10

// StepResult is a script step's outcome. The task succeeds when the script
// ran, whatever its exit code; Status says how the script ended.
type StepResult struct {
	Status   string `json:"status"`
	ExitCode int    `json:"exitCode"`
	TimedOut bool   `json:"timedOut,omitempty"`
	// DelegateID names the delegate that ran the step.
	DelegateID    string          `json:"delegateId"`
	Cluster       string          `json:"cluster"`
	ResourceGroup string          `json:"resourceGroup"`
	Namespace     string          `json:"namespace,omitempty"`
	Admin         bool            `json:"admin"`
	AAD           bool            `json:"aad"`
	Identity      *azure.Identity `json:"identity,omitempty"`
	Warnings      []azure.Warning `json:"warnings,omitempty"`
	// TokenRequests counts the credentials kubectl asked the step for.
	TokenRequests  int64  `json:"tokenRequests"`
	DurationMillis int64  `json:"durationMs"`
	Output         string `json:"output"`
	// OutputTruncated: Output is the last StepOutputTail bytes.
	OutputTruncated bool `json:"outputTruncated,omitempty"`
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Check refuses bad parameters and returns the script's timeout.
func (p *StepParams) Check() (time.Duration, error) {
	if err := p.KubeconfigParams.Check(); err != nil {
		return 0, err
	}
	if strings.TrimSpace(p.Script) == "" {
		return 0, &failure.Error{Kind: failure.Invalid, Message: "the step has no script",
			Fields: []failure.FieldError{{Field: "script", Message: "script is required"}}}
	}
	for k := range p.Env {
		if !envNameRE.MatchString(k) || k == KubeconfigPathVariable || k == "KUBECONFIG" || k == KubeTokenSocketEnv {
			return 0, &failure.Error{Kind: failure.Invalid, Message: fmt.Sprintf("environment variable %q cannot be set", k),
				Fields: []failure.FieldError{{Field: "env." + k, Message: "not a settable variable name"}}}
		}
	}
	d := time.Duration(p.TimeoutSeconds) * time.Second
	switch {
	case p.TimeoutSeconds < 0 || d > StepMaxTimeout:
		return 0, &failure.Error{Kind: failure.Invalid, Message: fmt.Sprintf("timeoutSeconds must be between 1 and %d", int(StepMaxTimeout.Seconds())),
			Fields: []failure.FieldError{{Field: "timeoutSeconds", Message: "out of range"}}}
	case d == 0:
		d = StepDefaultTimeout
	}
	return d, nil
}

// Step runs a script step on this delegate: it gets the cluster's
// credentials from Azure, writes a kubeconfig that holds none (its user
// runs `azimuth kube-token`, answered by this process) into a private
// temporary directory, runs the script with bash in its own process group
// with the output streamed to the task log, and removes the directory.
func Step(ctx context.Context, env *Env, in Input) (any, error) {
	start := time.Now()
	if env == nil || env.DelegateID == "" {
		return nil, failure.New(failure.Invalid, "script steps run only on delegates, never in the server").WithCode("StepNeedsDelegate")
	}
	var p StepParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	timeout, err := p.Check()
	if err != nil {
		return nil, err
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return nil, failure.New(failure.Unavailable, "delegate %s has no bash on its PATH", env.DelegateID).WithCode("BashMissing")
	}
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, err
	}
	// The executor's own lines are notes; the script's output goes to
	// in.Log as it is.
	notes := &notePrefixer{w: in.Log}
	noted := in
	noted.Log = notes
	res := &StepResult{DelegateID: env.DelegateID, Cluster: p.Cluster, ResourceGroup: p.ResourceGroup, Namespace: p.Namespace, Admin: p.UseClusterAdminCredentials}
	if id, err := cred.Identity(ctx); err == nil {
		res.Identity = id
		res.Warnings = identityWarnings(in.Connector, cred, id)
		logf(notes, "authenticated as %s (tenant %s, object %s)", describeCredential(cred), id.TenantID, id.ObjectID)
		for _, w := range res.Warnings {
			logf(notes, "warning: %s", w.Message)
		}
	} else {
		return nil, err
	}
	acc, err := fetchClusterAccess(ctx, cred, p.KubeconfigParams, noted)
	if err != nil {
		return nil, err
	}
	res.AAD = acc.AAD

	dir, err := os.MkdirTemp(stepTempBase(), "azimuth-step-")
	if err != nil {
		return nil, fmt.Errorf("step directory: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			env.logger().Warn("step directory not removed", "dir", dir, "err", err)
		}
	}()
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("step directory: %w", err)
	}
	sock := filepath.Join(dir, "kube-token.sock")
	kcPath := filepath.Join(dir, "kubeconfig")

	var requests atomic.Int64
	srv, err := startKubeTokenServer(sock, stepCredentialSource(cred, acc), env.logger(), &requests)
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the path of this program (the kubeconfig's credential plugin): %w", err)
	}
	kc, err := acc.render(p.Namespace, kubeUser{Exec: &kubeExec{
		APIVersion: execCredentialAPIVersion, Command: exe, Args: []string{KubeTokenCommand},
		Env:             []kubeEnv{{Name: KubeTokenSocketEnv, Value: sock}},
		InteractiveMode: "Never", ProvideClusterInfo: false,
		InstallHint: "This kubeconfig belongs to an Azimuth script step; it works only while the step runs.",
	}})
	if err != nil {
		return nil, fmt.Errorf("write the kubeconfig: %w", err)
	}
	if err := os.WriteFile(kcPath, kc, 0o600); err != nil {
		return nil, fmt.Errorf("write the kubeconfig: %w", err)
	}
	script := expandKubeconfigPath(p.Script, kcPath)
	scriptPath := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o600); err != nil {
		return nil, fmt.Errorf("write the script: %w", err)
	}

	logf(notes, "running the script on delegate %s (timeout %s), kubeconfig in $%s", env.DelegateID, timeout, KubeconfigPathVariable)
	tail := &tailBuffer{max: StepOutputTail}
	var out io.Writer = tail
	scriptLog := &lineEnd{w: in.Log}
	if in.Log != nil {
		out = io.MultiWriter(scriptLog, tail)
	}
	code, timedOut, err := runScript(ctx, bash, scriptPath, dir, stepEnv(kcPath, p.Env), out, timeout)
	scriptLog.finish() // the notes below start on a line of their own
	res.TokenRequests = requests.Load()
	res.DurationMillis = time.Since(start).Milliseconds()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	res.ExitCode, res.TimedOut = code, timedOut
	res.Status = StepSucceeded
	switch {
	case timedOut:
		res.Status = StepFailed
		logf(notes, "the script ran out of its %s and was stopped", timeout)
	case code != 0:
		res.Status = StepFailed
		logf(notes, "the script exited with status %d", code)
	default:
		logf(notes, "the script succeeded")
	}
	res.Output, res.OutputTruncated = maskSecrets(tail.String(), in.Secrets), tail.truncated
	env.logger().Info("script step", "task", in.TaskID, "connector", in.Connector, "cluster", p.Cluster,
		"exitCode", code, "timedOut", timedOut, "tokenRequests", res.TokenRequests, "durationMs", res.DurationMillis)
	return res, nil
}

// stepCredentialSource answers the kubeconfig's plugin: for Entra
// clusters a token for the server application, refreshed by the
// connector's token cache (and forced fresh when the cached one is about
// to expire, so kubectl never presents an expired token); for local
// accounts the static token or client certificate Azure returned.
func stepCredentialSource(cred *azure.Credential, acc *clusterAccess) kubeCredentialSource {
	if !acc.AAD {
		st := &execCredStatus{Token: acc.Token}
		if acc.Token == "" {
			st.ClientCertificateData, st.ClientKeyData = string(acc.ClientCert), string(acc.ClientKey)
		}
		return func(context.Context) (*execCredStatus, error) { return st, nil }
	}
	var mu sync.Mutex
	return func(ctx context.Context) (*execCredStatus, error) {
		mu.Lock()
		defer mu.Unlock()
		tok, err := acc.entraToken(ctx, cred)
		if err != nil {
			return nil, err
		}
		if time.Until(tok.ExpiresOn) < minServedTokenLife {
			cred.Expire()
			if tok, err = acc.entraToken(ctx, cred); err != nil {
				return nil, err
			}
		}
		left := time.Until(tok.ExpiresOn)
		exp := tok.ExpiresOn.Add(-min(30*time.Second, left/2)).UTC()
		return &execCredStatus{Token: tok.Token, ExpirationTimestamp: &exp}, nil
	}
}

// minServedTokenLife is the least life a token handed to kubectl has.
const minServedTokenLife = 5 * time.Second

// identityWarnings say what the delegate can tell about the managed
// identity that answered: a pod identity (AAD pod identity's NMI answers
// IMDS for the pod with a user-assigned identity) shadowing the node's
// system-assigned one, which therefore cannot serve this cluster from
// here.
func identityWarnings(c *connector.Connector, cred *azure.Credential, id *azure.Identity) []azure.Warning {
	var out []azure.Warning
	if cred.Kind == azure.KindSystemAssignedIdentity && strings.Contains(strings.ToLower(id.ManagedIdentityResourceID), "/microsoft.managedidentity/userassignedidentities/") {
		out = append(out, azure.Warning{Reason: "PodIdentityShadowsSystemIdentity", Message: fmt.Sprintf(
			"The connector asks for the system-assigned identity, but IMDS answered with the user-assigned identity %s: this delegate's pod has a pod-assigned identity, and pod identity and the system-assigned (kubelet) identity cannot both be used on one cluster. Use a UserAssignedManagedIdentity connector with that identity's client id, or run the delegate without pod identity.",
			id.ManagedIdentityResourceID)})
	}
	if cred.Kind == azure.KindSystemAssignedIdentity && os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("AZURE_FEDERATED_TOKEN_FILE") != "" {
		out = append(out, azure.Warning{Reason: "WorkloadIdentityPod", Message: "This delegate runs in a pod with workload identity (AZURE_FEDERATED_TOKEN_FILE), but the connector uses the system-assigned identity: that is the node's kubelet identity, shared by every pod on the node."})
	}
	if usesManagedIdentity(c) && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		out = append(out, azure.Warning{Reason: "ManagedIdentityOutsideKubernetes", Message: "This delegate does not run in Kubernetes, yet the connector inherits its managed identity: the step uses this host's identity, not one of an AKS cluster's delegates. Script steps with managed identities should select delegates that run in AKS."})
	}
	return out
}

var kubeconfigExprRE = regexp.MustCompile(`\$\{HARNESS_KUBE_CONFIG_PATH\}|<\+HARNESS_KUBE_CONFIG_PATH>`)

// expandKubeconfigPath replaces the kubeconfig expression with the path,
// as Harness does (the path is the step directory's, without spaces
// unless TMPDIR has some).
func expandKubeconfigPath(script, path string) string {
	return kubeconfigExprRE.ReplaceAllLiteralString(script, path)
}

// stepEnvAllowed are the delegate's variables a script inherits; nothing
// else (the delegate's own token or settings) reaches it.
var stepEnvAllowed = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TERM", "SHELL", "TMPDIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

func stepEnv(kubeconfig string, extra map[string]string) []string {
	var out []string
	for _, k := range stepEnvAllowed {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LC_") {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+extra[k])
	}
	return append(out, KubeconfigPathVariable+"="+kubeconfig, "KUBECONFIG="+kubeconfig)
}

// stepTempBase is where step directories go: the temporary directory,
// unless its path is too long for a unix socket inside it (108 bytes on
// Linux), then /tmp.
func stepTempBase() string {
	base := os.TempDir()
	if len(base)+len("/azimuth-step-0123456789/kube-token.sock") > 100 {
		return "/tmp"
	}
	return base
}

// stepKillGrace is how long a script has between SIGTERM and SIGKILL.
const stepKillGrace = 5 * time.Second

// runScript runs bash on the script in its own process group. On timeout
// or cancellation the whole group gets SIGTERM, then SIGKILL after
// stepKillGrace. It returns the exit code (-1 when killed) and whether
// the timeout ended it; err is for a script that could not be started, or
// for ctx ending.
func runScript(ctx context.Context, bash, script, dir string, env []string, out io.Writer, timeout time.Duration) (int, bool, error) {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(sctx, bash, "--noprofile", "--norc", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = out, out
	ownProcessGroup(cmd)
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, false) }
	cmd.WaitDelay = stepKillGrace
	if err := cmd.Start(); err != nil {
		return 0, false, fmt.Errorf("start bash: %w", err)
	}
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		// SIGTERM ignored: the whole group gets SIGKILL after the grace.
		select {
		case <-done:
		case <-sctx.Done():
			select {
			case <-done:
			case <-time.After(stepKillGrace):
				_ = signalGroup(pgid, true)
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	_ = signalGroup(pgid, true) // leftovers of the group
	if ctx.Err() != nil {
		return -1, false, ctx.Err()
	}
	timedOut := sctx.Err() != nil
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, false, nil
	case errors.As(err, &ee):
		return ee.ExitCode(), timedOut, nil
	case timedOut:
		return -1, true, nil
	default:
		return -1, false, fmt.Errorf("run bash: %w", err)
	}
}

// notePrefixer writes whole lines (logf's) to w, each starting with
// StepNotePrefix. A nil w discards.
type notePrefixer struct{ w io.Writer }

func (n *notePrefixer) Write(p []byte) (int, error) {
	if n.w == nil {
		return len(p), nil
	}
	text := strings.TrimSuffix(string(p), "\n")
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		b.WriteString(StepNotePrefix)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(n.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// lineEnd passes the script's output to w and remembers whether it ended
// a line, so finish can end the last one before the executor's notes (a
// task log is made of lines; the note would otherwise join the script's
// last, unterminated one).
type lineEnd struct {
	mu      sync.Mutex
	w       io.Writer
	pending bool // bytes written since the last newline
}

func (l *lineEnd) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(p) > 0 {
		l.pending = p[len(p)-1] != '\n'
	}
	return l.w.Write(p)
}

func (l *lineEnd) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending && l.w != nil {
		_, _ = io.WriteString(l.w, "\n")
		l.pending = false
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.truncated = true
	}
	return len(p), nil
}

// String is the tail; once truncated it starts at a line's beginning,
// so no fragment of a secret's line escapes masking at the cut.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if t.truncated {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		} else {
			b = nil
		}
	}
	return string(b)
}

// maskSecrets hides the connector's secret values in the output the
// result carries (the task log itself is masked by the engine): each
// value, each of its lines and its base64 forms.
func maskSecrets(s string, secrets Secrets) string {
	var needles []string
	for _, v := range secrets {
		vs := strings.TrimSpace(string(v))
		needles = append(needles, vs, base64.StdEncoding.EncodeToString(v), base64.RawStdEncoding.EncodeToString(v))
		for _, line := range strings.Split(strings.ReplaceAll(vs, "\r\n", "\n"), "\n") {
			needles = append(needles, strings.TrimSpace(line))
		}
	}
	sort.Slice(needles, func(i, j int) bool { return len(needles[i]) > len(needles[j]) })
	for _, n := range needles {
		if len(n) >= 4 {
			s = strings.ReplaceAll(s, n, "**************")
		}
	}
	return s
}
