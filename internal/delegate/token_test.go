package delegate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/protocol"
)

// TestParseTokenAlphabet: the token id is looked up in the database, so
// only what NewToken makes (lower-case base32) is accepted.
func TestParseTokenAlphabet(t *testing.T) {
	id, tok, err := delegate.NewToken("acme")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, ok := delegate.ParseToken(tok.Reveal()); !ok || got != id {
		t.Fatalf("a fresh token did not parse: %q %v", got, ok)
	}
	for _, tc := range []struct{ name, tok string }{
		{"empty", ""},
		{"another prefix", "azk.a.b.c"},
		{"empty id", "azd.a..c"},
		{"empty secret", "azd.a.b."},
		{"five parts", "azd.a.b.c.d"},
		{"id invalid UTF-8", "azd.acc.\xff.x"},
		{"id half a rune", "azd.acc.\xc3.x"},
		{"id NUL", "azd.acc.ab\x00.x"},
		{"id upper case", "azd.acc.ABC.x"},
		{"id punctuation", "azd.acc.a%00b.x"},
		{"id space", "azd.acc.a b.x"},
		{"id too long", "azd.acc." + strings.Repeat("a", 65) + ".x"},
		{"secret NUL", "azd.acc.abc.x\x00"},
		{"secret invalid UTF-8", "azd.acc.abc.\xff"},
	} {
		if got, _, ok := delegate.ParseToken(tc.tok); ok {
			t.Errorf("%s: ParseToken(%q) accepted, id %q", tc.name, tc.tok, got)
		}
	}
}

// TestMalformedTokenRefused: a Bearer token whose id is not NewToken's
// alphabet (invalid UTF-8, NUL) gets a clean 401 on both stores; on
// PostgreSQL it used to reach the database, which refuses such text, and
// the caller got a 500. A delegate id header of the same kind is refused
// the same way.
func TestMalformedTokenRefused(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{})
			good := f.token(t, f.acc, "main")
			for _, tok := range []string{"azd.acme.\xff.x", "azd.acme.\xc3\x28.x", "azd.acme.a\x00b.x", "azd.acme.abc.\xff\x00"} {
				for _, path := range []string{protocol.PathRegister, protocol.PathPoll, strings.Replace(protocol.PathLogs, "{id}", "tsk_x", 1)} {
					code, body := serve(f.hub, path, "Bearer "+tok, "")
					if code != http.StatusUnauthorized || body.Code != protocol.CodeUnauthenticated {
						t.Errorf("%s with token %q: %d %+v", path, tok, code, body)
					}
				}
			}
			// A valid token with a malformed delegate id: the delegate is
			// unknown, never a server error.
			for _, did := range []string{"dlg_\xff", "dlg_a\x00b"} {
				code, body := serve(f.hub, protocol.PathHeartbeat, "Bearer "+good, did)
				if code != http.StatusConflict || body.Code != protocol.CodeUnknownDelegate {
					t.Errorf("delegate id %q: %d %+v", did, code, body)
				}
			}
			// A registered delegate naming a task id that is not text:
			// no such task, never a server error.
			var rr protocol.RegisterResponse
			_ = json.Unmarshal(rawCall(t, f.srv.URL, good, "", protocol.PathRegister, protocol.RegisterRequest{Name: "d", Concurrency: 1}), &rr)
			for _, id := range []string{"\xff", "a\x00b"} {
				code, body := serve(f.hub, strings.Replace(protocol.PathLogs, "{id}", url.PathEscape(id), 1), "Bearer "+good, rr.DelegateID)
				if code != http.StatusNotFound || body.Code != protocol.CodeNotFound {
					t.Errorf("logs of task %q: %d %+v", id, code, body)
				}
				if _, _, err := f.hub.GetTask(context.Background(), access.System("t"), id); failure.KindOf(err) != failure.NotFound {
					t.Errorf("GetTask(%q): %v", id, err)
				}
			}
		})
	}
}

// serve calls the hub directly (net/http's client refuses to send a NUL
// in a header; a raw connection can).
func serve(h *delegate.Hub, path, auth, did string) (int, protocol.ErrorBody) {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`))
	r.Header["Authorization"] = []string{auth}
	if did != "" {
		r.Header[protocol.HeaderDelegate] = []string{did}
	}
	w := httptest.NewRecorder()
	h.ServeProtocol(w, r)
	var e protocol.ErrorBody
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	return w.Code, e
}
