package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// canonicalJSON is reference/harness.md §2.5 (Harness's own test resource).
const canonicalJSON = `{"connector":{"name":"name","identifier":"identifier","description":"description",
 "orgIdentifier":"orgIdentifier","projectIdentifier":"projectIdentifier",
 "tags":{"company":"Harness","env":"dev"},"type":"Azure",
 "spec":{"executeOnDelegate":true,"delegateSelectors":null,"azureEnvironmentType":"AZURE",
  "credential":{"type":"ManualConfig","spec":{"applicationId":"clientId","tenantId":"tenantId",
   "auth":{"type":"Secret","spec":{"secretRef":"account.secretRef"}}}}}}}`

// yamlCertificate is the first YAML form of §2.6.
const yamlCertificate = `connector:
  name: azure-prod
  identifier: azure_prod
  orgIdentifier: default
  projectIdentifier: myproj
  description: ""
  tags: {team: cd, critical: ""}
  type: Azure
  spec:
    credential:
      type: ManualConfig
      spec:
        applicationId: 00000000-0000-0000-0000-00000000000a
        tenantId: 11111111-1111-1111-1111-11111111111b
        auth:
          type: Certificate
          spec:
            certificateRef: org.azure_sp_pem
    azureEnvironmentType: AZURE
    delegateSelectors: [azure-delegate]
    executeOnDelegate: true
`

// yamlInherit is the InheritFromDelegate form of §2.6, completed.
const yamlInherit = `connector:
  name: azure-mi
  identifier: azure_mi
  orgIdentifier: default
  projectIdentifier: myproj
  description: user-assigned identity on the delegate host
  tags: {}
  type: Azure
  spec:
    credential:
      type: InheritFromDelegate
      spec:
        auth:
          type: UserAssignedManagedIdentity
          spec: {clientId: 22222222-2222-2222-2222-222222222222}
    azureEnvironmentType: AZURE_US_GOVERNMENT
    delegateSelectors: [azure-delegate]
    executeOnDelegate: true
`

func toMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCanonicalJSON(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.createOrg("orgIdentifier")
		e.createProject("orgIdentifier", "projectIdentifier")
		e.must(e.createTextSecret(e.admin, "", "", "secretRef", "s3cret"))
		r := e.must(e.req("POST", "/ng/api/connectors?accountIdentifier="+acct, e.admin, canonicalJSON))
		want := toMap(t, []byte(canonicalJSON))["connector"]
		if got := r.data()["connector"]; !reflect.DeepEqual(got, want) {
			t.Fatalf("create returned\n%v\nwant\n%v", got, want)
		}
		if st := r.data()["status"].(map[string]any)["status"]; st != "PENDING" {
			t.Fatalf("status %v", st)
		}
		if r.Header.Get("ETag") != `"1"` {
			t.Fatalf("ETag %q", r.Header.Get("ETag"))
		}
		g := e.must(e.req("GET", "/ng/api/connectors/identifier"+q("orgIdentifier", "projectIdentifier"), e.admin, nil))
		if got := g.data()["connector"]; !reflect.DeepEqual(got, want) {
			t.Fatalf("get returned\n%v\nwant\n%v", got, want)
		}
		for _, k := range []string{"createdAt", "lastModifiedAt", "status", "activityDetails", "harnessManaged", "gitDetails", "entityValidityDetails", "governanceMetadata"} {
			if _, ok := g.data()[k]; !ok {
				t.Errorf("ConnectorResponse lacks %s", k)
			}
		}
		// List, search and the unique-identifier check.
		l := e.must(e.req("GET", "/ng/api/connectors"+q("orgIdentifier", "projectIdentifier", "searchTerm=HARNESS", "type=Azure"), e.admin, nil))
		if l.data()["totalItems"].(float64) != 1 {
			t.Fatalf("list: %s", l)
		}
		u := e.must(e.req("GET", "/ng/api/connectors/validateUniqueIdentifier"+q("orgIdentifier", "projectIdentifier", "identifier=identifier"), e.admin, nil))
		if u.Body["data"] != false {
			t.Fatalf("validateUniqueIdentifier of a taken id: %s", u)
		}
		u = e.must(e.req("GET", "/ng/api/connectors/validateUniqueIdentifier"+q("orgIdentifier", "projectIdentifier", "identifier=free"), e.admin, nil))
		if u.Body["data"] != true {
			t.Fatalf("validateUniqueIdentifier of a free id: %s", u)
		}
		v2 := e.must(e.req("POST", "/ng/api/connectors/listV2"+q("orgIdentifier", "projectIdentifier"), e.admin, `{"filterType":"Connector","types":["Azure"],"categories":["CLOUD_PROVIDER"]}`))
		if v2.data()["totalItems"].(float64) != 1 {
			t.Fatalf("listV2: %s", v2)
		}
		d := e.must(e.req("DELETE", "/ng/api/connectors/identifier"+q("orgIdentifier", "projectIdentifier"), e.admin, nil))
		if d.Body["data"] != true {
			t.Fatalf("delete returned %s", d)
		}
	})
}

