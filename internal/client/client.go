// Package client is a small Go client for Azimuth's API, used by the CLI and
// by end-to-end tests. It speaks Harness's shapes: scope in query
// parameters, the x-api-key header, JSON bodies, the {status, data,
// correlationId} envelope on success and Harness's error bodies otherwise,
// which it turns into *Error values that keep the failure kind, the HTTP
// status, the field errors and the correlation id.
//
// The API key never appears in an error, a log line or a formatted Client.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// DefaultTimeout bounds one request (connect, send, wait, read) when the
// caller's context has no earlier deadline.
const DefaultTimeout = 60 * time.Second

// maxResponse caps how much of a response body is read (a page of 1,000
// connectors is about 2 MiB).
const maxResponse = 64 << 20

// Options configure a Client.
type Options struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8080. A path prefix is
	// kept (for a server behind a proxy under /azimuth).
	BaseURL string
	// APIKey is sent as x-api-key.
	APIKey string
	// Account is the accountIdentifier of every request. Empty: the account
	// named in the API key (azk.<account>.<id>.<secret>).
	Account string
	// HTTPClient replaces the default client (its own transport, keeping
	// connections to the server alive).
	HTTPClient *http.Client
	// Timeout bounds each request; 0 means DefaultTimeout, negative none.
	Timeout time.Duration
	// UserAgent is sent as User-Agent.
	UserAgent string
}

// Client talks to one Azimuth server as one API key.
type Client struct {
	base    *url.URL
	key     *apiKey
	account string
	hc      *http.Client
	timeout time.Duration
	ua      string
}

// apiKey holds the key behind a pointer, so even a formatted Client
// (%+v reaches unexported fields without calling their methods) shows an
// address, never the key; the methods redact it wherever they are used.
type apiKey struct{ s string }

func (*apiKey) String() string                { return "[redacted]" }
func (*apiKey) GoString() string              { return `"[redacted]"` }
func (*apiKey) LogValue() slog.Value          { return slog.StringValue("[redacted]") }
func (*apiKey) MarshalJSON() ([]byte, error)  { return []byte(`"[redacted]"`), nil }
func (*apiKey) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, "[redacted]") }

// AccountFromKey returns the account an Azimuth API key names
// (azk.<account>.<id>.<secret>), or "".
func AccountFromKey(key string) string {
	parts := strings.Split(strings.TrimSpace(key), ".")
	if len(parts) == 4 && parts[0] == "azk" {
		return parts[1]
	}
	return ""
}

