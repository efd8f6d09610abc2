package openapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	openapi "github.com/azimuthcd/azimuth/api"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/server"
)

// load parses and validates the document: the YAML parses, every $ref
// resolves, and it is valid OpenAPI 3.0.
func load(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document)
	if err != nil {
		t.Fatalf("openapi.yaml does not load (YAML or a $ref): %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3.0: %v", err)
	}
	return doc
}

// startServer runs the real composition root (everything later parts wire
// into it) on SQLite, in dev mode, on a free port; with a simulator, its
// Azure is that simulator.
func startServer(t *testing.T, sim *azuresim.Sim) (*server.Server, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, DatabaseURL: filepath.Join(dir, "azimuth.db"),
		MasterKeyFile: filepath.Join(dir, "master.key"), Account: "acme", LogLevel: "error", LogFormat: "text",
		ShutdownTimeout: 5 * time.Second, Dev: true}
	if sim != nil {
		cfg.CloudConfig = filepath.Join(dir, "cloud.json")
		if err := sim.Override().Write(cfg.CloudConfig); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return srv, srv.AdminKey.Reveal()
}

// TestRoutesMatchDocument is the golden test: every route of the server's
// route table is in the document, and the document lists no route the
// server does not serve (method and path).
func TestRoutesMatchDocument(t *testing.T) {
	doc := load(t)
	srv, _ := startServer(t, nil)
	served := map[string]bool{}
	for _, r := range srv.API().Routes() {
		served[r.Method+" "+r.Path] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes the server serves that api/openapi.yaml does not describe:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("routes api/openapi.yaml describes that the server does not serve:\n  %s", strings.Join(extra, "\n  "))
	}
	if len(served) < 35 {
		t.Fatalf("only %d routes: the route table was not read", len(served))
	}
}

// TestServedDocument: the server serves the embedded document, without a
// key.
func TestServedDocument(t *testing.T) {
	srv, _ := startServer(t, nil)
	resp, err := http.Get(srv.URL() + "/ng/api/azimuth/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(b, openapi.Document) || !strings.Contains(resp.Header.Get("Content-Type"), "yaml") {
		t.Fatalf("GET openapi.yaml: %d %s", resp.StatusCode, resp.Header)
	}
}

// validator is an http.RoundTripper that checks every request and response
// against the document.
type validator struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper
	mu     sync.Mutex
	seen   map[string]bool // "METHOD path-template status"
	errs   []string
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := v.router.FindRoute(check)
	if err != nil {
		v.fail("%s %s: not in the document: %v", req.Method, req.URL.Path, err)
		return v.next.RoundTrip(req)
	}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	// A request the server refused as invalid may well break the schema:
	// that is what the test sent it for.
	if resp.StatusCode != http.StatusBadRequest {
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			v.fail("%s %s: the request does not match the document: %v", req.Method, route.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(rb)), Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.fail("%s %s -> %d: the response does not match the document: %v\n%s", req.Method, route.Path, resp.StatusCode, err, rb)
	}
	v.mu.Lock()
	v.seen[fmt.Sprintf("%s %s %d", req.Method, route.Path, resp.StatusCode)] = true
	v.mu.Unlock()
	return resp, nil
}

func (v *validator) fail(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, fmt.Sprintf(format, args...))
}

// newValidator checks the requests and responses that pass through it
// against the document.
func newValidator(t *testing.T) *validator {
	t.Helper()
	doc := load(t)
	doc.Servers = nil // match any host
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{t: t, router: router, next: http.DefaultTransport, seen: map[string]bool{}}
}

