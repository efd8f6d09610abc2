package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// forms are the encodings a leaked canary could take.
func forms(s string) []string {
	out := []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s)),
		base64.RawStdEncoding.EncodeToString([]byte(s)), hex.EncodeToString([]byte(s)), url.QueryEscape(s),
		base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte(s))))}
	if len(s) > 24 {
		// A long value leaks even in part: its middle third.
		out = append(out, s[len(s)/3:2*len(s)/3])
	}
	return out
}

// TestSecretCanarySweep plants unique values in every secret-bearing input,
// drives the API through successes and malformed requests at debug log
// level, then looks for every value, in every encoding, in the logs, every
// response, and the database (SQLite file, -wal, -shm; a dump of every
// PostgreSQL table). Zero hits allowed.
func TestSecretCanarySweep(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		text := "cnry~" + randToken(18) + ".Q8_"
		text2 := "cnry~" + randToken(18) + ".R9_"
		var pem strings.Builder
		pem.WriteString("-----BEGIN PRIVATE KEY-----\n")
		var pemLines []string
		for i := 0; i < 4; i++ {
			l := randToken(48)
			pemLines = append(pemLines, l)
			pem.WriteString(l + "\n")
		}
		pem.WriteString("-----END PRIVATE KEY-----\n")
		canaries := append([]string{text, text2}, pemLines...)

		e.createProject("default", "p1")
		e.must(e.createTextSecret(e.admin, "default", "p1", "sp", text))
		e.must(e.createFileSecret(e.admin, "default", "", "pem", []byte(pem.String())))
		e.must(e.req("PUT", "/ng/api/v2/secrets/sp"+q("default", "p1"), e.admin,
			secretBody("sp", "SecretText", map[string]any{"valueType": "Inline", "value": text2}, "orgIdentifier", "default", "projectIdentifier", "p1")))
		e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, azureConnector("c1", "default", "p1", "sp")))
		cert := azureConnector("c2", "default", "p1", "")
		cert["connector"].(map[string]any)["spec"].(map[string]any)["credential"].(map[string]any)["spec"].(map[string]any)["auth"] =
			map[string]any{"type": "Certificate", "spec": map[string]any{"certificateRef": "org.pem"}}
		e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, cert))
		projKey := e.createKey("default", "p1", "viewer")

		// Reads of every kind.
		for _, p := range []string{"/ng/api/v2/secrets/sp" + q("default", "p1"), "/ng/api/v2/secrets/pem" + q("default", ""),
			"/ng/api/v2/secrets" + q("", "", "includeSecretsFromEverySubScope=true"), "/ng/api/connectors/c1" + q("default", "p1"),
			"/ng/api/connectors/c2" + q("default", "p1"), "/ng/api/azimuth/audit" + q("", "", "pageSize=1000")} {
			e.must(e.req("GET", p, e.admin, nil))
			e.req("GET", p, e.admin, nil, "Accept", "application/yaml")
		}
		// Malformed and refused requests carrying the values (Vault CVE-2025-4166).
		bad := []string{
			`{"secret":{"type":"SecretText","name":"x","identifier":"x","spec":{"value":"` + text + `"`,
			`{"secret":{"type":"SecretText","name":"x","identifier":"x","spec":{"value":{"v":"` + text + `"}}}}`,
			`{"secret":{"type":"SecretText","name":"x","identifier":"x","spec":{"value":["` + text + `"]}}}`,
			`{"secret":{"type":"Bogus","name":"x","identifier":"1x","spec":{"valueType":"Nope","value":"` + text + `"}}}`,
			`{"secret":{"type":"SecretText","name":"sp","identifier":"sp","orgIdentifier":"default","projectIdentifier":"p1","spec":{"value":"` + text + `"}}}`,
			"secret:\n  spec:\n    value: " + text + "\n  : [",
			`{"secret":{"type":"SecretText","name":"x","identifier":"x","spec":{"value":"` + text + `"}}} trailing`,
		}
		for _, b := range bad {
			for _, ct := range []string{"application/json", "application/yaml"} {
				r := e.req("POST", "/ng/api/v2/secrets"+q("default", "p1"), e.admin, b, "Content-Type", ct)
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("malformed secret: %s", r)
				}
			}
		}
		if r := e.createTextSecret(projKey, "default", "p1", "viewer_try", text); r.Status != http.StatusForbidden {
			t.Errorf("viewer create: %s", r)
		}
		if r := e.createTextSecret(projKey, "", "", "foreign_try", text); r.Status != http.StatusForbidden {
			t.Errorf("project key creating an account secret: %s", r)
		}
		if r := e.req("PUT", "/ng/api/v2/secrets/sp"+q("default", "p1"), e.admin, secretBody("sp", "SecretText",
			map[string]any{"valueType": "Inline", "value": text}, "orgIdentifier", "default", "projectIdentifier", "p1"), "If-Match", "99"); r.Status != http.StatusConflict {
			t.Errorf("stale update: %s", r)
		}
		if r := e.multipartReq("PUT", "/ng/api/v2/secrets/files/pem"+q("default", ""), e.admin, `{"secret":{"type":"SecretText"}}`, []byte(pem.String())); r.Status != http.StatusBadRequest {
			t.Errorf("bad file update: %s", r)
		}
		// The values and API keys sent as credentials.
		for _, k := range []string{text, "azk." + acct + "." + text + "." + text} {
			if r := e.req("GET", "/ng/api/v2/secrets"+q("", ""), k, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("bad key: %s", r)
			}
		}

		// The resolve path returns the value, wrapped.
		rs, err := e.svc.Secrets.Resolve(context.Background(), access.System("test"), scope.Scope{Account: acct, Org: "default", Project: "p1"},
			[]connector.SecretUse{{Path: "p", Field: "secretKey", Kind: "SecretText", Ref: scope.Ref{Level: scope.Project, Identifier: "sp"}},
				{Path: "q", Field: "clientCertRef", Kind: "SecretFile", Ref: scope.Ref{Level: scope.Org, Identifier: "pem"}}})
		if err != nil || string(rs[0].Value.Reveal()) != text2 || string(rs[1].Value.Reveal()) != pem.String() {
			t.Fatalf("resolve: %v", err)
		}
		if s := fmt.Sprintf("%v %+v", rs, rs[0]); strings.Contains(s, text2) {
			t.Fatal("a resolved value prints itself")
		}

		// Sweep.
		var sinks []struct{ name, data string }
		sinks = append(sinks, struct{ name, data string }{"logs", e.logs.String()})
		for i, r := range e.responses {
			sinks = append(sinks, struct{ name, data string }{fmt.Sprintf("response %d", i), r})
		}
		if e.st.Dialect() == sqlstore.SQLite {
			for _, f := range []string{e.dbPath, e.dbPath + "-wal", e.dbPath + "-shm"} {
				b, err := os.ReadFile(f)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				sinks = append(sinks, struct{ name, data string }{f, string(b)})
			}
		}
		sinks = append(sinks, struct{ name, data string }{"table dump", e.dump()})
		if e.pgDSN != "" {
			if pgDump, err := exec.LookPath("pg_dump"); err == nil {
				out, err := exec.Command(pgDump, "--data-only", "--dbname", e.pgDSN).Output()
				if err != nil {
					t.Fatalf("pg_dump: %v", err)
				}
				if !strings.Contains(string(out), "COPY public.secrets") {
					t.Fatalf("pg_dump output has no secrets table")
				}
				sinks = append(sinks, struct{ name, data string }{"pg_dump", string(out)})
			} else if testenv.InCI() {
				// The issue asks for a dump of the PostgreSQL tables: in CI
				// the stand-in is not enough.
				testenv.Missing(t, "pg_dump not on PATH (Debian's postgresql-client; scripts/test installs it)")
			} else {
				t.Log("pg_dump not installed: the table dump stands in for it")
			}
		}
		hits := 0
		for _, c := range canaries {
			for _, f := range forms(c) {
				for _, s := range sinks {
					if strings.Contains(s.data, f) {
						hits++
						t.Errorf("canary %q (form %q) found in %s", c, f, s.name)
					}
				}
			}
		}
		// API keys: only in the one response that created them, never stored or logged.
		for _, k := range []string{e.admin, projKey} {
			for _, f := range forms(k) {
				for _, s := range sinks {
					if strings.Contains(s.data, f) && !(strings.HasPrefix(s.name, "response") && strings.Contains(s.data, `"token"`)) {
						hits++
						t.Errorf("API key found in %s", s.name)
					}
				}
			}
		}
		t.Logf("%d canaries in %d forms across %d sinks: %d hits", len(canaries)+2, len(forms(text)), len(sinks), hits)
	})
}

