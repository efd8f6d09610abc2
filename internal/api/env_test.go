package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/azimuthcd/azimuth/internal/api"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

const acct = "acc"

// env is a real server in-process: a real database, the real keyring,
// services and API behind httptest, and a log buffer at debug level.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	st     *sqlstore.Store
	svc    *service.Services
	kr     *secret.Keyring
	admin  string // the account admin key
	dbPath string // SQLite only
	pgDSN  string // PostgreSQL only
	logs   *syncBuffer
	// responses records every response body and header, for canary sweeps.
	mu        sync.Mutex
	responses []string
}

type syncBuffer = testenv.Buffer

func newEnv(t testing.TB, dialect sqlstore.Dialect) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, logs: &syncBuffer{}}
	url := ""
	switch dialect {
	case sqlstore.SQLite:
		e.dbPath = filepath.Join(t.TempDir(), "azimuth.db")
		url = e.dbPath
	case sqlstore.Postgres:
		url = testenv.Postgres(t)
		e.pgDSN = url
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlstore.Open(ctx, sqlstore.Options{URL: url, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m, _ := secret.GenerateMasterKey()
	kr, err := secret.OpenKeyring(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.kr = st, kr
	e.svc = service.New(service.Deps{Store: st, Keyring: kr, Logger: log})
	tok, _, created, err := e.svc.Scopes.Bootstrap(ctx, acct)
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	e.admin = tok.Reveal()
	a := api.New(api.Deps{Services: e.svc, Health: st, Logger: log, Version: "test"})
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// resp is a decoded response.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// data returns body["data"] as a map.
func (r resp) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.Status, r.Raw) }

// req sends a request. body may be nil, a []byte/string (sent as is) or a
// value (sent as JSON).
func (e *env) req(method, path, key string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
		ct = "application/json"
	case string:
		rd = strings.NewReader(b)
		ct = "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
		ct = "application/json"
	}
	r, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if key != "" {
		r.Header.Set("x-api-key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return e.do(r)
}

func (e *env) do(r *http.Request) resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	var h strings.Builder
	for k, v := range res.Header {
		fmt.Fprintf(&h, "%s: %s\n", k, strings.Join(v, ","))
	}
	e.mu.Lock()
	e.responses = append(e.responses, h.String()+string(raw))
	e.mu.Unlock()
	return out
}

// multipartReq sends a file-secret request.
func (e *env) multipartReq(method, path, key, spec string, file []byte) resp {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if spec != "" {
		_ = mw.WriteField("spec", spec)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "cert.pem")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	r, _ := http.NewRequest(method, e.srv.URL+path, &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	if key != "" {
		r.Header.Set("x-api-key", key)
	}
	return e.do(r)
}

// must checks a 200 and returns the response.
func (e *env) must(r resp) resp {
	e.t.Helper()
	if r.Status != http.StatusOK {
		e.t.Fatalf("want 200, got %s", r)
	}
	return r
}

// q builds a query string for a scope.
func q(org, project string, extra ...string) string {
	s := "?accountIdentifier=" + acct
	if org != "" {
		s += "&orgIdentifier=" + org
	}
	if project != "" {
		s += "&projectIdentifier=" + project
	}
	for _, x := range extra {
		s += "&" + x
	}
	return s
}

func (e *env) createOrg(id string) {
	e.t.Helper()
	e.must(e.req("POST", "/ng/api/organizations"+q("", ""), e.admin, map[string]any{"organization": map[string]any{"identifier": id, "name": id}}))
}

func (e *env) createProject(org, id string) {
	e.t.Helper()
	e.must(e.req("POST", "/ng/api/projects"+q(org, ""), e.admin, map[string]any{"project": map[string]any{"identifier": id, "name": id, "orgIdentifier": org}}))
}

func (e *env) createTextSecret(key, org, project, id, value string) resp {
	e.t.Helper()
	return e.req("POST", "/ng/api/v2/secrets"+q(org, project), key, map[string]any{"secret": map[string]any{
		"type": "SecretText", "name": id, "identifier": id, "orgIdentifier": org, "projectIdentifier": project,
		"spec": map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": value}}})
}

func (e *env) createFileSecret(key, org, project, id string, content []byte) resp {
	e.t.Helper()
	spec, _ := json.Marshal(map[string]any{"secret": map[string]any{"type": "SecretFile", "name": id, "identifier": id,
		"orgIdentifier": org, "projectIdentifier": project, "spec": map[string]any{"secretManagerIdentifier": "harnessSecretManager"}}})
	return e.multipartReq("POST", "/ng/api/v2/secrets/files"+q(org, project), key, string(spec), content)
}

// createKey makes an API key and returns its token.
func (e *env) createKey(org, project, role string) string {
	e.t.Helper()
	r := e.must(e.req("POST", "/ng/api/azimuth/apikeys"+q(org, project), e.admin, map[string]any{"name": role + "-" + org + "-" + project, "role": role}))
	return r.data()["token"].(string)
}

// azureConnector builds a ManualConfig/Secret connector document.
func azureConnector(id, org, project, secretRef string) map[string]any {
	c := map[string]any{"name": id, "identifier": id, "type": "Azure", "tags": map[string]any{},
		"spec": map[string]any{"azureEnvironmentType": "AZURE", "executeOnDelegate": true,
			"credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{
				"applicationId": "00000000-0000-0000-0000-000000000001", "tenantId": "00000000-0000-0000-0000-000000000002",
				"auth": map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": secretRef}}}}}}
	if org != "" {
		c["orgIdentifier"] = org
	}
	if project != "" {
		c["projectIdentifier"] = project
	}
	return map[string]any{"connector": c}
}

// dump renders every row of every table, to prove a request changed
// nothing.
func (e *env) dump() string {
	e.t.Helper()
	return testenv.DumpTables(e.t, e.st.DB(), e.st.Dialect() == sqlstore.Postgres)
}

// eachDialect runs fn on SQLite and on PostgreSQL.
func eachDialect(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, sqlstore.SQLite)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newEnv(t, sqlstore.Postgres)) })
}
