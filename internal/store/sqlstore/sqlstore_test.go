package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// eachDialect runs fn against a fresh SQLite file and a fresh PostgreSQL
// database: the same suite for both.
func eachDialect(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, openSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, openPostgres(t))
	})
}

func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: filepath.Join(t.TempDir(), "azimuth.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openPostgres(t *testing.T) *sqlstore.Store {
	t.Helper()
	dsn := testenv.Postgres(t)
	s, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var now = time.UnixMilli(1_700_000_000_000).UTC()

func seedScopes(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	must(t, s.CreateAccount(ctx, store.Account{Identifier: "acc", Name: "acc", CreatedAt: now}))
	for _, o := range []string{"o1", "o2"} {
		must(t, s.CreateOrg(ctx, &store.Org{Account: "acc", Identifier: o, Name: o, CreatedAt: now, UpdatedAt: now}))
		for _, p := range []string{"p1", "p2"} {
			must(t, s.CreateProject(ctx, &store.Project{Account: "acc", Org: o, Identifier: p, Name: p, CreatedAt: now, UpdatedAt: now}))
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		dialect sqlstore.Dialect
		dsn     string
		bad     bool
	}{
		{in: "postgres://u:p@h/db", dialect: sqlstore.Postgres, dsn: "postgres://u:p@h/db"},
		{in: "postgresql://h/db", dialect: sqlstore.Postgres, dsn: "postgresql://h/db"},
		{in: "/var/lib/azimuth/azimuth.db", dialect: sqlstore.SQLite, dsn: "/var/lib/azimuth/azimuth.db"},
		{in: "sqlite:///tmp/a.db", dialect: sqlstore.SQLite, dsn: "/tmp/a.db"},
		{in: "sqlite:rel.db", dialect: sqlstore.SQLite, dsn: "rel.db"},
		{in: "file:/tmp/a.db?mode=rw", dialect: sqlstore.SQLite, dsn: "/tmp/a.db"},
		{in: "mysql://h/db", bad: true},
		{in: "  ", bad: true},
	} {
		d, dsn, err := sqlstore.ParseURL(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseURL(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil || d != tc.dialect || dsn != tc.dsn {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", tc.in, d, dsn, err, tc.dialect, tc.dsn)
		}
	}
}

func TestScopes(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		seedScopes(t, s)
		wantErr(t, s.CreateOrg(ctx, &store.Org{Account: "acc", Identifier: "o1", Name: "x", CreatedAt: now, UpdatedAt: now}), store.ErrDuplicate)
		wantErr(t, s.CreateOrg(ctx, &store.Org{Account: "nope", Identifier: "o9", Name: "x", CreatedAt: now, UpdatedAt: now}), store.ErrNotFound)
		wantErr(t, s.CreateProject(ctx, &store.Project{Account: "acc", Org: "o9", Identifier: "p", Name: "p", CreatedAt: now, UpdatedAt: now}), store.ErrNotFound)

		o, err := s.GetOrg(ctx, "acc", "o1")
		must(t, err)
		if o.Version != 1 || o.Name != "o1" || len(o.Tags) != 0 || !o.CreatedAt.Equal(now) {
			t.Fatalf("GetOrg = %+v", o)
		}
		o.Name, o.Tags = "Org One", map[string]string{"team": "cd", "k": ""}
		must(t, s.UpdateOrg(ctx, &o))
		if o.Version != 2 {
			t.Fatalf("version after update = %d", o.Version)
		}
		stale := o
		stale.Version = 1
		wantErr(t, s.UpdateOrg(ctx, &stale), store.ErrConflict)
		got, _ := s.GetOrg(ctx, "acc", "o1")
		if got.Name != "Org One" || got.Tags["team"] != "cd" || got.Tags["k"] != "" || len(got.Tags) != 2 {
			t.Fatalf("after update: %+v", got)
		}
		missing := store.Org{Account: "acc", Identifier: "zz", Version: 1}
		wantErr(t, s.UpdateOrg(ctx, &missing), store.ErrNotFound)

		orgs, total, err := s.ListOrgs(ctx, "acc", store.ListFilter{SearchTerm: "one", Page: store.Page{Size: 10}})
		must(t, err)
		if total != 1 || len(orgs) != 1 || orgs[0].Identifier != "o1" {
			t.Fatalf("search orgs: %d %+v", total, orgs)
		}
		orgs, total, err = s.ListOrgs(ctx, "acc", store.ListFilter{Page: store.Page{Index: 1, Size: 1}})
		must(t, err)
		if total != 2 || len(orgs) != 1 || orgs[0].Identifier != "o2" {
			t.Fatalf("page 2 of orgs: %d %+v", total, orgs)
		}
		// A search term with LIKE wildcards matches them literally.
		_, total, err = s.ListOrgs(ctx, "acc", store.ListFilter{SearchTerm: "%"})
		must(t, err)
		if total != 0 {
			t.Fatalf("%% matched %d orgs", total)
		}

		ps, total, err := s.ListProjects(ctx, "acc", "o2", store.ListFilter{})
		must(t, err)
		if total != 2 || len(ps) != 2 || ps[0].Org != "o2" {
			t.Fatalf("projects of o2: %+v", ps)
		}
		for _, sc := range []scope.Scope{{Account: "acc"}, {Account: "acc", Org: "o1"}, {Account: "acc", Org: "o1", Project: "p2"}} {
			ok, err := s.ScopeExists(ctx, sc)
			if err != nil || !ok {
				t.Fatalf("ScopeExists(%v) = %v, %v", sc, ok, err)
			}
		}
		for _, sc := range []scope.Scope{{Account: "x"}, {Account: "acc", Org: "o3"}, {Account: "acc", Org: "o1", Project: "p3"}} {
			ok, err := s.ScopeExists(ctx, sc)
			if err != nil || ok {
				t.Fatalf("ScopeExists(%v) = %v, %v", sc, ok, err)
			}
		}

		// An org holding projects cannot go; a project holding a secret cannot go.
		err = s.DeleteOrg(ctx, "acc", "o1")
		wantErr(t, err, store.ErrReferenced)
		var holds *store.HoldsError
		if !errors.As(err, &holds) || holds.What[0] != "2 projects" {
			t.Fatalf("DeleteOrg error = %v", err)
		}
		must(t, s.CreateSecret(ctx, secretAt(scope.Scope{Account: "acc", Org: "o1", Project: "p1"}, "s")))
		wantErr(t, s.DeleteProject(ctx, "acc", "o1", "p1"), store.ErrReferenced)
		must(t, s.DeleteProject(ctx, "acc", "o1", "p2"))
		wantErr(t, s.DeleteProject(ctx, "acc", "o1", "p2"), store.ErrNotFound)
		must(t, s.DeleteSecret(ctx, scope.Scope{Account: "acc", Org: "o1", Project: "p1"}, "s"))
		must(t, s.DeleteProject(ctx, "acc", "o1", "p1"))
		must(t, s.DeleteOrg(ctx, "acc", "o1"))
		wantErr(t, s.DeleteOrg(ctx, "acc", "o1"), store.ErrNotFound)
	})
}

func secretAt(sc scope.Scope, id string) *store.Secret {
	return &store.Secret{Scope: sc, Identifier: id, Name: id, Type: "SecretText", SecretManager: "harnessSecretManager",
		ValueType: "Inline", KeyID: 1, Ciphertext: []byte("ct-" + id), CreatedAt: now, UpdatedAt: now}
}

func TestSecrets(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		seedScopes(t, s)
		acc := scope.Scope{Account: "acc"}
		o1 := scope.Scope{Account: "acc", Org: "o1"}
		p1 := scope.Scope{Account: "acc", Org: "o1", Project: "p1"}
		p2 := scope.Scope{Account: "acc", Org: "o1", Project: "p2"}
		for _, sc := range []scope.Scope{acc, o1, p1, p2} {
			must(t, s.CreateSecret(ctx, secretAt(sc, "shared")))
		}
		file := secretAt(p1, "pem")
		file.Type, file.ValueType = "SecretFile", ""
		must(t, s.CreateSecret(ctx, file))
		wantErr(t, s.CreateSecret(ctx, secretAt(p1, "shared")), store.ErrDuplicate)

		got, err := s.GetSecret(ctx, p1, "shared")
		must(t, err)
		if got.Scope != p1 || string(got.Ciphertext) != "ct-shared" || got.Version != 1 || got.KeyID != 1 {
			t.Fatalf("GetSecret = %+v", got)
		}
		_, err = s.GetSecret(ctx, scope.Scope{Account: "acc", Org: "o2", Project: "p1"}, "shared")
		wantErr(t, err, store.ErrNotFound)

		list, total, err := s.ListSecrets(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: p1}}})
		must(t, err)
		if total != 2 || len(list) != 2 {
			t.Fatalf("secrets at p1: %d", total)
		}
		_, total, _ = s.ListSecrets(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: o1, Subtree: true}}})
		if total != 4 {
			t.Fatalf("secrets under o1: %d, want 4", total)
		}
		_, total, _ = s.ListSecrets(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: acc, Subtree: true}}, Types: []string{"SecretFile"}})
		if total != 1 {
			t.Fatalf("file secrets in account: %d, want 1", total)
		}
		_, total, _ = s.ListSecrets(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: acc}, {Scope: o1}}})
		if total != 2 {
			t.Fatalf("secrets at acc or o1: %d, want 2", total)
		}
		_, total, _ = s.ListSecrets(ctx, store.ListFilter{})
		if total != 0 {
			t.Fatalf("no scopes matched %d", total)
		}

		got.Name, got.Ciphertext, got.KeyID = "renamed", []byte("ct2"), 2
		must(t, s.UpdateSecret(ctx, &got))
		stale := got
		stale.Version = 1
		wantErr(t, s.UpdateSecret(ctx, &stale), store.ErrConflict)

		counts, err := s.CountSecretsByKey(ctx)
		must(t, err)
		if counts[1] != 4 || counts[2] != 1 {
			t.Fatalf("counts = %v", counts)
		}
		todo, err := s.SecretsNotUnderKey(ctx, 2, 100)
		must(t, err)
		if len(todo) != 4 {
			t.Fatalf("to re-encrypt: %d", len(todo))
		}
		x := todo[0]
		must(t, s.ReplaceCiphertext(ctx, x.Scope, x.Identifier, x.Version, 2, []byte("re")))
		wantErr(t, s.ReplaceCiphertext(ctx, x.Scope, x.Identifier, x.Version+5, 2, []byte("re")), store.ErrConflict)
		wantErr(t, s.ReplaceCiphertext(ctx, x.Scope, "gone", 1, 2, []byte("re")), store.ErrNotFound)
		after, _ := s.GetSecret(ctx, x.Scope, x.Identifier)
		if after.Version != x.Version || after.KeyID != 2 || string(after.Ciphertext) != "re" {
			t.Fatalf("after re-encrypt: %+v", after)
		}
		must(t, s.DeleteSecret(ctx, p2, "shared"))
		wantErr(t, s.DeleteSecret(ctx, p2, "shared"), store.ErrNotFound)
	})
}