// New returns a client. It checks the options but does not contact the
// server.
func New(o Options) (*Client, error) {
	raw := strings.TrimSpace(o.BaseURL)
	if raw == "" {
		return nil, failure.New(failure.Invalid, "no server URL: give one such as http://127.0.0.1:8080")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, failure.New(failure.Invalid, "server URL %q: want http://host:port or https://host", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, failure.New(failure.Invalid, "server URL %q: must not have a query or a fragment", redactURL(raw))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	key := strings.TrimSpace(o.APIKey)
	if key == "" {
		return nil, failure.New(failure.Unauthenticated, "no API key")
	}
	if strings.ContainsAny(key, "\r\n\t ") {
		return nil, failure.New(failure.Invalid, "the API key contains white space; check the file or variable it came from")
	}
	acc := strings.TrimSpace(o.Account)
	if acc == "" {
		acc = AccountFromKey(key)
	}
	if acc == "" {
		return nil, failure.New(failure.Invalid, "no account: give one (the API key does not name it)")
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr}
	}
	t := o.Timeout
	if t == 0 {
		t = DefaultTimeout
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "azimuth-client"
	}
	return &Client{base: u, key: &apiKey{s: key}, account: acc, hc: hc, timeout: t, ua: ua}, nil
}

// BaseURL is the server's URL (without credentials).
func (c *Client) BaseURL() string { return c.base.Redacted() }

// Account is the accountIdentifier the client sends.
func (c *Client) Account() string { return c.account }

// String describes the client without its key.
func (c *Client) String() string {
	return fmt.Sprintf("azimuth client for %s (account %s)", c.base.Redacted(), c.account)
}

// Scope is where a request acts, below the client's account: both empty is
// the account, Org alone an organization, Org and Project a project.
type Scope struct {
	Org     string
	Project string
}

func (s Scope) String() string {
	switch {
	case s.Project != "":
		return "project " + s.Org + "/" + s.Project
	case s.Org != "":
		return "organization " + s.Org
	}
	return "account"
}

// query returns the scope parameters, with the account.
func (c *Client) query(sc Scope) url.Values {
	q := url.Values{"accountIdentifier": {c.account}}
	if sc.Org != "" {
		q.Set("orgIdentifier", sc.Org)
	}
	if sc.Project != "" {
		q.Set("projectIdentifier", sc.Project)
	}
	return q
}

// Request is one API call, for the routes this package has no method for
// (later parts of the API use Do directly).
type Request struct {
	Method string
	Path   string // below the base URL, e.g. /ng/api/connectors; path segments already escaped
	Query  url.Values
	// Body is sent as is with ContentType; JSON, when set, is encoded
	// instead (and ContentType defaults to application/json).
	Body        []byte
	ContentType string
	JSON        any
	Header      http.Header
}

// Response is a decoded success.
type Response struct {
	StatusCode    int
	Header        http.Header
	CorrelationID string
	// Data is the envelope's data; Raw is the whole body.
	Data json.RawMessage
	Raw  []byte
}

// Version is the entity version in the response's ETag (0 when absent).
func (r *Response) Version() int64 {
	v := strings.Trim(strings.TrimPrefix(r.Header.Get("ETag"), "W/"), `"`)
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// Do sends req with the client's key and account (added to Query when the
// request has none) and decodes the envelope. out, when not nil, receives
// the envelope's data. Errors are *Error for an answer of the server, or a
// failure of kind Unavailable (could not reach it), Timeout or Canceled.
func (c *Client) Do(ctx context.Context, req Request, out any) (*Response, error) {
	op := req.Method + " " + req.Path
	q := req.Query
	if q == nil {
		q = url.Values{}
	}
	if q.Get("accountIdentifier") == "" {
		q.Set("accountIdentifier", c.account)
	}
	target := c.base.String() + req.Path + "?" + q.Encode()

	body, ct := req.Body, req.ContentType
	if req.JSON != nil {
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", op, err)
		}
		body = b
		defer wipe(b) // it may hold a secret value
		if ct == "" {
			ct = "application/json"
		}
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if body == nil {
		hr.Body, hr.GetBody, hr.ContentLength = nil, nil, 0
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if hr.Header.Get("Accept") == "" {
		hr.Header.Set("Accept", "application/json")
	}
	cid := newCorrelationID()
	hr.Header.Set("X-Correlation-Id", cid)
	hr.Header.Set("User-Agent", c.ua)
	hr.Header.Set("x-api-key", c.key.s)

	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, c.transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, c.transportError(ctx, op, err)
	}
	if len(raw) > maxResponse {
		return nil, failure.New(failure.Internal, "%s: the response is larger than %d bytes", op, maxResponse)
	}
	if rc := resp.Header.Get("X-Correlation-Id"); rc != "" {
		cid = rc
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(op, resp, raw, cid)
	}
	r := &Response{StatusCode: resp.StatusCode, Header: resp.Header, CorrelationID: cid, Raw: raw}
	var env struct {
		Status        string          `json:"status"`
		Data          json.RawMessage `json:"data"`
		CorrelationID string          `json:"correlationId"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, &Error{Op: op, StatusCode: resp.StatusCode, Kind: failure.Internal, CorrelationID: cid,
			Message: "the server's answer is not JSON (" + snippet(raw) + "); is " + c.base.Redacted() + " an Azimuth server?"}
	}
	r.Data = env.Data
	if env.CorrelationID != "" {
		r.CorrelationID = env.CorrelationID
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return nil, &Error{Op: op, StatusCode: resp.StatusCode, Kind: failure.Internal, CorrelationID: r.CorrelationID,
				Message: "the server's answer has an unexpected shape: " + err.Error()}
		}
	}
	return r, nil
}

// transportError classifies a failure to get an answer at all.
func (c *Client) transportError(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return failure.Wrap(failure.Timeout, errors.Unwrap(err), "%s: no answer from %s in time", op, c.base.Redacted())
	case errors.Is(ctx.Err(), context.Canceled):
		return failure.Wrap(failure.Canceled, ctx.Err(), "%s: canceled", op)
	}
	// *url.Error repeats the method and the URL; keep the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	hint := ""
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		hint = " (is the server running? `azimuth dev` or `azimuth server` starts one)"
	}
	return failure.Wrap(failure.Unavailable, err, "cannot reach the Azimuth server at %s%s", c.base.Redacted(), hint)
}

func newCorrelationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "cli-" + hex.EncodeToString(b[:])
}

// redactURL hides a password in a URL the user typed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

// snippet is the start of a body that is not what was expected, printable.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }
