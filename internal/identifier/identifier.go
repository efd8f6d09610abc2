// Package identifier holds Harness's rules for the identifiers, names and
// tags of its entities (organizations, projects, secrets, connectors), with
// Harness's own messages, and the UI's derivation of an identifier from a
// name. It is a model package: no I/O.
//
// Every Check function returns nil or a *failure.Error of kind Invalid whose
// Message is Harness's text without the field name ("cannot be empty"), so a
// caller places it under the field it checked:
//
//	if err := identifier.Check(id); err != nil {
//		fs.Add("identifier", "%s", identifier.Message(err))
//	}
package identifier

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// MaxLength is the longest identifier and the longest name Harness accepts.
const MaxLength = 128

// ConnectorReserved is refused as a connector identifier: it names Harness's
// built-in secret manager.
const ConnectorReserved = "harnessSecretManager"

// Harness's identifier pattern (EntityIdentifierValidator, maxLength 128) and
// the secret variant, which also allows '-' after the first character
// (developer-hub entity-identifier reference).
var (
	identifierRE       = regexp.MustCompile(`^[a-zA-Z_][0-9a-zA-Z_$]{0,127}$`)
	secretIdentifierRE = regexp.MustCompile(`^[a-zA-Z_][0-9a-zA-Z_$-]{0,127}$`)
)

// The messages, word for word where Harness has them.
const (
	msgEmpty         = "cannot be empty"
	msgPattern       = "can be 128 characters long and can only contain alphanumeric, underscore and $ characters, and not start with a number or $"
	msgSecretPattern = "can be 128 characters long and can only contain alphanumeric, underscore, hyphen and $ characters, and not start with a number, hyphen or $"
	msgKeyword       = "%s is a keyword, so cannot be used"
	msgConnectorID   = "%s cannot be used as connector identifier"

	msgNameEmpty   = "cannot be empty."
	msgNameLength  = "cannot be more than 128 characters long."
	msgNameCharset = "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters."
)

// keywords is the code list of EntityIdentifierValidator.NOT_ALLOWED_WORDS.
// The comparison is case-sensitive, as Harness's is.
var keywords = map[string]bool{
	"or": true, "and": true, "eq": true, "ne": true, "lt": true, "gt": true, "le": true, "ge": true,
	"div": true, "mod": true, "not": true, "null": true, "true": true, "false": true, "new": true,
	"var": true, "return": true, "step": true, "parallel": true, "stepGroup": true, "org": true,
	"account": true, "class": true, "shellScriptProvisioner": true,
}