func TestConnectors(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		seedScopes(t, s)
		p1 := scope.Scope{Account: "acc", Org: "o1", Project: "p1"}
		acc := scope.Scope{Account: "acc"}
		c := &store.Connector{Scope: p1, Identifier: "az", Name: "Azure prod", Type: "Azure", Tags: map[string]string{"env": "prod"},
			Document: []byte(`{"connector":{}}`), CreatedAt: now, UpdatedAt: now,
			SecretRefs: []store.SecretRef{{Field: "secretKey", Scope: acc, Identifier: "sp"}}}
		must(t, s.CreateConnector(ctx, c))
		wantErr(t, s.CreateConnector(ctx, c), store.ErrDuplicate)
		got, err := s.GetConnector(ctx, p1, "az")
		must(t, err)
		if got.Status.Status != "PENDING" || got.Version != 1 || len(got.SecretRefs) != 1 || got.SecretRefs[0].Scope != acc {
			t.Fatalf("GetConnector = %+v", got)
		}
		refs, err := s.ConnectorsReferencing(ctx, acc, "sp")
		must(t, err)
		if len(refs) != 1 || refs[0].Identifier != "az" || refs[0].Scope != p1 {
			t.Fatalf("referencing = %+v", refs)
		}
		if refs, _ := s.ConnectorsReferencing(ctx, p1, "sp"); len(refs) != 0 {
			t.Fatalf("a project secret of the same name is not referenced: %+v", refs)
		}

		st := store.ConnectorStatus{Status: "FAILURE", ErrorSummary: "bad", Errors: []store.ConnectorError{{Reason: "r", Message: "m", Code: 450}},
			TestedAt: now, LastTestedAt: now}
		must(t, s.SetConnectorStatus(ctx, p1, "az", st))
		got.Document = []byte(`{"connector":{"name":"x"}}`)
		got.SecretRefs = []store.SecretRef{{Field: "clientCertRef", Scope: scope.Scope{Account: "acc", Org: "o1"}, Identifier: "pem"}}
		must(t, s.UpdateConnector(ctx, &got))
		again, _ := s.GetConnector(ctx, p1, "az")
		if again.Version != 2 || again.Status.Status != "FAILURE" || again.Status.Errors[0].Code != 450 ||
			!again.Status.TestedAt.Equal(now) || !again.Status.LastConnectedAt.IsZero() || string(again.Document) != `{"connector":{"name":"x"}}` {
			t.Fatalf("after update: %+v", again)
		}
		if refs, _ := s.ConnectorsReferencing(ctx, acc, "sp"); len(refs) != 0 {
			t.Fatalf("old reference kept: %+v", refs)
		}
		got.Version = 1
		wantErr(t, s.UpdateConnector(ctx, &got), store.ErrConflict)

		for i := 0; i < 5; i++ {
			must(t, s.CreateConnector(ctx, &store.Connector{Scope: p1, Identifier: fmt.Sprintf("c%d", i), Name: fmt.Sprintf("n%d", i),
				Type: "Azure", Document: []byte("{}"), CreatedAt: now, UpdatedAt: now.Add(time.Duration(i) * time.Second)}))
		}
		list, total, err := s.ListConnectors(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: p1}}, Page: store.Page{Index: 0, Size: 2}})
		must(t, err)
		if total != 6 || len(list) != 2 || list[0].Identifier != "c4" {
			t.Fatalf("page: total %d, %v", total, list)
		}
		_, total, _ = s.ListConnectors(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: p1}}, SearchTerm: "PROD"})
		if total != 1 {
			t.Fatalf("search by tag: %d", total)
		}
		_, total, _ = s.ListConnectors(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: p1}}, Types: []string{"Aws"}})
		if total != 0 {
			t.Fatalf("type filter: %d", total)
		}
		must(t, s.DeleteConnector(ctx, p1, "az"))
		wantErr(t, s.DeleteConnector(ctx, p1, "az"), store.ErrNotFound)
		wantErr(t, s.SetConnectorStatus(ctx, p1, "az", st), store.ErrNotFound)
		if refs, _ := s.ConnectorsReferencing(ctx, scope.Scope{Account: "acc", Org: "o1"}, "pem"); len(refs) != 0 {
			t.Fatalf("references outlived their connector: %+v", refs)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		seedScopes(t, s)
		k := &store.APIKey{ID: "k1", Name: "ci", Scope: scope.Scope{Account: "acc", Org: "o1"}, Role: "editor", Hash: []byte{1, 2, 3}, CreatedAt: now}
		must(t, s.CreateAPIKey(ctx, k))
		wantErr(t, s.CreateAPIKey(ctx, k), store.ErrDuplicate)
		got, err := s.GetAPIKey(ctx, "k1")
		must(t, err)
		if got.Revoked() || got.Role != "editor" || string(got.Hash) != "\x01\x02\x03" {
			t.Fatalf("GetAPIKey = %+v", got)
		}
		must(t, s.RevokeAPIKey(ctx, "k1", now))
		must(t, s.RevokeAPIKey(ctx, "k1", now.Add(time.Hour)))
		got, _ = s.GetAPIKey(ctx, "k1")
		if !got.RevokedAt.Equal(now) {
			t.Fatalf("revoked at %v", got.RevokedAt)
		}
		wantErr(t, s.RevokeAPIKey(ctx, "nope", now), store.ErrNotFound)
		_, total, err := s.ListAPIKeys(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: "acc"}, Subtree: true}}})
		must(t, err)
		if total != 1 {
			t.Fatalf("keys = %d", total)
		}
	})
}

