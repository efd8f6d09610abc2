// Package sqlstore is the one implementation of the store contract, for
// SQLite (embedded, the default) and PostgreSQL (several replicas sharing a
// database). The SQL text is shared where the dialects agree ($N
// placeholders, RETURNING, ON CONFLICT) and branches inside a method where
// they do not. SQL errors become store sentinels in exactly one place
// (translate).
//
// SQLite runs in WAL mode with synchronous=FULL (a commit survives power
// loss), a busy timeout, and a single writer: write transactions use BEGIN
// IMMEDIATE on a one-connection pool, reads use a separate pool and never
// block the writer. PostgreSQL uses one pool; migrations run under a session
// advisory lock so replicas starting together are safe.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/azimuthcd/azimuth/internal/store"
)

// Dialect names a database engine.
type Dialect string

// The dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// MigrationsFS returns the embedded migrations of one dialect, for tests and
// tools. Later features add their own numbered files next to
// 00001_control_plane.sql in both dialect folders.
func MigrationsFS(d Dialect) (fs.FS, error) {
	return fs.Sub(migrations, "migrations/"+string(d))
}

// busyTimeout is how long an SQLite writer waits for the lock.
const busyTimeout = 10 * time.Second

// migrationLockID is the PostgreSQL advisory lock taken while migrating.
const migrationLockID = 0x617a696d757468 // "azimuth"

// Store is the SQL store. It implements every interface of package store.
type Store struct {
	dialect Dialect
	w       *sql.DB // writes and transactions (one connection on SQLite)
	r       *sql.DB // reads outside transactions (== w on PostgreSQL)
	log     *slog.Logger
	now     func() time.Time
}

var (
	_ store.Tx         = (*Store)(nil)
	_ store.Accounts   = (*Store)(nil)
	_ store.Orgs       = (*Store)(nil)
	_ store.Projects   = (*Store)(nil)
	_ store.Secrets    = (*Store)(nil)
	_ store.Connectors = (*Store)(nil)
	_ store.APIKeys    = (*Store)(nil)
	_ store.AuditLog   = (*Store)(nil)
	_ store.Keyring    = (*Store)(nil)
	_ store.Health     = (*Store)(nil)
)

// ParseURL tells the dialect of a database URL and returns the DSN its driver
// takes. Accepted: postgres:// and postgresql:// URLs; sqlite:PATH,
// sqlite://PATH and file:PATH; a bare path is an SQLite file.
func ParseURL(raw string) (Dialect, string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", "", errors.New("database URL is empty")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", errors.New("database URL is not a valid postgres:// URL")
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite://"):
		return SQLite, strings.TrimPrefix(raw, "sqlite://"), nil
	case strings.HasPrefix(raw, "sqlite:"):
		return SQLite, strings.TrimPrefix(raw, "sqlite:"), nil
	case strings.HasPrefix(raw, "file:"):
		p := strings.TrimPrefix(raw, "file:")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return SQLite, p, nil
	case strings.Contains(raw, "://"):
		return "", "", fmt.Errorf("database URL scheme not supported: use postgres://... or an SQLite file path")
	}
	return SQLite, raw, nil
}

// Options configure Open.
type Options struct {
	URL    string
	Logger *slog.Logger
	// MaxConns caps the PostgreSQL pool (default 16) and the SQLite read
	// pool (default 8).
	MaxConns int
}

// Open connects, applies pending migrations and returns the store.
func Open(ctx context.Context, o Options) (*Store, error) {
	d, dsn, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store", "dialect", string(d))
	s := &Store{dialect: d, log: log, now: time.Now}
	maxConns := o.MaxConns
	switch d {
	case SQLite:
		if maxConns <= 0 {
			maxConns = 8
		}
		// Create the file owner-only; SQLite gives -wal and -shm the same mode.
		f, err := os.OpenFile(dsn, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open SQLite file %s: %w", dsn, err)
		}
		_ = f.Close()
		if s.w, err = openSQLite(dsn, false); err != nil {
			return nil, err
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		if s.r, err = openSQLite(dsn, true); err != nil {
			_ = s.w.Close()
			return nil, err
		}
		s.r.SetMaxOpenConns(maxConns)
		s.r.SetMaxIdleConns(maxConns)
	case Postgres:
		if maxConns <= 0 {
			maxConns = 16
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.w, s.r = db, db
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.w.PingContext(pctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d, redactErr(err))
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// openSQLite opens path with the pragmas every connection needs. Readers
// are query_only so a bug can never write through the read pool.
func openSQLite(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return db, nil
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := MigrationsFS(s.dialect)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.w, fsys, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range res {
		s.log.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// Dialect reports the engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the writer pool, for tests and tools that inspect the database.
func (s *Store) DB() *sql.DB { return s.w }

// Close closes the pools.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers (both pools on SQLite).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", redactErr(err))
	}
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("query database: %w", redactErr(err))
	}
	return nil
}

type txKey struct{}

type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// InTx implements store.Tx.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(ctx)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", s.translate(err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{}, tx)); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", s.translate(err))
	}
	return nil
}

func inTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*sql.Tx)
	return ok
}

// rq returns what reads run on: the transaction, or the read pool.
func (s *Store) rq(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return s.r
}

// wq returns what writes run on: the transaction, or the writer.
func (s *Store) wq(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return s.w
}

// translate maps driver errors to store sentinels. It is the only place
// that knows SQLite and PostgreSQL error codes.
func (s *Store) translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w (%s)", store.ErrDuplicate, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w (%s)", store.ErrReferenced, se.Error())
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w (%s)", store.ErrDuplicate, pe.ConstraintName)
		case "23503":
			return fmt.Errorf("%w (%s)", store.ErrReferenced, pe.ConstraintName)
		}
		// Class 22, data exception: a value PostgreSQL refuses as data
		// (22021: NUL or invalid UTF-8 in text). Never the server's fault.
		if strings.HasPrefix(pe.Code, "22") {
			return fmt.Errorf("%w (SQLSTATE %s)", store.ErrInvalid, pe.Code)
		}
		return err
	}
	return err
}

// redactErr removes a password from connection errors that quote the DSN.
func redactErr(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		if j := strings.Index(msg[i:], "@"); j > 0 {
			if k := strings.Index(msg[i:i+j], ":"); k > 0 {
				return errors.New(msg[:i+k+1] + "xxxxx" + msg[i+j:])
			}
		}
	}
	return err
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
