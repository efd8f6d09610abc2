package azure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azimuthcd/azimuth/internal/connector"
)

// Against the simulator: many concurrent callers of one credential cost
// one token request; CAE and non-CAE, and another tenant, are separate.
func TestTokenCacheSingleFlightAgainstSimulator(t *testing.T) {
	s := startSim(t)
	f := newFactory(t, s.Override(), nil)
	cred, err := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if err != nil {
		t.Fatal(err)
	}
	scope := cred.Cloud().ARMScope()
	var wg sync.WaitGroup
	tokens := make([]string, 200)
	errs := make([]error, 200)
	for i := range tokens {
		wg.Go(func() {
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}, EnableCAE: true})
			tokens[i], errs[i] = tok.Token, err
		})
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: %v (same token: %v)", i, errs[i], tokens[i] == tokens[0])
		}
	}
	if n := s.TokenRequests(tenantID, secretApp, scope); n != 1 {
		t.Fatalf("200 concurrent callers: %d token requests, want 1", n)
	}
	if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}}); err != nil {
		t.Fatal(err)
	}
	if n := s.TokenRequests(tenantID, secretApp, scope); n != 2 {
		t.Fatalf("a non-CAE request is cached apart (azidentity keeps two MSAL clients): %d requests, want 2", n)
	}
	// 100 ARM calls reuse the CAE token.
	for range 100 {
		if _, err := listSubscriptions(context.Background(), cred); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokenRequests(tenantID, secretApp, scope); n != 2 {
		t.Fatalf("after 100 ARM calls: %d token requests, want 2", n)
	}
}

// Issue 4's goal, as a test (benchmarks do not run in CI): 1,000 Azure
// operations through one connector, each getting its credential from the
// factory as a task does, cost at most 2 token requests (azidentity keeps
// separate caches for CAE and non-CAE requests).
func TestThousandOperationsAtMostTwoTokenRequests(t *testing.T) {
	const ops = 1000
	s := startSim(t)
	f := newFactory(t, s.Override(), nil)
	c := secretConnector("c", secretApp, tenantID)
	sec := secrets(connector.PathSecretRef, secretValue)
	ctx := context.Background()
	var first *Credential
	for i := range ops {
		cred, err := f.Credential(c, sec, "k")
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = cred
		} else if cred != first {
			t.Fatalf("operation %d got a new credential", i)
		}
		if i == 0 {
			// As the connection test does: the identity is read from a
			// token asked for directly, the one ARM calls then reuse.
			if _, err := cred.Identity(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := listSubscriptions(ctx, cred); err != nil {
			t.Fatal(cred.Classify(err))
		}
	}
	if n := s.RequestCount("arm.subscriptions.list"); n < ops {
		t.Fatalf("the simulator served %d list requests, want at least %d", n, ops)
	}
	scope := first.Cloud().ARMScope()
	if n := s.RequestCount("entra.token"); n > 2 || s.TokenRequests(tenantID, secretApp, scope) > 2 {
		t.Fatalf("%d operations cost %d token requests (%d for the ARM scope), want at most 2", ops, n, s.TokenRequests(tenantID, secretApp, scope))
	}
}

// fakeCred is a scripted TokenCredential with a controllable clock, to
// test the cache's timing rules without waiting.
type fakeCred struct {
	mu        sync.Mutex
	now       time.Time
	lifetime  time.Duration
	refreshIn time.Duration
	calls     atomic.Int32
	fail      error
	gate      chan struct{} // when set, GetToken waits for it
	lastOpts  policy.TokenRequestOptions
}

func (f *fakeCred) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeCred) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fakeCred) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	gate, fail, now := f.gate, f.fail, f.now
	f.lastOpts = opts
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
	}
	if fail != nil {
		return azcore.AccessToken{}, fail
	}
	tok := azcore.AccessToken{Token: fmt.Sprintf("token-%d", n), ExpiresOn: now.Add(f.lifetime)}
	if f.refreshIn > 0 {
		tok.RefreshOn = now.Add(f.refreshIn)
	}
	return tok, nil
}

