package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	goyaml "go.yaml.in/yaml/v2"

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
		out, err := goyaml.Marshal(toYAML(v))
		if err != nil {
			return nil, fmt.Errorf("encode connector %q as YAML: %w", c.Identifier, err)
		}
		return out, nil
	}
	return nil, failure.New(failure.Invalid, "unsupported format %q: use json or yaml", format)
}

// toYAML converts a value tree to what the YAML library writes in order:
// objects become MapSlices, so the field order is the JSON's.
func toYAML(v *value) any {
	switch v.kind {
	case kindBool:
		return v.b
	case kindString:
		return v.str
	case kindNumber:
		if i, err := strconv.ParseInt(v.str, 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(v.str, 64); err == nil {
			return f
		}
		return v.str
	case kindObject:
		out := make(goyaml.MapSlice, 0, len(v.members))
		for _, m := range v.members {
			out = append(out, goyaml.MapItem{Key: m.key, Value: toYAML(m.val)})
		}
		return out
	case kindArray:
		out := make([]any, 0, len(v.items))
		for _, it := range v.items {
			out = append(out, toYAML(it))
		}
		return out
	}
	return nil
}
