package connector

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// manualDoc is a valid ManualConfig/Secret document as a generic tree, for
// tests to break one field at a time.
func manualDoc() map[string]any {
	return map[string]any{"connector": map[string]any{
		"name": "azure-prod", "identifier": "azure_prod", "description": "prod subscription",
		"orgIdentifier": "default", "projectIdentifier": "proj",
		"tags": map[string]any{"team": "cd"}, "type": "Azure",
		"spec": map[string]any{
			"credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{
				"applicationId": "00000000-0000-4000-8000-000000000001",
				"tenantId":      "11111111-1111-4111-8111-111111111111",
				"auth":          map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": "account.sp_secret"}},
			}},
			"delegateSelectors": []any{"d1"}, "azureEnvironmentType": "AZURE", "executeOnDelegate": true,
		},
	}}
}

// inheritDoc is a valid InheritFromDelegate/user-assigned document.
func inheritDoc() map[string]any {
	d := manualDoc()
	set(d, "connector.spec.credential", map[string]any{"type": "InheritFromDelegate", "spec": map[string]any{
		"auth": map[string]any{"type": "UserAssignedManagedIdentity",
			"spec": map[string]any{"clientId": "22222222-2222-4222-8222-222222222222"}},
	}})
	return d
}

const deleted = "\x00deleted"

