package azuresim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is an injected failure. It applies to the routes named by Route:
// a route name ("entra.token", "arm.subscriptions.list", "imds.token"), a
// prefix ending in "*" ("arm.*"), or "" / "*" for every route. A fault
// first waits Latency, then drops the connection (Drop), answers Status
// (429 and 503 carry Retry-After in seconds) or, with neither, lets the
// request through. It applies Times times, or until removed when Times is 0.
type Fault struct {
	ID         string   `json:"id,omitempty"`
	Route      string   `json:"route,omitempty"`
	Status     int      `json:"status,omitempty"`
	RetryAfter Duration `json:"retryAfter,omitempty"`
	Latency    Duration `json:"latency,omitempty"`
	Drop       bool     `json:"drop,omitempty"`
	Times      int      `json:"times,omitempty"`
	// Remaining is how many more times a Times-limited fault applies.
	Remaining int `json:"remaining,omitempty"`
}

func (f *Fault) matches(route string) bool {
	switch {
	case f.Route == "" || f.Route == "*":
		return true
	case strings.HasSuffix(f.Route, "*"):
		return strings.HasPrefix(route, strings.TrimSuffix(f.Route, "*"))
	default:
		return f.Route == route
	}
}

func (f *Fault) validate() error {
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("fault status must be 4xx or 5xx, got %d", f.Status)
	}
	if f.Status != 0 && f.Drop {
		return fmt.Errorf("a fault either drops the connection or answers a status, not both")
	}
	if f.Status == 0 && !f.Drop && f.Latency <= 0 {
		return fmt.Errorf("a fault needs a status, drop or latency")
	}
	if f.Times < 0 || f.Latency < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("fault times, latency and retryAfter must not be negative")
	}
	return nil
}

type faultSet struct {
	mu     sync.Mutex
	faults []*Fault
}

func (fs *faultSet) add(f Fault) (string, error) {
	if err := f.validate(); err != nil {
		return "", err
	}
	f.ID = newGUID()
	f.Remaining = f.Times
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, &f)
	return f.ID, nil
}

func (fs *faultSet) remove(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if f.ID == id {
			fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			return true
		}
	}
	return false
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	fs.faults = nil
	fs.mu.Unlock()
}

func (fs *faultSet) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, len(fs.faults))
	for i, f := range fs.faults {
		out[i] = *f
	}
	return out
}

// take returns the first fault for a route and uses one of its times.
func (fs *faultSet) take(route string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if !f.matches(route) {
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Remaining--
			if f.Remaining <= 0 {
				fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			}
		}
		return out, true
	}
	return Fault{}, false
}

// apply runs the fault for a route, if any; it reports whether the request
// has been answered (or dropped) and must not reach its handler.
func (fs *faultSet) apply(w http.ResponseWriter, r *http.Request, kind, route string) bool {
	f, ok := fs.take(route)
	if !ok {
		return false
	}
	if f.Latency > 0 {
		t := time.NewTimer(time.Duration(f.Latency))
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.Status != 0:
		if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
			secs := int(time.Duration(f.RetryAfter) / time.Second)
			if f.RetryAfter > 0 && secs == 0 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		code, msg := faultCode(f.Status)
		writeKindError(kind, w, r, f.Status, code, msg)
		return true
	}
	return false
}

func faultCode(status int) (string, string) {
	switch status {
	case http.StatusTooManyRequests:
		return "TooManyRequests", "The request is being throttled as the limit has been reached for operation type - Read. For more information, see - https://aka.ms/srpthrottlinglimits"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable", "The service is currently unavailable. Please retry the request later."
	case http.StatusInternalServerError:
		return "InternalServerError", "Encountered an internal server error."
	default:
		return strconv.Itoa(status), http.StatusText(status)
	}
}

// TokenKey identifies token requests for counting: the tenant (its id when
// known), the client id, and the scope as requested without the OIDC
// scopes MSAL adds (for managed identity and v1 requests: the resource).
type TokenKey struct {
	Tenant   string `json:"tenant"`
	ClientID string `json:"clientId"`
	Scope    string `json:"scope"`
}

type counters struct {
	mu     sync.Mutex
	routes map[string]int
	tokens map[TokenKey]int
}

func newCounters() *counters {
	return &counters{routes: map[string]int{}, tokens: map[TokenKey]int{}}
}

func (c *counters) route(name string) {
	c.mu.Lock()
	c.routes[name]++
	c.mu.Unlock()
}

func (c *counters) token(k TokenKey) {
	k.Tenant, k.ClientID = strings.ToLower(k.Tenant), strings.ToLower(k.ClientID)
	c.mu.Lock()
	c.tokens[k]++
	c.mu.Unlock()
}

