package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Signal sends payload on channel to every process listening on the
// database (PostgreSQL NOTIFY): how one replica wakes another's delegate
// polls and task waiters. On SQLite, where one process owns the database,
// it does nothing.
func (s *Store) Signal(ctx context.Context, channel, payload string) error {
	if s.dialect != Postgres {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("signal %s: %w", channel, s.translate(err))
	}
	return nil
}

// Listen calls fn for every signal on channels until ctx ends, holding one
// connection of the pool and reconnecting with backoff when it breaks. On
// SQLite it returns at once: there is no one else to hear.
func (s *Store) Listen(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	if s.dialect != Postgres {
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := s.listenOnce(ctx, channels, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("listening for signals failed; reconnecting", "err", err, "attempt", attempt+1)
		t := time.NewTimer(min(100*time.Millisecond<<min(attempt, 8), 10*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if attempt > 3 {
			attempt = 3
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("the PostgreSQL driver is not pgx")
		}
		pc := sc.Conn()
		for _, ch := range channels {
			if _, err := pc.Exec(ctx, `LISTEN "`+ch+`"`); err != nil {
				return err
			}
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// The connection may hold LISTENs: never hand it back.
				return errors.Join(err, driver.ErrBadConn)
			}
			fn(n.Channel, n.Payload)
		}
	})
}