func newFakeCache(t *testing.T, fc *fakeCred) *tokenCache {
	t.Helper()
	c := newTokenCache(fc, "login.example", time.Minute, slog.New(slog.DiscardHandler))
	c.now = fc.clock
	return c
}

var armOpts = policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}, EnableCAE: true}

// get returns the token, waiting for background refreshes to settle first.
func get(t *testing.T, c *tokenCache, opts policy.TokenRequestOptions) string {
	t.Helper()
	tok, err := c.GetToken(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// settle waits until no acquisition is in flight.
func settle(t *testing.T, c *tokenCache) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		busy := false
		for _, e := range c.entries {
			busy = busy || e.inflight != nil
		}
		c.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("an acquisition never finished")
}

func TestTokenCacheRefreshWindow(t *testing.T) {
	fc := &fakeCred{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), lifetime: time.Hour}
	c := newFakeCache(t, fc)
	if tok := get(t, c, armOpts); tok != "token-1" {
		t.Fatal(tok)
	}
	fc.advance(54 * time.Minute)
	get(t, c, armOpts)
	settle(t, c)
	if n := fc.calls.Load(); n != 1 {
		t.Fatalf("6 minutes before expiry: %d acquisitions, want 1 (no refresh yet)", n)
	}
	fc.advance(2 * time.Minute) // 4 minutes left: inside the 5-minute window
	if tok := get(t, c, armOpts); tok != "token-1" {
		t.Fatalf("inside the window the current token is served at once, got %s", tok)
	}
	settle(t, c)
	if n := fc.calls.Load(); n != 2 {
		t.Fatalf("inside the window: %d acquisitions, want 2", n)
	}
	if tok := get(t, c, armOpts); tok != "token-2" {
		t.Fatalf("after the refresh: %s, want token-2", tok)
	}
}

func TestTokenCacheRefreshIn(t *testing.T) {
	fc := &fakeCred{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), lifetime: 24 * time.Hour, refreshIn: 12 * time.Hour}
	c := newFakeCache(t, fc)
	get(t, c, armOpts)
	fc.advance(11 * time.Hour)
	get(t, c, armOpts)
	settle(t, c)
	if n := fc.calls.Load(); n != 1 {
		t.Fatalf("before refresh_in: %d acquisitions", n)
	}
	fc.advance(2 * time.Hour)
	get(t, c, armOpts)
	settle(t, c)
	if n := fc.calls.Load(); n != 2 {
		t.Fatalf("after refresh_in: %d acquisitions, want 2", n)
	}
}

func TestTokenCacheFailedEarlyRefreshKeepsToken(t *testing.T) {
	fc := &fakeCred{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), lifetime: time.Hour}
	c := newFakeCache(t, fc)
	get(t, c, armOpts)
	fc.mu.Lock()
	fc.fail = errors.New("token endpoint down")
	fc.mu.Unlock()
	fc.advance(57 * time.Minute)
	if tok := get(t, c, armOpts); tok != "token-1" {
		t.Fatal(tok)
	}
	settle(t, c)
	if n := fc.calls.Load(); n != 2 {
		t.Fatalf("%d acquisitions, want 2 (one failed refresh)", n)
	}
	fc.advance(10 * time.Second)
	if tok := get(t, c, armOpts); tok != "token-1" {
		t.Fatal("the valid token must still be served after a failed refresh")
	}
	settle(t, c)
	if n := fc.calls.Load(); n != 2 {
		t.Fatalf("retried %d times within 30 s of a failure", n-2)
	}
	fc.advance(25 * time.Second)
	get(t, c, armOpts)
	settle(t, c)
	if n := fc.calls.Load(); n != 3 {
		t.Fatalf("%d acquisitions, want a retry 30 s after the failure", n)
	}
	// Once the token is no longer usable, the failure reaches callers.
	fc.advance(3 * time.Minute)
	if _, err := c.GetToken(context.Background(), armOpts); err == nil {
		t.Fatal("an expired token must not be served")
	}
}

