package identifier

import (
	"reflect"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/failure"
)

const (
	wantPattern = "can be 128 characters long and can only contain alphanumeric, underscore and $ characters, and not start with a number or $"
)

func msgOf(err error) string {
	if err == nil {
		return ""
	}
	return Message(err)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		id   string
		want string
	}{
		{"identifier", ""},
		{"a", ""},
		{"_", ""},
		{"_harness_system_x", ""}, // Harness only logs a warning
		{"A1_$", ""},
		{"Or", ""}, // keywords are case-sensitive
		{"stepgroup", ""},
		{strings.Repeat("a", 128), ""},
		{"", "cannot be empty"},
		{"   ", "cannot be empty"},
		{"\t\n", "cannot be empty"},
		{strings.Repeat("a", 129), wantPattern},
		{"1abc", wantPattern},
		{"$abc", wantPattern},
		{"a-b", wantPattern},
		{"a.b", wantPattern},
		{"a b", wantPattern},
		{" a", wantPattern},
		{"é", wantPattern},
		{"a\x00", wantPattern},
		{"or", "or is a keyword, so cannot be used"},
		{"null", "null is a keyword, so cannot be used"},
		{"stepGroup", "stepGroup is a keyword, so cannot be used"},
		{"account", "account is a keyword, so cannot be used"},
		{"shellScriptProvisioner", "shellScriptProvisioner is a keyword, so cannot be used"},
		{"class", "class is a keyword, so cannot be used"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := Check(tt.id)
			if got := msgOf(err); got != tt.want {
				t.Fatalf("Check(%q) = %q, want %q", tt.id, got, tt.want)
			}
			if err != nil && !failure.Is(err, failure.Invalid) {
				t.Fatalf("Check(%q) kind = %v, want Invalid", tt.id, failure.KindOf(err))
			}
		})
	}
}

func TestKeywordsAreTheCodeList(t *testing.T) {
	want := []string{"account", "and", "class", "div", "eq", "false", "ge", "gt", "le", "lt", "mod", "ne", "new",
		"not", "null", "or", "org", "parallel", "return", "shellScriptProvisioner", "step", "stepGroup", "true", "var"}
	if got := Keywords(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Keywords() = %v, want %v", got, want)
	}
	for _, k := range want {
		if Check(k) == nil {
			t.Errorf("Check(%q) accepted a keyword", k)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	tests := []struct{ id, want string }{
		{"azure-sp-secret", ""},
		{"a-", ""},
		{"secret_1$", ""},
		{"-a", "can be 128 characters long and can only contain alphanumeric, underscore, hyphen and $ characters, and not start with a number, hyphen or $"},
		{"1a", "can be 128 characters long and can only contain alphanumeric, underscore, hyphen and $ characters, and not start with a number, hyphen or $"},
		{"a.b", "can be 128 characters long and can only contain alphanumeric, underscore, hyphen and $ characters, and not start with a number, hyphen or $"},
		{"", "cannot be empty"},
		{"true", "true is a keyword, so cannot be used"},
	}
	for _, tt := range tests {
		if got := msgOf(CheckSecret(tt.id)); got != tt.want {
			t.Errorf("CheckSecret(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestCheckConnector(t *testing.T) {
	if got := msgOf(CheckConnector("harnessSecretManager")); got != "harnessSecretManager cannot be used as connector identifier" {
		t.Fatalf("CheckConnector(harnessSecretManager) = %q", got)
	}
	if err := CheckConnector("harnessSecretManager2"); err != nil {
		t.Fatalf("CheckConnector(harnessSecretManager2) = %v", err)
	}
	if got := msgOf(CheckConnector("a-b")); got != wantPattern {
		t.Fatalf("CheckConnector(a-b) = %q", got)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"azure-prod", ""},
		{"My Azure Conn 1.0/eu_west", ""},
		{strings.Repeat("n", 128), ""},
		{"", "cannot be empty."},
		{"  ", "cannot be empty."},
		{strings.Repeat("n", 129), "cannot be more than 128 characters long."},
		{strings.Repeat("é", 129), "cannot be more than 128 characters long."},
		{"azure:prod", "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters."},
		{"prod<+input>", "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters."},
		{"café", "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters."},
		{"a\tb", "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters."},
		{"a\x00", "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters."},
	}
	for _, tt := range tests {
		if got := msgOf(CheckName(tt.name)); got != tt.want {
			t.Errorf("CheckName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckTags(t *testing.T) {
	tests := []struct {
		name string
		tags map[string]string
		want failure.Fields
	}{
		{"nil", nil, nil},
		{"key-only", map[string]string{"critical": "", "team": "cd"}, nil},
		{"free strings", map[string]string{"cost center": "R&D: 42", "ünï": "cödé"}, nil},
		{"blank key", map[string]string{" ": "x"}, failure.Fields{{Field: `tags[" "]`, Message: "tag key cannot be empty"}}},
		{"expression value", map[string]string{"env": "<+input>"}, failure.Fields{{Field: "tags.env", Message: "expressions (<+...>) are not supported in tags"}}},
		{"expression key", map[string]string{"<+env>": "x"}, failure.Fields{{Field: `tags["<+env>"]`, Message: "expressions (<+...>) are not supported in tags"}}},
		{"nul", map[string]string{"a": "b\x00"}, failure.Fields{{Field: "tags.a", Message: "tag value cannot contain a NUL character"}}},
		{"long key", map[string]string{strings.Repeat("k", 257): ""}, failure.Fields{{Field: "tags." + strings.Repeat("k", 257), Message: "tag key cannot be more than 256 characters long"}}},
		{"long value", map[string]string{"k": strings.Repeat("v", 1025)}, failure.Fields{{Field: "tags.k", Message: "tag value cannot be more than 1024 characters long"}}},
		{"sorted", map[string]string{"b": "<+x>", "a": "<+y>"}, failure.Fields{
			{Field: "tags.a", Message: "expressions (<+...>) are not supported in tags"},
			{Field: "tags.b", Message: "expressions (<+...>) are not supported in tags"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckTags("tags", tt.tags)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("CheckTags = %#v, want %#v", got, tt.want)
			}
		})
	}
	many := map[string]string{}
	for i := 0; i < MaxTags+1; i++ {
		many[strings.Repeat("k", i+1)] = ""
	}
	if got := CheckTags("tags", many); len(got) != 1 || got[0].Field != "tags" {
		t.Fatalf("CheckTags(too many) = %v", got)
	}
}

func TestFromName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"My Azure-Conn 1", "My_AzureConn_1"},
		{"  azure prod  ", "azure_prod"},
		{"a   b", "a_b"},
		{"a - b", "a_b"},
		{"- a", "_a"},
		{"a -", "a_"},
		{"1st conn", "1st_conn"}, // the UI does not fix a leading digit
		{"cost$ 100%", "cost$_100"},
		{"éàü", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := FromName(tt.name); got != tt.want {
			t.Errorf("FromName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFromNameOutputPassesCharsetRule(t *testing.T) {
	for _, name := range []string{"My Azure-Conn 1", "prod / eu.west", "x_y$z", " __ "} {
		id := FromName(name)
		for _, r := range id {
			if !(r == '_' || r == '$' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				t.Fatalf("FromName(%q) = %q holds %q", name, id, r)
			}
		}
	}
}
