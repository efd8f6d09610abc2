// Package testenv gives tests the external things they need (a fresh
// PostgreSQL database, a kubectl binary) and decides what happens when one is
// missing: outside CI the test is skipped with the reason; in CI (CI=true) it
// fails, because a skipped test in CI proves nothing.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresEnv names the variable holding the admin DSN of the test server.
const PostgresEnv = "AZIMUTH_TEST_POSTGRES"

// DefaultPostgres is the DSN used when PostgresEnv is unset: the server these
// machines run, trust auth.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// InCI reports whether the tests run in CI, where a missing dependency is a
// failure and never a skip.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Missing skips t outside CI and fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required test dependency missing (CI=true): %s", msg)
	}
	t.Skipf("test dependency missing: %s", msg)
}

// PostgresAdminDSN returns the DSN of the test server's admin database.
func PostgresAdminDSN() string {
	if v := os.Getenv(PostgresEnv); v != "" {
		return v
	}
	return DefaultPostgres
}

// Postgres creates a fresh, uniquely named database on the test server and
// returns its DSN; the database is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		Missing(t, "open %s: %v", PostgresEnv, err)
		return ""
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		Missing(t, "PostgreSQL at %s: %v", redact(admin), err)
		return ""
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "azimuth_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Kubectl returns the path of kubectl, or skips/fails the test.
func Kubectl(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		Missing(t, "kubectl not on PATH (scripts/test installs Debian's kubectl package)")
	}
	return p
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable DSN)"
	}
	return u.Redacted()
}
