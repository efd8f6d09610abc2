package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on a document, so that hostile input fails fast and small. A real
// connector document is about 1 KiB, 30 values and 6 levels deep.
const (
	// MaxDocumentSize is the largest body Decode reads. Callers should cap
	// the request body at the same size before reading it.
	MaxDocumentSize = 1 << 20
	// maxDepth is the deepest nesting of objects and arrays accepted.
	maxDepth = 32
	// maxValues is the most values (of any kind) one document may hold; a
	// connector with the most tags allowed has about 550.
	maxValues = 10_000
	// maxYAMLIndicators bounds the YAML structure characters (, : - [ { ?
	// and newlines) of a body before it is parsed: the YAML parser builds
	// its whole node graph first (about 280 bytes a node), so a 1 MiB body
	// of "0,0,0,..." would cost 140 MB before maxValues could apply. Each
	// node past the first needs at least one of these characters, so the
	// graph stays under about 2×20,000 nodes (some 11 MB).
	maxYAMLIndicators = 20_000
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
	kind kind
	str  string // a string, a number's text, or a YAML boolean's text
	b    bool
	// yamlBool is set on an unquoted YAML string that YAML 1.1 reads as a
	// boolean (yes, off, ...), so that a boolean field can accept it.
	yamlBool *bool
	members  []member
	items    []*value
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

// parseYAML parses one YAML document into a value tree. It reads the YAML
// node graph, without expanding anything, so alias bombs cost only their
// own size: an alias (*name) or a merge key (<<) is refused outright (a
// connector document has no use for them), as are duplicate keys, explicit
// tags other than the core ones, more than one document, and the nesting
// and size limits of parseJSON.
//
// Scalars keep their text: YAML's plain scalars resolve per YAML 1.2
// (true/false are booleans, yes/no are strings), and the binder may read a
// plain number or boolean as the string it was written as.
func parseYAML(data []byte) (*value, error) {
	if n := yamlIndicators(data); n > maxYAMLIndicators {
		return nil, &parseError{msg: fmt.Sprintf("the YAML document is too large in structure: %d separators (, : - [ { ? and line breaks), more than the %d a connector document could need", n, maxYAMLIndicators)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return &value{kind: kindNull}, nil
		}
		return nil, &parseError{msg: yamlMessage(err)}
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &parseError{msg: yamlMessage(err)}
		}
		if !emptyDocument(&next) {
			return nil, &parseError{msg: fmt.Sprintf("the body holds more than one YAML document (another starts at line %d); send one connector per request", next.Line)}
		}
	}
	p := &yamlParser{}
	return p.node(&doc, "", 0)
}

func yamlIndicators(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case ',', ':', '-', '[', '{', '?', '\n':
			n++
		}
	}
	return n
}

func emptyDocument(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return n.Kind == 0 || n.Kind == yaml.DocumentNode && len(n.Content) == 0 ||
		n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

type yamlParser struct {
	count int
}

func (p *yamlParser) fail(path string, n *yaml.Node, format string, args ...any) error {
	return &parseError{path: path, msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (YAML line %d)", n.Line)}
}

func (p *yamlParser) node(n *yaml.Node, path string, depth int) (*value, error) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return &value{kind: kindNull}, nil
		}
		n = n.Content[0]
	}
	p.count++
	if p.count > maxValues {
		return nil, p.fail(path, n, "the document holds more than %d values", maxValues)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return nil, p.fail(path, n, "YAML aliases (*%s) are not supported in connector documents", n.Value)
	case yaml.ScalarNode:
		return p.scalar(n, path)
	case yaml.MappingNode, yaml.SequenceNode:
		if depth >= maxDepth {
			return nil, p.fail(path, n, "the document is nested more than %d levels deep", maxDepth)
		}
		if t := n.ShortTag(); t != "!!map" && t != "!!seq" {
			return nil, p.fail(path, n, "YAML tag %s is not supported in connector documents", n.Tag)
		}
		if n.Kind == yaml.SequenceNode {
			v := &value{kind: kindArray, items: make([]*value, 0, len(n.Content))}
			for i, c := range n.Content {
				item, err := p.node(c, index(path, i), depth+1)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			return v, nil
		}
		v := &value{kind: kindObject, members: make([]member, 0, len(n.Content)/2)}
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, p.fail(path, k, "mapping keys must be plain strings")
			}
			if k.Tag == "!!merge" {
				return nil, p.fail(path, k, "YAML merge keys (<<) are not supported in connector documents")
			}
			child := join(path, k.Value)
			if seen[k.Value] {
				return nil, p.fail(child, k, "duplicate key %q", k.Value)
			}
			seen[k.Value] = true
			cv, err := p.node(val, child, depth+1)
			if err != nil {
				return nil, err
			}
			v.members = append(v.members, member{key: k.Value, val: cv})
		}
		return v, nil
	}
	return nil, p.fail(path, n, "unexpected YAML node")
}

// yaml11Bools are the YAML 1.1 spellings of booleans (yes, on, ...), which
// Harness's YAML parser reads as booleans; a boolean field accepts them
// when unquoted.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func (p *yamlParser) scalar(n *yaml.Node, path string) (*value, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		v := &value{kind: kindString, str: n.Value}
		if b, ok := yaml11Bools[n.Value]; ok && n.Style == 0 {
			v.yamlBool = &b
		}
		return v, nil
	case "!!null":
		return &value{kind: kindNull}, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, p.fail(path, n, "invalid boolean %q", n.Value)
		}
		return &value{kind: kindBool, b: b, str: n.Value}, nil
	case "!!int", "!!float":
		return &value{kind: kindNumber, str: n.Value}, nil
	}
	return nil, p.fail(path, n, "YAML tag %s is not supported in connector documents", n.Tag)
}

// yamlMessage makes a YAML library error fit on one line with our prefix.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return "invalid YAML: " + strings.Join(strings.Fields(msg), " ")
}
