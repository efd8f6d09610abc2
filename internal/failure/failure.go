// Package failure gives errors a kind that the API translates to an HTTP
// status in exactly one place (internal/api), and that the delegate protocol
// carries as a code. Every layer wraps with %w and the operation; the kind of
// the innermost *Error decides the status.
package failure

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for callers: what went wrong, not where.
type Kind int

// The kinds. Keep the list short; add one only when a caller must act
// differently on it.
const (
	Internal        Kind = iota // a bug or an unexpected condition: 500
	Invalid                     // the caller's input breaks a rule: 400
	NotFound                    // the thing does not exist or is not visible: 404
	Conflict                    // duplicate identifier, stale version, still referenced: 409
	Unauthenticated             // no or bad credentials: 401
	Forbidden                   // authenticated but not allowed: 403
	TooLarge                    // body over the size cap: 413
	Unavailable                 // a dependency is down or not ready: 503
	Timeout                     // a wait ran out: 504
	Canceled                    // the caller went away or cancelled
)

var kindNames = [...]string{"INTERNAL", "INVALID", "NOT_FOUND", "CONFLICT", "UNAUTHENTICATED", "FORBIDDEN", "TOO_LARGE", "UNAVAILABLE", "TIMEOUT", "CANCELED"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// HTTPStatus is the HTTP status of a kind: the one table, which the API
// answers with and connection-test results carry as Harness's
// ErrorDetail.code.
func (k Kind) HTTPStatus() int {
	switch k {
	case Invalid:
		return 400
	case Unauthenticated:
		return 401
	case Forbidden:
		return 403
	case NotFound:
		return 404
	case Conflict:
		return 409
	case TooLarge:
		return 413
	case Canceled:
		return 499 // the caller went away (nginx's code; no standard one)
	case Unavailable:
		return 503
	case Timeout:
		return 504
	}
	return 500
}

// ParseKind is the inverse of Kind.String, for codes that crossed a wire.
func ParseKind(s string) Kind {
	for i, n := range kindNames {
		if n == s {
			return Kind(i)
		}
	}
	return Internal
}

// FieldError names one field of the input and the rule it breaks.
type FieldError struct {
	Field   string `json:"fieldId"`
	Message string `json:"error"`
}

// Error is an error with a kind, an optional Harness error code, the fields
// at fault and a hint saying what to do.
type Error struct {
	Kind    Kind
	Code    string // Harness ErrorCode name, e.g. INVALID_REQUEST; empty means derived from Kind
	Message string
	Fields  []FieldError
	Hint    string
	Err     error // the cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Message == "" && len(e.Fields) > 0 {
		for i, f := range e.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Field)
			b.WriteString(": ")
			b.WriteString(f.Message)
		}
	}
	if e.Err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k whose cause is err.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: err}
}

// InvalidField is a validation failure of one field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Fields: []FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

// Fields collects field errors; Err returns nil when none were added.
type Fields []FieldError

// Add records a field error.
func (fs *Fields) Add(field, format string, args ...any) {
	*fs = append(*fs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns an Invalid error holding the collected fields, or nil.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Fields: fs}
}

// WithHint returns a copy of e carrying a hint.
func (e *Error) WithHint(format string, args ...any) *Error {
	c := *e
	c.Hint = fmt.Sprintf(format, args...)
	return &c
}

// WithCode returns a copy of e carrying a Harness error code.
func (e *Error) WithCode(code string) *Error {
	c := *e
	c.Code = code
	return &c
}

// As returns the outermost *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of the outermost *Error in err's chain; context
// cancellation and deadline errors map to Canceled and Timeout; anything else
// is Internal.
func KindOf(err error) Kind {
	if err == nil {
		return Internal
	}
	if e, ok := As(err); ok {
		return e.Kind
	}
	return kindOfStd(err)
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
