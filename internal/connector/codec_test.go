package connector

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/azimuthcd/azimuth/internal/failure"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// generic reads a JSON or YAML document into plain maps for comparison.
func generic(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var out map[string]any
	if err := yaml.Unmarshal(doc, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// defaults are the keys Azimuth may add to what was sent.
var defaults = map[string]bool{"description": true, "tags": true, "azureEnvironmentType": true, "executeOnDelegate": true}

// sentPlusDefaults checks that got holds everything sent, unchanged, and
// nothing else but defaults filled in where sent had nothing.
func sentPlusDefaults(t *testing.T, path string, sent, got map[string]any) {
	t.Helper()
	for k, sv := range sent {
		gv, ok := got[k]
		p := join(path, k)
		switch {
		case sv == nil:
			// null: Azimuth may fill in a default, or echo null.
			if ok && gv != nil && !defaults[k] {
				t.Errorf("%s: sent null, read back %v", p, gv)
			}
		case !ok:
			t.Errorf("%s: sent %v, missing from what was read back", p, sv)
		default:
			if sm, isMap := sv.(map[string]any); isMap {
				gm, _ := gv.(map[string]any)
				sentPlusDefaults(t, p, sm, gm)
			} else if !reflect.DeepEqual(sv, gv) {
				t.Errorf("%s: sent %v, read back %v", p, sv, gv)
			}
		}
	}
	for k := range got {
		if _, ok := sent[k]; !ok && !defaults[k] {
			t.Errorf("%s: read back %v, which was not sent and is no default", join(path, k), got[k])
		}
	}
}

// TestGolden runs Harness's canonical JSON (reference §2.5) and the YAML
// forms (§2.6) through decode → normalise → validate → encode, and checks
// that what is read back is what was sent plus defaults, in both formats.
func TestGolden(t *testing.T) {
	inputs := []string{"canonical.json", "manual_certificate.yaml", "inherit_user.yaml", "inherit_system_usgov.yaml", "platform_secret_china.json"}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			sent, err := os.ReadFile(filepath.Join("testdata", in))
			if err != nil {
				t.Fatal(err)
			}
			c, err := run(sent, "")
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			base := strings.TrimSuffix(in, filepath.Ext(in))
			for _, format := range []string{FormatJSON, FormatYAML} {
				out, err := Encode(c, format)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, base+"."+format+".golden", out)
				sentPlusDefaults(t, "", generic(t, sent), generic(t, out))

				back, err := run(out, "")
				if err != nil {
					t.Fatalf("%s export refused: %v", format, err)
				}
				if !reflect.DeepEqual(back, c) {
					t.Errorf("%s export reads back as\n%#v\nwant\n%#v", format, back, c)
				}
			}
		})
	}
}

// shapes returns one valid connector of every shape, with strings that
// YAML would misread if written carelessly.
func shapes() map[string]*Connector {
	tru, fals := true, false
	return map[string]*Connector{
		"manual secret": {
			Name: "yes", Identifier: "no", Description: "R&D <team>: line one\nline two # not a comment",
			OrgIdentifier: "o", ProjectIdentifier: "p", Type: TypeAzure,
			Tags: map[string]string{"on": "off", "version": "1.10", "null": "", "octal": "0755", "colon": "a: b", "ünï": "cödé", "Y": "1:20"},
			Spec: &AzureSpec{
				Credential: &Credential{Type: CredentialManual, Manual: &ManualSpec{
					ApplicationID: "00000000-0000-4000-8000-000000000001", TenantID: "contoso.onmicrosoft.com",
					Auth: &ManualAuth{Type: AuthSecret, SecretRef: "account.sp_secret"}}},
				DelegateSelectors: []string{"true", "d 2"}, AzureEnvironmentType: "AZURE_US_GOVERNMENT", ExecuteOnDelegate: &fals,
			},
		},
		"manual certificate": {
			Name: "cert", Identifier: "cert", Type: TypeAzure, Tags: map[string]string{},
			Spec: &AzureSpec{
				Credential: &Credential{Type: CredentialManual, Manual: &ManualSpec{
					ApplicationID: "app", TenantID: "11111111-1111-4111-8111-111111111111",
					Auth: &ManualAuth{Type: AuthCertificate, CertificateRef: "org.sp-pem"}}},
				DelegateSelectors: []string{}, AzureEnvironmentType: "AZURE_CHINA", ExecuteOnDelegate: &tru,
			},
		},
		"system-assigned": {
			Name: "msi", Identifier: "msi", Type: TypeAzure, Tags: map[string]string{},
			Spec: &AzureSpec{
				Credential:        &Credential{Type: CredentialInherit, Inherit: &InheritSpec{Auth: &ManagedIdentityAuth{Type: ManagedIdentitySystem}}},
				DelegateSelectors: []string{"d1"}, AzureEnvironmentType: "AZURE", ExecuteOnDelegate: &tru,
			},
		},
		"user-assigned": {
			Name: "uami", Identifier: "uami", Type: TypeAzure, Tags: map[string]string{"k": ""},
			Spec: &AzureSpec{
				Credential: &Credential{Type: CredentialInherit, Inherit: &InheritSpec{Auth: &ManagedIdentityAuth{
					Type: ManagedIdentityUser, ClientID: "22222222-2222-4222-8222-222222222222"}}},
				DelegateSelectors: []string{"d1", "d2"}, AzureEnvironmentType: "AZURE", ExecuteOnDelegate: &tru,
			},
		},
	}
}

