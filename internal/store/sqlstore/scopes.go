package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.wq(ctx).ExecContext(ctx,
		`INSERT INTO accounts (identifier, name, created_at) VALUES ($1, $2, $3)`,
		a.Identifier, a.Name, ms(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("create account %q: %w", a.Identifier, s.translate(err))
	}
	return nil
}

// GetAccount implements store.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	var a store.Account
	var created int64
	err := s.rq(ctx).QueryRowContext(ctx,
		`SELECT identifier, name, created_at FROM accounts WHERE identifier = $1`, id).
		Scan(&a.Identifier, &a.Name, &created)
	if err != nil {
		return a, fmt.Errorf("get account %q: %w", id, s.translate(err))
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

const orgCols = `account, identifier, name, description, tags, version, created_at, updated_at`

func scanOrg(r scanner) (store.Org, error) {
	var o store.Org
	var tags string
	var created, updated int64
	if err := r.Scan(&o.Account, &o.Identifier, &o.Name, &o.Description, &tags, &o.Version, &created, &updated); err != nil {
		return o, err
	}
	var err error
	o.Tags, err = decodeTags(tags)
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	return o, err
}

// CreateOrg implements store.Orgs. It sets Version to 1.
func (s *Store) CreateOrg(ctx context.Context, o *store.Org) error {
	o.Version = 1
	_, err := s.wq(ctx).ExecContext(ctx,
		`INSERT INTO organizations (`+orgCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		o.Account, o.Identifier, o.Name, o.Description, encodeTags(o.Tags), o.Version, ms(o.CreatedAt), ms(o.UpdatedAt))
	if err != nil {
		err = s.translate(err)
		if errors.Is(err, store.ErrReferenced) {
			err = fmt.Errorf("account %q: %w", o.Account, store.ErrNotFound)
		}
		return fmt.Errorf("create org %q: %w", o.Identifier, err)
	}
	return nil
}

// GetOrg implements store.Orgs.
func (s *Store) GetOrg(ctx context.Context, account, id string) (store.Org, error) {
	o, err := scanOrg(s.rq(ctx).QueryRowContext(ctx,
		`SELECT `+orgCols+` FROM organizations WHERE account = $1 AND identifier = $2`, account, id))
	if err != nil {
		return o, fmt.Errorf("get org %q: %w", id, s.translate(err))
	}
	return o, nil
}

// ListOrgs implements store.Orgs.
func (s *Store) ListOrgs(ctx context.Context, account string, f store.ListFilter) ([]store.Org, int, error) {
	var w where
	w.add("account = " + w.arg(account))
	w.search(f.SearchTerm, "name", "identifier", "tags")
	w.in("identifier", f.Identifiers)
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count orgs: %w", s.translate(err))
	}
	q := `SELECT ` + orgCols + ` FROM organizations` + w.sql() + ` ORDER BY identifier` + w.limit(f.Page)
	rows, err := s.rq(ctx).QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list orgs: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list orgs: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list orgs: %w", s.translate(err))
	}
	return out, total, nil
}

// UpdateOrg implements store.Orgs.
func (s *Store) UpdateOrg(ctx context.Context, o *store.Org) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`UPDATE organizations SET name = $1, description = $2, tags = $3, version = version + 1, updated_at = $4
		 WHERE account = $5 AND identifier = $6 AND version = $7`,
		o.Name, o.Description, encodeTags(o.Tags), ms(o.UpdatedAt), o.Account, o.Identifier, o.Version)
	if err != nil {
		return fmt.Errorf("update org %q: %w", o.Identifier, s.translate(err))
	}
	if err := s.oneRow(ctx, res, "organizations", "account = $1 AND identifier = $2", o.Account, o.Identifier); err != nil {
		return fmt.Errorf("update org %q: %w", o.Identifier, err)
	}
	o.Version++
	return nil
}

