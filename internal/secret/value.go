// Package secret keeps secret values safe: the master key, the keyring of
// data keys it protects, and envelope encryption of every stored secret with
// AES-256-GCM. Ciphertext carries a versioned prefix, the id of the data key
// and the nonce; the record's identity is bound in as additional data, so a
// ciphertext copied to another record fails to decrypt. Plaintext exists
// only inside this package, in Value, and in the resolve path tasks use.
package secret

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
)

// redacted is what a secret value prints as, everywhere.
const redacted = "[REDACTED]"

// Value is a decrypted secret (or one on its way to being encrypted). It
// redacts itself in fmt, %#v, slog and JSON; only Reveal gives the bytes.
type Value struct{ b []byte }

// NewValue wraps b (not copied).
func NewValue(b []byte) Value { return Value{b: b} }

// Reveal returns the plaintext. Callers pass it straight to the code that
// needs it (an Azure credential) and keep it out of logs and errors.
func (v Value) Reveal() []byte { return v.b }

// Len reports the length of the plaintext.
func (v Value) Len() int { return len(v.b) }

// IsZero reports whether there is no value.
func (v Value) IsZero() bool { return v.b == nil }

// Equal compares in constant time.
func (v Value) Equal(o Value) bool { return subtle.ConstantTimeCompare(v.b, o.b) == 1 }

// Wipe overwrites the plaintext in place.
func (v Value) Wipe() {
	for i := range v.b {
		v.b[i] = 0
	}
}

func (Value) String() string                  { return redacted }
func (Value) GoString() string                { return "secret.Value(" + redacted + ")" }
func (Value) LogValue() slog.Value            { return slog.StringValue(redacted) }
func (Value) MarshalJSON() ([]byte, error)    { return []byte(`"` + redacted + `"`), nil }
func (Value) MarshalText() ([]byte, error)    { return []byte(redacted), nil }
func (v Value) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// UnmarshalJSON reads a JSON string, so request bodies can decode straight
// into a Value and never hold the plaintext in an ordinary string field.
func (v *Value) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		v.b = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		// The decoder adds the field's path; the input is never quoted.
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string]()}
	}
	v.b = []byte(s)
	return nil
}
