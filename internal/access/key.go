package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strings"
)

// KeyPrefix starts every Azimuth API key. Keys have Harness's shape
// (pat.<account>.<tokenId>.<secret>) with our own prefix, so secret scanners
// can recognise them: azk.<account>.<keyId>.<secret>.
const KeyPrefix = "azk"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey returns a fresh API key for account: its public id and the whole
// token, which is shown once and never stored. 20 random bytes of id space
// and 32 bytes (256 bits) of secret.
func NewKey(account string) (id string, token Token, err error) {
	var idb [10]byte
	var sec [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", Token{}, fmt.Errorf("generate API key id: %w", err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", Token{}, fmt.Errorf("generate API key: %w", err)
	}
	id = strings.ToLower(b32.EncodeToString(idb[:]))
	return id, Token{s: KeyPrefix + "." + account + "." + id + "." + strings.ToLower(b32.EncodeToString(sec[:]))}, nil
}

// Token is a whole API key. It redacts itself everywhere except Reveal.
type Token struct{ s string }

// MaxKeyIDLength bounds the id part of a presented key. NewKey makes ids of
// 16 characters.
const MaxKeyIDLength = 64

// ParseToken splits a presented key. It returns the key id and the token; ok
// is false when the text cannot be an Azimuth key. The id is looked up in
// the database, so it must be what NewKey makes: lower-case letters and
// digits (base32), never arbitrary bytes (PostgreSQL refuses NUL and
// invalid UTF-8 in a text parameter).
func ParseToken(s string) (id string, t Token, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 || parts[0] != KeyPrefix || parts[2] == "" || parts[3] == "" || len(s) > 512 || !validKeyID(parts[2]) {
		return "", Token{}, false
	}
	return parts[2], Token{s: s}, true
}

func validKeyID(id string) bool {
	if len(id) > MaxKeyIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Reveal returns the key text: only to show it once to its creator.
func (t Token) Reveal() string { return t.s }

// Hash is what the store keeps. Keys carry 256 random bits, so an unsalted
// SHA-256 is enough (no password KDF is needed).
func (t Token) Hash() []byte {
	h := sha256.Sum256([]byte(t.s))
	return h[:]
}

// Matches compares t with a stored hash in constant time.
func (t Token) Matches(hash []byte) bool {
	return subtle.ConstantTimeCompare(t.Hash(), hash) == 1
}

func (Token) String() string               { return "[REDACTED]" }
func (Token) GoString() string             { return "access.Token([REDACTED])" }
func (Token) MarshalJSON() ([]byte, error) { return []byte(`"[REDACTED]"`), nil }
func (Token) LogValue() slog.Value         { return slog.StringValue("[REDACTED]") }
