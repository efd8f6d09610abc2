package secret

import (
	"context"
	"errors"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// ValueField is the field name bound into every secret's additional data.
const ValueField = "value"

// CiphertextStore is what re-encryption needs from the store.
type CiphertextStore interface {
	SecretsNotUnderKey(ctx context.Context, keyID uint32, limit int) ([]store.Secret, error)
	ReplaceCiphertext(ctx context.Context, sc scope.Scope, id string, version int64, keyID uint32, ct []byte) error
}

// ReencryptResult counts what a re-encryption pass did.
type ReencryptResult struct {
	KeyID       uint32 `json:"keyId"`       // the active key everything moved to
	Reencrypted int    `json:"reencrypted"` // secrets moved to it
	Skipped     int    `json:"skipped"`     // secrets that changed meanwhile (already re-encrypted by their update, or deleted)
}

// Reencrypt moves every secret to the active key, one small update each, so
// the server keeps serving and a crash loses nothing: a pass can be re-run
// at any time and picks up where the last one stopped.
func (k *Keyring) Reencrypt(ctx context.Context, cs CiphertextStore) (ReencryptResult, error) {
	res := ReencryptResult{KeyID: k.ActiveKeyID()}
	stuck := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		batch, err := cs.SecretsNotUnderKey(ctx, res.KeyID, 500)
		if err != nil {
			return res, fmt.Errorf("re-encrypt: %w", err)
		}
		progress := false
		for _, s := range batch {
			tag := fmt.Sprintf("%s/%s@%d", s.Scope, s.Identifier, s.Version)
			if stuck[tag] {
				continue
			}
			aad := AAD(s.Scope, s.Identifier, ValueField)
			v, err := k.Decrypt(ctx, s.Ciphertext, aad)
			if err != nil {
				return res, fmt.Errorf("re-encrypt secret %q at %s: %w", s.Identifier, s.Scope, err)
			}
			ct, id, err := k.Encrypt(v, aad)
			v.Wipe()
			if err != nil {
				return res, fmt.Errorf("re-encrypt secret %q: %w", s.Identifier, err)
			}
			err = cs.ReplaceCiphertext(ctx, s.Scope, s.Identifier, s.Version, id, ct)
			switch {
			case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
				stuck[tag] = true
				res.Skipped++
			case err != nil:
				return res, fmt.Errorf("re-encrypt secret %q: %w", s.Identifier, err)
			default:
				res.Reencrypted++
				progress = true
			}
		}
		if len(batch) == 0 || !progress {
			left := 0
			for _, s := range batch {
				if stuck[fmt.Sprintf("%s/%s@%d", s.Scope, s.Identifier, s.Version)] {
					continue
				}
				left++
			}
			if left > 0 {
				return res, fmt.Errorf("re-encrypt: %d secrets still under older keys; run it again", left)
			}
			return res, nil
		}
	}
}
