package delegate

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/protocol"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Token is a whole delegate token, azd.<account>.<tokenId>.<secret>. It
// redacts itself everywhere except Reveal.
type Token struct{ s string }

// NewToken returns a fresh token for account: its id and the token, which
// is shown once and never stored (256 bits of secret).
func NewToken(account string) (string, Token, error) {
	var idb [10]byte
	var sec [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", Token{}, fmt.Errorf("generate delegate token id: %w", err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", Token{}, fmt.Errorf("generate delegate token: %w", err)
	}
	id := strings.ToLower(b32.EncodeToString(idb[:]))
	return id, Token{s: protocol.TokenPrefix + "." + account + "." + id + "." + strings.ToLower(b32.EncodeToString(sec[:]))}, nil
}

// MaxTokenIDLength bounds the id part of a presented token. NewToken makes
// ids of 16 characters.
const MaxTokenIDLength = 64

// ParseToken splits a presented token; ok is false when it cannot be one.
// The id is looked up in the database, so it must be what NewToken makes:
// lower-case letters and digits (base32), never arbitrary bytes
// (PostgreSQL refuses NUL and invalid UTF-8 in a text parameter, and the
// caller would get a server error instead of a 401). The rest of the token
// is printable ASCII.
func ParseToken(s string) (id string, t Token, ok bool) {
	parts := strings.Split(s, ".")
	if len(s) > 512 || len(parts) != 4 || parts[0] != protocol.TokenPrefix || parts[2] == "" || parts[3] == "" ||
		!validTokenID(parts[2]) || !printableASCII(s) {
		return "", Token{}, false
	}
	return parts[2], Token{s: s}, true
}

func validTokenID(id string) bool {
	if len(id) > MaxTokenIDLength {
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

// validTaskID reports whether id can name a task: text the database
// accepts (valid UTF-8 without NUL), of a sane length. Anything else names
// no task.
func validTaskID(id string) bool {
	return id != "" && len(id) <= 128 && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// validDelegateID reports whether id can be a delegate id the hub gave
// ("dlg_" and NewToken's alphabet), so a malformed header is refused
// before it reaches the database.
func validDelegateID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Reveal returns the token text.
func (t Token) Reveal() string { return t.s }

// Hash is what the store keeps: SHA-256 (the token carries 256 random
// bits, so no password KDF is needed).
func (t Token) Hash() []byte {
	h := sha256.Sum256([]byte(t.s))
	return h[:]
}

// Matches compares t with a stored hash in constant time.
func (t Token) Matches(hash []byte) bool { return subtle.ConstantTimeCompare(t.Hash(), hash) == 1 }

func (Token) String() string               { return "[REDACTED]" }
func (Token) GoString() string             { return "delegate.Token([REDACTED])" }
func (Token) MarshalJSON() ([]byte, error) { return []byte(`"[REDACTED]"`), nil }
func (Token) LogValue() slog.Value         { return slog.StringValue("[REDACTED]") }