func (c *counters) reset() {
	c.mu.Lock()
	c.routes = map[string]int{}
	c.tokens = map[TokenKey]int{}
	c.mu.Unlock()
}

// ---- the Go API ----

// AddFault injects a fault and returns its id.
func (s *Sim) AddFault(f Fault) (string, error) { return s.faults.add(f) }

// RemoveFault removes a fault; it reports whether it existed.
func (s *Sim) RemoveFault(id string) bool { return s.faults.remove(id) }

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() { s.faults.clear() }

// Faults lists the active faults.
func (s *Sim) Faults() []Fault { return s.faults.list() }

// RequestCount is the number of requests a route has served (faulted ones
// included) since start or the last ResetCounters.
func (s *Sim) RequestCount(route string) int {
	s.counters.mu.Lock()
	defer s.counters.mu.Unlock()
	return s.counters.routes[route]
}

// RequestCounts returns every route's count.
func (s *Sim) RequestCounts() map[string]int {
	s.counters.mu.Lock()
	defer s.counters.mu.Unlock()
	out := make(map[string]int, len(s.counters.routes))
	for k, v := range s.counters.routes {
		out[k] = v
	}
	return out
}

// TokenRequests is the number of token requests (Entra and managed
// identity, successful or not) for a tenant, client id and scope. Tenant
// and client id are case-insensitive; scope is as counted (see TokenKey).
func (s *Sim) TokenRequests(tenant, clientID, scope string) int {
	s.counters.mu.Lock()
	defer s.counters.mu.Unlock()
	return s.counters.tokens[TokenKey{Tenant: strings.ToLower(tenant), ClientID: strings.ToLower(clientID), Scope: scope}]
}

// TokenRequestCounts returns every token counter.
func (s *Sim) TokenRequestCounts() map[TokenKey]int {
	s.counters.mu.Lock()
	defer s.counters.mu.Unlock()
	out := make(map[TokenKey]int, len(s.counters.tokens))
	for k, v := range s.counters.tokens {
		out[k] = v
	}
	return out
}

// ResetCounters zeroes every counter.
func (s *Sim) ResetCounters() { s.counters.reset() }

// ---- the control listener: /_sim/... ----

type countersDoc struct {
	Routes map[string]int `json:"routes"`
	Tokens []tokenCount   `json:"tokens"`
}

type tokenCount struct {
	TokenKey
	Count int `json:"count"`
}

func (s *Sim) controlRouter() *router {
	rt := newRouter("control")
	rt.handle(http.MethodGet, "/_sim/counters", "control.counters", func(w http.ResponseWriter, r *http.Request) {
		doc := countersDoc{Routes: s.RequestCounts(), Tokens: []tokenCount{}}
		for k, v := range s.TokenRequestCounts() {
			doc.Tokens = append(doc.Tokens, tokenCount{k, v})
		}
		sort.Slice(doc.Tokens, func(i, j int) bool {
			a, b := doc.Tokens[i], doc.Tokens[j]
			return a.Tenant+a.ClientID+a.Scope < b.Tenant+b.ClientID+b.Scope
		})
		writeJSON(w, http.StatusOK, doc)
	})
	rt.handle(http.MethodPost, "/_sim/counters/reset", "control.counters.reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCounters()
		w.WriteHeader(http.StatusNoContent)
	})
	rt.handle(http.MethodGet, "/_sim/faults", "control.faults.list", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
	})
	rt.handle(http.MethodPost, "/_sim/faults", "control.faults.add", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid fault: " + err.Error()})
			return
		}
		id, err := s.AddFault(f)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	})
	rt.handle(http.MethodDelete, "/_sim/faults", "control.faults.clear", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	rt.handle(http.MethodDelete, "/_sim/faults/{id}", "control.faults.remove", func(w http.ResponseWriter, r *http.Request) {
		if !s.RemoveFault(pathParam(r, "id")) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such fault"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	rt.handle(http.MethodPost, "/_sim/clock", "control.clock", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Skew Duration `json:"skew"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"skew\": \"1h\"}"})
			return
		}
		s.SetClockSkew(time.Duration(body.Skew))
		writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().UTC().Format(time.RFC3339)})
	})
	rt.handle(http.MethodGet, "/_sim/override", "control.override", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Override())
	})
	rt.handle(http.MethodGet, "/_sim/hosts/{host}/override", "control.hostoverride", func(w http.ResponseWriter, r *http.Request) {
		o, err := s.HostOverride(pathParam(r, "host"))
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, o)
	})
	return rt
}
