package server

import (
	"github.com/azimuthcd/azimuth/internal/conntest"
	"github.com/azimuthcd/azimuth/internal/service"
)

// addRetester builds the background connection re-tester (--retest-interval)
// and adds it as a job. It also drops a connector's cached credential when
// the connector or one of its secrets changes, whatever the interval.
func (s *Server) addRetester() {
	r := &conntest.Retester{
		Connectors: s.Services.Connectors, Store: s.Store, Tasks: s.Engine, Azure: s.Azure,
		Accounts: []string{s.cfg.Account}, Interval: s.cfg.RetestInterval, Logger: s.log.With("job", "retest"),
	}
	s.retester.Store(r)
	s.AddJob(Job{Name: "connector-retest", Run: r.Run})
}

// onChange is the services' change hook.
func (s *Server) onChange(c service.Change) {
	if r := s.retester.Load(); r != nil {
		r.OnChange(c)
	}
}

// Retester is the background re-tester (tests and dev mode).
func (s *Server) Retester() *conntest.Retester { return s.retester.Load() }