// TestCiphertextTamper: a flipped byte or a ciphertext moved to another
// record makes the resolve path fail loudly; nothing garbled comes out.
func TestCiphertextTamper(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.must(e.createTextSecret(e.admin, "", "", "a", "value-a"))
		e.must(e.createTextSecret(e.admin, "", "", "b", "value-b"))
		acc := scope.Scope{Account: acct}
		use := func(id string) []connector.SecretUse {
			return []connector.SecretUse{{Path: "p", Field: "secretKey", Kind: "SecretText", Ref: scope.Ref{Level: scope.Account, Identifier: id}}}
		}
		sys := access.System("test")
		db := e.st.DB()
		// Move a's ciphertext onto b.
		_, err := db.ExecContext(ctx, `UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE identifier = 'a') WHERE identifier = 'b'`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Secrets.Resolve(ctx, sys, acc, use("b")); !errors.Is(err, secret.ErrTampered) {
			t.Fatalf("moved ciphertext: %v", err)
		}
		// Flip one byte of a's ciphertext.
		var ct []byte
		if err := db.QueryRowContext(ctx, `SELECT ciphertext FROM secrets WHERE identifier = 'a'`).Scan(&ct); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Secrets.Resolve(ctx, sys, acc, use("a")); err != nil {
			t.Fatalf("intact: %v", err)
		}
		ct[len(ct)-5] ^= 0x40
		if _, err := db.ExecContext(ctx, `UPDATE secrets SET ciphertext = $1 WHERE identifier = 'a'`, ct); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Secrets.Resolve(ctx, sys, acc, use("a"))
		if !errors.Is(err, secret.ErrTampered) || !strings.Contains(err.Error(), "failed authentication") {
			t.Fatalf("flipped byte: %v", err)
		}
	})
}

