package delegate

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/secret"
)

// Sealer encrypts what a task row must not hold in plaintext: task outputs
// (an ACR refresh token, a kubeconfig's short-lived Entra token and a
// script's output are credentials or may carry them). The secrets keyring
// is one.
type Sealer interface {
	Encrypt(v secret.Value, aad []byte) ([]byte, uint32, error)
	Decrypt(ctx context.Context, ct, aad []byte) (secret.Value, error)
}

// sealedPrefix marks an output stored encrypted: "enc1:" and the base64 of
// the keyring's ciphertext (key id, format version and nonce inside),
// bound to the task's id so a row's output cannot be moved to another.
const sealedPrefix = "enc1:"

func outputAAD(taskID string) []byte { return []byte("task-output\x00" + taskID) }

// sealOutput returns what the store keeps of a task's output.
func (h *Hub) sealOutput(taskID string, out []byte) ([]byte, error) {
	if len(out) == 0 || h.opts.Sealer == nil {
		return out, nil
	}
	ct, _, err := h.opts.Sealer.Encrypt(secret.NewValue(out), outputAAD(taskID))
	if err != nil {
		return nil, fmt.Errorf("seal the output of task %s: %w", taskID, err)
	}
	return []byte(sealedPrefix + base64.StdEncoding.EncodeToString(ct)), nil
}

// openOutput reverses sealOutput; an output stored before sealing (or by a
// hub without a sealer) is returned as it is.
func (h *Hub) openOutput(ctx context.Context, taskID string, stored []byte) ([]byte, error) {
	s := string(stored)
	if !strings.HasPrefix(s, sealedPrefix) {
		return stored, nil
	}
	if h.opts.Sealer == nil {
		return nil, fmt.Errorf("the output of task %s is encrypted and this hub has no keyring", taskID)
	}
	ct, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, sealedPrefix))
	if err != nil {
		return nil, fmt.Errorf("the stored output of task %s is damaged: %w", taskID, err)
	}
	v, err := h.opts.Sealer.Decrypt(ctx, ct, outputAAD(taskID))
	if err != nil {
		return nil, fmt.Errorf("decrypt the output of task %s: %w", taskID, err)
	}
	return v.Reveal(), nil
}
