package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInflightListsRequestsBeingServed(t *testing.T) {
	f := newInflight()
	entered, release := make(chan struct{}), make(chan struct{})
	h := f.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/ng/api/azimuth/delegate/poll", nil))
	}()
	<-entered
	got := f.list()
	if len(got) != 1 || !strings.HasPrefix(got[0], "POST /ng/api/azimuth/delegate/poll (for ") {
		t.Fatalf("in flight: %q", got)
	}
	close(release)
	<-done
	if got := f.list(); len(got) != 0 {
		t.Fatalf("after the request ended, in flight: %q", got)
	}
}
