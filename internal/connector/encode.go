package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// Encode writes the connector document {"connector": {...}} in format
// "json" (indented by two spaces) or "yaml" ("yml" is accepted too), in
// Harness's field order: name, identifier, description, [accountIdentifier,
// orgIdentifier, projectIdentifier when set], tags, type, spec{credential,
// delegateSelectors, azureEnvironmentType, executeOnDelegate}. Tags are
// sorted by key. azureEnvironmentType and executeOnDelegate are always
// written, with their defaults when unset. The output ends with a newline
// and decodes back (Decode) to the same connector.
func Encode(c *Connector, format string) ([]byte, error) {
	if c == nil {
		return nil, failure.New(failure.Internal, "encode connector: nil connector")
	}
	j, err := marshal(Document{Connector: c})
	if err != nil {
		return nil, fmt.Errorf("encode connector %q: %w", c.Identifier, err)
	}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case FormatJSON:
		var buf bytes.Buffer
		if err := json.Indent(&buf, j, "", "  "); err != nil {
			return nil, fmt.Errorf("encode connector %q: %w", c.Identifier, err)
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	case FormatYAML, "yml":
		v, err := parseJSON(j)
		if err != nil {
			return nil, fmt.Errorf("encode connector %q: %w", c.Identifier, err)
		}
		out, err := writeYAML(toYAML(v))
		if err != nil {
			return nil, fmt.Errorf("encode connector %q as YAML: %w", c.Identifier, err)
		}
		return out, nil
	}
	return nil, failure.New(failure.Invalid, "unsupported format %q: use json or yaml", format)
}

// toYAML converts a value tree to a YAML node graph in the same order, so
// the field order is the JSON's. Strings are tagged !!str so that the
// encoder quotes those a YAML reader would take for something else ("yes",
// "1.10", "").
func toYAML(v *value) *yaml.Node {
	switch v.kind {
	case kindBool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.b)}
	case kindString:
		return yamlString(v.str)
	case kindNumber:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: v.str}
	case kindObject:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, m := range v.members {
			n.Content = append(n.Content, yamlString(m.key), toYAML(m.val))
		}
		return n
	case kindArray:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, it := range v.items {
			n.Content = append(n.Content, toYAML(it))
		}
		return n
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// base60RE matches YAML 1.1's sexagesimal numbers ("1:20").
var base60RE = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// yamlString is a string scalar. Strings that a YAML 1.1 reader (Harness's,
// among others) would take for a boolean or a number, such as yes, off or
// 1:20, are double-quoted; the encoder already quotes what YAML 1.2 would
// misread.
func yamlString(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if _, ok := yaml11Bools[s]; ok || base60RE.MatchString(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// writeYAML encodes a node graph with two-space indentation.
func writeYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
