package azure

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
)

// recorder keeps the transport's events.
type recorder struct {
	mu     sync.Mutex
	events []RequestEvent
}

func (r *recorder) observe(ev RequestEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) path(p string) []RequestEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []RequestEvent
	for _, ev := range r.events {
		if ev.Path == p {
			out = append(out, ev)
		}
	}
	return out
}

// A 429 with Retry-After: 2 is retried after at least 2 s (the gap between
// the two requests the transport sent, and azcore's own decision in its
// log), and the call then succeeds.
func TestRetryHonoursRetryAfter(t *testing.T) {
	s := startSim(t)
	rec := &recorder{}
	f := newFactory(t, s.Override(), func(o *Options) {
		o.Retry = policy.RetryOptions{} // the production defaults
		o.Observe = rec.observe
	})
	cred, err := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.Identity(context.Background()); err != nil { // the token first: only ARM is faulted
		t.Fatal(err)
	}
	if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Status: http.StatusTooManyRequests, RetryAfter: azuresim.Duration(2 * time.Second), Times: 1}); err != nil {
		t.Fatal(err)
	}
	sdkLog := captureSDKLog(t)
	subs, err := listSubscriptions(context.Background(), cred)
	if err != nil {
		t.Fatalf("after one 429 the retry must succeed: %v", cred.Classify(err))
	}
	if len(subs) != 3 {
		t.Fatalf("subscriptions %v", subs)
	}
	if n := s.RequestCount("arm.subscriptions.list"); n != 2 {
		t.Fatalf("the simulator served %d list requests, want 2 (the 429 and the retry)", n)
	}
	evs := rec.path("/subscriptions")
	if len(evs) != 2 || evs[0].Status != http.StatusTooManyRequests || evs[1].Status != http.StatusOK {
		t.Fatalf("events %+v", evs)
	}
	if gap := evs[1].Start.Sub(evs[0].Start.Add(evs[0].Duration)); gap < 2*time.Second {
		t.Fatalf("the retry was sent %v after the 429, before its Retry-After of 2s", gap)
	}
	if !strings.Contains(sdkLog.String(), "Delay=2s") {
		t.Fatal("azcore's retry policy did not log a 2s delay")
	}
}

