package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/azimuthcd/azimuth/internal/store"
)

const apiKeyCols = `id, name, account, org, project, role, hash, created_at, created_by, revoked_at`

func scanAPIKey(r scanner) (store.APIKey, error) {
	var k store.APIKey
	var created, revoked int64
	if err := r.Scan(&k.ID, &k.Name, &k.Scope.Account, &k.Scope.Org, &k.Scope.Project, &k.Role, &k.Hash,
		&created, &k.CreatedBy, &revoked); err != nil {
		return k, err
	}
	k.CreatedAt, k.RevokedAt = fromMS(created), fromMS(revoked)
	return k, nil
}

// CreateAPIKey implements store.APIKeys.
func (s *Store) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	_, err := s.wq(ctx).ExecContext(ctx,
		`INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.ID, k.Name, k.Scope.Account, k.Scope.Org, k.Scope.Project, k.Role, k.Hash, ms(k.CreatedAt), k.CreatedBy, ms(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("create API key %q: %w", k.ID, s.translate(err))
	}
	return nil
}

// GetAPIKey implements store.APIKeys.
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.rq(ctx).QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return k, fmt.Errorf("get API key %q: %w", id, s.translate(err))
	}
	return k, nil
}

// ListAPIKeys implements store.APIKeys.
func (s *Store) ListAPIKeys(ctx context.Context, f store.ListFilter) ([]store.APIKey, int, error) {
	var w where
	w.scopes(f.Scopes)
	w.search(f.SearchTerm, "name", "id")
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count API keys: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT `+apiKeyCols+` FROM api_keys`+w.sql()+` ORDER BY created_at, id`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list API keys: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list API keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list API keys: %w", s.translate(err))
	}
	return out, total, nil
}

// RevokeAPIKey implements store.APIKeys. Revoking twice keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, ms(at), id)
	if err != nil {
		return fmt.Errorf("revoke API key %q: %w", id, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetAPIKey(ctx, id); err != nil {
			return fmt.Errorf("revoke API key %q: %w", id, store.ErrNotFound)
		}
	}
	return nil
}
