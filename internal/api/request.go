package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
)

// queryScope reads Harness's scope parameters; accountIdentifier is
// required.
func queryScope(r *http.Request) (scope.Scope, error) {
	q := r.URL.Query()
	sc := scope.New(q.Get("accountIdentifier"), q.Get("orgIdentifier"), q.Get("projectIdentifier"))
	if sc.Account == "" {
		return sc, failure.InvalidField("accountIdentifier", "cannot be empty: pass ?accountIdentifier=<your account>.")
	}
	return sc, sc.Validate()
}

func queryInt(r *http.Request, name string) (int, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, failure.InvalidField(name, "must be a whole number, got %q.", v)
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, failure.InvalidField(name, "must be true or false, got %q.", v)
	}
	return b, nil
}

// queryList reads a repeated or comma-separated parameter.
func queryList(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, failure.InvalidField(name, "must be an RFC 3339 time or Unix milliseconds, got %q.", v)
	}
	return t, nil
}

func queryPage(r *http.Request) (service.PageRequest, error) {
	idx, err1 := queryInt(r, "pageIndex")
	size, err2 := queryInt(r, "pageSize")
	if err := errors.Join(err1, err2); err != nil {
		return service.PageRequest{}, mergeFields(err1, err2)
	}
	return service.PageRequest{Index: idx, Size: size}, nil
}

// mergeFields joins the field errors of several Invalid errors.
func mergeFields(errs ...error) error {
	var fs failure.Fields
	for _, err := range errs {
		if fe, ok := failure.As(err); ok {
			fs = append(fs, fe.Fields...)
		}
	}
	return fs.Err()
}

// ifMatch reads an If-Match version (a number, quoted or weak as ETags are).
func ifMatch(r *http.Request) (*int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return nil, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return nil, failure.InvalidField("If-Match", "must be the version number from the ETag header, got %q.", v)
	}
	return &n, nil
}

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", fmt.Sprintf("%q", strconv.FormatInt(version, 10)))
}

// mediaType returns the request's media type, "" when absent.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

func isYAML(mt string) bool { return strings.Contains(mt, "yaml") }

// readBody reads the (size-capped) body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, failure.New(failure.TooLarge, "the request body is larger than the %d-byte limit", mbe.Limit).WithCode("FILE_SIZE_EXCEEDS_LIMIT")
		}
		return nil, failure.Wrap(failure.Invalid, err, "read request body")
	}
	return b, nil
}

// decodeBody decodes a JSON or YAML body into v. Unknown fields are
// ignored (as Harness does); a wrong type names its field.
func decodeBody(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeBytes(b, mediaType(r), v)
}

func decodeBytes(b []byte, mt string, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return failure.InvalidField("body", "the request body is empty.")
	}
	// A body that starts like JSON is parsed as JSON even when labelled
	// YAML: JSON is YAML, and the JSON parser is the stricter one (the YAML
	// parser ignores text after a closing brace).
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) && (isYAML(mt) || mt == "") {
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return failure.InvalidField("body", "the YAML body cannot be parsed%s.", yamlWhere(err))
		}
		b = j
	}
	if err := checkBodyText(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			// Never echo te.Value: for a number it holds the literal, which
			// may be a secret sent with the wrong type.
			return failure.InvalidField(te.Field, "must be of type %s.", jsonKind(te.Type.Kind().String()))
		case errors.As(err, &se):
			return failure.InvalidField("body", "the JSON body is malformed at byte %d.", se.Offset)
		}
		return failure.InvalidField("body", "the body is not valid JSON (truncated or malformed).")
	}
	if dec.More() {
		return failure.InvalidField("body", "the body holds more than one JSON value.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "map", "struct", "ptr":
		return "object"
	case "slice", "array":
		return "list"
	case "bool":
		return "boolean"
	}
	return "number"
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlWhere says where a YAML error is without quoting the input, which
// may hold a secret.
func yamlWhere(err error) string {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return " (line " + m[1] + ")"
	}
	return ""
}