// Keywords returns the reserved words, sorted.
func Keywords() []string {
	out := make([]string, 0, len(keywords))
	for k := range keywords {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// IsKeyword reports whether s is one of Harness's reserved words.
func IsKeyword(s string) bool { return keywords[s] }

func invalid(format string, args ...any) error {
	return failure.New(failure.Invalid, format, args...)
}

// Message returns the text of an error returned by this package (the
// Harness message, without a field), or err.Error() for any other error.
func Message(err error) string {
	var fe *failure.Error
	if errors.As(err, &fe) && fe.Message != "" {
		return fe.Message
	}
	return err.Error()
}

// Check applies Harness's entity-identifier rule (@EntityIdentifier):
// not blank, the pattern ^[a-zA-Z_][0-9a-zA-Z_$]{0,127}$, not a keyword.
// Organizations, projects and connectors use it.
func Check(id string) error {
	return check(id, identifierRE, msgPattern)
}

// CheckSecret is Check for secret identifiers, which may also contain '-'.
func CheckSecret(id string) error {
	return check(id, secretIdentifierRE, msgSecretPattern)
}

// CheckConnector is Check plus Harness's refusal of harnessSecretManager as
// a connector identifier.
func CheckConnector(id string) error {
	if err := Check(id); err != nil {
		return err
	}
	if id == ConnectorReserved {
		return invalid(msgConnectorID, ConnectorReserved)
	}
	return nil
}

func check(id string, re *regexp.Regexp, patternMsg string) error {
	if strings.TrimSpace(id) == "" {
		return invalid(msgEmpty)
	}
	if !re.MatchString(id) {
		return invalid("%s", patternMsg)
	}
	if keywords[id] {
		return invalid(msgKeyword, id)
	}
	return nil
}

// CheckName applies Harness's @NGEntityName rule: not blank, at most 128
// characters, only letters, digits, space, '-', '_', '.' and '/'.
func CheckName(name string) error {
	if strings.TrimSpace(name) == "" {
		return invalid(msgNameEmpty)
	}
	if utf8.RuneCountInString(name) > MaxLength {
		return invalid(msgNameLength)
	}
	for _, r := range name {
		if !nameRune(r) {
			return invalid(msgNameCharset)
		}
	}
	return nil
}

func nameRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return r == ' ' || r == '-' || r == '_' || r == '.' || r == '/'
}

// Tag limits. Harness documents none; these are generous bounds so that a
// tag map cannot be used to store megabytes, well above anything the UI or
// Terraform produces.
const (
	MaxTagKeyLength   = 256
	MaxTagValueLength = 1024
	MaxTags           = 256
)

// CheckTags applies the tag rules to a tag map: keys are not blank, neither
// keys nor values hold expressions (<+...>, which Harness does not support in
// tags) or NUL characters, and the documented size bounds hold. A key-only
// tag has the value "". Problems are reported under field+"."+key (or
// field+"["+quoted key+"]" for keys that are not plain words), in key order.
func CheckTags(field string, tags map[string]string) failure.Fields {
	var fs failure.Fields
	if len(tags) > MaxTags {
		fs.Add(field, "cannot have more than %d tags, got %d", MaxTags, len(tags))
		return fs
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := tags[k]
		path := TagPath(field, k)
		switch {
		case strings.TrimSpace(k) == "":
			fs.Add(path, "tag key cannot be empty")
		case utf8.RuneCountInString(k) > MaxTagKeyLength:
			fs.Add(path, "tag key cannot be more than %d characters long", MaxTagKeyLength)
		case strings.ContainsRune(k, 0):
			fs.Add(path, "tag key cannot contain a NUL character")
		case IsExpression(k):
			fs.Add(path, "expressions (<+...>) are not supported in tags")
		}
		switch {
		case utf8.RuneCountInString(v) > MaxTagValueLength:
			fs.Add(path, "tag value cannot be more than %d characters long", MaxTagValueLength)
		case strings.ContainsRune(v, 0):
			fs.Add(path, "tag value cannot contain a NUL character")
		case IsExpression(v):
			fs.Add(path, "expressions (<+...>) are not supported in tags")
		}
	}
	return fs
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// TagPath is the field path of one tag: "tags.env", or `tags["a b"]` when the
// key is not a plain word.
func TagPath(field, key string) string {
	if plainKeyRE.MatchString(key) {
		return field + "." + key
	}
	return field + "[" + strconv.Quote(key) + "]"
}

// IsExpression reports whether s holds a Harness expression or runtime input
// (<+...>).
func IsExpression(s string) bool { return strings.Contains(s, "<+") }

// FromName derives an identifier from a name the way Harness's UI does
// (getIdentifierFromName): trim, drop every character outside
// [0-9a-zA-Z_$ ], then turn each run of spaces into one '_'.
// "My Azure-Conn 1" becomes "My_AzureConn_1". Like the UI it does not fix a
// leading digit or a keyword; Check still rejects those.
func FromName(name string) string {
	name = strings.TrimSpace(name)
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case r == ' ':
			space = true
			continue
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '$':
		default:
			continue
		}
		if space {
			b.WriteByte('_')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte('_')
	}
	return b.String()
}

// Describe is a short human description of the identifier rule, for help
// texts and hints.
func Describe() string {
	return fmt.Sprintf("1 to %d characters: letters, digits, '_' and '$', starting with a letter or '_'; not one of %s",
		MaxLength, strings.Join(Keywords(), ", "))
}