func TestTokenCacheExpiredBlocksAllCallersOnOneAcquisition(t *testing.T) {
	fc := &fakeCred{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), lifetime: time.Hour, gate: make(chan struct{})}
	c := newFakeCache(t, fc)
	var wg sync.WaitGroup
	got := make([]string, 50)
	for i := range got {
		wg.Go(func() { got[i] = get(t, c, armOpts) })
	}
	for fc.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(fc.gate)
	wg.Wait()
	for i, tok := range got {
		if tok != "token-1" {
			t.Fatalf("caller %d got %q", i, tok)
		}
	}
	if n := fc.calls.Load(); n != 1 {
		t.Fatalf("%d acquisitions for 50 waiting callers, want 1", n)
	}
}

func TestTokenCacheCallerGivesUp(t *testing.T) {
	fc := &fakeCred{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), lifetime: time.Hour, gate: make(chan struct{})}
	c := newFakeCache(t, fc)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.GetToken(ctx, armOpts)
	var we *tokenWaitError
	if !errors.As(err, &we) || !errors.Is(err, context.Canceled) || we.endpoint != "login.example" {
		t.Fatalf("want a tokenWaitError naming the endpoint, got %v", err)
	}
	// The acquisition goes on for the next caller.
	close(fc.gate)
	if tok := get(t, c, armOpts); tok != "token-1" {
		t.Fatal(tok)
	}
	if n := fc.calls.Load(); n != 1 {
		t.Fatalf("%d acquisitions, want 1", n)
	}
}

func TestTokenCachePartitions(t *testing.T) {
	fc := &fakeCred{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), lifetime: time.Hour}
	c := newFakeCache(t, fc)
	a := get(t, c, armOpts)
	other := armOpts
	other.TenantID = "another-tenant"
	b := get(t, c, other)
	noCAE := armOpts
	noCAE.EnableCAE = false
	d := get(t, c, noCAE)
	acr := policy.TokenRequestOptions{Scopes: []string{"https://containerregistry.azure.net/.default"}}
	e := get(t, c, acr)
	if a == b || a == d || a == e || b == d {
		t.Fatalf("tokens shared across tenant, CAE or scope: %s %s %s %s", a, b, d, e)
	}
	if get(t, c, other) != b || get(t, c, armOpts) != a {
		t.Fatal("cached tokens not returned for their own key")
	}
	// A CAE claims challenge always goes to the credential and replaces the token.
	ch := armOpts
	ch.Claims = `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`
	f := get(t, c, ch)
	if f == a || fc.lastOpts.Claims == "" {
		t.Fatal("a claims challenge must bypass the cache")
	}
	if get(t, c, armOpts) != f {
		t.Fatal("the challenge's token replaces the cached one")
	}
}

// One failed acquisition reaches every caller that waited for it, and each
// reads it at once on its own goroutine: its message and Entra's answer
// (the classification). Under the race detector this proves the callers
// share nothing they write (reading an azidentity failure's body writes to
// its response).
func TestSharedTokenFailureReadConcurrently(t *testing.T) {
	s := startSim(t)
	f := newFactory(t, s.Override(), nil)
	cred, err := f.Credential(secretConnector("bad", secretApp, tenantID), secrets(connector.PathSecretRef, "not-the-secret"), "k")
	if err != nil {
		t.Fatal(err)
	}
	scope := cred.Cloud().ARMScope()
	const callers = 32
	reasons := make([]Reason, callers)
	msgs := make([]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}, EnableCAE: true})
			if err == nil {
				return
			}
			msgs[i] = err.Error()
			if e := cred.Classify(err); e != nil {
				reasons[i] = e.Reason
			}
		})
	}
	wg.Wait()
	for i := range callers {
		if reasons[i] != ReasonClientSecretInvalid || !strings.Contains(msgs[i], "AADSTS7000215") {
			t.Fatalf("caller %d: reason %q, message %q", i, reasons[i], msgs[i])
		}
	}
	if n := s.TokenRequests(tenantID, secretApp, scope); n < 1 || n >= callers {
		t.Fatalf("%d concurrent callers made %d token requests: they did not share the acquisition", callers, n)
	}
}
