package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// conn renders a connector document with one field replaced (path of keys
// through nested maps; a nil value deletes the key).
func conn(id, org, project, ref string, edits ...any) string {
	d := azureConnector(id, org, project, ref)
	for i := 0; i+1 < len(edits); i += 2 {
		path := strings.Split(edits[i].(string), ".")
		m := d["connector"].(map[string]any)
		for _, k := range path[:len(path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		if edits[i+1] == nil {
			delete(m, path[len(path)-1])
		} else {
			m[path[len(path)-1]] = edits[i+1]
		}
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func secretBody(id, typ string, spec map[string]any, extra ...any) string {
	s := map[string]any{"type": typ, "name": id, "identifier": id, "spec": spec}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	b, _ := json.Marshal(map[string]any{"secret": s})
	return string(b)
}

var inline = map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": "v"}

type badCase struct {
	name   string
	method string
	path   string
	body   string
	ct     string // default application/json
	hdr    []string
	status int
	field  string // a fieldId of errors[], or (for ERROR bodies) text in the message
	rule   string // text in the matching error
}

func badCases() []badCase {
	const C = "/ng/api/connectors?accountIdentifier=" + acct
	mi := map[string]any{"type": "InheritFromDelegate", "spec": map[string]any{"auth": map[string]any{"type": "SystemAssignedManagedIdentity"}}}
	ua := map[string]any{"type": "InheritFromDelegate", "spec": map[string]any{"auth": map[string]any{"type": "UserAssignedManagedIdentity", "spec": map[string]any{}}}}
	cert := map[string]any{"type": "Certificate", "spec": map[string]any{"certificateRef": "account.acct_text"}}
	return []badCase{
		// Connector document rules.
		{"identifier starts with a digit", "POST", C, conn("1abc", "default", "p1", "account.acct_text"), "", nil, 400, "identifier", "not start with a number"},
		{"identifier is a keyword", "POST", C, conn("account", "default", "p1", "account.acct_text"), "", nil, 400, "identifier", "is a keyword"},
		{"identifier harnessSecretManager", "POST", C, conn("harnessSecretManager", "default", "p1", "account.acct_text"), "", nil, 400, "identifier", "harnessSecretManager"},
		{"identifier with a hyphen", "POST", C, conn("a-b", "default", "p1", "account.acct_text"), "", nil, 400, "identifier", "alphanumeric, underscore and $"},
		{"empty name", "POST", C, conn("c1", "default", "p1", "account.acct_text", "name", ""), "", nil, 400, "name", "cannot be empty"},
		{"name with a star", "POST", C, conn("c1", "default", "p1", "account.acct_text", "name", "a*b"), "", nil, 400, "name", "can only contain"},
		{"name too long", "POST", C, conn("c1", "default", "p1", "account.acct_text", "name", strings.Repeat("n", 129)), "", nil, 400, "name", "more than 128"},
		{"type missing", "POST", C, conn("c1", "default", "p1", "account.acct_text", "type", nil), "", nil, 400, "type", "Connector type cannot be null"},
		{"type not Azure", "POST", C, conn("c1", "default", "p1", "account.acct_text", "type", "Aws"), "", nil, 400, "type", "Azure"},
		{"spec missing", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec", nil), "", nil, 400, "spec", "null"},
		{"credential missing", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.credential", nil), "", nil, 400, "spec.credential", "null"},
		{"credential type unknown", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.credential.type", "Foo"), "", nil, 400, "spec.credential", "Foo"},
		{"OIDC not yet", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.credential", map[string]any{"type": "OidcAuthentication", "spec": map[string]any{"applicationId": "a", "tenantId": "t"}}), "", nil, 400, "spec.credential.type", "not supported"},
		{"unknown cloud", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.azureEnvironmentType", "AZURE_GERMANY"), "", nil, 400, "spec.azureEnvironmentType", "AZURE_GERMANY"},
		{"applicationId missing", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.credential.spec.applicationId", nil), "", nil, 400, "spec.credential.spec.applicationId", ""},
		{"auth type unknown", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.credential.spec.auth.type", "Password"), "", nil, 400, "spec.credential.spec.auth.type", "Password"},
		{"project. reference", "POST", C, conn("c1", "default", "p1", "project.x"), "", nil, 400, "secretRef", "Invalid Secret Reference"},
		{"unknown reference scope", "POST", C, conn("c1", "default", "p1", "foo.x"), "", nil, 400, "secretRef", "No scope found for string: foo"},
		{"empty reference", "POST", C, conn("c1", "default", "p1", ""), "", nil, 400, "secretRef", "must not be null"},
		{"inherit without selectors", "POST", C, conn("c1", "default", "p1", "", "spec.credential", mi), "", nil, 400, "delegateSelectors", "Delegate Selector cannot be null"},
		{"user-assigned without clientId", "POST", C, conn("c1", "default", "p1", "", "spec.credential", ua, "spec.delegateSelectors", []string{"d"}), "", nil, 400, "clientId", ""},
		{"account connector, org secret", "POST", C, conn("c1", "", "", "org.org_pem"), "", nil, 400, "secretRef", "The org level secret cannot be used at account level"},
		{"account connector, project secret", "POST", C, conn("c1", "", "", "proj_text"), "", nil, 400, "secretRef", "The project level secret cannot be used at account level"},
		{"org connector, project secret", "POST", C, conn("c1", "default", "", "proj_text"), "", nil, 400, "secretRef", "The project level secret cannot be used at a org level"},
		{"missing secret", "POST", C, conn("c1", "default", "p1", "account.nope"), "", nil, 400, "secretRef", "Error while validating secretKey field : No secret exists with the id nope"},
		{"Secret auth, file secret", "POST", C, conn("c1", "default", "p1", "org.org_pem"), "", nil, 400, "secretRef", "is a SecretFile"},
		{"Certificate auth, text secret", "POST", C, conn("c1", "default", "p1", "", "spec.credential.spec.auth", cert), "", nil, 400, "certificateRef", "clientCertRef field"},
		{"project does not exist", "POST", C, conn("c1", "default", "ghost", "account.acct_text"), "", nil, 404, "ghost", "not found"},
		{"project without org", "POST", C, conn("c1", "", "p1", "account.acct_text"), "", nil, 400, "orgIdentifier", "required"},
		{"duplicate identifier", "POST", C, conn("existing", "default", "p1", "account.acct_text"), "", nil, 409, "existing", "already exists"},
		{"query scope mismatch", "POST", C + "&orgIdentifier=other", conn("c1", "default", "p1", "account.acct_text"), "", nil, 400, "scope", "do not match"},
		{"malformed JSON", "POST", C, `{"connector": {"name": `, "", nil, 400, "", ""},
		{"tags is a list", "POST", C, conn("c1", "default", "p1", "account.acct_text", "tags", []string{"a"}), "", nil, 400, "tags", ""},
		{"malformed YAML", "POST", C, "connector:\n  name: [unclosed\n", "application/yaml", nil, 400, "", ""},
		{"empty body", "POST", C, "", "", nil, 400, "", "empty"},
		{"body not wrapped", "POST", C, `{"name":"x","identifier":"x","type":"Azure"}`, "", nil, 400, "connector", ""},
		{"update of another type", "PUT", C, conn("existing", "default", "p1", "account.acct_text", "type", "Aws"), "", nil, 400, "type", "Azure"},
		{"If-Match not a number", "PUT", C, conn("existing", "default", "p1", "account.acct_text"), "", []string{"If-Match", "abc"}, 400, "If-Match", "version"},
		{"pageSize too big", "GET", "/ng/api/connectors" + q("default", "p1", "pageSize=5000"), "", "", nil, 400, "pageSize", "1000"},
		{"pageIndex negative", "GET", "/ng/api/connectors" + q("default", "p1", "pageIndex=-1"), "", "", nil, 400, "pageIndex", "0 or more"},
		{"pageSize not a number", "GET", "/ng/api/connectors" + q("default", "p1", "pageSize=abc"), "", "", nil, 400, "pageSize", "whole number"},
		{"accountIdentifier missing", "GET", "/ng/api/connectors", "", "", nil, 400, "accountIdentifier", "cannot be empty"},
		{"project without org in query", "GET", "/ng/api/connectors?accountIdentifier=" + acct + "&projectIdentifier=p1", "", "", nil, 400, "orgIdentifier", "required"},

		// Secrets.
		{"secret identifier starts with a digit", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("1bad", "SecretText", inline), "", nil, 400, "secret.identifier", "not start with a number"},
		{"secret type SSHKey", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("s1", "SSHKey", inline), "", nil, 400, "secret.type", "not supported"},
		{"secret valueType Reference", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("s1", "SecretText", map[string]any{"valueType": "Reference", "value": "path"}), "", nil, 400, "secret.spec.valueType", "Inline"},
		{"secret value empty", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("s1", "SecretText", map[string]any{"valueType": "Inline", "value": ""}), "", nil, 400, "secret.spec.value", "cannot be empty"},
		{"secret manager unknown", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("s1", "SecretText", map[string]any{"secretManagerIdentifier": "vault1", "valueType": "Inline", "value": "v"}), "", nil, 400, "secret.spec.secretManagerIdentifier", "harnessSecretManager"},
		{"secret value is a number", "POST", "/ng/api/v2/secrets" + q("", ""), `{"secret":{"type":"SecretText","name":"s1","identifier":"s1","spec":{"valueType":"Inline","value":123456}}}`, "", nil, 400, "secret.spec.value", "string"},
		{"secret duplicate", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("acct_text", "SecretText", inline), "", nil, 409, "acct_text", "exists in this scope"},
		{"secret body scope mismatch", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("s1", "SecretText", inline, "orgIdentifier", "default"), "", nil, 400, "scope", "do not match"},
		{"secret in a missing org", "POST", "/ng/api/v2/secrets" + q("ghost", ""), secretBody("s1", "SecretText", inline, "orgIdentifier", "ghost"), "", nil, 404, "ghost", "not found"},
		{"file secret as JSON", "POST", "/ng/api/v2/secrets/files" + q("", ""), secretBody("f1", "SecretFile", map[string]any{}), "", nil, 400, "Content-Type", "multipart"},
		{"text secret update to SecretFile", "PUT", "/ng/api/v2/secrets/acct_text" + q("", ""), secretBody("acct_text", "SecretFile", map[string]any{}), "", nil, 400, "secret.type", ""},
		{"secret identifier changed", "PUT", "/ng/api/v2/secrets/acct_text" + q("", ""), secretBody("other", "SecretText", inline), "", nil, 400, "secret.identifier", "cannot be changed"},
		{"referenced secret delete", "DELETE", "/ng/api/v2/secrets/acct_text" + q("", ""), "", "", nil, 409, "acct_text", "referenced by other entities"},
		{"missing secret delete", "DELETE", "/ng/api/v2/secrets/nope" + q("", ""), "", "", nil, 404, "nope", "does not exist"},
		{"secret list of an unknown type", "GET", "/ng/api/v2/secrets" + q("", "", "type=Password"), "", "", nil, 400, "type", "Password"},

		// Orgs, projects, API keys.
		{"org identifier keyword", "POST", "/ng/api/organizations" + q("", ""), `{"organization":{"identifier":"org","name":"x"}}`, "", nil, 400, "identifier", "is a keyword"},
		{"org duplicate", "POST", "/ng/api/organizations" + q("", ""), `{"organization":{"identifier":"default","name":"x"}}`, "", nil, 409, "default", "already present"},
		{"delete default org", "DELETE", "/ng/api/organizations/default" + q("", ""), "", "", nil, 400, "Default Organization", "not supported"},
		{"delete a project that holds things", "DELETE", "/ng/api/projects/p1" + q("default", ""), "", "", nil, 409, "project p1", "still holds"},
		{"project color", "POST", "/ng/api/projects" + q("default", ""), `{"project":{"identifier":"p9","name":"x","color":"red"}}`, "", nil, 400, "color", "#0063f7"},
		{"project in a missing org", "POST", "/ng/api/projects" + q("ghost", ""), `{"project":{"identifier":"p9","name":"x"}}`, "", nil, 404, "ghost", "not found"},
		{"API key role", "POST", "/ng/api/azimuth/apikeys" + q("", ""), `{"name":"k","role":"owner"}`, "", nil, 400, "role", "viewer, editor, admin"},
		{"API key name", "POST", "/ng/api/azimuth/apikeys" + q("", ""), `{"name":"","role":"viewer"}`, "", nil, 400, "name", "cannot be empty"},
		{"audit outcome", "GET", "/ng/api/azimuth/audit" + q("", "", "outcome=maybe"), "", "", nil, 400, "outcome", "success or denied"},
		{"audit since", "GET", "/ng/api/azimuth/audit" + q("", "", "since=yesterday"), "", "", nil, 400, "since", "RFC 3339"},
	}
}

// seedBad creates what the bad cases refer to.
func seedBad(e *env) {
	e.createProject("default", "p1")
	e.must(e.createTextSecret(e.admin, "", "", "acct_text", "a"))
	e.must(e.createFileSecret(e.admin, "default", "", "org_pem", []byte("pem")))
	e.must(e.createTextSecret(e.admin, "default", "p1", "proj_text", "p"))
	e.must(e.req("POST", "/ng/api/connectors?accountIdentifier="+acct, e.admin, conn("existing", "default", "p1", "account.acct_text")))
}

// TestBadInputs: every bad input gets a 4xx naming the field and the rule,
// and changes nothing in the database.
func TestBadInputs(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		seedBad(e)
		cases := badCases()
		if len(cases) < 30 {
			t.Fatalf("only %d cases", len(cases))
		}
		for _, tc := range cases {
			before := e.dump()
			hdr := tc.hdr
			if tc.ct != "" {
				hdr = append(hdr, "Content-Type", tc.ct)
			}
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.req(tc.method, tc.path, e.admin, body, hdr...)
			if r.Status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Raw)
				continue
			}
			if err := mentions(r, tc.field, tc.rule); err != nil {
				t.Errorf("%s: %v: %s", tc.name, err, r.Raw)
			}
			if after := e.dump(); after != before {
				t.Errorf("%s: the database changed", tc.name)
			}
		}
	})
}

// mentions checks that a 4xx names the field and the rule.
func mentions(r resp, field, rule string) error {
	if r.Body == nil {
		return fmt.Errorf("no JSON error body")
	}
	if errs, ok := r.Body["errors"].([]any); ok && r.Body["status"] == "FAILURE" {
		if len(errs) == 0 {
			return fmt.Errorf("FAILURE without errors")
		}
		for _, x := range errs {
			fe := x.(map[string]any)
			if strings.Contains(fe["fieldId"].(string), field) && strings.Contains(fe["error"].(string), rule) {
				return nil
			}
		}
		return fmt.Errorf("no error on field %q with %q", field, rule)
	}
	msg, _ := r.Body["message"].(string)
	if r.Body["status"] != "ERROR" || r.Body["code"] == "" {
		return fmt.Errorf("not a Harness error body")
	}
	if !strings.Contains(msg, field) || !strings.Contains(msg, rule) {
		return fmt.Errorf("message %q lacks %q or %q", msg, field, rule)
	}
	return nil
}

// TestNoServerErrors throws garbage at every route: nothing a client sends
// is a 500.
func TestNoServerErrors(t *testing.T) {
	e := newEnv(t, "sqlite")
	seedBad(e)
	bodies := []string{"", "{", "[]", "null", `"x"`, "0", `{"connector":null}`, `{"connector":[]}`, `{"secret":{"spec":[]}}`,
		`{"organization":{"tags":"x"}}`, `{"project":{"modules":"x"}}`, "\x00\xff\xfe", strings.Repeat("[", 10000),
		"a: &a [*a, *a]\n", "connector:\n  spec:\n    credential:\n      type: ManualConfig\n      spec: 5\n",
		`{"connector":{"identifier":"x","name":"x","type":"Azure","spec":{"credential":{"type":"ManualConfig","spec":{"auth":{"type":"Secret","spec":{"secretRef":5}}}}}}}`,
		`{"filterType":"Connector","types":[1]}`, `{"name":5,"role":[]}`}
	paths := map[string]string{"{identifier}": "existing", "{id}": "nope"}
	queries := []string{q("default", "p1"), q("", ""), "?accountIdentifier=%00", "?accountIdentifier=" + strings.Repeat("a", 300), "?accountIdentifier=acc&orgIdentifier=a/b&projectIdentifier=.."}
	cts := []string{"application/json", "application/yaml", "text/plain", "multipart/form-data", "multipart/form-data; boundary=x"}
	api := newRouteList(e)
	n := 0
	for _, rt := range api {
		path := rt.Path
		for k, v := range paths {
			path = strings.ReplaceAll(path, k, v)
		}
		// Each body once (queries and content types rotating), and each
		// query once with no body.
		for i, b := range bodies {
			qs, ct := queries[i%len(queries)], cts[i%len(cts)]
			r := e.req(rt.Method, path+qs, e.admin, b, "Content-Type", ct, "Accept", []string{"application/json", "application/yaml"}[i%2])
			n++
			if r.Status >= 500 {
				t.Errorf("%s %s%s with %q (%s): %s", rt.Method, path, qs, b, ct, r)
			}
		}
		for _, qs := range queries {
			r := e.req(rt.Method, path+qs, e.admin, nil)
			n++
			if r.Status >= 500 {
				t.Errorf("%s %s%s without a body: %s", rt.Method, path, qs, r)
			}
		}
	}
	// Bodies over the cap are 413, not 500.
	big := `{"secret":{"type":"SecretText","name":"big","identifier":"big","spec":{"valueType":"Inline","value":"` + strings.Repeat("x", 2<<20) + `"}}}`
	if r := e.req("POST", "/ng/api/v2/secrets"+q("", ""), e.admin, big); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %s", r.String()[:80])
	}
	bigFile := make([]byte, 1<<20+1)
	spec := `{"secret":{"type":"SecretFile","name":"bf","identifier":"bf","spec":{}}}`
	if r := e.multipartReq("POST", "/ng/api/v2/secrets/files"+q("", ""), e.admin, spec, bigFile); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB + 1 file: %s", r)
	}
	t.Logf("%d garbage requests, no 5xx", n)
}