// Which statuses are retried, and how often.
func TestRetryStatuses(t *testing.T) {
	s := startSim(t)
	f := newFactory(t, s.Override(), func(o *Options) {
		o.Retry = policy.RetryOptions{RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}
	})
	cred, err := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.Identity(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status   int
		times    int // 0: until removed
		requests int
		ok       bool
	}{
		{400, 1, 1, false},
		{401, 1, 1, false},
		{403, 1, 1, false},
		{404, 1, 1, false},
		{408, 1, 2, true},
		{429, 1, 2, true},
		{500, 1, 2, true},
		{502, 1, 2, true},
		{503, 1, 2, true},
		{504, 1, 2, true},
		{503, 0, 4, false}, // bounded: 1 + 3 retries
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d x%d", tc.status, tc.times), func(t *testing.T) {
			s.ClearFaults()
			s.ResetCounters()
			if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Status: tc.status, Times: tc.times}); err != nil {
				t.Fatal(err)
			}
			defer s.ClearFaults()
			_, err := listSubscriptions(context.Background(), cred)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if n := s.RequestCount("arm.subscriptions.list"); n != tc.requests {
				t.Fatalf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

// A Retry-After beyond the policy's cap fails at once instead of waiting.
func TestRetryAfterBeyondCapFailsFast(t *testing.T) {
	s := startSim(t)
	f := newFactory(t, s.Override(), func(o *Options) {
		o.Retry = policy.RetryOptions{MaxRetryDelay: time.Second}
	})
	cred, _ := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if _, err := cred.Identity(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Status: 429, RetryAfter: azuresim.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err := listSubscriptions(context.Background(), cred)
	if e := cred.Classify(err); e == nil || e.Reason != ReasonThrottled {
		t.Fatalf("want Throttled, got %v", err)
	}
	if n := s.RequestCount("arm.subscriptions.list"); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// A cancelled context stops a call waiting on a slow endpoint.
func TestCancellation(t *testing.T) {
	s := startSim(t)
	f := newFactory(t, s.Override(), nil)
	cred, _ := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if _, err := cred.Identity(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Latency: azuresim.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := listSubscriptions(ctx, cred)
		done <- err
	}()
	for s.RequestCount("arm.subscriptions.list") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	err := <-done
	if e := cred.Classify(err); e == nil || e.Reason != ReasonCanceled {
		t.Fatalf("want Canceled, got %v", err)
	}
}

// A call whose context has no deadline is still bounded by CallTimeout.
func TestCallTimeoutWithoutDeadline(t *testing.T) {
	s := startSim(t)
	f := newFactory(t, s.Override(), func(o *Options) { o.CallTimeout = 500 * time.Millisecond })
	cred, _ := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if _, err := cred.Identity(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Latency: azuresim.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err := listSubscriptions(context.Background(), cred)
	if e := cred.Classify(err); e == nil || e.Reason != ReasonTimeout || !strings.Contains(e.Message, "Azure Resource Manager") {
		t.Fatalf("want a Timeout naming ARM, got %v", err)
	}
}

// ForwardSDKLog puts the SDK's requests, retries and authentication in the
// process log at debug level, without secrets.
func TestForwardSDKLog(t *testing.T) {
	s := startSim(t)
	sink := &logSink{}
	ForwardSDKLog(slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { ForwardSDKLog(nil) })
	f := newFactory(t, s.Override(), nil)
	cred, _ := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if _, err := listSubscriptions(context.Background(), cred); err != nil {
		t.Fatal(err)
	}
	out := sink.String()
	if !strings.Contains(out, "component=azure-sdk") || !strings.Contains(out, "event=Request") || !strings.Contains(out, "/oauth2/v2.0/token") {
		t.Fatalf("log %q", out)
	}
	mustNotContain(t, "SDK log", out, secretValue)
	ForwardSDKLog(slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelInfo})))
	n := len(sink.String())
	if _, err := listSubscriptions(context.Background(), cred); err != nil {
		t.Fatal(err)
	}
	if len(sink.String()) != n {
		t.Fatal("an info-level logger still receives the SDK's debug lines")
	}
}

// hungListener accepts connections and never answers (not even the TLS
// handshake): a host that is up but hung. Its connections are closed when
// the test ends.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// A hung endpoint under the caller's own deadline (the connection test
// always has one), shorter than the retries would take: the call returns
// when the deadline ends, and its error names the host that hung, for
// ARM (where azcore's retry policy returns the bare context error) and
// for Entra ID (where the token cache's wait gives up).
func TestHungEndpointNamesHost(t *testing.T) {
	const deadline = 2 * time.Second
	for _, tc := range []struct {
		name string
		hang func(e *cloud.Endpoints, addr string)
		role string
	}{
		{"ARM", func(e *cloud.Endpoints, addr string) { e.ResourceManager = "https://" + addr }, "Azure Resource Manager"},
		{"Entra ID", func(e *cloud.Endpoints, addr string) { e.AuthorityHost = "https://" + addr + "/" }, "Entra ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t)
			hung := hungListener(t)
			o := s.Override()
			e := o.Clouds[cloud.Public]
			tc.hang(&e, hung)
			o.Clouds[cloud.Public] = e
			// The production retry policy: 4 tries of up to 60 s each,
			// far longer than the deadline.
			f := newFactory(t, o, func(o *Options) { o.Retry = policy.RetryOptions{} })
			cred, err := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				_, err := listSubscriptions(ctx, cred)
				done <- err
			}()
			var callErr error
			select {
			case callErr = <-done:
			case <-time.After(deadline + 30*time.Second):
				t.Fatal("the call did not return after its deadline")
			}
			if took := time.Since(start); took > deadline+5*time.Second {
				t.Errorf("the call returned %v after it started, long after its %v deadline", took, deadline)
			}
			ce := cred.Classify(callErr)
			if ce == nil || ce.Reason != ReasonTimeout {
				t.Fatalf("want Timeout, got %v", callErr)
			}
			if ce.Host != hung || !strings.Contains(ce.Message, hung) || !strings.Contains(ce.Message, tc.role) || !strings.Contains(ce.Hint, hung) {
				t.Fatalf("the failure does not name the hung host %s (%s): host %q, message %q, hint %q", hung, tc.role, ce.Host, ce.Message, ce.Hint)
			}
		})
	}
}
