package server

import (
	"net/http"
	"sort"
	"sync"
	"time"
)

// inflight tracks the requests being served, so that a shutdown whose grace
// runs out can say which requests held it.
type inflight struct {
	mu   sync.Mutex
	next uint64
	reqs map[uint64]inflightRequest
}

type inflightRequest struct {
	method, path string
	start        time.Time
}

func newInflight() *inflight { return &inflight{reqs: map[uint64]inflightRequest{}} }

func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.next++
		id := f.next
		f.reqs[id] = inflightRequest{method: r.Method, path: r.URL.Path, start: time.Now()}
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.reqs, id)
			f.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// list describes the requests in flight, oldest first, as "METHOD path
// (for 1.2s)".
func (f *inflight) list() []string {
	f.mu.Lock()
	reqs := make([]inflightRequest, 0, len(f.reqs))
	for _, r := range f.reqs {
		reqs = append(reqs, r)
	}
	f.mu.Unlock()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].start.Before(reqs[j].start) })
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.method + " " + r.path + " (for " + time.Since(r.start).Round(time.Millisecond).String() + ")"
	}
	return out
}
