package delegate

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/secret"
)

// Sealer encrypts what a task row must not hold in plaintext: task
// parameters (a script step's script and environment carry secrets often
// enough: `export TOKEN=…`) and task outputs (an ACR refresh token, a
// kubeconfig's short-lived Entra token and a script's output are
// credentials or may carry them). The secrets keyring is one.
type Sealer interface {
	Encrypt(v secret.Value, aad []byte) ([]byte, uint32, error)
	Decrypt(ctx context.Context, ct, aad []byte) (secret.Value, error)
}

// sealedPrefix marks a value stored encrypted: "enc1:" and the base64 of
// the keyring's ciphertext (key id, format version and nonce inside),
// bound to what it is (parameters or output) and the task's id, so a
// row's sealed value cannot be moved to another task or column.
const sealedPrefix = "enc1:"

// sealing is what a sealed value is: its label in the associated data,
// and its name in messages.
type sealing struct{ label, name string }

var (
	sealedOutput = sealing{label: "task-output", name: "output"}
	sealedParams = sealing{label: "task-params", name: "parameters"}
)

func (w sealing) aad(taskID string) []byte { return []byte(w.label + "\x00" + taskID) }

// seal returns what the store keeps of a task's value: sealed when the hub
// has a keyring.
func (h *Hub) seal(what sealing, taskID string, v []byte) ([]byte, error) {
	if len(v) == 0 || h.opts.Sealer == nil {
		return v, nil
	}
	ct, _, err := h.opts.Sealer.Encrypt(secret.NewValue(v), what.aad(taskID))
	if err != nil {
		return nil, fmt.Errorf("seal the %s of task %s: %w", what.name, taskID, err)
	}
	return []byte(sealedPrefix + base64.StdEncoding.EncodeToString(ct)), nil
}

// open reverses seal; a value stored before sealing (or by a hub without
// a keyring) is returned as it is.
func (h *Hub) open(ctx context.Context, what sealing, taskID string, stored []byte) ([]byte, error) {
	s := string(stored)
	if !strings.HasPrefix(s, sealedPrefix) {
		return stored, nil
	}
	if h.opts.Sealer == nil {
		return nil, fmt.Errorf("this hub has no keyring to open the encrypted %s of task %s", what.name, taskID)
	}
	ct, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, sealedPrefix))
	if err != nil {
		return nil, fmt.Errorf("the stored %s of task %s cannot be read: %w", what.name, taskID, err)
	}
	v, err := h.opts.Sealer.Decrypt(ctx, ct, what.aad(taskID))
	if err != nil {
		return nil, fmt.Errorf("decrypt the %s of task %s: %w", what.name, taskID, err)
	}
	return v.Reveal(), nil
}

// sealOutput returns what the store keeps of a task's output.
func (h *Hub) sealOutput(taskID string, out []byte) ([]byte, error) {
	return h.seal(sealedOutput, taskID, out)
}

// openOutput reverses sealOutput.
func (h *Hub) openOutput(ctx context.Context, taskID string, stored []byte) ([]byte, error) {
	return h.open(ctx, sealedOutput, taskID, stored)
}

// sealParams returns what the store keeps of a task's parameters: they
// are opened only to offer the task to the delegate that claimed it.
func (h *Hub) sealParams(taskID string, params []byte) ([]byte, error) {
	return h.seal(sealedParams, taskID, params)
}

// openParams reverses sealParams.
func (h *Hub) openParams(ctx context.Context, taskID string, stored []byte) ([]byte, error) {
	return h.open(ctx, sealedParams, taskID, stored)
}
