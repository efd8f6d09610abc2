// Package web is Azimuth's browser UI: server-rendered pages (html/template,
// embedded) under /ui/ for the things a platform team looks at — scopes,
// connectors and their status, a connection test at the press of a button,
// secrets (metadata only), delegates, tasks and the audit trail.
//
// The UI holds no business logic and no privilege of its own: every page is
// rendered from calls to the same REST API, made in-process with the
// caller's API key, so what a key may see and do in the UI is exactly what
// it may through the API. The key is kept in an HttpOnly, SameSite=Strict
// cookie; state-changing requests must also come from the UI's own origin.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

//go:embed templates/*.html static/*
var assets embed.FS

// CookieName holds the API key of a signed-in browser.
const CookieName = "azimuth_key"

// Deps are what the UI needs.
type Deps struct {
	// API serves the REST API; the UI calls it in-process.
	API     http.Handler
	Logger  *slog.Logger
	Version string
}

// UI serves the pages.
type UI struct {
	api     http.Handler
	log     *slog.Logger
	version string
	pages   map[string]*template.Template
}

// New parses the templates.
func New(d Deps) (*UI, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{api: d.API, log: d.Logger.With("component", "web"), version: d.Version, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"millis":  fmtMillis,
		"join":    strings.Join,
		"scopeQS": scopeQuery,
		"lower":   strings.ToLower,
		"pretty":  prettyJSON,
	}
	for _, name := range []string{"login", "overview", "connectors", "connector", "secrets", "delegates", "tasks", "audit", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return u, nil
}

// Handler serves /ui/ and redirects / to it.
func (u *UI) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /ui/login", u.loginForm)
	mux.HandleFunc("POST /ui/login", u.login)
	mux.HandleFunc("POST /ui/logout", u.logout)
	mux.HandleFunc("GET /ui/{$}", u.signedIn(u.overview))
	mux.HandleFunc("GET /ui/connectors", u.signedIn(u.connectors))
	mux.HandleFunc("GET /ui/connectors/{id}", u.signedIn(u.connector))
	mux.HandleFunc("POST /ui/connectors/{id}/test", u.signedIn(u.testConnector))
	mux.HandleFunc("GET /ui/secrets", u.signedIn(u.secrets))
	mux.HandleFunc("GET /ui/delegates", u.signedIn(u.delegates))
	mux.HandleFunc("GET /ui/tasks", u.signedIn(u.tasks))
	mux.HandleFunc("GET /ui/audit", u.signedIn(u.audit))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	return securityHeaders(mux)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// session is a signed-in request: its key and the account it names.
type session struct {
	key     string
	account string
	whoami  whoami
}

type whoami struct {
	KeyID             string `json:"keyId"`
	Name              string `json:"name"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier"`
	ProjectIdentifier string `json:"projectIdentifier"`
	Role              string `json:"role"`
}

type pageHandler func(w http.ResponseWriter, r *http.Request, s *session)

// accountOf reads the account from a key (azk.<account>.<id>.<secret>).
func accountOf(key string) string {
	parts := strings.Split(key, ".")
	if len(parts) != 4 || parts[0] != "azk" {
		return ""
	}
	return parts[1]
}

func (u *UI) signedIn(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && !sameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		c, err := r.Cookie(CookieName)
		if err != nil || accountOf(c.Value) == "" {
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		s := &session{key: c.Value, account: accountOf(c.Value)}
		var who whoami
		if st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/azimuth/whoami", nil, nil, &who); err != nil || st != http.StatusOK {
			clearCookie(w, r)
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		s.whoami = who
		h(w, r, s)
	}
}

// sameOrigin accepts a state-changing request only when the browser says
// it comes from this host (Origin, or Referer when Origin is absent).
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	o, err := url.Parse(src)
	return err == nil && o.Host == r.Host
}

func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, key string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: key, Path: "/ui/", HttpOnly: true, Secure: secureRequest(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int((12 * time.Hour).Seconds())})
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/ui/", HttpOnly: true, Secure: secureRequest(r),
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// safeNext keeps a post-login redirect inside the UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/ui/"
	}
	return next
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "login", nil, map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	key := strings.TrimSpace(r.PostFormValue("apiKey"))
	next := safeNext(r.PostFormValue("next"))
	fail := func(msg string) {
		u.render(w, r, http.StatusUnauthorized, "login", nil, map[string]any{"Next": next, "Error": msg})
	}
	if accountOf(key) == "" {
		fail("That is not an Azimuth API key: keys look like azk.<account>.<id>.<secret>.")
		return
	}
	s := &session{key: key, account: accountOf(key)}
	var who whoami
	st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/azimuth/whoami", nil, nil, &who)
	if err != nil || st != http.StatusOK {
		fail("The API key was refused: it is unknown, revoked or expired.")
		return
	}
	setCookie(w, r, key)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	clearCookie(w, r)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// apiError is the error body of the API (Harness's shapes).
