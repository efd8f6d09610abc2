package connector

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// billionLaughs is the classic YAML alias bomb: 9 levels of 9 aliases,
// 387 million strings once expanded.
func billionLaughs() []byte {
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "%s: &%s [%s]\n", n, n, strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ","))
		prev = n
	}
	b.WriteString("connector: *i\n")
	return []byte(b.String())
}

// amplified stays under the YAML library's alias ratio (enough plain
// values around the aliases) but expands to far more values than a
// connector has.
func amplified() []byte {
	var b strings.Builder
	b.WriteString("pad: [" + strings.TrimSuffix(strings.Repeat("0,", 5000), ",") + "]\n")
	b.WriteString("a: &a [" + strings.TrimSuffix(strings.Repeat("1,", 1000), ",") + "]\n")
	b.WriteString("b: [" + strings.TrimSuffix(strings.Repeat("*a,", 150), ",") + "]\n")
	b.WriteString("connector: {name: x}\n")
	return []byte(b.String())
}

func TestHostileInput(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		mediaType string
		kind      failure.Kind
		msg       string // substring of the error
	}{
		{"over the size cap", append([]byte(`{"connector":{"description":"`), bytes.Repeat([]byte("x"), MaxDocumentSize)...), "application/json", failure.TooLarge, "the limit is 1048576 bytes"},
		{"billion laughs", billionLaughs(), "application/yaml", failure.Invalid, "YAML aliases (*a) are not supported in connector documents (YAML line 2)"},
		{"billion laughs sniffed", billionLaughs(), "", failure.Invalid, "YAML aliases (*a) are not supported"},
		{"amplified aliases", amplified(), "application/yaml", failure.Invalid, "YAML aliases (*a) are not supported"},
		{"many YAML values", []byte("connector:\n  tags: [" + strings.TrimSuffix(strings.Repeat("0,", 15_000), ",") + "]\n"), "application/yaml", failure.Invalid, "more than 10000 values"},
		{"large YAML structure", []byte("connector:\n  tags: [" + strings.TrimSuffix(strings.Repeat("0,", 150_000), ",") + "]\n"), "application/yaml", failure.Invalid, "the YAML document is too large in structure"},
		{"deep JSON", bytes.Repeat([]byte("["), 500_000), "application/json", failure.Invalid, "nested more than 32 levels"},
		{"deep JSON objects", []byte(`{"connector":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat("}", 41)), "", failure.Invalid, "nested more than 32 levels"},
		{"deep YAML flow", append([]byte("connector: "), bytes.Repeat([]byte("["), 15_000)...), "application/yaml", failure.Invalid, "exceeded max depth"},
		{"deep YAML flow over the scan", append([]byte("connector: "), bytes.Repeat([]byte("["), 500_000)...), "application/yaml", failure.Invalid, "too large in structure"},
		{"deep YAML within the library's limit", append(append([]byte("connector: "), bytes.Repeat([]byte("["), 100)...), bytes.Repeat([]byte("]"), 100)...), "application/yaml", failure.Invalid, "nested more than 32 levels"},
		{"deep YAML blocks", []byte("connector:\n" + deepBlocks(200)), "application/yaml", failure.Invalid, "nested more than 32 levels"},
		{"many values", []byte(`{"connector":{"tags":[` + strings.TrimSuffix(strings.Repeat("0,", 150_000), ",") + `]}}`), "application/json", failure.Invalid, "more than 10000 values"},
		{"binary", []byte{0x00, 0x01, 0xfe, 0xff, 0x7b}, "", failure.Invalid, "not valid UTF-8"},
		{"NUL bytes in JSON", []byte("{\"connector\":\x00}"), "application/json", failure.Invalid, "invalid JSON"},
		{"YAML binary tag", []byte("connector: !!binary aGVsbG8=\n"), "application/yaml", failure.Invalid, "YAML tag !!binary is not supported"},
		{"YAML merge into wrong type", []byte("base: &b {name: x}\nconnector:\n  <<: *b\n  spec: [1]\n"), "application/yaml", failure.Invalid, "YAML merge keys (<<) are not supported"},
		{"YAML custom tag", []byte("connector: !secret {name: x}\n"), "application/yaml", failure.Invalid, "YAML tag !secret is not supported"},
		{"YAML complex key", []byte("connector:\n  ? [a, b]\n  : x\n"), "application/yaml", failure.Invalid, "mapping keys must be plain strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(tt.body, tt.mediaType)
			if err == nil {
				t.Fatal("accepted")
			}
			if k := failure.KindOf(err); k != tt.kind {
				t.Fatalf("kind = %v, want %v: %v", k, tt.kind, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func deepBlocks(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	return b.String()
}

func TestMediaTypes(t *testing.T) {
	jsonDoc, err := os.ReadFile(filepath.Join("testdata", "canonical.json"))
	if err != nil {
		t.Fatal(err)
	}
	yamlDoc, err := os.ReadFile(filepath.Join("testdata", "manual_certificate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	flowYAML := []byte(`{connector: {name: flow, identifier: flow, type: Azure}}`)
	tests := []struct {
		mediaType string
		body      []byte
		ok        bool
	}{
		{"application/json", jsonDoc, true},
		{"application/json; charset=utf-8", jsonDoc, true},
		{"application/vnd.azimuth.connector+json", jsonDoc, true},
		{"application/yaml", yamlDoc, true},
		{"text/yaml", yamlDoc, true},
		{"application/x-yaml", yamlDoc, true},
		{"text/x-yaml; charset=utf-8", yamlDoc, true},
		{"application/yaml", jsonDoc, true}, // JSON is YAML
		{"", jsonDoc, true},
		{"", yamlDoc, true},
		{"", flowYAML, true}, // starts with '{' but is YAML
		{"text/plain", yamlDoc, true},
		{"application/octet-stream", jsonDoc, true},
		{"", append([]byte("\xef\xbb\xbf"), jsonDoc...), true}, // a byte order mark
		{"application/json", yamlDoc, false},
		{"application/json", flowYAML, false},
		{"application/xml", jsonDoc, false},
		{"multipart/form-data; boundary=x", jsonDoc, false},
		{"not a media type;;", jsonDoc, false},
	}
	for _, tt := range tests {
		c, err := Decode(tt.body, tt.mediaType)
		if tt.ok && (err != nil || c == nil) {
			t.Errorf("Decode(%q) = %v", tt.mediaType, err)
		}
		if !tt.ok {
			if err == nil {
				t.Errorf("Decode(%q) accepted", tt.mediaType)
			} else if !failure.Is(err, failure.Invalid) {
				t.Errorf("Decode(%q) kind = %v", tt.mediaType, failure.KindOf(err))
			}
		}
	}
}

// TestUnknownFieldsIgnored: what Harness ignores, Azimuth ignores, such as
// the UI's stray credential.clientId and fields of newer Harness versions.
func TestUnknownFieldsIgnored(t *testing.T) {
	d := inheritDoc()
	set(d, "connector.spec.credential.clientId", "stray")
	set(d, "connector.spec.connectorType", "Azure")
	set(d, "connector.spec.environment", "AZURE")
	set(d, "connector.gitDetails", map[string]any{"branch": "main"})
	d["status"] = "SUCCESS"
	c, err := run(mustJSON(t, d), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := run(mustJSON(t, inheritDoc()), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("unknown fields changed the connector:\n%#v\n%#v", c, want)
	}
}

func TestDecodeKeepsNullsApart(t *testing.T) {
	c, err := Decode([]byte(`{"connector":{"tags":{"critical":null},"spec":{"delegateSelectors":null,"executeOnDelegate":null}}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Tags["critical"]; !ok || v != "" {
		t.Fatalf("a null tag value is a key-only tag: %#v", c.Tags)
	}
	if c.Spec.DelegateSelectors != nil || c.Spec.ExecuteOnDelegate != nil {
		t.Fatalf("nulls not kept as unset: %#v", c.Spec)
	}
	c, err = Decode([]byte(`{"connector":{"spec":{"delegateSelectors":[]}}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Spec.DelegateSelectors == nil || len(c.Spec.DelegateSelectors) != 0 {
		t.Fatalf("[] not kept as an empty list: %#v", c.Spec.DelegateSelectors)
	}
}

// TestYAMLScalarsKeepTheirText: what a YAML author writes unquoted where a
// string belongs is read as written, never reinterpreted (no 0755 → 493,
// no yes → true), and YAML 1.1 booleans still work where a boolean belongs.
func TestYAMLScalarsKeepTheirText(t *testing.T) {
	doc := []byte(`connector:
  name: 2024
  identifier: yes
  description: 1.10
  tags: {octal: 0755, flag: true, "on": off, hex: 0x1F, date: 2024-01-02, "null": ~}
  type: Azure
  spec:
    delegateSelectors: [1e3, no]
    executeOnDelegate: off
`)
	c, err := Decode(doc, "application/yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := &Connector{Name: "2024", Identifier: "yes", Description: "1.10", Type: TypeAzure,
		Tags: map[string]string{"octal": "0755", "flag": "true", "on": "off", "hex": "0x1F", "date": "2024-01-02", "null": ""},
		Spec: &AzureSpec{DelegateSelectors: []string{"1e3", "no"}, ExecuteOnDelegate: &f}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", c, want)
	}
	// Quoted, "off" is a string, not a boolean.
	if _, err := Decode([]byte("connector:\n  spec:\n    executeOnDelegate: \"off\"\n"), "application/yaml"); err == nil {
		t.Fatal("a quoted string was read as a boolean")
	}
	// JSON gets no such coercion.
	if _, err := Decode([]byte(`{"connector":{"name":2024}}`), "application/json"); err == nil {
		t.Fatal("a JSON number was read as a string")
	}
}
