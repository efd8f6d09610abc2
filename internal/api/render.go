package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/store"
)

// envelope is Harness's ResponseDTO.
type envelope struct {
	Status        string `json:"status"`
	Data          any    `json:"data"`
	MetaData      any    `json:"metaData"`
	CorrelationID string `json:"correlationId"`
}

// failureBody is Harness's FailureDTO: a validation failure (HTTP 400).
type failureBody struct {
	Status        string               `json:"status"`
	Code          string               `json:"code"`
	Message       string               `json:"message"`
	CorrelationID string               `json:"correlationId"`
	Errors        []failure.FieldError `json:"errors"`
}

// errorBody is Harness's ErrorDTO: every other error.
type errorBody struct {
	Status           string            `json:"status"`
	Code             string            `json:"code"`
	Message          string            `json:"message"`
	CorrelationID    string            `json:"correlationId"`
	DetailedMessage  *string           `json:"detailedMessage"`
	ResponseMessages []responseMessage `json:"responseMessages"`
	Metadata         any               `json:"metadata"`
}

type responseMessage struct {
	Code         string   `json:"code"`
	Level        string   `json:"level"`
	Message      string   `json:"message"`
	Exception    any      `json:"exception"`
	FailureTypes []string `json:"failureTypes"`
}

// wantsYAML reports whether the client asked for YAML (Accept header).
func wantsYAML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "yaml") && !strings.Contains(a, "json")
}

// write renders v as JSON or, when asked for, YAML.
func write(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"status":"ERROR","code":"UNKNOWN_ERROR","message":"response could not be encoded"}`)
	}
	ct := "application/json"
	if wantsYAML(r) {
		if y, err := yaml.JSONToYAML(b); err == nil {
			b, ct = y, "application/yaml"
		}
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ok writes a SUCCESS envelope.
func ok(w http.ResponseWriter, r *http.Request, data any) {
	write(w, r, http.StatusOK, envelope{Status: "SUCCESS", Data: data, CorrelationID: correlationID(r.Context())})
}

// kindCode is the Harness ErrorCode used when an error names none.
var kindCode = map[failure.Kind]string{
	failure.Internal:        "UNKNOWN_ERROR",
	failure.Invalid:         "INVALID_REQUEST",
	failure.NotFound:        "RESOURCE_NOT_FOUND_EXCEPTION",
	failure.Conflict:        "DUPLICATE_FIELD",
	failure.Unauthenticated: "INVALID_TOKEN",
	failure.Forbidden:       "NG_ACCESS_DENIED",
	failure.TooLarge:        "FILE_SIZE_EXCEEDS_LIMIT",
	failure.Unavailable:     "SERVICE_UNAVAILABLE",
	failure.Timeout:         "REQUEST_TIMEOUT",
	failure.Canceled:        "REQUEST_PROCESSING_INTERRUPTED",
}

// classify turns any error into a failure: the one place where store
// sentinels and standard errors get a kind the HTTP layer understands.
func classify(err error) *failure.Error {
	if fe, ok := failure.As(err); ok {
		return fe
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return failure.New(failure.TooLarge, "the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrNotFound):
		return failure.New(failure.NotFound, "not found")
	case errors.Is(err, store.ErrDuplicate):
		return failure.New(failure.Conflict, "already exists")
	case errors.Is(err, store.ErrConflict):
		return failure.New(failure.Conflict, "changed by someone else; read it again and retry").WithCode("OPTIMISTIC_LOCKING_EXCEPTION")
	case errors.Is(err, store.ErrReferenced):
		return failure.New(failure.Conflict, "still referenced").WithCode("ENTITY_REFERENCE_EXCEPTION")
	case errors.Is(err, store.ErrInvalid):
		return failure.New(failure.Invalid, "the request holds a value the database cannot store (a NUL character or text that is not UTF-8)")
	}
	k := failure.KindOf(err)
	if k == failure.Internal {
		// Never echo an internal error: it is logged with the correlation id.
		return &failure.Error{Kind: failure.Internal, Message: "internal error", Err: err}
	}
	return &failure.Error{Kind: k, Message: k.String(), Err: err}
}

// fail renders err with Harness's error shapes and logs it once: 5xx at
// Error with the cause, 4xx at Debug.
func fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	fe := classify(err)
	status := fe.Kind.HTTPStatus()
	if status == 0 {
		status = http.StatusInternalServerError
	}
	cid := correlationID(r.Context())
	code := fe.Code
	if code == "" {
		code = kindCode[fe.Kind]
	}
	msg := fe.Message
	if fe.Kind == failure.Internal {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "correlationId", cid, "err", err)
		msg = "internal error; the server log has the details under correlation id " + cid
	} else {
		log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", status, "correlationId", cid, "err", fe.Error())
		if msg == "" {
			msg = fe.Error()
		}
	}
	if status == 499 {
		return // the client went away
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `ApiKey header="x-api-key"`)
	}
	if fe.Kind == failure.Invalid && len(fe.Fields) > 0 {
		parts := make([]string, 0, len(fe.Fields))
		for _, f := range fe.Fields {
			parts = append(parts, f.Field+": "+f.Message)
		}
		if fe.Message == "" {
			msg = strings.Join(parts, ", ")
		}
		write(w, r, status, failureBody{Status: "FAILURE", Code: code, Message: msg, CorrelationID: cid, Errors: fe.Fields})
		return
	}
	var detail *string
	if fe.Hint != "" {
		detail = &fe.Hint
	}
	write(w, r, status, errorBody{
		Status: "ERROR", Code: code, Message: msg, CorrelationID: cid, DetailedMessage: detail,
		ResponseMessages: []responseMessage{{Code: code, Level: "ERROR", Message: msg, FailureTypes: []string{}}},
	})
}