type apiError struct {
	Status  string `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Errors  []struct {
		FieldID string `json:"fieldId"`
		Error   string `json:"error"`
	} `json:"errors"`
}

func (e *apiError) Error() string {
	msg := e.Message
	for _, f := range e.Errors {
		msg += "; " + f.FieldID + ": " + f.Error
	}
	return msg
}

// recorder is a minimal in-memory http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// call runs one API request in-process with the session's key. The
// envelope's data is decoded into out; a non-200 answer is an *apiError.
// q gets accountIdentifier added.
func (u *UI) call(ctx context.Context, s *session, method, path string, q url.Values, body any, out any) (int, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("accountIdentifier", s.account)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path+"?"+q.Encode(), rd)
	if err != nil {
		return 0, err
	}
	if req.Body == nil {
		req.Body = http.NoBody // as a server request always has one
	}
	req.Header.Set("x-api-key", s.key)
	req.Header.Set("Accept", "application/json")
	req.RemoteAddr = "127.0.0.1:0"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	u.api.ServeHTTP(rec, req)
	if rec.status != http.StatusOK {
		var e apiError
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("%s %s answered %d", method, path, rec.status)
		}
		return rec.status, &e
	}
	if out != nil {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(rec.body.Bytes(), &env); err != nil {
			return rec.status, fmt.Errorf("decode %s: %w", path, err)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return rec.status, fmt.Errorf("decode %s data: %w", path, err)
		}
	}
	return rec.status, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	Active  string
	Who     *whoami
	Version string
	Scope   scopeSel
	Scopes  []scopeSel
	Error   string
	Flash   string
	Data    any
}

// scopeSel is an org/project choice.
type scopeSel struct {
	Org, Project string
}

func (s scopeSel) Label() string {
	switch {
	case s.Project != "":
		return s.Org + " / " + s.Project
	case s.Org != "":
		return s.Org
	}
	return "account"
}

func scopeQuery(org, project string) template.URL {
	q := url.Values{}
	if org != "" {
		q.Set("org", org)
	}
	if project != "" {
		q.Set("project", project)
	}
	if len(q) == 0 {
		return ""
	}
	return template.URL("?" + q.Encode())
}

// selected reads ?org=&project= (a project needs its org).
func selected(r *http.Request) scopeSel {
	q := r.URL.Query()
	s := scopeSel{Org: q.Get("org"), Project: q.Get("project")}
	if s.Org == "" {
		s.Project = ""
	}
	return s
}

func (s scopeSel) apiQuery() url.Values {
	q := url.Values{}
	if s.Org != "" {
		q.Set("orgIdentifier", s.Org)
	}
	if s.Project != "" {
		q.Set("projectIdentifier", s.Project)
	}
	return q
}

// scopesOf lists the account, its orgs and their projects visible to s.
func (u *UI) scopesOf(ctx context.Context, s *session) []scopeSel {
	out := []scopeSel{{}}
	var orgs struct {
		Content []struct {
			Organization struct {
				Identifier string `json:"identifier"`
			} `json:"organization"`
		} `json:"content"`
	}
	if _, err := u.call(ctx, s, http.MethodGet, "/ng/api/organizations", url.Values{"pageSize": {"100"}}, nil, &orgs); err != nil {
		if s.whoami.OrgIdentifier != "" {
			out = append(out, scopeSel{Org: s.whoami.OrgIdentifier})
			if s.whoami.ProjectIdentifier != "" {
				out = append(out, scopeSel{Org: s.whoami.OrgIdentifier, Project: s.whoami.ProjectIdentifier})
			}
		}
		return out
	}
	for _, o := range orgs.Content {
		org := o.Organization.Identifier
		out = append(out, scopeSel{Org: org})
		var projects struct {
			Content []struct {
				Project struct {
					Identifier string `json:"identifier"`
				} `json:"project"`
			} `json:"content"`
		}
		if _, err := u.call(ctx, s, http.MethodGet, "/ng/api/projects", url.Values{"orgIdentifier": {org}, "pageSize": {"100"}}, nil, &projects); err == nil {
			for _, p := range projects.Content {
				out = append(out, scopeSel{Org: org, Project: p.Project.Identifier})
			}
		}
	}
	return out
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, data any) {
	v := view{Active: page, Version: u.version, Data: data, Scope: selected(r)}
	if s != nil {
		v.Who = &s.whoami
		v.Scopes = u.scopesOf(r.Context(), s)
	}
	if m, ok := data.(map[string]any); ok {
		if e, ok := m["Error"].(string); ok {
			v.Error = e
		}
		if f, ok := m["Flash"].(string); ok {
			v.Flash = f
		}
	}
	v.Title = titles[page]
	var buf bytes.Buffer
	if err := u.pages[page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		u.log.Error("render page", "page", page, "err", err)
		http.Error(w, "the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var titles = map[string]string{
	"login": "Sign in", "overview": "Overview", "connectors": "Connectors", "connector": "Connector",
	"secrets": "Secrets", "delegates": "Delegates", "tasks": "Tasks", "audit": "Audit trail", "error": "Error",
}

// fail renders an API error as a page with the status the API chose.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, s *session, status int, err error) {
	if status == 0 || status == http.StatusOK {
		status = http.StatusInternalServerError
	}
	var ae *apiError
	msg := "Something went wrong; see the server log."
	if errors.As(err, &ae) {
		msg = ae.Error()
	} else {
		u.log.Error("page", "path", r.URL.Path, "err", err)
	}
	u.render(w, r, status, "error", s, map[string]any{"Error": msg})
}

func fmtMillis(ms int64) string {
	if ms <= 0 {
		return "never"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 UTC")
}

func prettyJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
