package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/api"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

// apiEnv is a real API in-process: SQLite, the keyring, the services and
// the HTTP handler behind httptest.
type apiEnv struct {
	t     *testing.T
	url   string
	admin string
	st    *sqlstore.Store
	kr    *secret.Keyring
	dir   string
}

// isolate keeps the developer's own configuration and environment out of
// a test: an empty config home, no AZIMUTH_* variables, a fresh working
// directory.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("HOME", dir)
	for _, v := range []string{EnvServer, EnvAPIKey, EnvAPIKeyFile, EnvOrg, EnvProject, EnvConfig, "AZIMUTH_ACCOUNT"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Chdir(dir)
	return dir
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	dir := isolate(t)
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Options{URL: filepath.Join(t.TempDir(), "azimuth.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m, _ := secret.GenerateMasterKey()
	kr, err := secret.OpenKeyring(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Deps{Store: st, Keyring: kr})
	tok, _, _, err := svc.Scopes.Bootstrap(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Services: svc, Health: st, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	return &apiEnv{t: t, url: srv.URL, admin: tok.Reveal(), st: st, kr: kr, dir: dir}
}

// result is one command run.
type result struct {
	code     int
	out, err string
}

func (r result) String() string {
	return "exit " + itoa(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// cli runs a command against the env as key, with stdin.
func (e *apiEnv) cli(key, stdin string, args ...string) result {
	e.t.Helper()
	full := append([]string{"--server", e.url, "--api-key", key}, args...)
	return runWith(stdin, full...)
}

func runWith(stdin string, args ...string) result {
	var out, errb syncBuf
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// ok runs a command as the admin and requires exit 0.
func (e *apiEnv) ok(args ...string) result {
	e.t.Helper()
	r := e.cli(e.admin, "", args...)
	if r.code != 0 {
		e.t.Fatalf("azimuth %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func (e *apiEnv) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// stored decrypts a secret's value straight from the database.
func (e *apiEnv) stored(sc scope.Scope, id string) string {
	e.t.Helper()
	x, err := e.st.GetSecret(context.Background(), sc, id)
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := e.kr.Decrypt(context.Background(), x.Ciphertext, secret.AAD(sc, id, secret.ValueField))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(v.Reveal())
}

const connectorYAML = `connector:
  name: azure-prod
  identifier: azure_prod
  orgIdentifier: default
  projectIdentifier: web
  description: the production subscription
  tags: {team: cd, critical: ""}
  type: Azure
  spec:
    credential:
      type: ManualConfig
      spec:
        applicationId: 00000000-0000-0000-0000-000000000001
        tenantId: 11111111-0000-0000-0000-000000000001
        auth:
          type: Secret
          spec:
            secretRef: account.sp-secret
    azureEnvironmentType: AZURE
    delegateSelectors: [azure-delegate]
    executeOnDelegate: true
`

// innerConnector returns the connector object of a document (JSON or YAML)
// without its scope fields.
func innerConnector(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m struct {
		Connector map[string]any `json:"connector"`
	}
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil || m.Connector == nil {
		t.Fatalf("not a connector document (%v):\n%s", err, doc)
	}
	delete(m.Connector, "orgIdentifier")
	delete(m.Connector, "projectIdentifier")
	return m.Connector
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestConnectorCommands: the whole life of a connector through the CLI,
// with export into another project giving the same connector.
func TestConnectorCommands(t *testing.T) {
	e := newAPIEnv(t)
	e.ok("project", "create", "web", "--org", "default", "--name", "Web")
	e.ok("project", "create", "staging", "--org", "default")
	canary := "canary-Zq8v-client-secret"
	e.ok("secret", "create", "text", "sp-secret", "--value-file", e.write("v", canary+"\n"))

	file := e.write("c.yaml", connectorYAML)
	r := e.ok("connector", "create", "-f", file)
	if !strings.Contains(r.out, "Created connector azure_prod in default/web (status PENDING, version 1)") {
		t.Fatalf("create: %s", r)
	}
	if r := e.cli(e.admin, "", "connector", "create", "-f", file); r.code != ExitConflict || !strings.Contains(r.err, "already exists") {
		t.Fatalf("duplicate: %s", r)
	}

	// Read back: what was sent, plus the server's fields.
	r = e.ok("connector", "get", "azure_prod", "--org", "default", "--project", "web", "-o", "json")
	var got struct {
		Connector json.RawMessage `json:"connector"`
		Status    struct{ Status string }
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || got.Status.Status != "PENDING" {
		t.Fatalf("get -o json: %v %s", err, r)
	}
	sent := innerConnector(t, connectorYAML)
	if back := innerConnector(t, `{"connector":`+string(got.Connector)+`}`); !jsonEqual(sent, back) {
		t.Fatalf("read back differs:\nsent %v\ngot  %v", sent, back)
	}
	r = e.ok("connector", "get", "azure_prod", "--org", "default", "--project", "web")
	for _, want := range []string{"Identifier:", "azure_prod", "ManualConfig/Secret account.sp-secret", "critical,team=cd", "PENDING", "Version:"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("get table lacks %q:\n%s", want, r.out)
		}
	}
	r = e.ok("connector", "get", "azure_prod", "--org", "default", "--project", "web", "-o", "yaml")
	if !strings.HasPrefix(r.out, "connector:\n  name: azure-prod\n  identifier: azure_prod\n") {
		t.Fatalf("get -o yaml keeps the server's key order:\n%s", r.out)
	}

	// Export, then create in another project: the same connector.
	for _, format := range []string{"yaml", "json"} {
		exp := e.ok("connector", "export", "azure_prod", "--org", "default", "--project", "web", "-o", format)
		if strings.Contains(exp.out, "createdAt") || strings.Contains(exp.out, "PENDING") {
			t.Fatalf("export carries server fields:\n%s", exp.out)
		}
		if !jsonEqual(innerConnector(t, exp.out), sent) {
			t.Fatalf("export %s differs from what was sent:\n%s", format, exp.out)
		}
		target := "staging"
		if format == "json" {
			target = "json_copy"
			e.ok("project", "create", target, "--org", "default")
		}
		// Through stdin for json.
		var imp result
		if format == "json" {
			imp = e.cli(e.admin, exp.out, "connector", "create", "-f", "-", "--org", "default", "--project", target)
		} else {
			imp = e.cli(e.admin, "", "connector", "create", "-f", e.write("exp.yaml", exp.out), "--org", "default", "--project", target)
		}
		if imp.code != 0 || !strings.Contains(imp.out, "in default/"+target) {
			t.Fatalf("import %s: %s", format, imp)
		}
		again := e.ok("connector", "export", "azure_prod", "--org", "default", "--project", target, "-o", format)
		if !jsonEqual(innerConnector(t, again.out), sent) {
			t.Fatalf("imported connector differs:\n%s", again.out)
		}
	}
	if r := e.cli(e.admin, "", "connector", "export", "azure_prod", "--org", "default", "--project", "web", "-o", "table"); r.code != ExitUsage {
		t.Fatalf("export -o table: %s", r)
	}

	// List: aligned table, JSON, search, paging.
	r = e.ok("connector", "list", "--org", "default", "--project", "web")
	checkAligned(t, r.out, "IDENTIFIER", "NAME", "SCOPE", "CREDENTIAL", "ENVIRONMENT", "STATUS", "MODIFIED")
	if !strings.Contains(r.out, "azure_prod") {
		t.Fatalf("list: %s", r)
	}
	r = e.ok("connector", "list", "--org", "default", "--project", "web", "--search", "nothing-like-it", "-o", "json")
	if strings.TrimSpace(r.out) != "[]" {
		t.Fatalf("search: %s", r)
	}

	// Update: a changed description; the identifier stays.
	upd := strings.Replace(connectorYAML, "the production subscription", "prod, updated", 1)
	r = e.ok("connector", "update", "-f", e.write("u.yaml", upd))
	if !strings.Contains(r.out, "Updated connector azure_prod") || !strings.Contains(r.out, "version 2") {
		t.Fatalf("update: %s", r)
	}
	if r := e.cli(e.admin, "", "connector", "update", "-f", e.write("u.yaml", upd), "--if-version", "1"); r.code != ExitConflict {
		t.Fatalf("stale --if-version: %s", r)
	}
	r = e.ok("connector", "get", "azure_prod", "--org", "default", "--project", "web")
	if !strings.Contains(r.out, "prod, updated") {
		t.Fatalf("update not applied: %s", r.out)
	}

	// validate-id: free 0, taken 4, invalid 6.
	if r := e.cli(e.admin, "", "connector", "validate-id", "fresh_one", "--org", "default", "--project", "web"); r.code != 0 || !strings.Contains(r.out, "is free") {
		t.Fatalf("validate-id free: %s", r)
	}
	if r := e.cli(e.admin, "", "connector", "validate-id", "azure_prod", "--org", "default", "--project", "web"); r.code != ExitConflict {
		t.Fatalf("validate-id taken: %s", r)
	}
	if r := e.cli(e.admin, "", "connector", "validate-id", "9lives", "--org", "default", "--project", "web"); r.code != ExitInvalid {
		t.Fatalf("validate-id invalid: %s", r)
	}

	// The secret is referenced: delete refuses without --force.
	if r := e.cli(e.admin, "", "secret", "delete", "sp-secret"); r.code != ExitConflict || !strings.Contains(r.err, "referenced") || !strings.Contains(r.err, "--force") {
		t.Fatalf("delete referenced secret: %s", r)
	}

	// Delete, then it is gone.
	r = e.ok("connector", "delete", "azure_prod", "--org", "default", "--project", "web")
	if !strings.Contains(r.out, "Deleted connector azure_prod") {
		t.Fatalf("delete: %s", r)
	}
	if r := e.cli(e.admin, "", "connector", "get", "azure_prod", "--org", "default", "--project", "web"); r.code != ExitNotFound {
		t.Fatalf("get after delete: %s", r)
	}
}

// checkAligned checks that a table's header and rows start their columns
// at the same offsets.
func checkAligned(t *testing.T, out string, headers ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("table without rows:\n%s", out)
	}
	var cols []int
	for _, h := range headers {
		i := strings.Index(lines[0], h)
		if i < 0 {
			t.Fatalf("header lacks %s:\n%s", h, out)
		}
		cols = append(cols, i)
	}
	for _, l := range lines[1:] {
		for _, c := range cols[1:] {
			if c >= len(l) || l[c-1] != ' ' || l[c] == ' ' {
				t.Fatalf("row not aligned at column %d:\n%s", c, out)
			}
		}
	}
}

// TestErrorsAndExitCodes: each failure kind has its exit code and a clear
// message; field errors come one per line.
func TestErrorsAndExitCodes(t *testing.T) {
	e := newAPIEnv(t)
	e.ok("project", "create", "web", "--org", "default")
	e.ok("secret", "create", "text", "sp-secret", "--value-file", e.write("v", "x"))
	viewer := strings.TrimSpace(e.ok("apikey", "create", "--name", "ro", "--role", "viewer").out)

	bad := strings.NewReplacer("identifier: azure_prod", "identifier: 1bad", "secretRef: account.sp-secret", "secretRef: project.sp-secret").Replace(connectorYAML)
	cases := []struct {
		name  string
		key   string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"invalid fields one per line", e.admin, bad, []string{"connector", "create", "-f", "-"}, ExitInvalid,
			[]string{"(2 problems):\n  identifier: can be 128 characters long", "\n  spec.credential.spec.auth.spec.secretRef: Invalid Secret Reference"}},
		{"not found", e.admin, "", []string{"connector", "get", "nope", "--org", "default", "--project", "web"}, ExitNotFound,
			[]string{"Connector with identifier [nope] in project [web], org [default] not found"}},
		{"denied to a viewer", viewer, connectorYAML, []string{"connector", "create", "-f", "-"}, ExitDenied, nil},
		{"unknown key", "azk.acme.nokey.nosecret", "", []string{"connector", "list"}, ExitDenied, []string{"--api-key"}},
		{"not a document", e.admin, "just words", []string{"connector", "create", "-f", "-", "--org", "default"}, ExitInvalid, []string{"not a JSON or YAML object"}},
		{"empty document", e.admin, "", []string{"connector", "create", "-f", "-"}, ExitInvalid, []string{"standard input is empty"}},
		{"missing -f", e.admin, "", []string{"connector", "create"}, ExitUsage, []string{"-f FILE is required"}},
		{"project without org", e.admin, "", []string{"connector", "list", "--project", "web"}, ExitUsage, []string{"--project needs --org"}},
		{"bad output format", e.admin, "", []string{"connector", "list", "-o", "xml"}, ExitUsage, []string{"want table, json or yaml"}},
		{"unknown flag", e.admin, "", []string{"connector", "list", "--nope"}, ExitUsage, nil},
		{"too many args", e.admin, "", []string{"connector", "get", "a", "b"}, ExitUsage, nil},
		{"unknown subcommand", e.admin, "", []string{"connector", "bogus"}, ExitUsage, []string{"unknown command \"bogus\""}},
		{"value on the command line", e.admin, "", []string{"secret", "create", "text", "s2", "--value", "hunter2"}, ExitUsage, []string{"never given on the command line"}},
		{"no value", e.admin, "", []string{"secret", "create", "text", "s2"}, ExitUsage, []string{"--value-file FILE or --value-stdin"}},
		{"bad role", e.admin, "", []string{"apikey", "create", "--name", "x", "--role", "god"}, ExitInvalid, []string{"role"}},
		{"duplicate org", e.admin, "", []string{"org", "create", "default"}, ExitConflict, nil},
		{"bad audit time", e.admin, "", []string{"audit", "list", "--since", "yesterday-ish"}, ExitUsage, []string{"--since"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.cli(c.key, c.stdin, c.args...)
			if r.code != c.code {
				t.Fatalf("want exit %d: %s", c.code, r)
			}
			if !strings.HasPrefix(r.err, "Error: ") {
				t.Fatalf("stderr does not start with Error: %s", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.err, w) {
					t.Fatalf("stderr lacks %q: %s", w, r)
				}
			}
			if strings.Contains(r.err, "hunter2") || strings.Contains(r.out, "hunter2") {
				t.Fatal("a value given as a flag was echoed")
			}
			if strings.Contains(r.err, e.admin) || strings.Contains(r.err, viewer) {
				t.Fatal("an API key is in an error")
			}
		})
	}

	// Nothing configured at all: a usage error that says what to do.
	r := runWith("", "connector", "list")
	if r.code != ExitUsage || !strings.Contains(r.err, "no server") || !strings.Contains(r.err, "azimuth login") {
		t.Fatalf("unconfigured: %s", r)
	}
	// A server that is not there: exit 1, saying so, naming where the URL came from.
	t.Setenv(EnvServer, "http://127.0.0.1:1")
	r = runWith("", "--api-key", e.admin, "connector", "list")
	if r.code != ExitError || !strings.Contains(r.err, "cannot reach the Azimuth server at http://127.0.0.1:1") || !strings.Contains(r.err, EnvServer) {
		t.Fatalf("unreachable: %s", r)
	}
}

// TestSecretCommands: text and file secrets through every command; values
// are read from files or stdin, stored exactly, and never printed.
func TestSecretCommands(t *testing.T) {
	e := newAPIEnv(t)
	e.ok("project", "create", "web", "--org", "default")
	const v1, v2 = "canary-text-Hk3r", "canary-text-second-Pq7s"
	var all strings.Builder
	keep := func(r result) result { all.WriteString(r.out + r.err); return r }
	proj := []string{"--org", "default", "--project", "web"}

	keep(e.ok(append([]string{"secret", "create", "text", "db-pass", "--value-file", e.write("v1", v1+"\n"), "--tag", "team=cd"}, proj...)...))
	if got := e.stored(scope.New("acme", "default", "web"), "db-pass"); got != v1 {
		t.Fatalf("stored %q, want %q (one trailing newline dropped)", got, v1)
	}
	// Update the name only: the value stays.
	r := keep(e.ok(append([]string{"secret", "update", "text", "db-pass", "--name", "Database password"}, proj...)...))
	if !strings.Contains(r.out, "value kept") {
		t.Fatalf("update: %s", r)
	}
	if got := e.stored(scope.New("acme", "default", "web"), "db-pass"); got != v1 {
		t.Fatalf("value changed by a name update: %q", got)
	}
	// New value from stdin; the tag survives.
	r = keep(e.cli(e.admin, v2, append([]string{"secret", "update", "text", "db-pass", "--value-stdin"}, proj...)...))
	if r.code != 0 || e.stored(scope.New("acme", "default", "web"), "db-pass") != v2 {
		t.Fatalf("update from stdin: %s", r)
	}
	r = keep(e.ok(append([]string{"secret", "get", "db-pass", "-o", "json"}, proj...)...))
	var x struct {
		Secret struct {
			Name string
			Tags map[string]string
			Type string
		}
	}
	if err := json.Unmarshal([]byte(r.out), &x); err != nil || x.Secret.Name != "Database password" || x.Secret.Tags["team"] != "cd" || x.Secret.Type != "SecretText" {
		t.Fatalf("get: %v %s", err, r)
	}

	// A file secret, byte for byte (no newline trimming).
	pem := "-----BEGIN CERTIFICATE-----\ncanary-file-Lw2x\n-----END CERTIFICATE-----\n"
	keep(e.ok("secret", "create", "file", "sp-pem", "--file", e.write("sp.pem", pem), "--org", "default"))
	if got := e.stored(scope.New("acme", "default", ""), "sp-pem"); got != pem {
		t.Fatalf("file stored %q", got)
	}
	pem2 := strings.Replace(pem, "Lw2x", "Mv9y", 1)
	keep(e.ok("secret", "update", "file", "sp-pem", "--file", e.write("sp2.pem", pem2), "--org", "default", "--description", "rotated"))
	if got := e.stored(scope.New("acme", "default", ""), "sp-pem"); got != pem2 {
		t.Fatalf("file update stored %q", got)
	}
	if r := e.cli(e.admin, "", "secret", "update", "text", "sp-pem", "--org", "default", "--name", "x"); r.code != ExitInvalid || !strings.Contains(r.err, "secret update file") {
		t.Fatalf("update text of a file secret: %s", r)
	}

	// Listings.
	r = keep(e.ok("secret", "list", "--org", "default", "--sub-scopes"))
	checkAligned(t, r.out, "IDENTIFIER", "NAME", "TYPE", "SCOPE", "UPDATED")
	if !strings.Contains(r.out, "db-pass") || !strings.Contains(r.out, "sp-pem") {
		t.Fatalf("list with sub-scopes: %s", r)
	}
	r = keep(e.ok("secret", "list", "--org", "default", "--sub-scopes", "--type", "file", "-o", "yaml"))
	if strings.Contains(r.out, "db-pass") || !strings.Contains(r.out, "sp-pem") {
		t.Fatalf("list --type file: %s", r)
	}
	r = keep(e.ok("secret", "get", "sp-pem", "--org", "default"))
	if !strings.Contains(r.out, "(write-only)") {
		t.Fatalf("get table: %s", r)
	}

	// Delete.
	keep(e.ok(append([]string{"secret", "delete", "db-pass"}, proj...)...))
	if r := keep(e.cli(e.admin, "", append([]string{"secret", "get", "db-pass"}, proj...)...)); r.code != ExitNotFound {
		t.Fatalf("get after delete: %s", r)
	}
	for _, canary := range []string{v1, v2, "Lw2x", "Mv9y"} {
		if strings.Contains(all.String(), canary) {
			t.Fatalf("a secret value (%s) was printed:\n%s", canary, all.String())
		}
	}
}

// TestScopeAndKeyCommands: orgs, projects, API keys (shown once, working,
// revocable), whoami and the audit trail.
func TestScopeAndKeyCommands(t *testing.T) {
	e := newAPIEnv(t)
	e.ok("org", "create", "eng", "--name", "Engineering", "--description", "builds things", "--tag", "cost=42")
	r := e.ok("org", "list")
	checkAligned(t, r.out, "IDENTIFIER", "NAME", "DESCRIPTION", "TAGS")
	if !strings.Contains(r.out, "Engineering") || !strings.Contains(r.out, "cost=42") {
		t.Fatalf("org list: %s", r)
	}
	if r := e.ok("org", "get", "eng"); !strings.Contains(r.out, "builds things") {
		t.Fatalf("org get: %s", r)
	}
	e.ok("project", "create", "api", "--org", "eng", "--color", "#0063f7")
	if r := e.ok("project", "get", "api", "--org", "eng"); !strings.Contains(r.out, "#0063f7") {
		t.Fatalf("project get: %s", r)
	}
	// A project of the default org, without --org.
	e.ok("project", "create", "web")
	r = e.ok("project", "list", "-o", "json")
	var ps []struct {
		Project struct{ OrgIdentifier, Identifier string }
	}
	if err := json.Unmarshal([]byte(r.out), &ps); err != nil || len(ps) != 2 {
		t.Fatalf("project list over every org: %v %s", err, r)
	}
	if r := e.cli(e.admin, "", "org", "delete", "eng"); r.code != ExitConflict {
		t.Fatalf("delete a non-empty org: %s", r)
	}

	// A project editor key: shown once on stdout, alone.
	r = e.ok("apikey", "create", "--name", "ci", "--role", "editor", "--org", "eng", "--project", "api")
	key := strings.TrimSpace(r.out)
	if !regexp.MustCompile(`^azk\.acme\.[a-z0-9]+\.[a-z0-9]+$`).MatchString(key) || !strings.Contains(r.err, "shown only this once") {
		t.Fatalf("apikey create: %s", r)
	}
	w := e.cli(key, "", "whoami", "-o", "json")
	var who struct{ Name, Role, OrgIdentifier, ProjectIdentifier, KeyID string }
	if err := json.Unmarshal([]byte(w.out), &who); err != nil || who.Name != "ci" || who.Role != "editor" || who.ProjectIdentifier != "api" {
		t.Fatalf("whoami with the new key: %v %s", err, w)
	}
	// The key sees its project and not the other one.
	if r := e.cli(key, "", "secret", "list", "--org", "default", "--project", "web"); r.code != ExitNotFound {
		t.Fatalf("a project key reads a sibling project: %s", r)
	}
	r = e.ok("apikey", "list", "--sub-scopes")
	checkAligned(t, r.out, "ID", "NAME", "SCOPE", "ROLE", "CREATED")
	if !strings.Contains(r.out, who.KeyID) || strings.Contains(r.out, key) {
		t.Fatalf("apikey list: %s", r)
	}
	if r := e.ok("apikey", "get", who.KeyID); !strings.Contains(r.out, "eng/api") {
		t.Fatalf("apikey get: %s", r)
	}
	e.ok("apikey", "revoke", who.KeyID)
	if r := e.cli(key, "", "whoami"); r.code != ExitDenied {
		t.Fatalf("a revoked key still works: %s", r)
	}

	// Audit: the creates above, filterable; the chain verifies.
	r = e.ok("audit", "list", "--resource-type", "apikey", "--since", "1h")
	checkAligned(t, r.out, "SEQ", "TIME", "ACTOR", "ACTION", "SCOPE")
	if !strings.Contains(r.out, "apikey.create") || strings.Contains(r.out, "org.create") {
		t.Fatalf("audit list: %s", r)
	}
	r = e.ok("audit", "list", "-o", "json", "--all", "--page-size", "2")
	var evs []struct{ Seq int64 }
	if err := json.Unmarshal([]byte(r.out), &evs); err != nil || len(evs) < 5 {
		t.Fatalf("audit --all over pages of 2: %v %s", err, r)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq >= evs[i-1].Seq {
			t.Fatalf("audit --all repeats or misorders events: %v", evs)
		}
	}
	if r := e.ok("audit", "verify"); !strings.Contains(r.out, "intact") {
		t.Fatalf("audit verify: %s", r)
	}
}

// TestPaging: one page by default with a note on stderr; --all gathers
// every page.
func TestPaging(t *testing.T) {
	e := newAPIEnv(t)
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		e.ok("org", "create", id)
	}
	r := e.ok("org", "list", "--page-size", "2")
	if n := strings.Count(r.out, "\n"); n != 3 || !strings.Contains(r.err, "--all") {
		t.Fatalf("one page: %s", r)
	}
	r = e.ok("org", "list", "--page-size", "2", "--page-index", "2", "-o", "json")
	var page []struct{ Organization struct{ Identifier string } }
	_ = json.Unmarshal([]byte(r.out), &page)
	if len(page) != 2 {
		t.Fatalf("page index 2: %s", r)
	}
	r = e.ok("org", "list", "--page-size", "2", "--all", "-o", "json")
	var all []struct{ Organization struct{ Identifier string } }
	if err := json.Unmarshal([]byte(r.out), &all); err != nil || len(all) != 6 {
		t.Fatalf("--all: %v %s", err, r)
	}
	if r := e.cli(e.admin, "", "org", "list", "--all", "--page-index", "1"); r.code != ExitUsage {
		t.Fatalf("--all with --page-index: %s", r)
	}
}

// TestClientConfiguration: flags over environment over the login file
// over dev.json; the file is owner-only and refused when it is not.
func TestClientConfiguration(t *testing.T) {
	e := newAPIEnv(t)
	keyFile := e.write("admin.key", e.admin+"\n")

	// Zero configuration: dev.json of an `azimuth dev` in a parent directory.
	info, _ := json.Marshal(DevInfo{URL: e.url, APIKey: e.admin, AccountIdentifier: "acme"})
	if err := os.MkdirAll(filepath.Join(e.dir, ".azimuth-dev"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.write(filepath.Join(".azimuth-dev", "dev.json"), string(info))
	sub := filepath.Join(e.dir, "a", "b")
	_ = os.MkdirAll(sub, 0o700)
	t.Chdir(sub)
	r := runWith("", "whoami")
	if r.code != 0 || !strings.Contains(r.out, "admin") || !strings.Contains(r.out, "dev.json") {
		t.Fatalf("dev.json fallback: %s", r)
	}
	t.Chdir(e.dir)

	// login checks the key and writes the file, owner-only.
	r = runWith("", "login", "--server", e.url, "--api-key-file", keyFile, "--org", "default")
	if r.code != 0 || !strings.Contains(r.out, "Logged in") {
		t.Fatalf("login: %s", r)
	}
	cfgPath := filepath.Join(e.dir, "config", "azimuth", "config.yaml")
	if m := mode(t, cfgPath); m != 0o600 {
		t.Fatalf("config mode %o", m)
	}
	if strings.Contains(r.out+r.err, e.admin) {
		t.Fatal("login printed the key")
	}
	// Without dev.json the file alone is enough, and its org is the default scope.
	_ = os.RemoveAll(filepath.Join(e.dir, ".azimuth-dev"))
	r = runWith("", "whoami")
	if r.code != 0 || !strings.Contains(r.out, cfgPath) {
		t.Fatalf("from the login file: %s", r)
	}
	r = runWith("x", "secret", "create", "text", "in-org", "--value-stdin")
	if r.code != 0 || !strings.Contains(r.out, "in default (") {
		t.Fatalf("default org from the login file: %s", r)
	}

	// A bad key in the environment wins over the file, and the error says where it came from.
	t.Setenv(EnvAPIKey, "azk.acme.bad.bad")
	r = runWith("", "whoami")
	if r.code != ExitDenied || !strings.Contains(r.err, EnvAPIKey) {
		t.Fatalf("env over file: %s", r)
	}
	// A flag wins over the environment.
	if r := runWith("", "whoami", "--api-key-file", keyFile); r.code != 0 {
		t.Fatalf("flag over env: %s", r)
	}
	os.Unsetenv(EnvAPIKey)

	// A file with a key that others can read is refused.
	if err := os.Chmod(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runWith("", "whoami"); r.code != ExitUsage || !strings.Contains(r.err, "chmod 600") {
		t.Fatalf("world-readable config: %s", r)
	}
	// An explicit --config that does not exist is an error, not a silent default.
	if r := runWith("", "whoami", "--config", filepath.Join(e.dir, "nope.yaml")); r.code != ExitUsage {
		t.Fatalf("missing --config: %s", r)
	}
}
