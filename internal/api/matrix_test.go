package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/scope"
)

type place struct {
	name string
	sc   scope.Scope
}

// ref is how a connector at p names its own scope's secret id.
func (p place) ref(id string) string {
	switch p.sc.Level() {
	case scope.Account:
		return "account." + id
	case scope.Org:
		return "org." + id
	}
	return id
}

func (p place) q(extra ...string) string { return q(p.sc.Org, p.sc.Project, extra...) }

// expect is the rule: a key acts within its scope and below; its ancestors
// are forbidden (403); anything else does not exist for it (404).
func expect(actor, target scope.Scope) int {
	switch {
	case actor.Contains(target):
		return http.StatusOK
	case target.Contains(actor):
		return http.StatusForbidden
	}
	return http.StatusNotFound
}

// TestCrossScopeMatrix: keys of project A, project B, their org, another
// org and the account, each trying every operation on every other's
// connectors and secrets. Only what the rules allow succeeds.
func TestCrossScopeMatrix(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.createOrg("ob")
		e.createProject("default", "pa")
		e.createProject("default", "pb")
		e.createProject("ob", "pc")
		places := []place{
			{"A", scope.Scope{Account: acct, Org: "default", Project: "pa"}},
			{"B", scope.Scope{Account: acct, Org: "default", Project: "pb"}},
			{"O", scope.Scope{Account: acct, Org: "default"}},
			{"OB", scope.Scope{Account: acct, Org: "ob"}},
			{"C", scope.Scope{Account: acct, Org: "ob", Project: "pc"}},
			{"ACC", scope.Scope{Account: acct}},
		}
		keys := map[string]string{}
		for _, p := range places {
			keys[p.name] = e.createKey(p.sc.Org, p.sc.Project, "editor")
			e.must(e.createTextSecret(e.admin, p.sc.Org, p.sc.Project, "sec", "value-"+p.name))
			e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, azureConnector("conn", p.sc.Org, p.sc.Project, p.ref("sec"))))
		}
		checks := 0
		for _, actor := range places {
			key := keys[actor.name]
			for _, target := range places {
				want := expect(actor.sc, target.sc)
				tag := fmt.Sprintf("%s key on %s", actor.name, target.name)
				o, pr := target.sc.Org, target.sc.Project
				tmp := "t_" + strings.ToLower(actor.name)
				// Disposable things for the destructive operations.
				e.must(e.createTextSecret(e.admin, o, pr, tmp, "x"))
				e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, azureConnector(tmp, o, pr, target.ref("sec"))))
				upd := azureConnector("conn", o, pr, target.ref("sec"))
				upd["connector"].(map[string]any)["description"] = "changed by " + actor.name
				newConn := azureConnector("n_"+strings.ToLower(actor.name), o, pr, target.ref("sec"))
				ops := []struct {
					name string
					r    func() resp
				}{
					{"get connector", func() resp { return e.req("GET", "/ng/api/connectors/conn"+target.q(), key, nil) }},
					{"update connector", func() resp { return e.req("PUT", "/ng/api/connectors"+q("", ""), key, upd) }},
					{"create connector", func() resp { return e.req("POST", "/ng/api/connectors"+q("", ""), key, newConn) }},
					{"delete connector", func() resp { return e.req("DELETE", "/ng/api/connectors/"+tmp+target.q(), key, nil) }},
					{"list connectors", func() resp { return e.req("GET", "/ng/api/connectors"+target.q(), key, nil) }},
					{"list connectors v2", func() resp {
						return e.req("POST", "/ng/api/connectors/listV2"+target.q(), key, `{"filterType":"Connector"}`)
					}},
					{"connector id check", func() resp {
						return e.req("GET", "/ng/api/connectors/validateUniqueIdentifier"+target.q("identifier=zz"), key, nil)
					}},
					{"get secret", func() resp { return e.req("GET", "/ng/api/v2/secrets/sec"+target.q(), key, nil) }},
					{"update secret", func() resp {
						return e.req("PUT", "/ng/api/v2/secrets/sec"+target.q(), key, secretBody("sec", "SecretText", map[string]any{"valueType": "Inline", "value": "new-" + actor.name}, "orgIdentifier", o, "projectIdentifier", pr))
					}},
					{"create secret", func() resp {
						return e.req("POST", "/ng/api/v2/secrets"+target.q(), key, secretBody("s_"+strings.ToLower(actor.name), "SecretText", inline, "orgIdentifier", o, "projectIdentifier", pr))
					}},
					{"delete secret", func() resp { return e.req("DELETE", "/ng/api/v2/secrets/"+tmp+target.q(), key, nil) }},
					{"list secrets", func() resp { return e.req("GET", "/ng/api/v2/secrets"+target.q(), key, nil) }},
					{"secret id check", func() resp {
						return e.req("GET", "/ng/api/v2/secrets/validateUniqueIdentifier/zz"+target.q(), key, nil)
					}},
				}
				for _, op := range ops {
					r := op.r()
					checks++
					if r.Status != want {
						t.Errorf("%s, %s: status %d, want %d: %s", tag, op.name, r.Status, want, r.Raw)
						continue
					}
					if want == http.StatusOK {
						continue
					}
					// A refusal never shows the target's content or value.
					for _, leak := range []string{"value-" + target.name, "changed by"} {
						if strings.Contains(string(r.Raw), leak) {
							t.Errorf("%s, %s: refusal leaks %q: %s", tag, op.name, leak, r.Raw)
						}
					}
				}
				// Clean up whatever the allowed operations left.
				e.req("DELETE", "/ng/api/connectors/"+tmp+target.q(), e.admin, nil)
				e.req("DELETE", "/ng/api/v2/secrets/"+tmp+target.q("forceDelete=true"), e.admin, nil)
			}
		}
		t.Logf("%d scope checks", checks)

		// Harness's reference rule: project A's key may use its org's and its
		// account's secrets in its connectors, but not read or change them.
		kA := keys["A"]
		e.must(e.req("POST", "/ng/api/connectors"+q("", ""), kA, azureConnector("uses_org", "default", "pa", "org.sec")))
		e.must(e.req("POST", "/ng/api/connectors"+q("", ""), kA, azureConnector("uses_acc", "default", "pa", "account.sec")))
		for _, p := range []string{q("default", ""), q("", "")} {
			if r := e.req("GET", "/ng/api/v2/secrets/sec"+p, kA, nil); r.Status != http.StatusForbidden {
				t.Errorf("project key read an ancestor's secret: %s", r)
			}
		}
		// A project's secret cannot be reached from another project: "sec"
		// from B's connector means B's own secret.
		r := e.must(e.req("POST", "/ng/api/connectors"+q("", ""), keys["B"], azureConnector("b_uses", "default", "pb", "sec")))
		if !strings.Contains(string(r.Raw), `"secretRef":"sec"`) {
			t.Fatalf("unexpected document: %s", r)
		}

		// Lists show only what the key sees.
		l := e.must(e.req("GET", "/ng/api/v2/secrets"+q("", "", "includeSecretsFromEverySubScope=true"), kA, nil))
		for _, it := range l.data()["content"].([]any) {
			s := it.(map[string]any)["secret"].(map[string]any)
			if s["projectIdentifier"] != "pa" {
				t.Errorf("project A's key listed %v", s)
			}
		}
		orgs := e.must(e.req("GET", "/ng/api/organizations"+q("", ""), kA, nil))
		if n := orgs.data()["totalItems"].(float64); n != 1 {
			t.Errorf("project A's key sees %v orgs", n)
		}
		projects := e.must(e.req("GET", "/ng/api/projects"+q("default", ""), kA, nil))
		if n := projects.data()["totalItems"].(float64); n != 1 {
			t.Errorf("project A's key sees %v projects", n)
		}
		if r := e.req("GET", "/ng/api/projects/pb"+q("default", ""), kA, nil); r.Status != http.StatusNotFound {
			t.Errorf("project A's key reads project B: %s", r)
		}
		if r := e.req("GET", "/ng/api/organizations/ob"+q("", ""), kA, nil); r.Status != http.StatusNotFound {
			t.Errorf("project A's key reads another org: %s", r)
		}
		e.must(e.req("GET", "/ng/api/organizations/default"+q("", ""), kA, nil))
	})
}

