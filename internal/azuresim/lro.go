package azuresim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Long-running operations: an operation reports InProgress for
// Options.LROPolls polls (of its status URL, its Location URL or the
// resource itself), then Succeeded or Failed. Clients find it through
// Azure-AsyncOperation (status JSON) and Location (202 until done), and
// are asked to poll again after Options.LRORetryAfter (Retry-After-Ms).

type operation struct {
	id         string
	tenantID   string
	readAction string
	readScope  string
	pollsLeft  int
	status     string // InProgress, Succeeded, Failed
	failure    *armErrorBody
	onDone     func(failed bool) // runs once, when the operation completes
	result     func() any        // the Location poller's final body; nil: 204
	start, end time.Time
}

type lroState struct {
	mu          sync.Mutex
	ops         map[string]*operation
	deployments map[string]*deployment
	blueprints  map[string]*blueprintAssignment
}

func newLROState() *lroState {
	return &lroState{ops: map[string]*operation{}, deployments: map[string]*deployment{}, blueprints: map[string]*blueprintAssignment{}}
}

// startOperation registers an operation. failure, when set, is how it ends.
func (s *Sim) startOperation(tenantID, readAction, readScope string, failure *armErrorBody, onDone func(failed bool), result func() any) *operation {
	op := &operation{id: newGUID(), tenantID: tenantID, readAction: readAction, readScope: readScope,
		pollsLeft: s.opts.LROPolls, status: "InProgress", failure: failure, onDone: onDone, result: result, start: time.Now().UTC()}
	s.lro.mu.Lock()
	s.lro.ops[op.id] = op
	s.lro.mu.Unlock()
	return op
}

// advance counts one poll and returns the operation's state after it.
func (s *Sim) advance(op *operation) (string, *armErrorBody) {
	s.lro.mu.Lock()
	var done func(bool)
	if op.status == "InProgress" {
		if op.pollsLeft > 0 {
			op.pollsLeft--
		} else {
			op.status = "Succeeded"
			if op.failure != nil {
				op.status = "Failed"
			}
			op.end = time.Now().UTC()
			done = op.onDone
		}
	}
	status, failure := op.status, op.failure
	s.lro.mu.Unlock()
	if done != nil {
		done(status == "Failed")
	}
	return status, failure
}

// lroHeaders points the client at an operation: Azure-AsyncOperation and
// Location under base (the resource's path), and the polling interval.
func (c *armCall) lroHeaders(op *operation, base string) {
	v := url.Values{"api-version": {c.r.URL.Query().Get("api-version")}}.Encode()
	prefix := "https://" + c.r.Host + strings.TrimSuffix(base, "/")
	h := c.w.Header()
	h.Set("Azure-AsyncOperation", prefix+"/operationStatuses/"+op.id+"?"+v)
	h.Set("Location", prefix+"/operationResults/"+op.id+"?"+v)
	h.Set("Retry-After-Ms", strconv.FormatInt(c.s.opts.LRORetryAfter.Milliseconds(), 10))
}

func (s *Sim) registerOperationRoutes() {
	s.armRoute(http.MethodGet, "/{scope...}/operationStatuses/{opId}", "arm.operations.status", "", s.armOperationStatus)
	s.armRoute(http.MethodGet, "/{scope...}/operationResults/{opId}", "arm.operations.result", "", s.armOperationResult)
}

func (s *Sim) findOperation(c *armCall) (*operation, bool) {
	s.lro.mu.Lock()
	op := s.lro.ops[c.param("opId")]
	s.lro.mu.Unlock()
	if op == nil || !strings.EqualFold(op.tenantID, c.caller.TenantID) {
		c.decided = true
		c.fail(http.StatusNotFound, "OperationNotFound", "The operation '"+c.param("opId")+"' could not be found.")
		return nil, false
	}
	if !c.authorize(op.readAction, op.readScope) {
		return nil, false
	}
	return op, true
}

func (s *Sim) armOperationStatus(c *armCall) {
	op, ok := s.findOperation(c)
	if !ok {
		return
	}
	status, failure := s.advance(op)
	body := map[string]any{"id": c.r.URL.Path, "name": op.id, "status": status, "startTime": op.start.Format(time.RFC3339Nano)}
	if status != "InProgress" {
		body["endTime"] = op.end.Format(time.RFC3339Nano)
	} else {
		c.w.Header().Set("Retry-After-Ms", strconv.FormatInt(s.opts.LRORetryAfter.Milliseconds(), 10))
	}
	if failure != nil && status == "Failed" {
		body["error"] = failure
	}
	c.reply(http.StatusOK, body)
}

func (s *Sim) armOperationResult(c *armCall) {
	op, ok := s.findOperation(c)
	if !ok {
		return
	}
	status, failure := s.advance(op)
	switch {
	case status == "InProgress":
		c.w.Header().Set("Location", "https://"+c.r.Host+c.r.URL.RequestURI())
		c.w.Header().Set("Retry-After-Ms", strconv.FormatInt(s.opts.LRORetryAfter.Milliseconds(), 10))
		c.written = true
		c.w.WriteHeader(http.StatusAccepted)
	case status == "Failed":
		c.reply(http.StatusBadRequest, armError{Error: *failure})
	case op.result == nil:
		c.written = true
		c.w.WriteHeader(http.StatusNoContent)
	default:
		c.reply(http.StatusOK, op.result())
	}
}
