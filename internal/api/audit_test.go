package api_test

import (
	"context"
	"fmt"
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
		// Failed authentications reach the trail counted, at the next flush.
		if err := e.svc.APIKeys.FlushAuthFailures(context.Background()); err != nil {
			t.Fatal(err)
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

func auditRows(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.st.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAnonymousFailuresAreCounted: requests without a valid key write no
// audit row each (anyone can send them, and every append takes the chain's
// lock); they are counted and written as one event per account at the next
// flush, naming the reasons, addresses and key ids. A refusal of a valid key
// is still audited at once.
func TestAnonymousFailuresAreCounted(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.createProject("default", "pa")
		e.createProject("default", "pb")
		keyA := e.createKey("default", "pa", "editor")
		idA := strings.Split(keyA, ".")[2]
		e.must(e.createTextSecret(e.admin, "default", "pb", "s", "v"))
		start := auditRows(t, e)

		wrongSecret := keyA[:len(keyA)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(keyA, "a")]
		for _, tc := range []struct {
			name, key, query string
			n                int
		}{
			{"no key", "", q("default", "pa"), 40},
			{"malformed key", "Bearer nonsense", q("", ""), 30},
			{"unknown key id", "azk.acc.zzzzzzzzzzzzzzzz.secret", q("", ""), 20},
			{"wrong secret", wrongSecret, q("default", "pa"), 10},
			{"invented accounts", "", "", 25},
		} {
			for i := 0; i < tc.n; i++ {
				query := tc.query
				if query == "" {
					query = fmt.Sprintf("?accountIdentifier=invented%d", i)
				}
				if r := e.req("GET", "/ng/api/connectors"+query, tc.key, nil); r.Status != http.StatusUnauthorized {
					t.Fatalf("%s: %s", tc.name, r)
				}
			}
		}
		if n := auditRows(t, e); n != start {
			t.Fatalf("125 failed authentications wrote %d audit rows before the flush", n-start)
		}
		// An authenticated key's refusal is audited at once.
		if r := e.req("GET", "/ng/api/v2/secrets/s"+q("default", "pb"), keyA, nil); r.Status != http.StatusNotFound {
			t.Fatal(r)
		}
		if n := auditRows(t, e); n != start+1 {
			t.Fatalf("a refused key wrote %d audit rows, want 1", n-start)
		}

		if err := e.svc.APIKeys.FlushAuthFailures(ctx); err != nil {
			t.Fatal(err)
		}
		// One event for the account, one for everything naming no existing
		// account (invented ones included).
		if n := auditRows(t, e); n != start+3 {
			t.Fatalf("the flush wrote %d audit rows, want 2", n-start-1)
		}
		evs := events(t, e, e.admin, q("", "", "action=auth", "outcome=denied"))
		if len(evs) != 1 {
			t.Fatalf("account events: %v", evs)
		}
		ev := evs[0]
		for _, want := range []string{"100 failed authentications", "no API key ×40", "malformed API key ×30", "unknown API key id ×20",
			"wrong API key secret ×10", "from 127.0.0.1 ×100", "key ids " + idA + " ×10"} {
			if !strings.Contains(ev["detail"].(string), want) {
				t.Errorf("detail %q lacks %q", ev["detail"], want)
			}
		}
		if ev["actorName"] != "anonymous" || ev["source"] != "127.0.0.1" || ev["identifier"] != idA || ev["accountIdentifier"] != acct {
			t.Errorf("event: %v", ev)
		}
		var detail string
		if err := e.st.DB().QueryRowContext(ctx, `SELECT detail FROM audit_events WHERE account = '' AND action = 'auth'`).Scan(&detail); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(detail, "25 failed authentications") || !strings.Contains(detail, "no API key ×25") {
			t.Errorf("events of no known account: %q", detail)
		}
		// Nothing counted, nothing written; the chain holds.
		if err := e.svc.APIKeys.FlushAuthFailures(ctx); err != nil {
			t.Fatal(err)
		}
		if n := auditRows(t, e); n != start+3 {
			t.Fatalf("an empty flush wrote %d rows", n-start-3)
		}
		if r := e.must(e.req("GET", "/ng/api/azimuth/audit/verify"+q("", ""), e.admin, nil)); r.data()["valid"] != true {
			t.Fatalf("verify: %s", r)
		}

		// The tally is bounded: addresses beyond the first few are counted
		// as others, invented accounts beyond the cap share one bucket.
		for i := 0; i < 100; i++ {
			if _, err := e.svc.APIKeys.Authenticate(ctx, "", fmt.Sprintf("10.0.%d.%d", i/250, i%250), acct); err == nil {
				t.Fatal("authenticated without a key")
			}
			if _, err := e.svc.APIKeys.Authenticate(ctx, "", "10.1.0.1", fmt.Sprintf("acct%d", i)); err == nil {
				t.Fatal("authenticated without a key")
			}
		}
		if err := e.svc.APIKeys.FlushAuthFailures(ctx); err != nil {
			t.Fatal(err)
		}
		if n := auditRows(t, e); n != start+5 {
			t.Fatalf("the bounded flush wrote %d rows, want 2", n-start-3)
		}
		evs = events(t, e, e.admin, q("", "", "action=auth", "outcome=denied", "pageSize=1"))
		if d := evs[0]["detail"].(string); !strings.HasPrefix(d, "100 failed authentication") || !strings.Contains(d, "others ×84") {
			t.Errorf("bounded detail: %q", d)
		}
	})
}
