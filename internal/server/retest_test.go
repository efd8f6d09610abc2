package server

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/testenv"
)

// openReplicaDB opens a pool of its own on dsn, as a replica's store does.
func openReplicaDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Replicas sharing a PostgreSQL database elect one to run the periodic
// re-tests: the lock holder leads round after round; the others do not
// until it releases the lock (shutdown) or its session ends (a crash, a
// lost connection), after which the next one to ask takes over.
func TestRetestLockOneReplicaLeads(t *testing.T) {
	dsn := testenv.Postgres(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	a := &retestLock{db: openReplicaDB(t, dsn), log: log}
	b := &retestLock{db: openReplicaDB(t, dsn), log: log}
	t.Cleanup(a.release)
	t.Cleanup(b.release)

	if !a.lead(ctx) {
		t.Fatal("the first replica to ask must lead")
	}
	for round := range 3 {
		if !a.lead(ctx) || b.lead(ctx) {
			t.Fatalf("round %d: exactly the lock holder leads", round)
		}
	}

	// Shutdown: the leader gives the lock up; the other takes it.
	a.release()
	if !b.lead(ctx) || a.lead(ctx) {
		t.Fatal("after the leader released the lock, the other replica must lead and only it")
	}

	// A crash: the leader's session ends without an unlock. The database
	// frees the lock; the other replica takes it, and the old leader,
	// finding its session gone, does not lead any more.
	var pid int
	if err := b.conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	admin := openReplicaDB(t, dsn)
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !a.lead(ctx) {
		if time.Now().After(deadline) {
			t.Fatal("the lock of a terminated session was not taken over within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b.lead(ctx) {
		t.Fatal("a replica whose session ended must not lead while another holds the lock")
	}
}

// SQLite has no lock: one process, and release is a no-op.
func TestRetestLockNilIsNoop(t *testing.T) {
	var l *retestLock
	l.release()
}