func TestAuditChain(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		n, err := s.VerifyAudit(ctx)
		if err != nil || n != 0 {
			t.Fatalf("empty trail: %d, %v", n, err)
		}
		// Concurrent appends each get their own sequence number.
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				e := &audit.Event{Time: now, ActorKeyID: "k", ActorName: "n", Action: "connector.create", ResourceType: "connector",
					Scope: scope.Scope{Account: "acc", Org: "o1"}, Identifier: fmt.Sprintf("c%d", i), Outcome: audit.Success}
				if err := s.AppendAudit(ctx, e); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		n, err = s.VerifyAudit(ctx)
		if err != nil || n != 20 {
			t.Fatalf("verify = %d, %v", n, err)
		}
		// A failed transaction leaves no event behind.
		boom := errors.New("boom")
		err = s.InTx(ctx, func(ctx context.Context) error {
			if err := s.AppendAudit(ctx, &audit.Event{Time: now, Action: "x", Outcome: audit.Success}); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, err, boom)
		events, total, err := s.ListAudit(ctx, store.AuditFilter{
			Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: "acc"}, Subtree: true}}, Identifier: "c3", Page: store.Page{Size: 10}})
		must(t, err)
		if total != 1 || events[0].Identifier != "c3" {
			t.Fatalf("filtered audit: %d %+v", total, events)
		}
		if _, total, _ := s.ListAudit(ctx, store.AuditFilter{Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: "acc"}}}}); total != 0 {
			t.Fatalf("account-only scope matched %d org events", total)
		}

		// The database refuses edits; an attacker who disables that is caught by the chain.
		_, err = s.DB().ExecContext(ctx, `UPDATE audit_events SET identifier = 'forged' WHERE seq = 5`)
		if err == nil {
			t.Fatal("audit row was updated")
		}
		disableAuditGuard(t, s)
		_, err = s.DB().ExecContext(ctx, `UPDATE audit_events SET identifier = 'forged' WHERE seq = 5`)
		must(t, err)
		_, err = s.VerifyAudit(ctx)
		if !errors.Is(err, audit.ErrBroken) {
			t.Fatalf("edited row: verify = %v", err)
		}
	})
}

