package azuresim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// router is the route table of one kind of listener ("entra", "arm",
// "imds", "appservice", "control", and the ACR / Kubernetes listeners added
// by other files). Patterns are slash-separated; literal segments match
// case-insensitively, "{name}" captures one segment and "{name...}" any
// number of segments (at most one per pattern, anywhere in it, so scope
// routes such as "/{scope...}/providers/Microsoft.Authorization/permissions"
// work). When several routes match, the one without a "..." capture and
// with the most literal segments wins.
type router struct {
	kind   string
	routes []*route
}

type route struct {
	method string
	name   string // counter and fault key, e.g. "arm.subscriptions.list"
	segs   []string
	rest   int // index of the "{x...}" segment, -1 if none
	lits   int // literal segments, for precedence
	h      http.HandlerFunc
}

func newRouter(kind string) *router { return &router{kind: kind} }

// handle adds a route. The name is what counters and faults use.
func (rt *router) handle(method, pattern, name string, h http.HandlerFunc) {
	r := &route{method: method, name: name, rest: -1, h: h}
	for i, s := range splitPath(pattern) {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}"):
			if r.rest >= 0 {
				panic("azuresim: two rest captures in " + pattern)
			}
			r.rest = i
			r.segs = append(r.segs, s)
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			r.segs = append(r.segs, s)
		default:
			r.lits++
			r.segs = append(r.segs, strings.ToLower(s))
		}
	}
	rt.routes = append(rt.routes, r)
}

// splitPath splits an escaped path into unescaped segments, dropping the
// leading and trailing slashes.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if u, err := url.PathUnescape(s); err == nil {
			parts[i] = u
		}
	}
	return parts
}

type params map[string]string

// match finds the route for a request path. found reports a path match for
// some method; the route is nil when no route has the request's method.
func (rt *router) match(method, escapedPath string) (best *route, ps params, found bool) {
	segs := splitPath(escapedPath)
	for _, r := range rt.routes {
		p, ok := r.matchSegs(segs)
		if !ok {
			continue
		}
		found = true
		if r.method != method && !(method == http.MethodHead && r.method == http.MethodGet) {
			continue
		}
		if best == nil || better(r, best) {
			best, ps = r, p
		}
	}
	return best, ps, found
}

func better(a, b *route) bool {
	if (a.rest < 0) != (b.rest < 0) {
		return a.rest < 0
	}
	return a.lits > b.lits
}

func (r *route) matchSegs(segs []string) (params, bool) {
	var ps params
	set := func(k, v string) {
		if ps == nil {
			ps = params{}
		}
		ps[k] = v
	}
	matchOne := func(pat, s string) bool {
		if strings.HasPrefix(pat, "{") {
			if s == "" {
				return false
			}
			set(pat[1:len(pat)-1], s)
			return true
		}
		return pat == strings.ToLower(s)
	}
	if r.rest < 0 {
		if len(segs) != len(r.segs) {
			return nil, false
		}
		for i, pat := range r.segs {
			if !matchOne(pat, segs[i]) {
				return nil, false
			}
		}
		return ps, true
	}
	before, after := r.segs[:r.rest], r.segs[r.rest+1:]
	if len(segs) < len(before)+len(after) {
		return nil, false
	}
	for i, pat := range before {
		if !matchOne(pat, segs[i]) {
			return nil, false
		}
	}
	tail := segs[len(segs)-len(after):]
	for i, pat := range after {
		if !matchOne(pat, tail[i]) {
			return nil, false
		}
	}
	mid := segs[len(before) : len(segs)-len(after)]
	name := strings.TrimSuffix(r.segs[r.rest][1:], "...}")
	set(name, "/"+strings.Join(mid, "/"))
	return ps, true
}

type ctxKey int

const (
	paramsKey ctxKey = iota
	routeKey
)

// pathParam returns a captured path segment ("{name}"), unescaped. A
// "{name...}" capture comes back with a leading slash ("/" when empty).
func pathParam(r *http.Request, name string) string {
	ps, _ := r.Context().Value(paramsKey).(params)
	return ps[name]
}

// routeName is the name of the route serving r.
func routeName(r *http.Request) string {
	n, _ := r.Context().Value(routeKey).(string)
	return n
}

func withRoute(r *http.Request, name string, ps params) *http.Request {
	ctx := context.WithValue(r.Context(), routeKey, name)
	ctx = context.WithValue(ctx, paramsKey, ps)
	return r.WithContext(ctx)
}

// errorWriter writes an error in the wire shape of a listener kind.
type errorWriter func(w http.ResponseWriter, r *http.Request, status int, code, message string)

// errorWriters holds the error shape of each listener kind; files adding
// a kind (ACR, Kubernetes) register theirs in init.
var errorWriters = map[string]errorWriter{
	"arm":        writeARMErrorShape,
	"entra":      writeEntraErrorShape,
	"imds":       writeOAuthErrorShape,
	"appservice": writeOAuthErrorShape,
}

func writeKindError(kind string, w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if ew, ok := errorWriters[kind]; ok {
		ew(w, r, status, code, message)
		return
	}
	writeJSON(w, status, map[string]string{"error": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeARMErrorShape(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	writeJSON(w, status, armError{Error: armErrorBody{Code: code, Message: message}})
}

func writeOAuthErrorShape(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": message})
}

type armError struct {
	Error armErrorBody `json:"error"`
}

type armErrorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Target  string         `json:"target,omitempty"`
	Details []armErrorBody `json:"details,omitempty"`
}

// withParam sets one path parameter on a request (used when a handler
// resolves a scope into its parts).
func withParam(r *http.Request, name, value string) *http.Request {
	old, _ := r.Context().Value(paramsKey).(params)
	ps := params{}
	for k, v := range old {
		ps[k] = v
	}
	ps[name] = value
	return r.WithContext(context.WithValue(r.Context(), paramsKey, ps))
}
