package sqlstore

import (
	"context"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/store"
)

// KeyringCheck implements store.Keyring.
func (s *Store) KeyringCheck(ctx context.Context) ([]byte, error) {
	var check []byte
	err := s.rq(ctx).QueryRowContext(ctx, `SELECT check_value FROM keyring WHERE id = 1`).Scan(&check)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", s.translate(err))
	}
	return check, nil
}

// InitKeyring implements store.Keyring.
func (s *Store) InitKeyring(ctx context.Context, check []byte, first store.DataKey) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.wq(ctx).ExecContext(ctx,
			`INSERT INTO keyring (id, check_value, created_at) VALUES (1, $1, $2)`, check, ms(first.CreatedAt)); err != nil {
			return fmt.Errorf("initialise keyring: %w", s.translate(err))
		}
		if _, err := s.wq(ctx).ExecContext(ctx,
			`INSERT INTO data_keys (id, wrapped, active, created_at) VALUES ($1, $2, 1, $3)`,
			int64(first.ID), first.Wrapped, ms(first.CreatedAt)); err != nil {
			return fmt.Errorf("initialise keyring: %w", s.translate(err))
		}
		return nil
	})
}

// DataKeys implements store.Keyring.
func (s *Store) DataKeys(ctx context.Context) ([]store.DataKey, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT id, wrapped, active, created_at FROM data_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read data keys: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.DataKey
	for rows.Next() {
		var k store.DataKey
		var id, active, created int64
		if err := rows.Scan(&id, &k.Wrapped, &active, &created); err != nil {
			return nil, fmt.Errorf("read data keys: %w", err)
		}
		k.ID, k.Active, k.CreatedAt = uint32(id), active == 1, fromMS(created)
		out = append(out, k)
	}
	return out, s.translate(rows.Err())
}

// AddDataKey implements store.Keyring. Two rotations racing on several
// replicas both try the same next ID: one gets ErrDuplicate.
func (s *Store) AddDataKey(ctx context.Context, k store.DataKey) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		var maxID int64
		if err := s.wq(ctx).QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM data_keys`).Scan(&maxID); err != nil {
			return fmt.Errorf("add data key: %w", s.translate(err))
		}
		if int64(k.ID) != maxID+1 {
			return fmt.Errorf("add data key %d: the newest key is %d: %w", k.ID, maxID, store.ErrConflict)
		}
		if _, err := s.wq(ctx).ExecContext(ctx, `UPDATE data_keys SET active = 0 WHERE active = 1`); err != nil {
			return fmt.Errorf("add data key: %w", s.translate(err))
		}
		if _, err := s.wq(ctx).ExecContext(ctx,
			`INSERT INTO data_keys (id, wrapped, active, created_at) VALUES ($1, $2, 1, $3)`,
			int64(k.ID), k.Wrapped, ms(k.CreatedAt)); err != nil {
			return fmt.Errorf("add data key: %w", s.translate(err))
		}
		return nil
	})
}
