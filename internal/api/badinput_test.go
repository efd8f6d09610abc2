package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
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
		{"applicationId missing", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.credential.spec.applicationId", nil), "", nil, 400, "spec.credential.spec.applicationId", "cannot be empty"},
		{"auth type unknown", "POST", C, conn("c1", "default", "p1", "account.acct_text", "spec.credential.spec.auth.type", "Password"), "", nil, 400, "spec.credential.spec.auth.type", "Password"},
		{"project. reference", "POST", C, conn("c1", "default", "p1", "project.x"), "", nil, 400, "secretRef", "Invalid Secret Reference"},
		{"unknown reference scope", "POST", C, conn("c1", "default", "p1", "foo.x"), "", nil, 400, "secretRef", "No scope found for string: foo"},
		{"empty reference", "POST", C, conn("c1", "default", "p1", ""), "", nil, 400, "secretRef", "must not be null"},
		{"inherit without selectors", "POST", C, conn("c1", "default", "p1", "", "spec.credential", mi), "", nil, 400, "delegateSelectors", "Delegate Selector cannot be null"},
		{"user-assigned without clientId", "POST", C, conn("c1", "default", "p1", "", "spec.credential", ua, "spec.delegateSelectors", []string{"d"}), "", nil, 400, "spec.credential.spec.auth.spec.clientId", "cannot be empty"},
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
		{"malformed JSON", "POST", C, `{"connector": {"name": `, "", nil, 400, "name", "invalid JSON: the document ends too early"},
		{"tags is a list", "POST", C, conn("c1", "default", "p1", "account.acct_text", "tags", []string{"a"}), "", nil, 400, "tags", "must be an object, got array"},
		{"malformed YAML", "POST", C, "connector:\n  name: [unclosed\n", "application/yaml", nil, 400, "body", "invalid YAML: line"},
		{"empty body", "POST", C, "", "", nil, 400, "", "empty"},
		{"body not wrapped", "POST", C, `{"name":"x","identifier":"x","type":"Azure"}`, "", nil, 400, "connector", "must not be null: the body must be a connector document"},
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
		{"text secret update to SecretFile", "PUT", "/ng/api/v2/secrets/acct_text" + q("", ""), secretBody("acct_text", "SecretFile", map[string]any{}), "", nil, 400, "secret.type", "must be SecretText here; send file secrets as multipart"},
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

		// Text only: no NUL characters, no invalid UTF-8, anywhere (PostgreSQL
		// refuses both in a text parameter).
		{"org description with NUL", "POST", "/ng/api/organizations" + q("", ""), `{"organization":{"identifier":"o9","name":"o9","description":"a\u0000b"}}`, "", nil, 400, "organization.description", "NUL character"},
		{"org description not UTF-8", "POST", "/ng/api/organizations" + q("", ""), "{\"organization\":{\"identifier\":\"o9\",\"name\":\"o9\",\"description\":\"a\xffb\"}}", "", nil, 400, "organization.description", "valid UTF-8"},
		{"org description NUL in YAML", "POST", "/ng/api/organizations" + q("", ""), "organization:\n  identifier: o9\n  name: o9\n  description: \"a\\0b\"\n", "application/yaml", nil, 400, "organization.description", "NUL character"},
		{"project module with NUL", "POST", "/ng/api/projects" + q("default", ""), `{"project":{"identifier":"p9","name":"p9","modules":["CD","C\u0000I"]}}`, "", nil, 400, "project.modules[1]", "NUL character"},
		{"secret description not UTF-8", "POST", "/ng/api/v2/secrets" + q("", ""), "{\"secret\":{\"type\":\"SecretText\",\"name\":\"s9\",\"identifier\":\"s9\",\"description\":\"\xc3\",\"spec\":{\"valueType\":\"Inline\",\"value\":\"v\"}}}", "", nil, 400, "secret.description", "valid UTF-8"},
		{"secret tag key with NUL", "POST", "/ng/api/v2/secrets" + q("", ""), secretBody("s9", "SecretText", inline, "tags", map[string]string{"k\x00": "v"}), "", nil, 400, "secret.tags", "has a key with a NUL character"},
		{"secret value not UTF-8", "POST", "/ng/api/v2/secrets" + q("", ""), "{\"secret\":{\"type\":\"SecretText\",\"name\":\"s9\",\"identifier\":\"s9\",\"spec\":{\"valueType\":\"Inline\",\"value\":\"\xfe\xff\"}}}", "", nil, 400, "secret.spec.value", "valid UTF-8"},
		{"connector description not UTF-8", "POST", C, strings.Replace(conn("c1", "default", "p1", "account.acct_text", "description", "DESC"), "DESC", "\xe2\x82", 1), "", nil, 400, "connector.description", "valid UTF-8"},
		{"connector description with NUL", "POST", C, conn("c1", "default", "p1", "account.acct_text", "description", "a\x00b"), "", nil, 400, "connector.description", "NUL character"},
		{"listV2 identifier with NUL", "POST", "/ng/api/connectors/listV2" + q("default", "p1"), `{"filterType":"Connector","connectorIdentifiers":["existing","a\u0000"]}`, "", nil, 400, "connectorIdentifiers[1]", "NUL character"},
		{"searchTerm with NUL", "GET", "/ng/api/connectors" + q("default", "p1", "searchTerm=a%00"), "", "", nil, 400, "searchTerm", "NUL character"},
		{"secret identifiers not UTF-8", "GET", "/ng/api/v2/secrets" + q("", "", "identifiers=acct_text,%ff"), "", "", nil, 400, "identifiers", "valid UTF-8"},
		{"audit actorKeyId not UTF-8", "GET", "/ng/api/azimuth/audit" + q("", "", "actorKeyId=%c3"), "", "", nil, 400, "actorKeyId", "valid UTF-8"},
		{"audit action with NUL", "GET", "/ng/api/azimuth/audit" + q("", "", "action=secret.create%00"), "", "", nil, 400, "action", "NUL character"},
		{"orgIdentifier with NUL", "GET", "/ng/api/v2/secrets" + q("default%00", ""), "", "", nil, 400, "orgIdentifier", "NUL character"},
		{"path identifier with NUL", "GET", "/ng/api/v2/secrets/acct%00text" + q("", ""), "", "", nil, 400, "identifier", "NUL character"},
		{"path identifier not UTF-8", "DELETE", "/ng/api/connectors/%ffexisting" + q("default", "p1"), "", "", nil, 400, "identifier", "valid UTF-8"},
		{"API key id not UTF-8", "DELETE", "/ng/api/azimuth/apikeys/%fe" + q("", ""), "", "", nil, 400, "id", "valid UTF-8"},
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
// is a 500, on either database. PostgreSQL refuses NUL bytes and invalid
// UTF-8 in text parameters (SQLSTATE 22021), so those go everywhere a
// client's string can go: bodies, query parameters, path values and the
// API key header.
func TestNoServerErrors(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		seedBad(e)
		bodies := []string{"", "{", "[]", "null", `"x"`, "0", `{"connector":null}`, `{"connector":[]}`, `{"secret":{"spec":[]}}`,
			`{"organization":{"tags":"x"}}`, `{"project":{"modules":"x"}}`, "\x00\xff\xfe", strings.Repeat("[", 10000),
			"a: &a [*a, *a]\n", "connector:\n  spec:\n    credential:\n      type: ManualConfig\n      spec: 5\n",
			`{"connector":{"identifier":"x","name":"x","type":"Azure","spec":{"credential":{"type":"ManualConfig","spec":{"auth":{"type":"Secret","spec":{"secretRef":5}}}}}}}`,
			`{"filterType":"Connector","types":[1]}`, `{"name":5,"role":[]}`,
			// NUL and invalid UTF-8 inside otherwise valid documents.
			`{"organization":{"identifier":"o9","name":"o9","description":"a\u0000b"}}`,
			`{"project":{"identifier":"p9","name":"p9","orgIdentifier":"default","description":"a\u0000b","modules":["CD\u0000"]}}`,
			`{"secret":{"type":"SecretText","name":"s9","identifier":"s9","description":"a\u0000b","spec":{"valueType":"Inline","value":"v"}}}`,
			`{"secret":{"type":"SecretText","name":"s9","identifier":"s\u0000","tags":{"k\u0000":"v"},"spec":{"valueType":"Inline","value":"v"}}}`,
			"{\"organization\":{\"identifier\":\"o9\",\"name\":\"o9\",\"description\":\"\xff\xfe\"}}",
			"{\"secret\":{\"type\":\"SecretText\",\"name\":\"s9\",\"identifier\":\"s9\",\"description\":\"\xc3\",\"spec\":{\"value\":\"v\"}}}",
			`{"connector":{"identifier":"c9","name":"c9","description":"a\u0000b","type":"Azure"}}`,
			`{"filterType":"Connector","connectorIdentifiers":["a\u0000"],"types":["Azure\u0000"]}`,
			`{"identifiers":["a\u0000"],"searchTerm":"\u0000","types":["SecretText"]}`,
			`{"name":"k\u0000","role":"viewer"}`,
			"organization:\n  identifier: o9\n  name: o9\n  description: \"a\\0b\"\n",
		}
		// Path values: a known one, a NUL and invalid UTF-8 (escaped, as a
		// client must send them).
		pathSets := []map[string]string{
			{"{identifier}": "existing", "{id}": "nope"},
			{"{identifier}": "%00", "{id}": "%ff"},
			{"{identifier}": "%ff%fe", "{id}": "a%00b"},
		}
		queries := []string{q("default", "p1"), q("", ""), "?accountIdentifier=%00", "?accountIdentifier=" + strings.Repeat("a", 300),
			"?accountIdentifier=acc&orgIdentifier=a/b&projectIdentifier=..",
			"?accountIdentifier=%ff", q("%00", ""), q("default", "%ff"),
			q("default", "p1", "searchTerm=%00", "identifiers=a%00b", "type=Azure%00", "types=SecretText%00", "identifier=%00"),
			q("", "", "searchTerm=%ff%fe", "identifiers=%c3", "resourceType=%00", "action=%ff", "actorKeyId=%00",
				"identifier=%ff", "outcome=%00", "status=%00", "connectorRef=%00", "subscriptionId=%ff"),
		}
		cts := []string{"application/json", "application/yaml", "text/plain", "multipart/form-data", "multipart/form-data; boundary=x"}
		api := newRouteList(e)
		n := 0
		for _, rt := range api {
			for ps, paths := range pathSets {
				path := rt.Path
				for k, v := range paths {
					path = strings.ReplaceAll(path, k, v)
				}
				if ps > 0 && path == rt.Path {
					continue // no path values to vary
				}
				// Each body once (queries and content types rotating), and
				// each query once with no body.
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
		}
		// API keys whose id part is NUL-free but not text, or not an id.
		for _, k := range []string{"azk.acc.\xff.x", "azk.acc.\xc3\x28.x", "azk.\xff.abc.def", "azk.acc.a%00b.x", "azk.acc." + strings.Repeat("a", 400) + ".x"} {
			r := e.req("GET", "/ng/api/connectors"+q("default", "p1"), k, nil)
			n++
			if r.Status != http.StatusUnauthorized {
				t.Errorf("x-api-key %q: %s", k, r)
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
	})
}

// TestServiceRefusesNonText: the services check their own text fields too
// (for callers other than this API), naming the field, and store nothing.
func TestServiceRefusesNonText(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		seedBad(e)
		p := access.System("test")
		v := secret.NewValue([]byte("v"))
		for _, bad := range []string{"a\x00b", "a\xffb"} {
			for _, tc := range []struct {
				name, field string
				run         func() error
			}{
				{"org description", "description", func() error {
					_, err := e.svc.Scopes.CreateOrg(ctx, p, acct, service.OrgInput{Identifier: "o9", Name: "o9", Description: bad})
					return err
				}},
				{"org update description", "description", func() error {
					_, err := e.svc.Scopes.UpdateOrg(ctx, p, acct, "default", service.OrgInput{Identifier: "default", Name: "default", Description: bad}, nil)
					return err
				}},
				{"project description", "description", func() error {
					_, err := e.svc.Scopes.CreateProject(ctx, p, acct, "default", service.ProjectInput{Identifier: "p9", Name: "p9", Description: bad})
					return err
				}},
				{"project module", "modules[0]", func() error {
					_, err := e.svc.Scopes.CreateProject(ctx, p, acct, "default", service.ProjectInput{Identifier: "p9", Name: "p9", Modules: []string{bad}})
					return err
				}},
				{"secret description", "secret.description", func() error {
					_, err := e.svc.Secrets.Create(ctx, p, scope.Scope{Account: acct}, service.SecretText, service.SecretInput{
						Type: service.SecretText, Identifier: "s9", Name: "s9", Description: bad, Value: &v})
					return err
				}},
				{"secret tag value", "secret.tags.k", func() error {
					_, err := e.svc.Secrets.Create(ctx, p, scope.Scope{Account: acct}, service.SecretText, service.SecretInput{
						Type: service.SecretText, Identifier: "s9", Name: "s9", Tags: map[string]string{"k": bad}, Value: &v})
					return err
				}},
				{"org tag key", "tags", func() error {
					_, err := e.svc.Scopes.CreateOrg(ctx, p, acct, service.OrgInput{Identifier: "o9", Name: "o9", Tags: map[string]string{bad: "v"}})
					return err
				}},
				{"secret update description", "secret.description", func() error {
					_, err := e.svc.Secrets.Update(ctx, p, scope.Scope{Account: acct}, "acct_text", service.SecretText, service.SecretInput{
						Type: service.SecretText, Identifier: "acct_text", Name: "acct_text", Description: bad}, nil)
					return err
				}},
			} {
				before := e.dump()
				err := tc.run()
				fe, ok := failure.As(err)
				if !ok || fe.Kind != failure.Invalid || len(fe.Fields) == 0 || !strings.HasPrefix(fe.Fields[0].Field, tc.field) {
					t.Errorf("%s %q: %v, want an invalid %s", tc.name, bad, err, tc.field)
				}
				if e.dump() != before {
					t.Errorf("%s %q: the database changed", tc.name, bad)
				}
			}
		}
	})
}
