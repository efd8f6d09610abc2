package azure

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// Timeouts of the process-wide transport. Per-try and per-call timeouts
// (Options) sit on top of these.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 60 * time.Second
	maxSameHostRedirects  = 3
)

// RequestEvent describes one HTTP exchange the transport made (for tests
// and metrics; see Options.Observe). It never carries a header or a body.
type RequestEvent struct {
	Start    time.Time
	Duration time.Duration
	Method   string
	Host     string // as addressed (before the override's dial map)
	Path     string
	Status   int   // 0 when Err is set
	Err      error // transport error (DNS, refused, TLS, timeout...)
}

// transport is the one HTTP transport of a process: every SDK client and
// credential of a Factory sends through it. It trusts the system roots
// plus the override's CA bundle, applies the override's dial map, refuses
// redirects to another host, sets a User-Agent and records transport
// outcomes in the request's probe (see probe) so that errors azidentity
// flattens to text can still be classified by type.
type transport struct {
	client    *http.Client
	userAgent string
	observe   func(RequestEvent)
}

var _ policy.Transporter = (*transport)(nil)

func newTransport(o *cloud.Override, userAgent string, observe func(RequestEvent)) (*transport, error) {
	pool, err := o.CertPool()
	if err != nil {
		return nil, err
	}
	hosts := map[string]string{}
	if o != nil {
		for k, v := range o.Hosts {
			hosts[strings.ToLower(k)] = v
		}
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if _, mapped := hosts[strings.ToLower(canonicalAddr(r.URL))]; mapped {
				return nil, nil
			}
			return http.ProxyFromEnvironment(r)
		},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := hosts[strings.ToLower(addr)]; ok {
				addr = to
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		ForceAttemptHTTP2:     true,
	}
	client := &http.Client{
		Transport: tr,
		// Follow a redirect only within the same host: a redirect
		// elsewhere is answered as it is, so Azimuth never carries a
		// request (and its bearer token) to a host it did not address.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) == 0 {
				return nil
			}
			if !strings.EqualFold(req.URL.Host, via[0].URL.Host) || req.URL.Scheme != via[0].URL.Scheme {
				return http.ErrUseLastResponse
			}
			if len(via) >= maxSameHostRedirects {
				return fmt.Errorf("stopped after %d redirects", len(via))
			}
			return nil
		},
	}
	if userAgent == "" {
		userAgent = "azimuth"
	}
	return &transport{client: client, userAgent: userAgent, observe: observe}, nil
}

// canonicalAddr is u's host:port with the scheme's default port.
func canonicalAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "443"
	if u.Scheme == "http" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Do sends one request.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", t.userAgent)
	}
	start := time.Now()
	resp, err := t.client.Do(req)
	ev := RequestEvent{Start: start, Duration: time.Since(start), Method: req.Method, Host: req.URL.Host, Path: req.URL.Path, Err: err}
	if resp != nil {
		ev.Status = resp.StatusCode
	}
	if p := probeFrom(req.Context()); p != nil {
		p.record(ev)
	}
	if t.observe != nil {
		t.observe(ev)
	}
	return resp, err
}

// close drops idle connections.
func (t *transport) close() { t.client.CloseIdleConnections() }

// probe collects what the transport saw while one token was acquired.
// azidentity turns transport failures into an AuthenticationFailedError
// holding only the failure's text; the probe keeps the typed error (and
// the host and status of the last exchange) so classification never has
// to read error text.
type probe struct {
	mu   sync.Mutex
	last RequestEvent
	seen bool
	err  RequestEvent // the last exchange that failed in transport
}

type probeKey struct{}

func withProbe(ctx context.Context) (context.Context, *probe) {
	p := &probe{}
	return context.WithValue(ctx, probeKey{}, p), p
}

func probeFrom(ctx context.Context) *probe {
	p, _ := ctx.Value(probeKey{}).(*probe)
	return p
}

func (p *probe) record(ev RequestEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last, p.seen = ev, true
	if ev.Err != nil {
		p.err = ev
	}
}

// lastEvent returns the last exchange and whether there was one.
func (p *probe) lastEvent() (RequestEvent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.seen
}

// transportFailure returns the last transport failure, if the last
// exchange failed in transport.
func (p *probe) transportFailure() (RequestEvent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen && p.last.Err != nil {
		return p.err, true
	}
	return RequestEvent{}, false
}

// callTimeoutPolicy bounds a whole call (every retry included) when the
// caller's context has no deadline of its own, so no Azure call can wait
// forever even if an executor forgot Credential.Context. Whatever the
// deadline, a failed call is attributed to the host that failed: when the
// caller's own deadline ends the retries, azcore returns the bare context
// error, which names no host (and hides that it was the token, not the
// call, that never came).
type callTimeoutPolicy struct{ d time.Duration }

func (p callTimeoutPolicy) Do(req *policy.Request) (*http.Response, error) {
	host := req.Raw().URL.Host
	tr := &callTrace{}
	ctx := context.WithValue(req.Raw().Context(), callTraceKey{}, tr)
	if _, ok := ctx.Deadline(); ok || p.d <= 0 {
		resp, err := req.Clone(ctx).Next()
		if err != nil {
			err = tr.attribute(host, err)
		}
		return resp, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.d)
	resp, err := req.Clone(ctx).Next()
	if err != nil || resp == nil || resp.Body == nil {
		cancel()
		if err != nil {
			err = tr.attribute(host, err)
		}
		return resp, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// callTrace is what one call's token wait left for the call's error: the
// token endpoint it gave up on (the retry policy drops that error when the
// context ends).
type callTrace struct {
	mu        sync.Mutex
	tokenWait string
}

type callTraceKey struct{}

// noteTokenWait records, in the call ctx belongs to, that a token from
// endpoint was still awaited when ctx ended.
func noteTokenWait(ctx context.Context, endpoint string) {
	if tr, ok := ctx.Value(callTraceKey{}).(*callTrace); ok {
		tr.mu.Lock()
		tr.tokenWait = endpoint
		tr.mu.Unlock()
	}
}

// attribute names the host of a failed call: the token endpoint it was
// waiting for, else the host it addressed.
func (tr *callTrace) attribute(host string, err error) error {
	tr.mu.Lock()
	wait := tr.tokenWait
	tr.mu.Unlock()
	var we *tokenWaitError
	if wait != "" && !errors.As(err, &we) {
		err = &tokenWaitError{endpoint: wait, err: err}
	}
	return &callError{host: host, err: err}
}

// cancelOnClose releases a call's timeout once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// callError names the host of a failed call whose error may not (a
// context deadline or cancellation reported by the retry policy).
type callError struct {
	host string
	err  error
}

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }
