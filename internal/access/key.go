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
// token, which is shown once and never stored.
func NewKey(account string) (id string, token Token, err error) { return NewBearer(KeyPrefix, account) }

// ParseToken splits a presented API key (see ParseBearer).
func ParseToken(s string) (id string, t Token, ok bool) { return ParseBearer(KeyPrefix, s) }

// Token is a whole bearer token: an API key, or a delegate token. It
// redacts itself everywhere except Reveal.
type Token struct{ s string }

// MaxKeyIDLength bounds the id part of a presented token. NewBearer makes
// ids of 16 characters.
const MaxKeyIDLength = 64

// NewBearer returns a fresh bearer token <prefix>.<account>.<id>.<secret>
// (Harness's pat.<account>.<tokenId>.<secret> shape, with our own prefixes
// so that secret scanners can recognise them): its public id, 80 random
// bits, and the whole token, with 256 bits of secret, which is shown once
// and never stored.
func NewBearer(prefix, account string) (id string, token Token, err error) {
	var idb [10]byte
	var sec [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", Token{}, fmt.Errorf("generate %s token id: %w", prefix, err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", Token{}, fmt.Errorf("generate %s token: %w", prefix, err)
	}
	id = strings.ToLower(b32.EncodeToString(idb[:]))
	return id, Token{s: prefix + "." + account + "." + id + "." + strings.ToLower(b32.EncodeToString(sec[:]))}, nil
}

// ParseBearer splits a presented token of prefix. It returns the token id
// and the token; ok is false when the text cannot be one. The id is looked
// up in the database, so it must be what NewBearer makes: lower-case
// letters and digits (base32), never arbitrary bytes (PostgreSQL refuses
// NUL and invalid UTF-8 in a text parameter, and the caller would get a
// server error instead of a 401). The rest of the token is printable ASCII.
func ParseBearer(prefix, s string) (id string, t Token, ok bool) {
	parts := strings.Split(s, ".")
	if len(s) > 512 || len(parts) != 4 || parts[0] != prefix || parts[2] == "" || parts[3] == "" ||
		!validKeyID(parts[2]) || !printableASCII(s) {
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

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// Reveal returns the token text: only to show it once to its creator, or
// to present it.
func (t Token) Reveal() string { return t.s }

// Hash is what the store keeps. Tokens carry 256 random bits, so an unsalted
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
