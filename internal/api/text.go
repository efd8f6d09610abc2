package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// Every string a client sends is text: valid UTF-8 without NUL characters.
// PostgreSQL refuses anything else in a text parameter, and no identifier,
// name, description, filter or secret reference needs it. The checks here
// run before a handler sees the request, so a bad string is a 400 naming
// its parameter or field, not a database error.

// What can be wrong with a string as text, and how a field error says it.
const (
	textOK = iota
	textNotUTF8
	textNUL
)

var textMessage = map[int]string{
	textNotUTF8: "must be valid UTF-8 text.",
	textNUL:     "must not contain a NUL character (\\u0000).",
}

var keyMessage = map[int]string{
	textNotUTF8: "has a key that is not valid UTF-8 text.",
	textNUL:     "has a key with a NUL character (\\u0000).",
}

func textProblem(s string) int {
	switch {
	case !utf8.ValidString(s):
		return textNotUTF8
	case strings.IndexByte(s, 0) >= 0:
		return textNUL
	}
	return textOK
}

var pathWildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(?:\.\.\.)?\}`)

// checkRequestText checks the query parameters and the path values of a
// request to the route pattern.
func checkRequestText(r *http.Request, pattern string) error {
	var fs failure.Fields
	for _, m := range pathWildcard.FindAllStringSubmatch(pattern, -1) {
		if p := textProblem(r.PathValue(m[1])); p != textOK {
			fs.Add(m[1], "%s", textMessage[p])
		}
	}
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if p := textProblem(k); p != textOK {
			fs.Add("query", "%s", keyMessage[p]) // a parameter no handler reads
			continue
		}
		for _, v := range q[k] {
			if p := textProblem(v); p != textOK {
				fs.Add(k, "%s", textMessage[p])
				break
			}
		}
	}
	return fs.Err()
}

// checkBodyText finds the strings of a JSON body that are not text, naming
// each by its path (secret.description, tags, connectorIdentifiers[0]). A
// body that is not JSON is left to the decoder to refuse. Only the path is
// reported, never the value, which may be a secret.
func checkBodyText(b []byte) error {
	if utf8.Valid(b) && !bytes.Contains(b, []byte(`\u0000`)) {
		return nil // the common case: nothing to find
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	type level struct {
		object bool
		key    string // object: the last key read
		index  int    // array: the next element's index
		want   bool   // object: the next string is a key
	}
	var stack []*level
	var fs failure.Fields
	path := func() string {
		var sb strings.Builder
		for _, l := range stack {
			if l.object {
				if sb.Len() > 0 {
					sb.WriteByte('.')
				}
				sb.WriteString(l.key)
			} else {
				sb.WriteString("[" + strconv.Itoa(l.index) + "]")
			}
		}
		if sb.Len() == 0 {
			return "body"
		}
		return sb.String()
	}
	// afterValue moves the enclosing container past a value.
	afterValue := func() {
		if n := len(stack); n > 0 {
			if l := stack[n-1]; l.object {
				l.want = true
			} else {
				l.index++
			}
		}
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			break // the end, or malformed JSON: the decoder reports it
		}
		raw := b[start:dec.InputOffset()]
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &level{object: true, want: true})
			case '[':
				stack = append(stack, &level{})
			case '}', ']':
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			p := textOK
			if !utf8.Valid(raw) {
				p = textNotUTF8
			} else if strings.IndexByte(v, 0) >= 0 {
				p = textNUL
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].want {
				l := stack[n-1]
				l.want = false
				if p != textOK {
					// The key itself is bad: name the object holding it.
					l.key = ""
					fs.Add(strings.TrimSuffix(path(), "."), "%s", keyMessage[p])
					v = "?"
				}
				l.key = v
				continue
			}
			if p != textOK {
				fs.Add(path(), "%s", textMessage[p])
			}
			afterValue()
		default:
			afterValue()
		}
		if len(fs) >= 10 {
			break
		}
	}
	return fs.Err()
}
