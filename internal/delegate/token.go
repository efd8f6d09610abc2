package delegate

import (
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/protocol"
)

// Token is a whole delegate token, azd.<account>.<tokenId>.<secret>: a
// bearer token of the same make as an API key, with its own prefix. It
// redacts itself everywhere except Reveal.
type Token = access.Token

// NewToken returns a fresh delegate token for account: its id and the
// token, which is shown once and never stored.
func NewToken(account string) (string, Token, error) {
	return access.NewBearer(protocol.TokenPrefix, account)
}

// ParseToken splits a presented delegate token; ok is false when it cannot
// be one (see access.ParseBearer).
func ParseToken(s string) (id string, t Token, ok bool) {
	return access.ParseBearer(protocol.TokenPrefix, s)
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