// TestRotateKeyThroughAPI: after rotation every secret still resolves,
// every secret is under the new key, and the old key stays (retired).
func TestRotateKeyThroughAPI(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.createProject("default", "p1")
		want := map[string]string{}
		for i := 0; i < 25; i++ {
			id := fmt.Sprintf("s%d", i)
			v := "v-" + randToken(12)
			want[id] = v
			e.must(e.createTextSecret(e.admin, "default", "p1", id, v))
		}
		e.must(e.createFileSecret(e.admin, "default", "", "f", []byte("file-content")))
		r := e.must(e.req("POST", "/ng/api/azimuth/keyring/rotate"+q("", ""), e.admin, nil))
		d := r.data()
		if d["activeKeyId"].(float64) != 2 || d["reencrypted"].(float64) != 26 {
			t.Fatalf("rotate: %s", r)
		}
		st := e.must(e.req("GET", "/ng/api/azimuth/keyring"+q("", ""), e.admin, nil))
		if !strings.Contains(string(st.Raw), `{"id":1,"active":false,"secrets":0}`) || !strings.Contains(string(st.Raw), `{"id":2,"active":true,"secrets":26}`) {
			t.Fatalf("keyring: %s", st)
		}
		sc := scope.Scope{Account: acct, Org: "default", Project: "p1"}
		for id, v := range want {
			rs, err := e.svc.Secrets.Resolve(ctx, access.System("test"), sc, []connector.SecretUse{{Path: "p", Field: "secretKey", Kind: "SecretText",
				Ref: scope.Ref{Level: scope.Project, Identifier: id}}})
			if err != nil || string(rs[0].Value.Reveal()) != v {
				t.Fatalf("%s after rotation: %v", id, err)
			}
		}
		// A write after rotation uses the new key; an update still works.
		e.must(e.createTextSecret(e.admin, "", "", "after", "x"))
		var kid int64
		if err := e.st.DB().QueryRowContext(ctx, `SELECT key_id FROM secrets WHERE identifier = 'after'`).Scan(&kid); err != nil || kid != 2 {
			t.Fatalf("new secret under key %d (%v)", kid, err)
		}
		audit := e.must(e.req("GET", "/ng/api/azimuth/audit"+q("", "", "resourceType=keyring"), e.admin, nil))
		if audit.data()["totalItems"].(float64) != 2 {
			t.Fatalf("rotation audit: %s", audit)
		}
	})
}

// TestSecretResponsesCarryNullValue: every secret in a response has
// "spec": {..., "value": null}, as Harness's responses do, whatever the
// request (create, update, get, list; text and file).
func TestSecretResponsesCarryNullValue(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		spec := `{"secret":{"type":"SecretFile","name":"f","identifier":"f","spec":{}}}`
		for _, tc := range []struct {
			name string
			r    func() resp
			list bool
		}{
			{"create text", func() resp { return e.createTextSecret(e.admin, "", "", "t", "planted-value") }, false},
			{"create file", func() resp { return e.createFileSecret(e.admin, "", "", "f", []byte("planted-file")) }, false},
			{"update text", func() resp {
				return e.req("PUT", "/ng/api/v2/secrets/t"+q("", ""), e.admin, secretBody("t", "SecretText", inline))
			}, false},
			{"update file", func() resp {
				return e.multipartReq("PUT", "/ng/api/v2/secrets/files/f"+q("", ""), e.admin, spec, []byte("planted-file-2"))
			}, false},
			{"get text", func() resp { return e.req("GET", "/ng/api/v2/secrets/t"+q("", ""), e.admin, nil) }, false},
			{"get file", func() resp { return e.req("GET", "/ng/api/v2/secrets/f"+q("", ""), e.admin, nil) }, false},
			{"list", func() resp { return e.req("GET", "/ng/api/v2/secrets"+q("", ""), e.admin, nil) }, true},
			{"list with a filter", func() resp { return e.req("POST", "/ng/api/v2/secrets/list"+q("", ""), e.admin, `{}`) }, true},
		} {
			r := e.must(tc.r())
			var secrets []any
			if tc.list {
				secrets = r.data()["content"].([]any)
				if len(secrets) != 2 {
					t.Fatalf("%s: %s", tc.name, r)
				}
			} else {
				secrets = []any{r.data()}
			}
			for _, x := range secrets {
				sp := x.(map[string]any)["secret"].(map[string]any)["spec"].(map[string]any)
				if v, ok := sp["value"]; !ok || v != nil {
					t.Errorf("%s: spec %v, want \"value\": null", tc.name, sp)
				}
			}
			if strings.Contains(string(r.Raw), "planted") {
				t.Errorf("%s: a value in the response: %s", tc.name, r.Raw)
			}
		}
	})
}