// TestRoundTrip: every shape, encoded as JSON or YAML, decodes to the same
// connector, and JSON → YAML → JSON gives back the same bytes.
func TestRoundTrip(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Fatalf("the shape itself is invalid: %v", err)
			}
			j, err := Encode(c, "json")
			if err != nil {
				t.Fatal(err)
			}
			y, err := Encode(c, "yaml")
			if err != nil {
				t.Fatal(err)
			}
			for format, doc := range map[string][]byte{"json": j, "yaml": y} {
				back, err := run(doc, "")
				if err != nil {
					t.Fatalf("%s: %v\n%s", format, err, doc)
				}
				if !reflect.DeepEqual(back, c) {
					t.Fatalf("%s reads back as\n%#v\nwant\n%#v\n%s", format, back, c, doc)
				}
			}
			fromYAML, err := Decode(y, "application/yaml")
			if err != nil {
				t.Fatal(err)
			}
			j2, err := Encode(fromYAML, "json")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(j, j2) {
				t.Fatalf("JSON → YAML → JSON changed the document:\n%s\n%s", j, j2)
			}
		})
	}
}

// TestExportImportsUnchanged: what Encode writes, Decode reads back to the
// same value, including the export's own defaults, with no normalisation.
func TestExportImportsUnchanged(t *testing.T) {
	for name, c := range shapes() {
		for _, format := range []string{"json", "yaml", "YML"} {
			out, err := Encode(c, format)
			if err != nil {
				t.Fatalf("%s %s: %v", name, format, err)
			}
			back, err := Decode(out, "")
			if err != nil {
				t.Fatalf("%s %s: %v", name, format, err)
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("%s %s: read back\n%#v\nwant\n%#v", name, format, back, c)
			}
		}
	}
}

// TestYAMLQuotesWhatYAML11Misreads: an export must read the same in a YAML
// 1.1 reader such as Harness's, so yes/no/on/off and 1:20 are quoted.
func TestYAMLQuotesWhatYAML11Misreads(t *testing.T) {
	y, err := Encode(shapes()["manual secret"], "yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name: "yes"`, `identifier: "no"`, `"on": "off"`, `"Y": "1:20"`, `- "true"`, `version: "1.10"`, `octal: "0755"`} {
		if !bytes.Contains(y, []byte(want)) {
			t.Errorf("YAML lacks %s:\n%s", want, y)
		}
	}
}

func TestEncodeFormats(t *testing.T) {
	c := shapes()["user-assigned"]
	if _, err := Encode(c, "xml"); !failure.Is(err, failure.Invalid) {
		t.Fatalf("Encode(xml) = %v, want Invalid", err)
	}
	if _, err := Encode(nil, "json"); err == nil {
		t.Fatal("Encode(nil) succeeded")
	}
	j, _ := Encode(c, "json")
	if !bytes.HasSuffix(j, []byte("}\n")) || !bytes.HasPrefix(j, []byte("{\n  \"connector\": {\n    \"name\"")) {
		t.Fatalf("unexpected JSON layout:\n%s", j)
	}
	y, _ := Encode(c, "yaml")
	if !bytes.HasPrefix(y, []byte("connector:\n  name: uami\n  identifier: uami\n")) {
		t.Fatalf("unexpected YAML layout:\n%s", y)
	}
}