func TestYAMLFormsAndExport(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.createProject("default", "myproj")
		e.createProject("default", "other")
		e.must(e.createFileSecret(e.admin, "default", "", "azure_sp_pem", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")))
		for _, doc := range []string{yamlCertificate, yamlInherit} {
			sent := toMap(t, []byte(doc))["connector"].(map[string]any)
			id := sent["identifier"].(string)
			r := e.req("POST", "/ng/api/connectors?accountIdentifier="+acct, e.admin, doc, "Content-Type", "application/yaml")
			e.must(r)
			// Read back as YAML.
			g := e.req("GET", "/ng/api/connectors/"+id+q("default", "myproj"), e.admin, nil, "Accept", "application/yaml")
			if g.Status != http.StatusOK || !strings.HasPrefix(g.Header.Get("Content-Type"), "application/yaml") {
				t.Fatalf("YAML get: %s", g)
			}
			got := toMap(t, g.Raw)["data"].(map[string]any)["connector"]
			if !reflect.DeepEqual(got, any(sent)) {
				t.Fatalf("%s read back\n%v\nwant\n%v", id, got, sent)
			}
			// Export, then create the same document in another project.
			exp := map[string]any{"connector": got}
			exp["connector"].(map[string]any)["projectIdentifier"] = "other"
			c := e.must(e.req("POST", "/ng/api/connectors?accountIdentifier="+acct, e.admin, exp))
			copied := c.data()["connector"].(map[string]any)
			if copied["projectIdentifier"] != "other" {
				t.Fatalf("copy landed in %v", copied["projectIdentifier"])
			}
			copied["projectIdentifier"] = "myproj"
			if !reflect.DeepEqual(copied, sent) {
				t.Fatalf("copy differs:\n%v\nwant\n%v", copied, sent)
			}
		}
	})
}

// TestUpdateConnector: a full-document update with If-Match, the moved
// secret reference, and the update of a missing connector. Both databases.
func TestUpdateConnector(t *testing.T) { eachDialect(t, testUpdateConnector) }

func testUpdateConnector(t *testing.T, e *env) {
	e.must(e.createTextSecret(e.admin, "", "", "s1", "v1"))
	e.must(e.createTextSecret(e.admin, "default", "", "s2", "v2"))
	e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, azureConnector("c", "default", "", "account.s1")))
	doc := azureConnector("c", "default", "", "org.s2")
	doc["connector"].(map[string]any)["name"] = "renamed"
	u := e.must(e.req("PUT", "/ng/api/connectors"+q("", ""), e.admin, doc, "If-Match", `"1"`))
	if u.data()["connector"].(map[string]any)["name"] != "renamed" || u.Header.Get("ETag") != `"2"` {
		t.Fatalf("update: %s", u)
	}
	// A stale If-Match is a 409; the reference moved from s1 to s2.
	if r := e.req("PUT", "/ng/api/connectors"+q("", ""), e.admin, doc, "If-Match", "1"); r.Status != http.StatusConflict {
		t.Fatalf("stale update: %s", r)
	}
	e.must(e.req("DELETE", "/ng/api/v2/secrets/s1"+q("", ""), e.admin, nil))
	if r := e.req("DELETE", "/ng/api/v2/secrets/s2"+q("default", ""), e.admin, nil); r.Status != http.StatusConflict ||
		!strings.Contains(r.Body["message"].(string), "Could not delete the secret s2 as it is referenced by other entities") {
		t.Fatalf("delete of a referenced secret: %s", r)
	}
	e.must(e.req("DELETE", "/ng/api/v2/secrets/s2"+q("default", "", "forceDelete=true"), e.admin, nil))
	// Updating a connector that does not exist names it and its scope.
	r := e.req("PUT", "/ng/api/connectors"+q("", ""), e.admin, azureConnector("nope", "default", "", "account.x"))
	if r.Status != http.StatusNotFound || !strings.Contains(r.Body["message"].(string), "No connector exists with the identifier nope in account acc, organisation default") {
		t.Fatalf("update of a missing connector: %s", r)
	}
}
