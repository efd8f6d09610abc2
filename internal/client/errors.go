package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// Error is an answer of the server other than success: the failure kind
// (from the HTTP status), Harness's error code and message, the fields at
// fault for a validation failure, and the correlation id under which the
// server logged it.
type Error struct {
	Op            string // "POST /ng/api/connectors"
	StatusCode    int
	Kind          failure.Kind
	Code          string // Harness ErrorCode, e.g. INVALID_REQUEST, DUPLICATE_FIELD
	Message       string
	Fields        []failure.FieldError
	Detail        string // Harness's detailedMessage: a hint
	CorrelationID string
}

// Error is the message, then each field error on its own line, then the
// correlation id.
func (e *Error) Error() string {
	var b strings.Builder
	msg := e.Message
	if len(e.Fields) > 0 && (msg == "" || msg == joinFields(e.Fields)) {
		if len(e.Fields) == 1 {
			msg = "the server refused the request:"
		} else {
			msg = "the server refused the request (" + strconv.Itoa(len(e.Fields)) + " problems):"
		}
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	b.WriteString(msg)
	for _, f := range e.Fields {
		b.WriteString("\n  ")
		if f.Field != "" {
			b.WriteString(f.Field)
			b.WriteString(": ")
		}
		b.WriteString(f.Message)
	}
	if e.Detail != "" {
		b.WriteString("\n  hint: ")
		b.WriteString(e.Detail)
	}
	if e.CorrelationID != "" && e.Kind == failure.Internal {
		b.WriteString("\n  (correlation id ")
		b.WriteString(e.CorrelationID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap exposes the failure, so failure.KindOf and failure.As work on a
// client error as on a server one.
func (e *Error) Unwrap() error {
	return &failure.Error{Kind: e.Kind, Code: e.Code, Message: e.Message, Fields: e.Fields, Hint: e.Detail}
}

func joinFields(fs []failure.FieldError) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.Join(parts, ", ")
}

// statusKind is the inverse of the API's one table from kinds to statuses.
func statusKind(status int) failure.Kind {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusUnprocessableEntity:
		return failure.Invalid
	case http.StatusUnauthorized:
		return failure.Unauthenticated
	case http.StatusForbidden:
		return failure.Forbidden
	case http.StatusNotFound:
		return failure.NotFound
	case http.StatusConflict, http.StatusPreconditionFailed:
		return failure.Conflict
	case http.StatusRequestEntityTooLarge:
		return failure.TooLarge
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable:
		return failure.Unavailable
	case http.StatusGatewayTimeout:
		return failure.Timeout
	}
	return failure.Internal
}

// decodeError reads Harness's FailureDTO (validation) or ErrorDTO.
func decodeError(op string, resp *http.Response, raw []byte, cid string) *Error {
	e := &Error{Op: op, StatusCode: resp.StatusCode, Kind: statusKind(resp.StatusCode), CorrelationID: cid}
	var body struct {
		Status           string               `json:"status"`
		Code             string               `json:"code"`
		Message          string               `json:"message"`
		CorrelationID    string               `json:"correlationId"`
		DetailedMessage  *string              `json:"detailedMessage"`
		Errors           []failure.FieldError `json:"errors"`
		ResponseMessages []struct {
			Message string `json:"message"`
		} `json:"responseMessages"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || (body.Status == "" && body.Message == "") {
		e.Message = resp.Status
		if s := snippet(raw); s != "" {
			e.Message += ": " + s
		}
		return e
	}
	e.Code, e.Message, e.Fields = body.Code, body.Message, body.Errors
	if e.Message == "" && len(body.ResponseMessages) > 0 {
		e.Message = body.ResponseMessages[0].Message
	}
	if body.DetailedMessage != nil {
		e.Detail = *body.DetailedMessage
	}
	if body.CorrelationID != "" {
		e.CorrelationID = body.CorrelationID
	}
	return e
}

// KindOf is the failure kind of any error this package returns.
func KindOf(err error) failure.Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return failure.KindOf(err)
}

// IsNotFound reports whether err is the server's 404.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == failure.NotFound }

// IsConflict reports whether err is the server's 409.
func IsConflict(err error) bool { return err != nil && KindOf(err) == failure.Conflict }
