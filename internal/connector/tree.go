package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// Limits on a document, so that hostile input fails fast and small. A real
// connector document is about 1 KiB, 30 values and 6 levels deep.
const (
	// MaxDocumentSize is the largest body Decode reads. Callers should cap
	// the request body at the same size before reading it.
	MaxDocumentSize = 1 << 20
	// maxDepth is the deepest nesting of objects and arrays accepted.
	maxDepth = 32
	// maxValues is the most values (of any kind) one document may hold,
	// counted after YAML aliases are expanded.
	maxValues = 100_000
)

// kind is the JSON type of a value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean"
	case kindNumber:
		return "number"
	case kindString:
		return "string"
	case kindObject:
		return "object"
	}
	return "array"
}

// value is a parsed JSON value that keeps object members in document order,
// so that codecs can walk it with field paths and so that duplicate keys can
// be refused instead of silently collapsed.
type value struct {
	kind    kind
	str     string // a string, or a number's text
	b       bool
	members []member
	items   []*value
}

type member struct {
	key string
	val *value
}

// get returns the member named key (case-sensitive, as Jackson matches), or
// nil when there is none.
func (v *value) get(key string) *value {
	if v == nil || v.kind != kindObject {
		return nil
	}
	for _, m := range v.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// describe renders a scalar for messages: `number 493`, `boolean true`.
func (v *value) describe() string {
	switch v.kind {
	case kindBool:
		return "boolean " + strconv.FormatBool(v.b)
	case kindNumber:
		return "number " + v.str
	}
	return v.kind.String()
}

// parseError is a document that could not be parsed; path is where the
// parser was (a field path, or "" at the top) and msg says what was wrong.
type parseError struct {
	path string
	msg  string
}

func (e *parseError) Error() string { return e.msg }

// join appends a key to a field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

type jsonParser struct {
	data  []byte
	dec   *json.Decoder
	count int
}

// parseJSON parses one JSON document into a value tree, refusing duplicate
// keys, nesting deeper than maxDepth, more than maxValues values and
// anything after the document.
func parseJSON(data []byte) (*value, error) {
	p := &jsonParser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	v, err := p.parse("", 0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		if err == nil {
			return nil, p.fail("", "unexpected data after the end of the JSON document")
		}
		return nil, p.syntax("", err)
	}
	return v, nil
}

func (p *jsonParser) fail(path, format string, args ...any) error {
	return &parseError{path: path, msg: fmt.Sprintf(format, args...)}
}

// syntax turns a decoder error into a message with a line and column.
func (p *jsonParser) syntax(path string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := position(p.data, se.Offset)
		return p.fail(path, "invalid JSON at line %d, column %d: %s", line, col, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return p.fail(path, "invalid JSON: the document ends too early")
	}
	return p.fail(path, "invalid JSON: %s", err.Error())
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func (p *jsonParser) parse(path string, depth int) (*value, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	p.count++
	if p.count > maxValues {
		return nil, p.fail(path, "the document holds more than %d values", maxValues)
	}
	switch t := tok.(type) {
	case nil:
		return &value{kind: kindNull}, nil
	case bool:
		return &value{kind: kindBool, b: t}, nil
	case json.Number:
		return &value{kind: kindNumber, str: t.String()}, nil
	case string:
		return &value{kind: kindString, str: t}, nil
	case json.Delim:
		if depth >= maxDepth {
			return nil, p.fail(path, "the document is nested more than %d levels deep", maxDepth)
		}
		if t == '{' {
			return p.object(path, depth)
		}
		if t == '[' {
			return p.array(path, depth)
		}
	}
	return nil, p.fail(path, "invalid JSON: unexpected %v", tok)
}

func (p *jsonParser) object(path string, depth int) (*value, error) {
	v := &value{kind: kindObject}
	var seen map[string]bool
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.syntax(path, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, p.fail(path, "invalid JSON: object key %v is not a string", tok)
		}
		child := join(path, key)
		if seen == nil {
			seen = make(map[string]bool)
		}
		if seen[key] {
			return nil, p.fail(child, "duplicate key %q", key)
		}
		seen[key] = true
		val, err := p.parse(child, depth+1)
		if err != nil {
			return nil, err
		}
		v.members = append(v.members, member{key: key, val: val})
	}
	if _, err := p.dec.Token(); err != nil { // the closing '}'
		return nil, p.syntax(path, err)
	}
	return v, nil
}

func (p *jsonParser) array(path string, depth int) (*value, error) {
	v := &value{kind: kindArray}
	for i := 0; p.dec.More(); i++ {
		val, err := p.parse(index(path, i), depth+1)
		if err != nil {
			return nil, err
		}
		v.items = append(v.items, val)
	}
	if _, err := p.dec.Token(); err != nil { // the closing ']'
		return nil, p.syntax(path, err)
	}
	return v, nil
}

// parseYAML converts one YAML document to JSON through sigs.k8s.io/yaml in
// strict mode (duplicate keys are errors) and parses the result. The YAML
// parser bounds alias expansion and nesting itself (it refuses "excessive
// aliasing" and depth over 10,000); the JSON parse then applies this
// package's tighter limits to what the aliases expanded to.
func parseYAML(data []byte) (*value, error) {
	if err := singleDocument(data); err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, &parseError{msg: yamlMessage(err)}
	}
	if len(j) > 2*MaxDocumentSize {
		return nil, &parseError{msg: fmt.Sprintf("the YAML document expands to more than %d bytes (anchors and aliases)", 2*MaxDocumentSize)}
	}
	return parseJSON(j)
}

// singleDocument refuses a YAML stream of more than one non-empty document:
// the rest would otherwise be silently ignored. Only bodies that hold a
// document marker are looked at twice.
func singleDocument(data []byte) error {
	if !bytes.Contains(data, []byte("---")) && !bytes.Contains(data, []byte("...")) {
		return nil
	}
	dec := goyaml.NewDecoder(bytes.NewReader(data))
	docs := 0
	for {
		var doc any
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &parseError{msg: yamlMessage(err)}
		}
		if doc == nil {
			continue
		}
		docs++
		if docs > 1 {
			return &parseError{msg: "the body holds more than one YAML document; send one connector per request"}
		}
	}
}

// yamlMessage makes a YAML library error fit on one line with our prefix.
func yamlMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:")
	msg = strings.Join(strings.Fields(msg), " ")
	if strings.Contains(msg, "already set in map") {
		return "duplicate key in YAML: " + msg
	}
	return "invalid YAML: " + msg
}
