package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/azimuthcd/azimuth/internal/store"
)

var (
	_ store.DelegateTokens = (*Store)(nil)
	_ store.Delegates      = (*Store)(nil)
	_ store.Tasks          = (*Store)(nil)
)

const delegateTokenCols = `id, name, account, org, project, hash, created_at, created_by, revoked_at`

func scanDelegateToken(r scanner) (store.DelegateToken, error) {
	var t store.DelegateToken
	var created, revoked int64
	if err := r.Scan(&t.ID, &t.Name, &t.Scope.Account, &t.Scope.Org, &t.Scope.Project, &t.Hash, &created, &t.CreatedBy, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.RevokedAt = fromMS(created), fromMS(revoked)
	return t, nil
}

// CreateDelegateToken implements store.DelegateTokens.
func (s *Store) CreateDelegateToken(ctx context.Context, t *store.DelegateToken) error {
	_, err := s.wq(ctx).ExecContext(ctx,
		`INSERT INTO delegate_tokens (`+delegateTokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.Name, t.Scope.Account, t.Scope.Org, t.Scope.Project, t.Hash, ms(t.CreatedAt), t.CreatedBy, ms(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("create delegate token %q: %w", t.Name, s.translate(err))
	}
	return nil
}

// GetDelegateToken implements store.DelegateTokens.
func (s *Store) GetDelegateToken(ctx context.Context, id string) (store.DelegateToken, error) {
	t, err := scanDelegateToken(s.rq(ctx).QueryRowContext(ctx, `SELECT `+delegateTokenCols+` FROM delegate_tokens WHERE id = $1`, id))
	if err != nil {
		return t, fmt.Errorf("get delegate token %q: %w", id, s.translate(err))
	}
	return t, nil
}

// ListDelegateTokens implements store.DelegateTokens.
func (s *Store) ListDelegateTokens(ctx context.Context, f store.ListFilter) ([]store.DelegateToken, int, error) {
	var w where
	w.scopes(f.Scopes)
	w.search(f.SearchTerm, "name", "id")
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM delegate_tokens`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count delegate tokens: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT `+delegateTokenCols+` FROM delegate_tokens`+w.sql()+` ORDER BY created_at, id`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list delegate tokens: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.DelegateToken
	for rows.Next() {
		t, err := scanDelegateToken(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list delegate tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list delegate tokens: %w", s.translate(err))
	}
	return out, total, nil
}

// RevokeDelegateToken implements store.DelegateTokens.
func (s *Store) RevokeDelegateToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.wq(ctx).ExecContext(ctx, `UPDATE delegate_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, ms(at), id)
	if err != nil {
		return fmt.Errorf("revoke delegate token %q: %w", id, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetDelegateToken(ctx, id); err != nil {
			return fmt.Errorf("revoke delegate token %q: %w", id, store.ErrNotFound)
		}
	}
	return nil
}

const delegateCols = `id, name, account, org, project, token_id, tags, version, capabilities, concurrency, registered_at, last_heartbeat, stopped_at`

func scanDelegate(r scanner) (store.Delegate, error) {
	var d store.Delegate
	var tags, caps string
	var reg, seen, stopped int64
	if err := r.Scan(&d.ID, &d.Name, &d.Scope.Account, &d.Scope.Org, &d.Scope.Project, &d.TokenID, &tags, &d.Version, &caps,
		&d.Concurrency, &reg, &seen, &stopped); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return d, fmt.Errorf("decode stored delegate tags: %w", err)
	}
	if err := json.Unmarshal([]byte(caps), &d.Capabilities); err != nil {
		return d, fmt.Errorf("decode stored delegate capabilities: %w", err)
	}
	d.RegisteredAt, d.LastSeen, d.StoppedAt = fromMS(reg), fromMS(seen), fromMS(stopped)
	return d, nil
}

func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

func decodeList(s string) ([]string, error) {
	var out []string
	if s == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("decode stored list: %w", err)
	}
	return out, nil
}

// UpsertDelegate implements store.Delegates.
func (s *Store) UpsertDelegate(ctx context.Context, d *store.Delegate) error {
	caps, _ := json.Marshal(d.Capabilities)
	if d.Capabilities == nil {
		caps = []byte("{}")
	}
	_, err := s.wq(ctx).ExecContext(ctx, `INSERT INTO delegates (`+delegateCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, tags = excluded.tags, version = excluded.version,
  capabilities = excluded.capabilities, concurrency = excluded.concurrency, last_heartbeat = excluded.last_heartbeat, stopped_at = 0`,
		d.ID, d.Name, d.Scope.Account, d.Scope.Org, d.Scope.Project, d.TokenID, encodeList(d.Tags), d.Version, string(caps),
		d.Concurrency, ms(d.RegisteredAt), ms(d.LastSeen))
	if err != nil {
		return fmt.Errorf("register delegate %q: %w", d.Name, s.translate(err))
	}
	return nil
}

// GetDelegate implements store.Delegates.
func (s *Store) GetDelegate(ctx context.Context, id string) (store.Delegate, error) {
	d, err := scanDelegate(s.rq(ctx).QueryRowContext(ctx, `SELECT `+delegateCols+` FROM delegates WHERE id = $1`, id))
	if err != nil {
		return d, fmt.Errorf("get delegate %q: %w", id, s.translate(err))
	}
	return d, nil
}

// ListDelegates implements store.Delegates.
func (s *Store) ListDelegates(ctx context.Context, f store.ListFilter) ([]store.Delegate, int, error) {
	var w where
	w.scopes(f.Scopes)
	w.search(f.SearchTerm, "name", "id")
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM delegates`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count delegates: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT `+delegateCols+` FROM delegates`+w.sql()+` ORDER BY name, registered_at, id`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list delegates: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.Delegate
	for rows.Next() {
		d, err := scanDelegate(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list delegates: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list delegates: %w", s.translate(err))
	}
	return out, total, nil
}

// TouchDelegate implements store.Delegates.
func (s *Store) TouchDelegate(ctx context.Context, id string, at time.Time) error {
	res, err := s.wq(ctx).ExecContext(ctx, `UPDATE delegates SET last_heartbeat = $1, stopped_at = 0 WHERE id = $2`, ms(at), id)
	if err != nil {
		return fmt.Errorf("delegate %q heartbeat: %w", id, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delegate %q heartbeat: %w", id, store.ErrNotFound)
	}
	return nil
}

// StopDelegate implements store.Delegates.
func (s *Store) StopDelegate(ctx context.Context, id string, at time.Time) error {
	if _, err := s.wq(ctx).ExecContext(ctx, `UPDATE delegates SET stopped_at = $1 WHERE id = $2`, ms(at), id); err != nil {
		return fmt.Errorf("stop delegate %q: %w", id, s.translate(err))
	}
	return nil
}