// TestEncodeDefaults: azureEnvironmentType and executeOnDelegate are always
// written, tags are {}, and delegateSelectors echo null or [] as held.
func TestEncodeDefaults(t *testing.T) {
	c := &Connector{Name: "n", Identifier: "n", Type: TypeAzure, Spec: &AzureSpec{
		Credential: &Credential{Type: CredentialInherit, Inherit: &InheritSpec{Auth: &ManagedIdentityAuth{Type: ManagedIdentitySystem}}},
	}}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"n","identifier":"n","description":"","tags":{},"type":"Azure","spec":{"credential":{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity"}}},"delegateSelectors":null,"azureEnvironmentType":"AZURE","executeOnDelegate":true}}`
	if string(j) != want {
		t.Fatalf("got  %s\nwant %s", j, want)
	}
	c.Spec.DelegateSelectors = []string{}
	j, _ = json.Marshal(c.Spec)
	if !strings.Contains(string(j), `"delegateSelectors":[]`) {
		t.Fatalf("empty selectors not written as []: %s", j)
	}
}

func TestWireShapes(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"secret", ManualAuth{Type: AuthSecret, SecretRef: "account.s"}, `{"type":"Secret","spec":{"secretRef":"account.s"}}`},
		{"certificate", ManualAuth{Type: AuthCertificate, CertificateRef: "org.c"}, `{"type":"Certificate","spec":{"certificateRef":"org.c"}}`},
		{"system", ManagedIdentityAuth{Type: ManagedIdentitySystem}, `{"type":"SystemAssignedManagedIdentity"}`},
		{"user", ManagedIdentityAuth{Type: ManagedIdentityUser, ClientID: "c"}, `{"type":"UserAssignedManagedIdentity","spec":{"clientId":"c"}}`},
		{"manual", Credential{Type: CredentialManual, Manual: &ManualSpec{ApplicationID: "a", TenantID: "t",
			Auth: &ManualAuth{Type: AuthSecret, SecretRef: "s"}}},
			`{"type":"ManualConfig","spec":{"applicationId":"a","tenantId":"t","auth":{"type":"Secret","spec":{"secretRef":"s"}}}}`},
		{"oidc", Credential{Type: CredentialOIDC, OIDC: &OIDCSpec{ApplicationID: "a", TenantID: "t"}},
			`{"type":"OidcAuthentication","spec":{"applicationId":"a","tenantId":"t"}}`},
		{"spec follows type", Credential{Type: CredentialInherit, Manual: &ManualSpec{ApplicationID: "a"}}, `{"type":"InheritFromDelegate","spec":null}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// TestEncodeDoesNotEscapeHTML: exports read "R&D", as Harness writes it.
// (json.Marshal of the types escapes it as \u0026, which is the same value.)
func TestEncodeDoesNotEscapeHTML(t *testing.T) {
	c := &Connector{Name: "R&D", Tags: map[string]string{"<a>": ""}}
	out, err := Encode(c, "json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"name": "R&D"`)) || !bytes.Contains(out, []byte(`"<a>": ""`)) {
		t.Fatalf("escaped:\n%s", out)
	}
}

// TestUnmarshalJSON: json.Unmarshal into the model types is as strict as
// Decode, with paths relative to the value read.
func TestUnmarshalJSON(t *testing.T) {
	var cred Credential
	if err := json.Unmarshal([]byte(`{"type":"InheritFromDelegate","clientId":"stray","spec":{"auth":{"type":"UserAssignedManagedIdentity","spec":{"clientId":"c"}}}}`), &cred); err != nil {
		t.Fatal(err)
	}
	if cred.Inherit == nil || cred.Inherit.Auth.ClientID != "c" {
		t.Fatalf("got %#v", cred)
	}
	var a ManualAuth
	err := json.Unmarshal([]byte(`{"type":"Token","spec":{}}`), &a)
	if fe, ok := failure.As(err); !ok || len(fe.Fields) != 1 || fe.Fields[0].Field != "type" ||
		!strings.HasPrefix(fe.Fields[0].Message, "Invalid value: Token") {
		t.Fatalf("unknown auth type: %v", err)
	}
	var mi ManagedIdentityAuth
	if err := json.Unmarshal([]byte(`{"type":"SystemAssignedManagedIdentity","spec":{"clientId":"ignored"}}`), &mi); err != nil || mi.ClientID != "" {
		t.Fatalf("system-assigned: %#v %v", mi, err)
	}
	var c Connector
	if err := json.Unmarshal([]byte(`{"name":"x","Name":"y","spec":{"executeOnDelegate":"no"}}`), &c); err == nil {
		t.Fatal("wrong type accepted")
	} else if fe, _ := failure.As(err); fe.Fields[0].Field != "spec.executeOnDelegate" {
		t.Fatalf("field = %v", fe.Fields)
	}
	// Keys are case-sensitive, as Jackson's are: "Name" is an unknown key.
	if err := json.Unmarshal([]byte(`{"name":"x","Name":"y"}`), &c); err != nil || c.Name != "x" {
		t.Fatalf("case-sensitive keys: %#v %v", c, err)
	}
	// Through an enclosing document, the custom unmarshallers are used.
	var d Document
	if err := json.Unmarshal([]byte(`{"connector":{"type":"Azure","spec":{"credential":{"type":"Nope"}}}}`), &d); err == nil {
		t.Fatal("Document with a bad credential type accepted")
	}
	if err := json.Unmarshal([]byte(`{"a":1,"a":2}`), &c); err == nil {
		t.Fatal("duplicate keys accepted")
	}
}
