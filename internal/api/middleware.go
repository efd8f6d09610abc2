package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
)

type ctxKey int

const (
	keyCorrelation ctxKey = iota
	keyPrincipal
)

func correlationID(ctx context.Context) string {
	s, _ := ctx.Value(keyCorrelation).(string)
	return s
}

// setPrincipal records the authenticated principal for the access log.
func setPrincipal(ctx context.Context, p access.Principal) {
	if h, ok := ctx.Value(keyPrincipal).(*access.Principal); ok && h != nil {
		*h = p
	}
}

// newCorrelationID is 16 random hex characters.
func newCorrelationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validCorrelation accepts a caller's id only if it is short and plain, so
// it can go into logs without escaping games.
func validCorrelation(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
	r.ResponseWriter.WriteHeader(s)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// outer wraps every request: correlation id, panic recovery (a 500 only for
// real bugs, logged with the stack) and the access log.
func (a *API) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cid := r.Header.Get("X-Correlation-Id")
		if !validCorrelation(cid) {
			cid = newCorrelationID()
		}
		w.Header().Set("X-Correlation-Id", cid)
		ctx := context.WithValue(r.Context(), keyCorrelation, cid)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.ErrorContext(ctx, "panic serving request", "method", r.Method, "path", r.URL.Path,
					"correlationId", cid, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					fail(rec, r, a.log, failure.New(failure.Internal, "panic"))
				}
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
				slog.Int("bytes", rec.bytes), slog.Duration("took", time.Since(start)),
				slog.String("correlationId", cid), slog.String("remote", remoteHost(r)),
			}
			if p, ok := r.Context().Value(keyPrincipal).(*access.Principal); ok && p != nil {
				attrs = append(attrs, slog.String("keyId", p.KeyID))
			}
			a.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}()
		// The access log reads the principal through this pointer, set by
		// the authenticating handler further down.
		holder := new(access.Principal)
		r = r.WithContext(context.WithValue(ctx, keyPrincipal, holder))
		next.ServeHTTP(rec, r)
	})
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}
