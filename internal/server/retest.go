package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"sync"
	"time"

	"github.com/azimuthcd/azimuth/internal/conntest"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

// addRetester builds the background connection re-tester (--retest-interval)
// and adds it as a job. It also drops a connector's cached credential when
// the connector or one of its secrets changes, whatever the interval. On
// PostgreSQL, where several replicas share the database, only the replica
// holding the re-test lock runs the periodic rounds.
func (s *Server) addRetester() {
	r := &conntest.Retester{
		Connectors: s.Services.Connectors, Store: s.Store, Tasks: s.Engine, Azure: s.Azure,
		Accounts: []string{s.cfg.Account}, Interval: s.cfg.RetestInterval, Logger: s.log.With("job", "retest"),
	}
	var lock *retestLock
	if s.Store.Dialect() == sqlstore.Postgres {
		lock = &retestLock{db: s.Store.DB(), log: r.Logger}
		r.Leader = lock.lead
	}
	s.retester.Store(r)
	s.AddJob(Job{Name: "connector-retest", Run: func(ctx context.Context) error {
		defer lock.release()
		return r.Run(ctx)
	}})
}

// onChange is the services' change hook.
func (s *Server) onChange(c service.Change) {
	if r := s.retester.Load(); r != nil {
		r.OnChange(c)
	}
}

// Retester is the background re-tester (tests and dev mode).
func (s *Server) Retester() *conntest.Retester { return s.retester.Load() }

// retestLockID is the PostgreSQL advisory lock of the replica that runs
// the periodic re-tests ("azimuthr"; the migration lock is "azimuth").
const retestLockID = 0x617a696d75746872

// retestLock elects the replica that runs the periodic re-tests: the one
// holding a session-level advisory lock on a connection of its own. The
// lock lives as long as that session: a replica that stops or dies (or
// loses its connection) frees it, and another takes it at its next round.
type retestLock struct {
	db  *sql.DB
	log *slog.Logger

	mu   sync.Mutex
	conn *sql.Conn // holds the lock; nil when this replica does not lead
}

// lead reports whether this replica runs the round: it holds the lock
// (its connection still answers), or takes it now if it is free.
func (l *retestLock) lead(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		err := l.conn.PingContext(ctx)
		if err == nil {
			return true
		}
		l.log.Warn("lost the connection holding the re-test lock; another replica may run the re-tests now", "err", err)
		discard(l.conn)
		l.conn = nil
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		l.log.Warn("take the re-test lock: connect", "err", err)
		return false
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, int64(retestLockID)).Scan(&got); err != nil || !got {
		if err != nil {
			l.log.Warn("take the re-test lock", "err", err)
		}
		_ = conn.Close()
		return false
	}
	l.conn = conn
	l.log.Info("this replica runs the periodic connector re-tests")
	return true
}

// release gives the lock up (at shutdown), so another replica takes over
// at its next round rather than when this session ends. A nil lock (SQLite)
// holds nothing.
func (l *retestLock) release() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(retestLockID)); err != nil {
		l.log.Warn("release the re-test lock (the database frees it with the session)", "err", err)
		discard(l.conn)
	} else {
		_ = l.conn.Close()
	}
	l.conn = nil
}

// discard closes a connection without returning it to the pool, so a
// session that may still hold the lock ends (and frees it) instead of
// serving other queries.
func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}