// TestResponsesMatchDocument drives the API through the Go client and
// checks every request and response (successes and errors) against the
// document's schemas.
func TestResponsesMatchDocument(t *testing.T) {
	srv, admin := startServer(t, nil)
	v := newValidator(t)
	c, err := client.New(client.Options{BaseURL: srv.URL(), APIKey: admin, HTTPClient: &http.Client{Transport: v}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(err error, kind string) {
		t.Helper()
		if err == nil || !strings.Contains(client.KindOf(err).String(), kind) {
			t.Fatalf("want %s, got %v", kind, err)
		}
	}
	_, err = c.Whoami(ctx)
	must(err)
	_, err = c.CreateOrg(ctx, client.OrgInfo{Identifier: "eng", Name: "Engineering", Tags: map[string]string{"k": ""}})
	must(err)
	_, err = c.CreateOrg(ctx, client.OrgInfo{Identifier: "eng", Name: "Engineering"})
	want(err, "CONFLICT")
	_, err = c.CreateOrg(ctx, client.OrgInfo{Identifier: "9", Name: ""})
	want(err, "INVALID")
	_, err = c.GetOrg(ctx, "eng")
	must(err)
	_, err = c.ListOrgs(ctx, client.ListOptions{PageSize: 10, SearchTerm: "en"})
	must(err)
	_, err = c.CreateProject(ctx, "eng", client.ProjectInfo{Identifier: "web", Name: "Web", Color: "#0063f7"})
	must(err)
	_, err = c.GetProject(ctx, "eng", "web")
	must(err)
	_, err = c.ListProjects(ctx, "", client.ListOptions{})
	must(err)
	_, err = c.GetProject(ctx, "eng", "nope")
	want(err, "NOT_FOUND")
	proj := client.Scope{Org: "eng", Project: "web"}
	_, err = c.CreateTextSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: "sp-secret"}, []byte("v"))
	must(err)
	_, err = c.CreateFileSecret(ctx, client.Scope{Org: "eng"}, client.SecretMeta{Identifier: "sp-pem"}, []byte("pem"))
	must(err)
	x, err := c.GetSecret(ctx, client.Scope{}, "sp-secret")
	must(err)
	_, err = c.UpdateTextSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: "sp-secret", Name: "sp"}, nil, client.IfMatch(x.Version))
	must(err)
	_, err = c.UpdateFileSecret(ctx, client.Scope{Org: "eng"}, client.SecretMeta{Identifier: "sp-pem"}, []byte("pem2"), 0)
	must(err)
	_, err = c.ListSecrets(ctx, client.Scope{Org: "eng"}, client.ListSecretsOptions{Types: []string{client.SecretFile}, IncludeSubScopes: true})
	must(err)
	_, err = c.SecretIDFree(ctx, proj, "free-one")
	must(err)
	doc1 := []byte(`connector:
  name: azure-prod
  identifier: azure_prod
  orgIdentifier: eng
  projectIdentifier: web
  tags: {team: cd}
  type: Azure
  spec:
    credential:
      type: ManualConfig
      spec: {applicationId: app-1, tenantId: tenant-1, auth: {type: Secret, spec: {secretRef: account.sp-secret}}}
    azureEnvironmentType: AZURE
    executeOnDelegate: false
`)
	conn, err := c.CreateConnector(ctx, doc1)
	must(err)
	jdoc, _ := conn.Document()
	_, err = c.UpdateConnector(ctx, jdoc, client.IfMatch(conn.Version))
	must(err)
	_, err = c.CreateConnector(ctx, []byte(`{"connector":{"identifier":"1x","type":"Azure","spec":{}}}`))
	want(err, "INVALID")
	_, err = c.GetConnector(ctx, proj, "azure_prod")
	must(err)
	_, err = c.ListConnectors(ctx, proj, client.ListConnectorsOptions{Types: []string{"Azure"}})
	must(err)
	_, err = c.Do(ctx, client.Request{Method: http.MethodPost, Path: "/ng/api/connectors/listV2",
		Query: map[string][]string{"orgIdentifier": {"eng"}, "projectIdentifier": {"web"}, "includeAllConnectorsAvailableAtScope": {"true"}},
		JSON:  map[string]any{"filterType": "Connector", "types": []string{"Azure"}}}, nil)
	must(err)
	_, err = c.Do(ctx, client.Request{Method: http.MethodPost, Path: "/ng/api/v2/secrets/list",
		JSON: map[string]any{"types": []string{"SecretText"}}}, nil)
	must(err)
	_, err = c.ConnectorIDFree(ctx, proj, "azure_prod")
	must(err)
	err = c.DeleteSecret(ctx, client.Scope{}, "sp-secret", false)
	want(err, "CONFLICT")
	must(c.DeleteConnector(ctx, proj, "azure_prod", false))
	_, err = c.GetConnector(ctx, proj, "azure_prod")
	want(err, "NOT_FOUND")
	k, tok, err := c.CreateAPIKey(ctx, proj, "ci", "viewer")
	must(err)
	_, err = c.GetAPIKey(ctx, k.ID)
	must(err)
	_, err = c.ListAPIKeys(ctx, client.Scope{}, true, client.ListOptions{})
	must(err)
	viewer, _ := client.New(client.Options{BaseURL: srv.URL(), APIKey: tok, HTTPClient: &http.Client{Transport: v}})
	_, err = viewer.CreateConnector(ctx, doc1)
	want(err, "FORBIDDEN")
	_, err = c.RevokeAPIKey(ctx, k.ID)
	must(err)
	_, err = viewer.Whoami(ctx)
	want(err, "UNAUTHENTICATED")
	_, err = c.ListAudit(ctx, client.Scope{}, client.AuditFilter{ResourceType: "connector", Since: time.Now().Add(-time.Hour)})
	must(err)
	_, err = c.VerifyAudit(ctx)
	must(err)
	_, err = c.Keyring(ctx)
	must(err)
	_, err = c.RotateKeyring(ctx)
	must(err)
	must(c.DeleteSecret(ctx, client.Scope{}, "sp-secret", true))
	err = c.DeleteOrg(ctx, "eng", 0)
	want(err, "CONFLICT") // it holds a project, a secret and a key
	_, err = c.CreateOrg(ctx, client.OrgInfo{Identifier: "tmp", Name: "tmp"})
	must(err)
	p, err := c.CreateProject(ctx, "tmp", client.ProjectInfo{Identifier: "p", Name: "p"})
	must(err)
	err = c.DeleteProject(ctx, "tmp", "p", client.IfMatch(p.Version+1))
	want(err, "CONFLICT") // a stale If-Match
	must(c.DeleteProject(ctx, "tmp", "p", client.IfMatch(p.Version)))
	must(c.DeleteOrg(ctx, "tmp", 0))
	_, err = c.GetTaskAfter(ctx, "tsk_000000000000000000000000", 3)
	want(err, "NOT_FOUND")
	_, err = c.Do(ctx, client.Request{Method: http.MethodGet, Path: "/ng/api/azimuth/tasks/tsk_000000000000000000000000",
		Query: map[string][]string{"afterSeq": {"-1"}}}, nil)
	want(err, "INVALID")
	must(c.Ready(ctx))

	for _, e := range v.errs {
		t.Error(e)
	}
	if len(v.seen) < 40 {
		t.Errorf("only %d operation/status pairs checked", len(v.seen))
	}
	if testing.Verbose() {
		keys := make([]string, 0, len(v.seen))
		for k := range v.seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(os.Stderr, strings.Join(keys, "\n"))
	}
}
