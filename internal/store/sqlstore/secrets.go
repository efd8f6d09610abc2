package sqlstore

import (
	"context"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

const secretCols = `account, org, project, identifier, name, description, tags, type, secret_manager, value_type, key_id, ciphertext, version, created_at, updated_at`

func scanSecret(r scanner) (store.Secret, error) {
	var x store.Secret
	var tags string
	var keyID, created, updated int64
	if err := r.Scan(&x.Scope.Account, &x.Scope.Org, &x.Scope.Project, &x.Identifier, &x.Name, &x.Description, &tags,
		&x.Type, &x.SecretManager, &x.ValueType, &keyID, &x.Ciphertext, &x.Version, &created, &updated); err != nil {
		return x, err
	}
	var err error
	x.Tags, err = decodeTags(tags)
	x.KeyID = uint32(keyID)
	x.CreatedAt, x.UpdatedAt = fromMS(created), fromMS(updated)
	return x, err
}

// CreateSecret implements store.Secrets. It sets Version to 1.
func (s *Store) CreateSecret(ctx context.Context, x *store.Secret) error {
	x.Version = 1
	_, err := s.wq(ctx).ExecContext(ctx,
		`INSERT INTO secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		x.Scope.Account, x.Scope.Org, x.Scope.Project, x.Identifier, x.Name, x.Description, encodeTags(x.Tags),
		x.Type, x.SecretManager, x.ValueType, int64(x.KeyID), x.Ciphertext, x.Version, ms(x.CreatedAt), ms(x.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create secret %q: %w", x.Identifier, s.translate(err))
	}
	return nil
}

// GetSecret implements store.Secrets.
func (s *Store) GetSecret(ctx context.Context, sc scope.Scope, id string) (store.Secret, error) {
	return s.getSecret(ctx, sc, id, "")
}

// GetSecretForShare implements store.Secrets. SQLite's single writer
// already serialises a reference with a delete.
func (s *Store) GetSecretForShare(ctx context.Context, sc scope.Scope, id string) (store.Secret, error) {
	lock := ""
	if s.dialect == Postgres && inTx(ctx) {
		lock = " FOR SHARE"
	}
	return s.getSecret(ctx, sc, id, lock)
}

func (s *Store) getSecret(ctx context.Context, sc scope.Scope, id, lock string) (store.Secret, error) {
	x, err := scanSecret(s.rq(ctx).QueryRowContext(ctx,
		`SELECT `+secretCols+` FROM secrets WHERE account = $1 AND org = $2 AND project = $3 AND identifier = $4`+lock,
		sc.Account, sc.Org, sc.Project, id))
	if err != nil {
		return x, fmt.Errorf("get secret %q: %w", id, s.translate(err))
	}
	return x, nil
}

// ListSecrets implements store.Secrets.
func (s *Store) ListSecrets(ctx context.Context, f store.ListFilter) ([]store.Secret, int, error) {
	var w where
	w.scopes(f.Scopes)
	w.search(f.SearchTerm, "name", "identifier", "tags")
	w.in("type", f.Types)
	w.in("identifier", f.Identifiers)
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM secrets`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count secrets: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT `+secretCols+` FROM secrets`+w.sql()+` ORDER BY updated_at DESC, account, org, project, identifier`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list secrets: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.Secret
	for rows.Next() {
		x, err := scanSecret(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list secrets: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list secrets: %w", s.translate(err))
	}
	return out, total, nil
}

// UpdateSecret implements store.Secrets.
func (s *Store) UpdateSecret(ctx context.Context, x *store.Secret) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`UPDATE secrets SET name = $1, description = $2, tags = $3, secret_manager = $4, value_type = $5, key_id = $6,
		 ciphertext = $7, version = version + 1, updated_at = $8
		 WHERE account = $9 AND org = $10 AND project = $11 AND identifier = $12 AND version = $13`,
		x.Name, x.Description, encodeTags(x.Tags), x.SecretManager, x.ValueType, int64(x.KeyID), x.Ciphertext, ms(x.UpdatedAt),
		x.Scope.Account, x.Scope.Org, x.Scope.Project, x.Identifier, x.Version)
	if err != nil {
		return fmt.Errorf("update secret %q: %w", x.Identifier, s.translate(err))
	}
	if err := s.oneRow(ctx, res, "secrets", "account = $1 AND org = $2 AND project = $3 AND identifier = $4",
		x.Scope.Account, x.Scope.Org, x.Scope.Project, x.Identifier); err != nil {
		return fmt.Errorf("update secret %q: %w", x.Identifier, err)
	}
	x.Version++
	return nil
}

// DeleteSecret implements store.Secrets. References from connectors are the
// service's business (forceDelete); the rows in connector_secret_refs stay.
func (s *Store) DeleteSecret(ctx context.Context, sc scope.Scope, id string) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`DELETE FROM secrets WHERE account = $1 AND org = $2 AND project = $3 AND identifier = $4`,
		sc.Account, sc.Org, sc.Project, id)
	if err != nil {
		return fmt.Errorf("delete secret %q: %w", id, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete secret %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// SecretsNotUnderKey implements store.Secrets.
func (s *Store) SecretsNotUnderKey(ctx context.Context, keyID uint32, limit int) ([]store.Secret, error) {
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT `+secretCols+` FROM secrets WHERE key_id <> $1 ORDER BY account, org, project, identifier LIMIT $2`,
		int64(keyID), limit)
	if err != nil {
		return nil, fmt.Errorf("list secrets to re-encrypt: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.Secret
	for rows.Next() {
		x, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("list secrets to re-encrypt: %w", err)
		}
		out = append(out, x)
	}
	return out, s.translate(rows.Err())
}

// ReplaceCiphertext implements store.Secrets.
func (s *Store) ReplaceCiphertext(ctx context.Context, sc scope.Scope, id string, version int64, keyID uint32, ct []byte) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`UPDATE secrets SET key_id = $1, ciphertext = $2
		 WHERE account = $3 AND org = $4 AND project = $5 AND identifier = $6 AND version = $7`,
		int64(keyID), ct, sc.Account, sc.Org, sc.Project, id, version)
	if err != nil {
		return fmt.Errorf("re-encrypt secret %q: %w", id, s.translate(err))
	}
	if err := s.oneRow(ctx, res, "secrets", "account = $1 AND org = $2 AND project = $3 AND identifier = $4",
		sc.Account, sc.Org, sc.Project, id); err != nil {
		return fmt.Errorf("re-encrypt secret %q: %w", id, err)
	}
	return nil
}

// CountSecretsByKey implements store.Secrets.
func (s *Store) CountSecretsByKey(ctx context.Context) (map[uint32]int, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT key_id, COUNT(*) FROM secrets GROUP BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("count secrets by key: %w", s.translate(err))
	}
	defer rows.Close()
	out := map[uint32]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count secrets by key: %w", err)
		}
		out[uint32(id)] = n
	}
	return out, s.translate(rows.Err())
}