// DeleteOrg implements store.Orgs.
func (s *Store) DeleteOrg(ctx context.Context, account, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockForDelete(ctx, `SELECT 1 FROM organizations WHERE account = $1 AND identifier = $2`, account, id); err != nil {
			return fmt.Errorf("delete org %q: %w", id, err)
		}
		if err := s.refuseIfHolds(ctx, scope.Scope{Account: account, Org: id}); err != nil {
			return fmt.Errorf("delete org %q: %w", id, err)
		}
		res, err := s.wq(ctx).ExecContext(ctx, `DELETE FROM organizations WHERE account = $1 AND identifier = $2`, account, id)
		if err != nil {
			return fmt.Errorf("delete org %q: %w", id, s.translate(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("delete org %q: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// lockForDelete locks a scope's row before its contents are counted, so a
// concurrent create (which holds it FOR SHARE via ScopeExists) either
// finishes first and is counted, or waits and then finds the scope gone.
// SQLite's single writer already serialises the two.
func (s *Store) lockForDelete(ctx context.Context, q string, args ...any) error {
	if s.dialect != Postgres {
		return nil
	}
	var one int
	return s.translate(s.wq(ctx).QueryRowContext(ctx, q+" FOR UPDATE", args...).Scan(&one))
}

// refuseIfHolds returns ErrReferenced, with counts, when anything lives in
// sc or below it.
func (s *Store) refuseIfHolds(ctx context.Context, sc scope.Scope) error {
	var w where
	w.scopes([]store.ScopeMatch{{Scope: sc, Subtree: true}})
	counts := map[string]int{}
	tables := []struct{ table, what string }{
		{"secrets", "secrets"}, {"connectors", "connectors"}, {"api_keys", "API keys"},
	}
	if sc.Level() == scope.Org {
		var n int
		if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM projects WHERE account = $1 AND org = $2`, sc.Account, sc.Org).Scan(&n); err != nil {
			return s.translate(err)
		}
		counts["projects"] = n
	}
	for _, t := range tables {
		var n int
		if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.table+w.sql(), w.args...).Scan(&n); err != nil {
			return s.translate(err)
		}
		counts[t.what] = n
	}
	var parts []string
	for _, k := range []string{"projects", "secrets", "connectors", "API keys"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	if len(parts) > 0 {
		return &store.HoldsError{Scope: sc, What: parts}
	}
	return nil
}

// oneRow turns "0 rows affected" into ErrNotFound or ErrConflict, checking
// whether the row exists at all.
func (s *Store) oneRow(ctx context.Context, res interface{ RowsAffected() (int64, error) }, table, cond string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return s.translate(err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = s.wq(ctx).QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE `+cond, args...).Scan(&one)
	if err != nil {
		return s.translate(err) // ErrNotFound when gone
	}
	return store.ErrConflict
}

const projectCols = `account, org, identifier, name, description, color, modules, tags, version, created_at, updated_at`

func scanProject(r scanner) (store.Project, error) {
	var p store.Project
	var tags, modules string
	var created, updated int64
	if err := r.Scan(&p.Account, &p.Org, &p.Identifier, &p.Name, &p.Description, &p.Color, &modules, &tags, &p.Version, &created, &updated); err != nil {
		return p, err
	}
	var err error
	if p.Tags, err = decodeTags(tags); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(modules), &p.Modules); err != nil {
		return p, fmt.Errorf("decode stored modules: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return p, nil
}

func encodeModules(m []string) string {
	if len(m) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// CreateProject implements store.Projects. It sets Version to 1.
func (s *Store) CreateProject(ctx context.Context, p *store.Project) error {
	p.Version = 1
	_, err := s.wq(ctx).ExecContext(ctx,
		`INSERT INTO projects (`+projectCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.Account, p.Org, p.Identifier, p.Name, p.Description, p.Color, encodeModules(p.Modules), encodeTags(p.Tags),
		p.Version, ms(p.CreatedAt), ms(p.UpdatedAt))
	if err != nil {
		err = s.translate(err)
		if errors.Is(err, store.ErrReferenced) {
			err = fmt.Errorf("org %q: %w", p.Org, store.ErrNotFound)
		}
		return fmt.Errorf("create project %q: %w", p.Identifier, err)
	}
	return nil
}

// GetProject implements store.Projects.
func (s *Store) GetProject(ctx context.Context, account, org, id string) (store.Project, error) {
	p, err := scanProject(s.rq(ctx).QueryRowContext(ctx,
		`SELECT `+projectCols+` FROM projects WHERE account = $1 AND org = $2 AND identifier = $3`, account, org, id))
	if err != nil {
		return p, fmt.Errorf("get project %q: %w", id, s.translate(err))
	}
	return p, nil
}

// ListProjects implements store.Projects.
func (s *Store) ListProjects(ctx context.Context, account, org string, f store.ListFilter) ([]store.Project, int, error) {
	var w where
	w.add("account = " + w.arg(account))
	if org != "" {
		w.add("org = " + w.arg(org))
	}
	w.search(f.SearchTerm, "name", "identifier", "tags")
	w.in("identifier", f.Identifiers)
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM projects`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count projects: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT `+projectCols+` FROM projects`+w.sql()+` ORDER BY org, identifier`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", s.translate(err))
	}
	return out, total, nil
}

// UpdateProject implements store.Projects.
func (s *Store) UpdateProject(ctx context.Context, p *store.Project) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`UPDATE projects SET name = $1, description = $2, color = $3, modules = $4, tags = $5, version = version + 1, updated_at = $6
		 WHERE account = $7 AND org = $8 AND identifier = $9 AND version = $10`,
		p.Name, p.Description, p.Color, encodeModules(p.Modules), encodeTags(p.Tags), ms(p.UpdatedAt),
		p.Account, p.Org, p.Identifier, p.Version)
	if err != nil {
		return fmt.Errorf("update project %q: %w", p.Identifier, s.translate(err))
	}
	if err := s.oneRow(ctx, res, "projects", "account = $1 AND org = $2 AND identifier = $3", p.Account, p.Org, p.Identifier); err != nil {
		return fmt.Errorf("update project %q: %w", p.Identifier, err)
	}
	p.Version++
	return nil
}

// DeleteProject implements store.Projects.
func (s *Store) DeleteProject(ctx context.Context, account, org, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockForDelete(ctx, `SELECT 1 FROM projects WHERE account = $1 AND org = $2 AND identifier = $3`, account, org, id); err != nil {
			return fmt.Errorf("delete project %q: %w", id, err)
		}
		if err := s.refuseIfHolds(ctx, scope.Scope{Account: account, Org: org, Project: id}); err != nil {
			return fmt.Errorf("delete project %q: %w", id, err)
		}
		res, err := s.wq(ctx).ExecContext(ctx, `DELETE FROM projects WHERE account = $1 AND org = $2 AND identifier = $3`, account, org, id)
		if err != nil {
			return fmt.Errorf("delete project %q: %w", id, s.translate(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("delete project %q: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// ScopeExists implements store.Projects.
func (s *Store) ScopeExists(ctx context.Context, sc scope.Scope) (bool, error) {
	lock := ""
	if s.dialect == Postgres && inTx(ctx) {
		lock = " FOR SHARE"
	}
	var q string
	var args []any
	switch sc.Level() {
	case scope.Account:
		q, args = `SELECT 1 FROM accounts WHERE identifier = $1`, []any{sc.Account}
	case scope.Org:
		q, args = `SELECT 1 FROM organizations WHERE account = $1 AND identifier = $2`, []any{sc.Account, sc.Org}
	default:
		// A project row exists only under an existing org (foreign key).
		q, args = `SELECT 1 FROM projects WHERE account = $1 AND org = $2 AND identifier = $3`, []any{sc.Account, sc.Org, sc.Project}
	}
	var one int
	err := s.rq(ctx).QueryRowContext(ctx, q+lock, args...).Scan(&one)
	if err != nil {
		if err = s.translate(err); errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("check scope %s: %w", sc, err)
	}
	return true, nil
}