// set replaces (or, with the value deleted, removes) the member at a
// dotted path of a generic tree.
func set(doc map[string]any, path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	m := doc
	for _, k := range keys[:len(keys)-1] {
		m = m[k].(map[string]any)
	}
	last := keys[len(keys)-1]
	if v == deleted {
		delete(m, last)
	} else {
		m[last] = v
	}
	return doc
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run is what the API does with a body: decode, normalise, validate.
func run(body []byte, mediaType string) (*Connector, error) {
	c, err := Decode(body, mediaType)
	if err != nil {
		return nil, err
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func TestValidDocumentsPass(t *testing.T) {
	for name, d := range map[string]map[string]any{"manual": manualDoc(), "inherit": inheritDoc()} {
		if _, err := run(mustJSON(t, d), "application/json"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBadInputs(t *testing.T) {
	j := func(d map[string]any) []byte { return mustJSON(t, d) }
	m := func(path string, v any) []byte { return j(set(manualDoc(), path, v)) }
	in := func(path string, v any) []byte { return j(set(inheritDoc(), path, v)) }
	const (
		cred = "connector.spec.credential"
		ms   = "connector.spec.credential.spec"
		auth = "connector.spec.credential.spec.auth"
	)
	msgPattern := "can be 128 characters long and can only contain alphanumeric, underscore and $ characters, and not start with a number or $"

	tests := []struct {
		name      string
		body      []byte
		mediaType string
		field     string
		msg       string // exact, unless prefix
		prefix    bool
	}{
		// The envelope.
		{"name empty", m("connector.name", ""), "", "name", "cannot be empty.", false},
		{"name missing", m("connector.name", deleted), "", "name", "cannot be empty.", false},
		{"name too long", m("connector.name", strings.Repeat("n", 129)), "", "name", "cannot be more than 128 characters long.", false},
		{"name charset", m("connector.name", "azure:prod"), "", "name", "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters.", false},
		{"name number", m("connector.name", 42), "", "name", "must be a string, got number 42", false},
		{"identifier empty", m("connector.identifier", ""), "", "identifier", "cannot be empty", false},
		{"identifier leading digit", m("connector.identifier", "1azure"), "", "identifier", msgPattern, false},
		{"identifier hyphen", m("connector.identifier", "azure-prod"), "", "identifier", msgPattern, false},
		{"identifier too long", m("connector.identifier", strings.Repeat("a", 129)), "", "identifier", msgPattern, false},
		{"identifier keyword", m("connector.identifier", "class"), "", "identifier", "class is a keyword, so cannot be used", false},
		{"identifier harnessSecretManager", m("connector.identifier", "harnessSecretManager"), "", "identifier", "harnessSecretManager cannot be used as connector identifier", false},
		{"org identifier", m("connector.orgIdentifier", "my-org"), "", "orgIdentifier", msgPattern, false},
		{"project without org", m("connector.orgIdentifier", ""), "", "orgIdentifier", "is required when projectIdentifier is given.", false},
		{"description too long", m("connector.description", strings.Repeat("d", 1025)), "", "description", "size must be between 0 and 1024", false},
		{"description NUL", m("connector.description", "a\x00b"), "", "description", "cannot contain a NUL character", false},
		{"tags expression", m("connector.tags", map[string]any{"env": "<+input>"}), "", "tags.env", "expressions (<+...>) are not supported in tags", false},
		{"tags as terraform list", m("connector.tags", []any{"env:dev"}), "", "tags", "must be an object, got array", false},
		{"tag value number", m("connector.tags", map[string]any{"n": 5}), "", "tags.n", "must be a string, got number 5", false},
		{"type missing", m("connector.type", deleted), "", "type", "Connector type cannot be null", false},
		{"type other connector", m("connector.type", "K8sCluster"), "", "type", "Invalid value: K8sCluster; Azimuth serves only Azure connectors (type: Azure)", false},
		{"type wrong case", m("connector.type", "azure"), "", "type", "Invalid value: azure; did you mean Azure?", false},
		{"spec missing", m("connector.spec", deleted), "", "spec", "must not be null", false},
		{"spec not an object", m("connector.spec", "Azure"), "", "spec", "must be an object, got string", false},

		// The credential.
		{"credential missing", m(cred, deleted), "", "spec.credential", "must not be null", false},
		{"credential type unknown", m(cred+".type", "Manual"), "", "spec.credential.type", "Invalid value: Manual; allowed: ManualConfig, InheritFromDelegate, OidcAuthentication", false},
		{"credential type missing", m(cred+".type", deleted), "", "spec.credential.type", "must not be null; one of ManualConfig, InheritFromDelegate", false},
		{"credential OIDC", m(cred, map[string]any{"type": "OidcAuthentication", "spec": map[string]any{"applicationId": "a1", "tenantId": "t1"}}), "", "spec.credential.type", MsgOIDCUnsupported, false},
		{"manual spec missing", m(ms, deleted), "", "spec.credential.spec", "must not be null", false},
		{"applicationId missing", m(ms+".applicationId", deleted), "", "spec.credential.spec.applicationId", "cannot be empty", false},
		{"applicationId one char", m(ms+".applicationId", "a"), "", "spec.credential.spec.applicationId", msgUIValue, false},
		{"applicationId whitespace", m(ms+".applicationId", "app id"), "", "spec.credential.spec.applicationId", msgUIValue, false},
		{"tenantId missing", m(ms+".tenantId", ""), "", "spec.credential.spec.tenantId", "cannot be empty", false},
		{"tenantId whitespace", m(ms+".tenantId", "my tenant"), "", "spec.credential.spec.tenantId", msgUIValue, false},
		{"tenantId URL", m(ms+".tenantId", "evil.example.com/x"), "", "spec.credential.spec.tenantId", msgTenant, false},
		{"tenantId IP", m(ms+".tenantId", "169.254.169.254"), "", "spec.credential.spec.tenantId", msgTenant, false},
		{"tenantId bool", m(ms+".tenantId", true), "", "spec.credential.spec.tenantId", "must be a string, got boolean true", false},
		{"auth missing", m(auth, deleted), "", "spec.credential.spec.auth", "must not be null", false},
		{"auth type unknown", m(auth+".type", "Password"), "", "spec.credential.spec.auth.type", "Invalid value: Password; allowed: Secret, Certificate", false},
		{"auth type wrong case", m(auth+".type", "secret"), "", "spec.credential.spec.auth.type", "Invalid value: secret; did you mean Secret?", false},
		{"secretRef missing", m(auth+".spec", map[string]any{}), "", "spec.credential.spec.auth.spec.secretRef", "must not be null", false},
		{"secretRef project prefix", m(auth+".spec.secretRef", "project.sp"), "", "spec.credential.spec.auth.spec.secretRef", "Invalid Secret Reference", false},
		{"secretRef unknown prefix", m(auth+".spec.secretRef", "vault.sp"), "", "spec.credential.spec.auth.spec.secretRef", "No scope found for string: vault", false},
		{"secretRef empty id", m(auth+".spec.secretRef", "account."), "", "spec.credential.spec.auth.spec.secretRef", "Invalid Secret Reference", false},
		{"secretRef bad id", m(auth+".spec.secretRef", "org.a b"), "", "spec.credential.spec.auth.spec.secretRef", `Invalid Secret Reference: the secret identifier can be 128 characters long and can only contain alphanumeric, underscore, hyphen and $ characters, and not start with a number, hyphen or $`, false},
		{"secretRef pasted secret", m(auth+".spec.secretRef", "Zx8Q~abc.def"), "", "spec.credential.spec.auth.spec.secretRef", "No scope found for the reference: the part before the first '.' must be account or org", false},
		{"secretRef number", m(auth+".spec.secretRef", 5), "", "spec.credential.spec.auth.spec.secretRef", "must be a string, got number 5", false},
		{"certificateRef missing", m(auth, map[string]any{"type": "Certificate", "spec": map[string]any{"secretRef": "account.x"}}), "", "spec.credential.spec.auth.spec.certificateRef", "must not be null", false},

		// Inherit from delegate.
		{"inherit without selectors", in("connector.spec.delegateSelectors", deleted), "", "spec.delegateSelectors", MsgInheritSelectors, false},
		{"inherit empty selectors", in("connector.spec.delegateSelectors", []any{}), "", "spec.delegateSelectors", MsgInheritSelectors, false},
		{"inherit on platform", in("connector.spec.executeOnDelegate", false), "", "spec.executeOnDelegate", MsgInheritOnPlatform, false},
		{"inherit auth type unknown", in(auth+".type", "ManagedIdentity"), "", "spec.credential.spec.auth.type", "Invalid value: ManagedIdentity; allowed: SystemAssignedManagedIdentity, UserAssignedManagedIdentity", false},
		{"inherit auth missing", in(auth, deleted), "", "spec.credential.spec.auth", "must not be null", false},
		{"user-assigned clientId missing", in(auth+".spec", deleted), "", "spec.credential.spec.auth.spec.clientId", "cannot be empty", false},
		{"user-assigned clientId not GUID", in(auth+".spec.clientId", "my-identity"), "", "spec.credential.spec.auth.spec.clientId", msgClientID, false},

		// Spec scalars.
		{"environment unknown", m("connector.spec.azureEnvironmentType", "AZURE_GERMANY"), "", "spec.azureEnvironmentType", `unknown Azure environment "AZURE_GERMANY"; allowed: AZURE, AZURE_US_GOVERNMENT, AZURE_CHINA`, false},
		{"executeOnDelegate string", m("connector.spec.executeOnDelegate", "true"), "", "spec.executeOnDelegate", "must be a boolean (true or false), got string", false},
		{"selectors string", m("connector.spec.delegateSelectors", "d1"), "", "spec.delegateSelectors", "must be an array of strings, got string", false},
		{"selector empty", m("connector.spec.delegateSelectors", []any{" ", "d1"}), "", "spec.delegateSelectors[0]", "cannot be empty", false},
		{"selector number", m("connector.spec.delegateSelectors", []any{"d1", 7}), "", "spec.delegateSelectors[1]", "must be a string, got number 7", false},
		{"selector control", m("connector.spec.delegateSelectors", []any{"d\n1"}), "", "spec.delegateSelectors[0]", "cannot contain control characters", false},

		// The document.
		{"no wrapper", []byte(`{"name":"x","identifier":"x","type":"Azure"}`), "application/json", "connector", `must not be null: the body must be a connector document {"connector": {...}}`, false},
		{"wrapper not object", []byte(`{"connector":"x"}`), "application/json", "connector", "must be an object, got string", false},
		{"root array", []byte(`[{"connector":{}}]`), "application/json", "body", `must be a connector document {"connector": {...}}, got array`, false},
		{"duplicate key JSON", []byte(`{"connector":{"name":"a","identifier":"a","name":"b"}}`), "application/json", "name", `duplicate key "name"`, false},
		{"duplicate nested key JSON", []byte(`{"connector":{"spec":{"credential":{"type":"ManualConfig","type":"InheritFromDelegate"}}}}`), "", "spec.credential.type", `duplicate key "type"`, false},
		{"duplicate key YAML", []byte("connector:\n  name: a\n  name: b\n"), "application/yaml", "name", "duplicate key \"name\" (YAML line 3)", false},
		{"malformed JSON", []byte(`{"connector": {"name": "x",}}`), "application/json", "connector", "invalid JSON at line 1, column 28: invalid character '}'", true},
		{"truncated JSON", []byte(`{"connector": {"name": "x"`), "application/json", "connector", "invalid JSON: the document ends too early", false},
		{"malformed YAML", []byte("connector:\n  name: x\n   identifier: y\n"), "text/yaml", "body", "invalid YAML: line 3: mapping values are not allowed in this context", false},
		{"YAML quoted boolean", []byte("connector:\n  spec:\n    executeOnDelegate: \"yes\"\n"), "application/x-yaml", "spec.executeOnDelegate", "must be a boolean (true or false), got string", false},
		{"YAML list for a string", []byte("connector:\n  name: [a]\n"), "application/yaml", "name", "must be a string, got array", false},
		{"multi-document YAML", []byte("connector:\n  name: a\n---\nconnector:\n  name: b\n"), "application/yaml", "body", "the body holds more than one YAML document (another starts at line 3); send one connector per request", false},
		{"invalid UTF-8", []byte("{\"connector\":{\"name\":\"\xff\"}}"), "", "body", "is not valid UTF-8 text", false},
		{"empty body", []byte("  \n"), "", "body", `is empty; send a connector document {"connector": {...}}`, false},
		{"trailing data", []byte(`{"connector":{}} {"connector":{}}`), "application/json", "body", "unexpected data after the end of the JSON document", false},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d bad inputs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(tt.body, tt.mediaType)
			if err == nil {
				t.Fatalf("accepted %s", tt.body)
			}
			if !failure.Is(err, failure.Invalid) {
				t.Fatalf("kind = %v, want Invalid (%v)", failure.KindOf(err), err)
			}
			fe, _ := failure.As(err)
			for _, f := range fe.Fields {
				if f.Field != tt.field {
					continue
				}
				if f.Message == tt.msg || tt.prefix && strings.HasPrefix(f.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("no problem {%s: %s} in %#v", tt.field, tt.msg, fe.Fields)
		})
	}
}

// TestAllProblemsAtOnce: Validate reports every broken field, not the first.
func TestAllProblemsAtOnce(t *testing.T) {
	d := manualDoc()
	set(d, "connector.name", "")
	set(d, "connector.identifier", "1x")
	set(d, "connector.spec.credential.spec.tenantId", "a b")
	set(d, "connector.spec.azureEnvironmentType", "MARS")
	_, err := run(mustJSON(t, d), "")
	fe, ok := failure.As(err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	got := map[string]bool{}
	for _, f := range fe.Fields {
		got[f.Field] = true
	}
	for _, want := range []string{"name", "identifier", "spec.credential.spec.tenantId", "spec.azureEnvironmentType"} {
		if !got[want] {
			t.Errorf("missing a problem for %s in %v", want, fe.Fields)
		}
	}
}

func TestErrorsCarryNoSecretLikeValues(t *testing.T) {
	// A client secret pasted where a reference belongs must not be echoed.
	secret := "Zx8Q~s3cr3t.value_with~tilde"
	_, err := run(mustJSON(t, set(manualDoc(), "connector.spec.credential.spec.auth.spec.secretRef", secret)), "")
	if err == nil {
		t.Fatal("accepted a pasted secret value as a reference")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error echoes the value: %v", err)
	}
}