func TestAuditDeletionDetected(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			must(t, s.AppendAudit(ctx, &audit.Event{Time: now, Action: "a", Outcome: audit.Success, Identifier: fmt.Sprint(i)}))
		}
		disableAuditGuard(t, s)
		for _, q := range []string{`DELETE FROM audit_events WHERE seq = 3`, `DELETE FROM audit_events WHERE seq = 5`} {
			_, err := s.DB().ExecContext(ctx, q)
			must(t, err)
			if _, err := s.VerifyAudit(ctx); !errors.Is(err, audit.ErrBroken) {
				t.Fatalf("after %s: verify = %v", q, err)
			}
		}
	})
}

func disableAuditGuard(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	if s.Dialect() == sqlstore.Postgres {
		_, err := s.DB().ExecContext(ctx, `DROP TRIGGER audit_events_no_update ON audit_events`)
		must(t, err)
		return
	}
	for _, tr := range []string{"audit_events_no_update", "audit_events_no_delete"} {
		_, err := s.DB().ExecContext(ctx, `DROP TRIGGER `+tr)
		must(t, err)
	}
}

func TestKeyring(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		_, err := s.KeyringCheck(ctx)
		wantErr(t, err, store.ErrNotFound)
		must(t, s.InitKeyring(ctx, []byte("check"), store.DataKey{ID: 1, Wrapped: []byte("w1"), CreatedAt: now}))
		wantErr(t, s.InitKeyring(ctx, []byte("check2"), store.DataKey{ID: 1, Wrapped: []byte("w1"), CreatedAt: now}), store.ErrDuplicate)
		check, err := s.KeyringCheck(ctx)
		must(t, err)
		if string(check) != "check" {
			t.Fatalf("check = %q", check)
		}
		wantErr(t, s.AddDataKey(ctx, store.DataKey{ID: 3, Wrapped: []byte("w3"), CreatedAt: now}), store.ErrConflict)
		must(t, s.AddDataKey(ctx, store.DataKey{ID: 2, Wrapped: []byte("w2"), CreatedAt: now}))
		keys, err := s.DataKeys(ctx)
		must(t, err)
		if len(keys) != 2 || keys[0].Active || !keys[1].Active || string(keys[1].Wrapped) != "w2" {
			t.Fatalf("keys = %+v", keys)
		}
	})
}

func TestReopenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	for i := 0; i < 2; i++ {
		s, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: path})
		must(t, err)
		must(t, s.Ping(context.Background()))
		_ = s.Close()
	}
}

func TestConcurrentMigrationsOnPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: dsn, MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSQLitePragmas checks the durability settings every connection gets.
func TestSQLitePragmas(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	var mode string
	var sync, fk, busy int
	must(t, s.DB().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
	must(t, s.DB().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync))
	must(t, s.DB().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk))
	must(t, s.DB().QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy))
	if mode != "wal" || sync != 2 || fk != 1 || busy < 5000 {
		t.Fatalf("journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d", mode, sync, fk, busy)
	}
}

// TestDeleteScopeRacesCreate: a project deleted while secrets are being
// created in it never leaves a secret behind in a project that is gone.
func TestDeleteScopeRacesCreate(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		seedScopes(t, s)
		for round := 0; round < 10; round++ {
			p := fmt.Sprintf("race%d", round)
			must(t, s.CreateProject(ctx, &store.Project{Account: "acc", Org: "o2", Identifier: p, Name: p, CreatedAt: now, UpdatedAt: now}))
			sc := scope.Scope{Account: "acc", Org: "o2", Project: p}
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					_ = s.InTx(ctx, func(ctx context.Context) error {
						ok, err := s.ScopeExists(ctx, sc)
						if err != nil || !ok {
							return store.ErrNotFound
						}
						return s.CreateSecret(ctx, secretAt(sc, fmt.Sprintf("s%d", i)))
					})
				}(i)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = s.DeleteProject(ctx, "acc", "o2", p)
			}()
			wg.Wait()
			exists, err := s.ScopeExists(ctx, sc)
			must(t, err)
			_, n, err := s.ListSecrets(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: sc}}})
			must(t, err)
			if !exists && n > 0 {
				t.Fatalf("round %d: project deleted with %d secrets left in it", round, n)
			}
		}
	})
}

