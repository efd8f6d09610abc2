package azure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Token cache tuning (reliability.md §6): refresh 5 minutes before expiry
// unless the authority said when (refresh_in); after a failed early
// refresh, keep serving the valid token and try again 30 s later.
const (
	refreshWindow      = 5 * time.Minute
	refreshRetryDelay  = 30 * time.Second
	expiryMargin       = 30 * time.Second
	maxTokensPerCred   = 64
	defaultTokenWindow = time.Minute // bound of one token acquisition
)

// tokenCache is an azcore.TokenCredential in front of an azidentity
// credential. It caches tokens per (scopes, tenant, CAE), refreshes them
// before they expire, and lets concurrent callers share one acquisition:
//
//   - a token that is still usable is returned at once; when it is inside
//     its refresh window one caller starts a background refresh and
//     everyone keeps using the current token meanwhile;
//   - a failed early refresh is logged and the valid token kept; the next
//     attempt waits refreshRetryDelay;
//   - with no usable token every caller waits for the single acquisition
//     in flight (or for its own context);
//   - a request carrying CAE claims (a challenge) bypasses the cache and
//     replaces the cached token.
//
// Acquisitions run on a context detached from the caller's cancellation
// (so one impatient caller does not fail the others) and bounded by
// timeout.
type tokenCache struct {
	inner    azcore.TokenCredential
	endpoint string // the token endpoint's host, for messages
	timeout  time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	entries map[tokenKey]*tokenEntry
}

type tokenKey struct {
	scopes string
	tenant string
	cae    bool
}

type tokenEntry struct {
	tok         azcore.AccessToken
	have        bool
	usableUntil time.Time
	refreshAt   time.Time
	nextTry     time.Time
	inflight    *tokenCall
	lastUsed    time.Time
}

type tokenCall struct {
	done chan struct{}
	tok  azcore.AccessToken
	err  error
}

var _ azcore.TokenCredential = (*tokenCache)(nil)

func newTokenCache(inner azcore.TokenCredential, endpoint string, timeout time.Duration, log *slog.Logger) *tokenCache {
	if timeout <= 0 {
		timeout = defaultTokenWindow
	}
	return &tokenCache{inner: inner, endpoint: endpoint, timeout: timeout, now: time.Now, log: log, entries: map[tokenKey]*tokenEntry{}}
}

// GetToken returns a cached token or acquires one.
func (c *tokenCache) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	key := tokenKey{scopes: strings.Join(opts.Scopes, " "), tenant: strings.ToLower(opts.TenantID), cae: opts.EnableCAE}
	if opts.Claims != "" {
		return c.challenge(ctx, key, opts)
	}
	c.mu.Lock()
	e := c.entry(key)
	now := c.now()
	e.lastUsed = now
	if e.have && now.Before(e.usableUntil) {
		if !now.Before(e.refreshAt) && !now.Before(e.nextTry) && e.inflight == nil {
			c.start(ctx, key, e, opts)
		}
		tok := e.tok
		c.mu.Unlock()
		return tok, nil
	}
	call := e.inflight
	if call == nil {
		call = c.start(ctx, key, e, opts)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.tok, ownCopy(call.err)
	case <-ctx.Done():
		noteTokenWait(ctx, c.endpoint)
		return azcore.AccessToken{}, &tokenWaitError{endpoint: c.endpoint, err: ctx.Err()}
	}
}

// entry returns the entry for key, creating it; c.mu is held.
func (c *tokenCache) entry(key tokenKey) *tokenEntry {
	if e, ok := c.entries[key]; ok {
		return e
	}
	if len(c.entries) >= maxTokensPerCred {
		var oldest tokenKey
		var at time.Time
		for k, e := range c.entries {
			if e.inflight == nil && (at.IsZero() || e.lastUsed.Before(at)) {
				oldest, at = k, e.lastUsed
			}
		}
		if !at.IsZero() {
			delete(c.entries, oldest)
		}
	}
	e := &tokenEntry{}
	c.entries[key] = e
	return e
}

// start launches the one acquisition for an entry; c.mu is held.
func (c *tokenCache) start(ctx context.Context, key tokenKey, e *tokenEntry, opts policy.TokenRequestOptions) *tokenCall {
	call := &tokenCall{done: make(chan struct{})}
	e.inflight = call
	early := e.have
	go func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		tok, err := c.acquire(actx, opts)
		c.mu.Lock()
		now := c.now()
		e.inflight = nil
		if err == nil {
			c.store(e, tok, now)
		} else if early && now.Before(e.usableUntil) {
			e.nextTry = now.Add(refreshRetryDelay)
			c.log.Warn("early token refresh failed; keeping the current token", "scopes", key.scopes,
				"expiresOn", e.tok.ExpiresOn, "retryAt", e.nextTry, "err", err)
		}
		c.mu.Unlock()
		call.tok, call.err = tok, err
		close(call.done)
	}()
	return call
}