// TestRoles: viewers read, editors write, admins manage keys; nobody
// grants more than it holds. Both databases.
func TestRoles(t *testing.T) { eachDialect(t, testRoles) }

func testRoles(t *testing.T, e *env) {
	e.createProject("default", "pa")
	e.must(e.createTextSecret(e.admin, "default", "pa", "sec", "v"))
	viewer := e.createKey("default", "pa", "viewer")
	editor := e.createKey("default", "pa", "editor")
	admin := e.createKey("default", "pa", "admin")
	pq := q("default", "pa")
	useCluster := map[string]any{"subscriptionId": "s", "resourceGroup": "rg", "cluster": "k"}
	useStep := map[string]any{"subscriptionId": "s", "resourceGroup": "rg", "cluster": "k", "script": "true"}
	for _, tc := range []struct {
		key, method, path string
		body              any
		want              int
	}{
		{viewer, "GET", "/ng/api/v2/secrets/sec" + pq, nil, 200},
		{viewer, "POST", "/ng/api/v2/secrets" + pq, secretBody("v1", "SecretText", inline, "orgIdentifier", "default", "projectIdentifier", "pa"), 403},
		{viewer, "DELETE", "/ng/api/v2/secrets/sec" + pq, nil, 403},
		{viewer, "POST", "/ng/api/connectors" + q("", ""), azureConnector("c", "default", "pa", "sec"), 403},
		{editor, "POST", "/ng/api/connectors" + q("", ""), azureConnector("c", "default", "pa", "sec"), 200},
		{editor, "GET", "/ng/api/azimuth/apikeys" + pq, nil, 403},
		{editor, "POST", "/ng/api/azimuth/apikeys" + pq, map[string]string{"name": "x", "role": "viewer"}, 403},
		{editor, "GET", "/ng/api/azimuth/audit" + pq, nil, 403},
		{admin, "GET", "/ng/api/azimuth/audit" + pq, nil, 200},
		{admin, "POST", "/ng/api/azimuth/apikeys" + pq, map[string]string{"name": "x", "role": "admin"}, 200},
		{admin, "POST", "/ng/api/azimuth/apikeys" + q("default", ""), map[string]string{"name": "x", "role": "viewer"}, 403},
		{admin, "POST", "/ng/api/azimuth/keyring/rotate" + pq, nil, 403},
		{admin, "GET", "/ng/api/azimuth/audit/verify" + pq, nil, 403},
		{viewer, "POST", "/ng/api/projects" + q("default", ""), map[string]any{"project": map[string]string{"identifier": "px", "name": "px"}}, 403},
		{admin, "DELETE", "/ng/api/projects/pa" + q("default", ""), nil, 403},
		// Using connector c's credential (a script step, a kubeconfig,
		// registry login credentials) needs an editor; listing what it
		// sees does not. This env runs no task engine: what passes the
		// access check answers 503 (runs to the end: TestConnectorUseRoles).
		{viewer, "POST", "/ng/api/azimuth/steps" + q("default", "pa", "connectorRef=c"), useStep, 403},
		{viewer, "POST", "/ng/api/azimuth/aks/kubeconfig" + q("default", "pa", "connectorRef=c"), useCluster, 403},
		{viewer, "POST", "/ng/api/azimuth/acr/login-credentials" + q("default", "pa", "connectorRef=c", "loginServer=r.azurecr.io"), nil, 403},
		{editor, "POST", "/ng/api/azimuth/steps" + q("default", "pa", "connectorRef=c"), useStep, 503},
		{editor, "POST", "/ng/api/azimuth/aks/kubeconfig" + q("default", "pa", "connectorRef=c"), useCluster, 503},
		{editor, "POST", "/ng/api/azimuth/acr/login-credentials" + q("default", "pa", "connectorRef=c", "loginServer=r.azurecr.io"), nil, 503},
		{viewer, "GET", "/ng/api/azimuth/acr/tags" + q("default", "pa", "connectorRef=c", "loginServer=r.azurecr.io", "repository=team/api"), nil, 503},
		{viewer, "GET", "/ng/api/azimuth/aks/clusters" + q("default", "pa", "connectorRef=c", "subscriptionId=s"), nil, 503},
	} {
		if r := e.req(tc.method, tc.path, tc.key, tc.body); r.Status != tc.want {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.Status, tc.want, r.Raw)
		}
	}
	// A revoked key stops working at once; keys are listed without secrets.
	l := e.must(e.req("GET", "/ng/api/azimuth/apikeys"+pq, admin, nil))
	if strings.Contains(string(l.Raw), "azk.") {
		t.Fatalf("key list shows a key: %s", l)
	}
	id := strings.Split(viewer, ".")[2]
	e.must(e.req("DELETE", "/ng/api/azimuth/apikeys/"+id+pq, admin, nil))
	if r := e.req("GET", "/ng/api/v2/secrets/sec"+pq, viewer, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked key: %s", r)
	}
	last := "a"
	if strings.HasSuffix(editor, "a") {
		last = "b"
	}
	for _, bad := range []string{"", "nope", strings.Replace(editor, ".", "x", 1), editor[:len(editor)-1] + last, "azk.acc.zzzz.zzzz"} {
		if r := e.req("GET", "/ng/api/v2/secrets/sec"+pq, bad, nil); r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("key %q: %s", bad, r)
		}
	}
}
