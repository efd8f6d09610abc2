package service

import (
	"context"
	"fmt"
	"sort"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// Keys manages the secrets keyring: status and rotation.
type Keys struct{ *base }

// KeyStatus describes one data key.
type KeyStatus struct {
	ID      uint32 `json:"id"`
	Active  bool   `json:"active"`
	Secrets int    `json:"secrets"` // how many secrets it encrypts
}

// RotateResult is what a rotation did.
type RotateResult struct {
	PreviousKeyID uint32      `json:"previousKeyId"`
	ActiveKeyID   uint32      `json:"activeKeyId"`
	Reencrypted   int         `json:"reencrypted"`
	Skipped       int         `json:"skipped"`
	Keys          []KeyStatus `json:"keys"`
}

// keyringAdmin: the keyring serves the whole installation, so only an
// account-level admin key may touch it.
func (k *Keys) keyringAdmin(ctx context.Context, p access.Principal, o op) error {
	if p.IsSystem() {
		return nil
	}
	acc := scope.Scope{Account: p.Scope.Account}
	if err := k.authorize(ctx, p, acc, access.Manage, o, "", accountNotFound(acc.Account)); err != nil {
		return err
	}
	if p.Scope.Level() != scope.Account {
		err := failure.New(failure.Forbidden, "the keyring needs an account-level admin key; key %q is scoped to %s", p.KeyID, p.Scope.Describe()).WithCode("NG_ACCESS_DENIED")
		k.denied(ctx, p, o, p.Scope, "", err.Error())
		return err
	}
	return nil
}

// Status lists the data keys and how many secrets each encrypts.
func (k *Keys) Status(ctx context.Context, p access.Principal) ([]KeyStatus, error) {
	if err := k.keyringAdmin(ctx, p, op{"keyring.read", "keyring"}); err != nil {
		return nil, err
	}
	return k.status(ctx)
}

func (k *Keys) status(ctx context.Context) ([]KeyStatus, error) {
	if err := k.kr.Reload(ctx); err != nil {
		return nil, err
	}
	counts, err := k.st.CountSecretsByKey(ctx)
	if err != nil {
		return nil, err
	}
	active := k.kr.ActiveKeyID()
	var out []KeyStatus
	for _, id := range k.kr.KeyIDs() {
		out = append(out, KeyStatus{ID: id, Active: id == active, Secrets: counts[id]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Rotate installs a new data key and re-encrypts every secret under it,
// while the server keeps serving. Older keys stay in the keyring (retired)
// so nothing encrypted under them, even by a replica that has not yet
// reloaded, becomes unreadable.
func (k *Keys) Rotate(ctx context.Context, p access.Principal) (RotateResult, error) {
	o := op{"keyring.rotate", "keyring"}
	if err := k.keyringAdmin(ctx, p, o); err != nil {
		return RotateResult{}, err
	}
	prev := k.kr.ActiveKeyID()
	// The rotation commits on its own: the keyring reloads only what is
	// committed, so it never encrypts under a key the database lacks.
	id, err := k.kr.Rotate(ctx)
	if err != nil {
		return RotateResult{}, fmt.Errorf("rotate keyring: %w", err)
	}
	if err := k.st.AppendAudit(ctx, k.event(p, o, scope.Scope{Account: p.Scope.Account}, "", "success", fmt.Sprintf("data key %d installed", id))); err != nil {
		k.log.Error("write audit event", "action", o.action, "err", err)
	}
	res, rerr := k.kr.Reencrypt(ctx, k.st)
	detail := fmt.Sprintf("data key %d: %d secrets re-encrypted, %d changed meanwhile", id, res.Reencrypted, res.Skipped)
	if rerr != nil {
		detail += ": " + rerr.Error()
	}
	if err := k.st.AppendAudit(ctx, k.event(p, op{"keyring.reencrypt", "keyring"}, scope.Scope{Account: p.Scope.Account}, "", "success", detail)); err != nil {
		k.log.Error("write audit event", "action", "keyring.reencrypt", "err", err)
	}
	k.changed(Change{Resource: "secret", Op: "rotate"})
	keys, err := k.status(ctx)
	if err != nil {
		return RotateResult{}, err
	}
	out := RotateResult{PreviousKeyID: prev, ActiveKeyID: id, Reencrypted: res.Reencrypted, Skipped: res.Skipped, Keys: keys}
	if rerr != nil {
		return out, fmt.Errorf("re-encrypt after rotation (the new key is active; run rotate-key again or retry): %w", rerr)
	}
	return out, nil
}
