package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/failure"
)

const testKey = "azk.acme.keyid.supersecretpart"

func TestNewChecksOptions(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"no url", Options{APIKey: testKey}, "no server URL"},
		{"bad scheme", Options{BaseURL: "ftp://h", APIKey: testKey}, "want http://host:port"},
		{"query", Options{BaseURL: "http://h?x=1", APIKey: testKey}, "query"},
		{"no key", Options{BaseURL: "http://h"}, "no API key"},
		{"key with space", Options{BaseURL: "http://h", APIKey: "azk.a.b c.d"}, "white space"},
		{"no account", Options{BaseURL: "http://h", APIKey: "not-an-azimuth-key"}, "no account"},
		{"password in url redacted", Options{BaseURL: "ftp://u:pw123@h", APIKey: testKey}, "xxxxx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
			if strings.Contains(err.Error(), "pw123") || strings.Contains(err.Error(), "supersecretpart") {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
	c, err := New(Options{BaseURL: "http://h:1/prefix/", APIKey: testKey})
	if err != nil || c.Account() != "acme" || c.BaseURL() != "http://h:1/prefix" {
		t.Fatalf("account from key, prefix kept: %v %v", c, err)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", *c)} {
		if strings.Contains(s, "supersecretpart") {
			t.Fatalf("formatted client shows the key: %s", s)
		}
	}
}

// server answers every request with status and body, recording the request.
func server(t *testing.T, status int, body string, seen *http.Request) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			*seen = *r.Clone(context.Background())
		}
		w.Header().Set("ETag", `"7"`)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/base", APIKey: testKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRequestShape(t *testing.T) {
	var seen http.Request
	c := server(t, 200, `{"status":"SUCCESS","data":{"connector":{"identifier":"a b","type":"Azure","spec":{}}},"correlationId":"x"}`, &seen)
	got, err := c.GetConnector(context.Background(), Scope{Org: "o", Project: "p"}, "a b/c")
	if err != nil {
		t.Fatal(err)
	}
	if seen.URL.EscapedPath() != "/base/ng/api/connectors/a%20b%2Fc" {
		t.Errorf("path %s", seen.URL.EscapedPath())
	}
	q := seen.URL.Query()
	if q.Get("accountIdentifier") != "acme" || q.Get("orgIdentifier") != "o" || q.Get("projectIdentifier") != "p" {
		t.Errorf("query %v", q)
	}
	if seen.Header.Get("x-api-key") != testKey || !strings.HasPrefix(seen.Header.Get("X-Correlation-Id"), "cli-") {
		t.Errorf("headers %v", seen.Header)
	}
	if got.Version != 7 || got.Connector.Identifier != "a b" || string(got.Connector.Raw) == "" {
		t.Errorf("decoded %+v", got)
	}
	doc, _ := got.Document()
	if string(doc) != `{"connector":{"identifier":"a b","type":"Azure","spec":{}}}` {
		t.Errorf("document %s", doc)
	}
}

func TestErrorDecoding(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		kind   failure.Kind
		want   []string
	}{
		{"validation", 400, `{"status":"FAILURE","code":"INVALID_REQUEST","message":"a: bad, b: worse","correlationId":"c1","errors":[{"fieldId":"a","error":"bad"},{"fieldId":"b","error":"worse"}]}`,
			failure.Invalid, []string{"(2 problems):\n  a: bad\n  b: worse"}},
		{"one field", 400, `{"status":"FAILURE","code":"INVALID_REQUEST","message":"a: bad","errors":[{"fieldId":"a","error":"bad"}]}`,
			failure.Invalid, []string{"refused the request:\n  a: bad"}},
		{"not found", 404, `{"status":"ERROR","code":"RESOURCE_NOT_FOUND_EXCEPTION","message":"Connector x not found","correlationId":"c2","responseMessages":[]}`,
			failure.NotFound, []string{"Connector x not found"}},
		{"conflict with hint", 409, `{"status":"ERROR","code":"DUPLICATE_FIELD","message":"exists","detailedMessage":"pick another"}`,
			failure.Conflict, []string{"exists\n  hint: pick another"}},
		{"unauthenticated", 401, `{"status":"ERROR","code":"INVALID_TOKEN","message":"bad key"}`, failure.Unauthenticated, []string{"bad key"}},
		{"forbidden", 403, `{"status":"ERROR","code":"NG_ACCESS_DENIED","message":"no"}`, failure.Forbidden, []string{"no"}},
		{"too large", 413, `{"status":"ERROR","message":"big"}`, failure.TooLarge, []string{"big"}},
		{"internal keeps the correlation id", 500, `{"status":"ERROR","message":"internal error","correlationId":"c9"}`, failure.Internal, []string{"correlation id c9"}},
		{"not json", 502, "<html>bad gateway</html>", failure.Unavailable, []string{"502 Bad Gateway: <html>bad gateway</html>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := server(t, c.status, c.body, nil)
			_, err := cl.Whoami(context.Background())
			var ce *Error
			if !errors.As(err, &ce) || ce.StatusCode != c.status || KindOf(err) != c.kind || failure.KindOf(err) != c.kind {
				t.Fatalf("got %#v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("%q lacks %q", err.Error(), w)
				}
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	c, _ := New(Options{BaseURL: "http://127.0.0.1:1", APIKey: testKey})
	_, err := c.Whoami(context.Background())
	if KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "cannot reach the Azimuth server at http://127.0.0.1:1") {
		t.Fatalf("refused: %v", err)
	}
	if strings.Contains(err.Error(), "supersecretpart") {
		t.Fatal("key in error")
	}
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	c, _ = New(Options{BaseURL: srv.URL, APIKey: testKey, Timeout: 50 * time.Millisecond})
	if _, err := c.Whoami(context.Background()); KindOf(err) != failure.Timeout {
		t.Fatalf("timeout: %v", err)
	}
	c, _ = New(Options{BaseURL: srv.URL, APIKey: testKey, Timeout: -1})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := c.Whoami(ctx); KindOf(err) != failure.Canceled {
		t.Fatalf("canceled: %v", err)
	}
}

func TestNotJSONSuccess(t *testing.T) {
	c := server(t, 200, "<html>a proxy page</html>", nil)
	_, err := c.Whoami(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("got %v", err)
	}
}