// TestRefusedText: text PostgreSQL refuses as data (NUL, invalid UTF-8;
// SQLSTATE class 22) comes back as store.ErrInvalid, never as an
// unclassified error the API would answer with a 500. SQLite stores such
// text, so there the operations simply succeed or find nothing.
func TestRefusedText(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		seedScopes(t, s)
		acc := scope.Scope{Account: "acc"}
		for _, bad := range []string{"a\x00b", "\xff\xfe", "\xc3"} {
			for _, tc := range []struct {
				name string
				run  func() error
			}{
				{"get secret", func() error { _, err := s.GetSecret(ctx, acc, bad); return err }},
				{"get connector", func() error { _, err := s.GetConnector(ctx, acc, bad); return err }},
				{"get API key", func() error { _, err := s.GetAPIKey(ctx, bad); return err }},
				{"search secrets", func() error {
					_, _, err := s.ListSecrets(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: acc}}, SearchTerm: bad})
					return err
				}},
				{"connectors by identifier", func() error {
					_, _, err := s.ListConnectors(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: acc}}, Identifiers: []string{bad}})
					return err
				}},
				{"audit by actor", func() error {
					_, _, err := s.ListAudit(ctx, store.AuditFilter{Scopes: []store.ScopeMatch{{Scope: acc, Subtree: true}}, ActorKeyID: bad, Action: bad})
					return err
				}},
				{"org description", func() error {
					return s.CreateOrg(ctx, &store.Org{Account: "acc", Identifier: fmt.Sprintf("o%x", bad), Name: "o", Description: bad, CreatedAt: now, UpdatedAt: now})
				}},
				{"audit event", func() error {
					return s.AppendAudit(ctx, &audit.Event{Time: now, ActorName: "x", Action: "x", ResourceType: "x", Scope: acc, Identifier: bad, Outcome: audit.Denied})
				}},
			} {
				err := tc.run()
				switch {
				case err == nil, errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
				default:
					t.Errorf("%s with %q: %v, want store.ErrInvalid or success", tc.name, bad, err)
				}
			}
		}
	})
}
