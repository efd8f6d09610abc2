package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

func events(t *testing.T, e *env, key, query string) []map[string]any {
	t.Helper()
	r := e.must(e.req("GET", "/ng/api/azimuth/audit"+query, key, nil))
	var out []map[string]any
	for _, x := range r.data()["content"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// TestAuditTrail: every change and every refusal leaves exactly one event
// (who, what, where, outcome, from where); the chain verifies; editing a
// row breaks it.
func TestAuditTrail(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.createProject("default", "pa")
		e.createProject("default", "pb")
		adminA := e.createKey("default", "pa", "admin")
		keyB := e.createKey("default", "pb", "editor")
		idA := strings.Split(adminA, ".")[2]

		e.must(e.createTextSecret(adminA, "default", "pa", "s", "v"))
		e.must(e.req("PUT", "/ng/api/v2/secrets/s"+q("default", "pa"), adminA, secretBody("s", "SecretText",
			map[string]any{"valueType": "Inline", "value": "v2"}, "orgIdentifier", "default", "projectIdentifier", "pa")))
		e.must(e.req("POST", "/ng/api/connectors"+q("", ""), adminA, azureConnector("c", "default", "pa", "s")))
		e.must(e.req("DELETE", "/ng/api/connectors/c"+q("default", "pa"), adminA, nil))
		e.must(e.req("DELETE", "/ng/api/v2/secrets/s"+q("default", "pa"), adminA, nil))
		// Refusals: a sibling's key (404), an ancestor (403), no key (401).
		if r := e.req("GET", "/ng/api/v2/secrets/s"+q("default", "pa"), keyB, nil); r.Status != http.StatusNotFound {
			t.Fatal(r)
		}
		if r := e.createTextSecret(keyB, "default", "", "up", "x"); r.Status != http.StatusForbidden {
			t.Fatal(r)
		}
		if r := e.req("GET", "/ng/api/connectors"+q("default", "pa"), "", nil); r.Status != http.StatusUnauthorized {
			t.Fatal(r)
		}

		mine := events(t, e, adminA, q("default", "pa", "actorKeyId="+idA))
		var actions []string
		for _, ev := range mine {
			actions = append([]string{ev["action"].(string)}, actions...)
			if ev["actorName"] == "" || ev["source"] != "127.0.0.1" || ev["outcome"] != "success" || ev["hash"] == "" {
				t.Errorf("incomplete event: %v", ev)
			}
		}
		if got := strings.Join(actions, ","); got != "secret.create,secret.update,connector.create,connector.delete,secret.delete" {
			t.Fatalf("project A's events: %s", got)
		}
		// Project A's admin sees only its project's events: not B's denials.
		for _, ev := range events(t, e, adminA, q("default", "pa")) {
			if ev["projectIdentifier"] != "pa" {
				t.Errorf("project A's admin sees %v", ev)
			}
		}
		denied := events(t, e, e.admin, q("", "", "outcome=denied"))
		if len(denied) != 3 {
			t.Fatalf("denials: %v", denied)
		}
		for _, ev := range denied {
			if ev["detail"] == "" {
				t.Errorf("denial without a reason: %v", ev)
			}
		}
		if r := e.must(e.req("GET", "/ng/api/azimuth/audit/verify"+q("", ""), e.admin, nil)); r.data()["valid"] != true {
			t.Fatalf("verify: %s", r)
		}

		// Tamper below the API: drop the guard, edit a row.
		ctx := context.Background()
		db := e.st.DB()
		if e.st.Dialect() == sqlstore.Postgres {
			_, _ = db.ExecContext(ctx, `DROP TRIGGER audit_events_no_update ON audit_events`)
		} else {
			_, _ = db.ExecContext(ctx, `DROP TRIGGER audit_events_no_update`)
		}
		if _, err := db.ExecContext(ctx, `UPDATE audit_events SET actor_name = 'someone else' WHERE action = 'secret.delete'`); err != nil {
			t.Fatal(err)
		}
		r := e.must(e.req("GET", "/ng/api/azimuth/audit/verify"+q("", ""), e.admin, nil))
		if r.data()["valid"] != false || !strings.Contains(r.data()["error"].(string), "edited") {
			t.Fatalf("verify after tampering: %s", r)
		}
	})
}