// challenge answers a CAE claims challenge: always a fresh token.
func (c *tokenCache) challenge(ctx context.Context, key tokenKey, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.acquire(ctx, opts)
	if err != nil {
		return tok, err
	}
	c.mu.Lock()
	c.store(c.entry(key), tok, c.now())
	c.mu.Unlock()
	return tok, nil
}

// store records a fresh token and its refresh time; c.mu is held.
func (c *tokenCache) store(e *tokenEntry, tok azcore.AccessToken, now time.Time) {
	life := tok.ExpiresOn.Sub(now)
	e.tok, e.have = tok, true
	e.usableUntil = tok.ExpiresOn.Add(-min(expiryMargin, life/10))
	switch {
	case !tok.RefreshOn.IsZero() && tok.RefreshOn.Before(tok.ExpiresOn):
		e.refreshAt = tok.RefreshOn
	default:
		e.refreshAt = tok.ExpiresOn.Add(-min(refreshWindow, life/2))
	}
	if !e.refreshAt.After(now) {
		// The credential handed back a token already inside its window
		// (its own cache): try again halfway to the end of its use.
		e.refreshAt = now.Add(e.usableUntil.Sub(now) / 2)
	}
	e.nextTry = time.Time{}
}

// acquire calls the credential with a probe in the context and attaches
// what the transport saw to a failure.
func (c *tokenCache) acquire(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	pctx, p := withProbe(ctx)
	tok, err := c.inner.GetToken(pctx, opts)
	if err != nil {
		te := &tokenError{err: err, endpoint: c.endpoint}
		if ev, ok := p.lastEvent(); ok {
			te.endpoint = ev.Host
		}
		if ev, ok := p.transportFailure(); ok {
			te.transport = ev.Err
		}
		te.freeze()
		return azcore.AccessToken{}, te
	}
	return tok, nil
}

// expire forgets every cached token (tests; a credential rebuilt).
func (c *tokenCache) expire() {
	c.mu.Lock()
	for _, e := range c.entries {
		e.have = false
	}
	c.mu.Unlock()
}

// tokenError is a failed token acquisition: the credential's error, the
// host last addressed and the typed transport failure if the last
// exchange failed in transport.
//
// One acquisition's failure reaches every caller that waited for it, and
// each reads it (its message, Entra's answer) on its own goroutine. Reading
// an azidentity.AuthenticationFailedError's body is not safe concurrently
// (runtime.Payload caches the body by writing to the response), so the
// acquiring goroutine reads it once (freeze) and every caller gets its own
// copy of the error with its own response body (ownCopy).
type tokenError struct {
	err       error
	endpoint  string
	transport error

	msg  string                                // err.Error(), read once
	auth *azidentity.AuthenticationFailedError // this caller's copy, found first by errors.As
	body []byte                                // the authority's answer
}

func (e *tokenError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}

func (e *tokenError) Unwrap() []error {
	errs := make([]error, 0, 3)
	if e.auth != nil {
		errs = append(errs, e.auth)
	}
	errs = append(errs, e.err)
	if e.transport != nil {
		errs = append(errs, e.transport)
	}
	return errs
}

// freeze reads, on the acquiring goroutine, what callers will read: the
// message and the authority's answer.
func (e *tokenError) freeze() {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(e.err, &afe) && afe.RawResponse != nil {
		if body, err := runtime.Payload(afe.RawResponse); err == nil {
			e.body = body
		}
	}
	e.msg = e.err.Error()
	if e.body != nil {
		e.auth = copyAuthFailure(afe, e.body)
	}
}

// ownCopy gives a waiting caller its own copy of a shared failure.
func ownCopy(err error) error {
	te, ok := err.(*tokenError)
	if !ok || te.auth == nil {
		return err
	}
	cp := *te
	cp.auth = copyAuthFailure(te.auth, te.body)
	return &cp
}

// copyAuthFailure copies an authentication failure with a response of its
// own, whose body reads body.
func copyAuthFailure(afe *azidentity.AuthenticationFailedError, body []byte) *azidentity.AuthenticationFailedError {
	cp := *afe
	resp := *afe.RawResponse
	resp.Body = io.NopCloser(bytes.NewReader(body))
	cp.RawResponse = &resp
	return &cp
}

// tokenWaitError is a caller that gave up waiting for a token.
type tokenWaitError struct {
	endpoint string
	err      error
}

func (e *tokenWaitError) Error() string {
	return "waiting for a token from " + e.endpoint + ": " + e.err.Error()
}

func (e *tokenWaitError) Unwrap() error { return e.err }
