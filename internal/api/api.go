// Package api is Azimuth's REST API: Harness NG-compatible endpoints under
// /ng/api (organizations, projects, secrets v2, connectors) and Azimuth's
// own under /ng/api/azimuth (API keys, audit trail, keyring), plus /healthz
// and /readyz. There is one route table (routes.go); handlers decode the
// request, call a service and render the result in Harness's envelopes;
// errors become HTTP statuses in exactly one place (render.go).
//
// HTTP behaviour, for every route:
//   - Authentication: the x-api-key header (401 without a valid key).
//   - Scope: accountIdentifier (required), orgIdentifier, projectIdentifier
//     query parameters. Anything outside the key's scope is 404.
//   - Bodies: JSON, or YAML with a yaml Content-Type; unknown fields are
//     ignored as Harness does; at most MaxBody bytes (413 beyond).
//   - Text: every query parameter, path value and body string must be
//     valid UTF-8 without NUL characters (400 naming it otherwise).
//   - Responses: {"status":"SUCCESS","data":...,"metaData":null,
//     "correlationId":...}; YAML when Accept asks for it. Validation errors:
//     400 {"status":"FAILURE","code":"INVALID_REQUEST","errors":[{fieldId,
//     error}]}; other errors: {"status":"ERROR","code","message",
//     "responseMessages"} with 401/403/404/409/413/500/503.
//   - Every response carries X-Correlation-Id (the caller's, if sane).
//   - Optimistic concurrency: single-entity responses carry ETag (the
//     version); If-Match on updates and deletes must match it (409).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store"
)

// DefaultMaxBody caps request bodies (1 MiB); file-secret uploads get
// twice that for the multipart framing.
const DefaultMaxBody = 1 << 20

// Handler serves one authenticated route: p is the caller. It writes the
// success response itself (with OK) and returns an error otherwise.
type Handler func(w http.ResponseWriter, r *http.Request, p access.Principal) error

// Route is one entry of the route table.
type Route struct {
	Method  string
	Path    string // a net/http ServeMux path pattern
	Summary string
	Public  bool  // served without an API key
	MaxBody int64 // 0: DefaultMaxBody
	handle  Handler
	raw     http.HandlerFunc // public routes
}

// Deps are what the API needs.
type Deps struct {
	Services *service.Services
	Health   store.Health
	Logger   *slog.Logger
	Version  string
	// Tasks is the task engine; nil serves no task routes' work (they
	// answer 503).
	Tasks Tasks
}

// API is the HTTP surface.
type API struct {
	svc     *service.Services
	health  store.Health
	log     *slog.Logger
	version string
	tasks   Tasks
	extra   []Route
	// delegates is the delegate hub (routes_engine.go, SetDelegates).
	delegates DelegateAdmin
}

// New builds the API.
func New(d Deps) *API {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{svc: d.Services, health: d.Health, log: log.With("component", "api"), version: d.Version, tasks: d.Tasks}
}

// Handle adds an authenticated route before Handler is called: how later
// parts of the server (delegates, tasks) join the same table, auth and
// error rendering.
func (a *API) Handle(method, path, summary string, h Handler) {
	a.extra = append(a.extra, Route{Method: method, Path: path, Summary: summary, handle: h})
}

// Routes lists every route, for documentation and the OpenAPI golden test.
func (a *API) Routes() []Route {
	return append(a.routes(), a.extra...)
}

// Handler returns the http.Handler serving every route.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.Routes() {
		mux.Handle(rt.Method+" "+rt.Path, a.wrap(rt))
	}
	return a.outer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pat := mux.Handler(r); pat == "" {
			a.noRoute(w, r, mux)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// noRoute answers 405 (with Allow) when the path exists under another
// method, 404 otherwise, in Harness's error shape.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		c := r.Clone(r.Context())
		c.Method = m
		if _, pat := mux.Handler(c); pat != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		msg := r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + strings.Join(allow, ", ")
		write(w, r, http.StatusMethodNotAllowed, errorBody{Status: "ERROR", Code: "METHOD_NOT_ALLOWED", Message: msg,
			CorrelationID:    correlationID(r.Context()),
			ResponseMessages: []responseMessage{{Code: "METHOD_NOT_ALLOWED", Level: "ERROR", Message: msg, FailureTypes: []string{}}}})
		return
	}
	fail(w, r, a.log, failure.New(failure.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path).WithCode("RESOURCE_NOT_FOUND"))
}

func (a *API) wrap(rt Route) http.Handler {
	limit := rt.MaxBody
	if limit == 0 {
		limit = DefaultMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if rt.Public {
			rt.raw(w, r)
			return
		}
		p, err := a.svc.APIKeys.Authenticate(r.Context(), r.Header.Get("x-api-key"), remoteHost(r), r.URL.Query().Get("accountIdentifier"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		setPrincipal(r.Context(), p)
		if err := checkRequestText(r, rt.Path); err != nil {
			fail(w, r, a.log, err)
			return
		}
		if err := rt.handle(w, r, p); err != nil {
			fail(w, r, a.log, err)
		}
	})
}

// OK writes a SUCCESS envelope around data.
func OK(w http.ResponseWriter, r *http.Request, data any) { ok(w, r, data) }

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	write(w, r, http.StatusOK, map[string]string{"status": "ok", "version": a.version})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2e9)
	defer cancel()
	if err := a.health.Ping(ctx); err != nil {
		a.log.Warn("not ready", "err", err)
		write(w, r, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database not reachable"})
		return
	}
	write(w, r, http.StatusOK, map[string]string{"status": "ready"})
}
