package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/server"
	"github.com/azimuthcd/azimuth/internal/web"
)

type uiEnv struct {
	t     *testing.T
	srv   *httptest.Server
	admin string
}

func newUI(t *testing.T) *uiEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, Account: "acme", LogLevel: "info", LogFormat: "text",
		ShutdownTimeout: time.Second, Dev: true, DatabaseURL: filepath.Join(dir, "azimuth.db"), MasterKeyFile: filepath.Join(dir, "master.key")}
	s, err := server.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Store.Close() })
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &uiEnv{t: t, srv: ts, admin: s.AdminKey.Reveal()}
}

// api calls the REST API with key and returns the status and body.
func (e *uiEnv) api(method, path, key string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (e *uiEnv) mustAPI(method, path, key string, body any) map[string]any {
	e.t.Helper()
	st, out := e.api(method, path, key, body)
	if st != http.StatusOK {
		e.t.Fatalf("%s %s: %d %v", method, path, st, out)
	}
	return out
}

// browser is a client with a cookie jar that does not follow redirects.
func (e *uiEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *uiEnv) do(c *http.Client, method, path string, form url.Values, origin string) (*http.Response, string) {
	e.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (e *uiEnv) login(c *http.Client, key string) *http.Response {
	e.t.Helper()
	res, _ := e.do(c, http.MethodPost, "/ui/login", url.Values{"apiKey": {key}, "next": {"/ui/connectors"}}, e.srv.URL)
	return res
}

func secretDoc(id, desc string) map[string]any {
	return map[string]any{"secret": map[string]any{"type": "SecretText", "name": id, "identifier": id, "description": desc,
		"spec": map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": "planted-ui-secret-value"}}}
}

func connectorDoc(id, org, project string) map[string]any {
	c := map[string]any{"name": id, "identifier": id, "type": "Azure", "tags": map[string]any{"team": "cd"},
		"spec": map[string]any{"executeOnDelegate": false, "credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{
			"applicationId": "11111111-1111-1111-1111-111111111111", "tenantId": "22222222-2222-2222-2222-222222222222",
			"auth": map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": "account.sp"}}}}}}
	if org != "" {
		c["orgIdentifier"] = org
	}
	if project != "" {
		c["projectIdentifier"] = project
	}
	return map[string]any{"connector": c}
}

func TestSignIn(t *testing.T) {
	e := newUI(t)
	c := e.browser()

	res, _ := e.do(c, http.MethodGet, "/", nil, "")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("/ -> %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = e.do(c, http.MethodGet, "/ui/connectors", nil, "")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/ui/login?next=") {
		t.Fatalf("signed out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := e.do(c, http.MethodGet, "/ui/login", nil, "")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `name="apiKey"`) {
		t.Fatalf("login form: %d", res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", res.Header)
	}

	for _, bad := range []string{"nonsense", "azk.acme.nokey.nosecret"} {
		res, body = e.do(c, http.MethodPost, "/ui/login", url.Values{"apiKey": {bad}}, e.srv.URL)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "role=\"alert\"") || len(res.Cookies()) != 0 {
			t.Fatalf("bad key %q: %d cookies %v", bad, res.StatusCode, res.Cookies())
		}
	}
	// A login posted from another site is refused.
	res, _ = e.do(c, http.MethodPost, "/ui/login", url.Values{"apiKey": {e.admin}}, "https://evil.example")
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin login: %d", res.StatusCode)
	}

	res = e.login(c, e.admin)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/connectors" {
		t.Fatalf("login: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == web.CookieName {
			ck = x
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui/" {
		t.Fatalf("cookie: %+v", ck)
	}
	res, body = e.do(c, http.MethodGet, "/ui/", nil, "")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "admin · admin · acme") {
		t.Fatalf("overview: %d %s", res.StatusCode, body)
	}

	// An open redirect is not possible through next.
	res, _ = e.do(c, http.MethodPost, "/ui/login", url.Values{"apiKey": {e.admin}, "next": {"//evil.example/x"}}, e.srv.URL)
	if res.Header.Get("Location") != "/ui/" {
		t.Fatalf("next not confined: %s", res.Header.Get("Location"))
	}

	// Signing out needs the UI's origin and clears the cookie.
	res, _ = e.do(c, http.MethodPost, "/ui/logout", url.Values{}, "")
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without origin: %d", res.StatusCode)
	}
	res, _ = e.do(c, http.MethodPost, "/ui/logout", url.Values{}, e.srv.URL)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	res, _ = e.do(c, http.MethodGet, "/ui/", nil, "")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("after logout: %d", res.StatusCode)
	}
}

func TestPagesShowWhatTheKeyMaySee(t *testing.T) {
	e := newUI(t)
	q := "?accountIdentifier=acme"
	e.mustAPI(http.MethodPost, "/ng/api/projects"+q+"&orgIdentifier=default", e.admin, map[string]any{"project": map[string]any{"identifier": "web", "name": "web"}})
	e.mustAPI(http.MethodPost, "/ng/api/projects"+q+"&orgIdentifier=default", e.admin, map[string]any{"project": map[string]any{"identifier": "data", "name": "data"}})
	e.mustAPI(http.MethodPost, "/ng/api/v2/secrets"+q, e.admin, secretDoc("sp", `<script>alert("x")</script>`))
	e.mustAPI(http.MethodPost, "/ng/api/connectors"+q, e.admin, connectorDoc("web_conn", "default", "web"))
	e.mustAPI(http.MethodPost, "/ng/api/connectors"+q, e.admin, connectorDoc("data_conn", "default", "data"))
	out := e.mustAPI(http.MethodPost, "/ng/api/azimuth/apikeys"+q+"&orgIdentifier=default&projectIdentifier=web", e.admin, map[string]any{"name": "web-viewer", "role": "viewer"})
	data, _ := out["data"].(map[string]any)
	webKey, _ := data["token"].(string)
	if webKey == "" {
		t.Fatalf("no token in %v", out)
	}

	admin := e.browser()
	e.login(admin, e.admin)
	_, body := e.do(admin, http.MethodGet, "/ui/connectors?org=default&project=web", nil, "")
	if !strings.Contains(body, "web_conn") || strings.Contains(body, "data_conn") || !strings.Contains(body, "PENDING") || !strings.Contains(body, "team=cd") {
		t.Fatalf("connectors of web: %s", body)
	}
	_, body = e.do(admin, http.MethodGet, "/ui/connectors/web_conn?org=default&project=web", nil, "")
	for _, want := range []string{"ManualConfig / Secret", "secretRef: account.sp", "11111111-1111-1111-1111-111111111111", "server"} {
		if !strings.Contains(body, want) {
			t.Fatalf("connector page lacks %q: %s", want, body)
		}
	}
	_, body = e.do(admin, http.MethodGet, "/ui/secrets", nil, "")
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("secret description not escaped: %s", body)
	}
	if strings.Contains(body, "planted-ui-secret-value") {
		t.Fatal("a secret value reached the page")
	}
	_, body = e.do(admin, http.MethodGet, "/ui/audit", nil, "")
	if !strings.Contains(body, "web_conn") {
		t.Fatalf("audit page: %s", body)
	}

	// The web project's viewer sees its project, not its sibling's.
	viewer := e.browser()
	e.login(viewer, webKey)
	_, body = e.do(viewer, http.MethodGet, "/ui/connectors?org=default&project=web", nil, "")
	if !strings.Contains(body, "web_conn") {
		t.Fatalf("viewer cannot see its own project: %s", body)
	}
	res, body := e.do(viewer, http.MethodGet, "/ui/connectors/data_conn?org=default&project=data", nil, "")
	if res.StatusCode != http.StatusNotFound || strings.Contains(body, "ManualConfig") {
		t.Fatalf("viewer sees a sibling project's connector: %d", res.StatusCode)
	}
	// A viewer's press of Test connection is the API's decision; from another site it is refused outright.
	res, _ = e.do(viewer, http.MethodPost, "/ui/connectors/web_conn/test?org=default&project=web", url.Values{}, "https://evil.example")
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin test: %d", res.StatusCode)
	}
	// A revoked key is signed out.
	k, _ := data["apiKey"].(map[string]any)
	id, _ := k["id"].(string)
	if id == "" {
		t.Fatalf("no key id in %v", data)
	}
	e.mustAPI(http.MethodDelete, "/ng/api/azimuth/apikeys/"+id+q, e.admin, nil)
	res, _ = e.do(viewer, http.MethodGet, "/ui/", nil, "")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("revoked key still signed in: %d", res.StatusCode)
	}
}

// TestConnectionButton presses "Test connection" on a connector that
// connects through the server to the Azure simulator: the page shows the
// outcome, and the connector's status then shows it too.
func TestConnectionButton(t *testing.T) {
	world, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: world})
	dir := t.TempDir()
	cc := filepath.Join(dir, "cloud.json")
	if err := sim.Override().Write(cc); err != nil {
		t.Fatal(err)
	}
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, Account: "acme", LogLevel: "info", LogFormat: "text",
		ShutdownTimeout: time.Second, Dev: true, DatabaseURL: filepath.Join(dir, "azimuth.db"), MasterKeyFile: filepath.Join(dir, "master.key"),
		CloudConfig: cc}
	s, err := server.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Store.Close() })
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	e := &uiEnv{t: t, srv: ts, admin: s.AdminKey.Reveal()}
	q := "?accountIdentifier=acme"
	for _, c := range []struct{ id, app, secret, want, reason string }{
		{"good", "30000000-0000-4000-8000-000000000001", "demo-reader-secret-0001", "SUCCESS", ""},
		{"expired", "30000000-0000-4000-8000-000000000003", "demo-expired-secret-0003", "FAILURE", "ClientSecretExpired"},
	} {
		e.mustAPI(http.MethodPost, "/ng/api/v2/secrets"+q, e.admin, secretDoc("s-"+c.id, ""))
		doc := secretDoc("s-"+c.id, "")
		doc["secret"].(map[string]any)["spec"].(map[string]any)["value"] = c.secret
		e.mustAPI(http.MethodPut, "/ng/api/v2/secrets/s-"+c.id+q, e.admin, doc)
		conn := connectorDoc(c.id, "", "")
		spec := conn["connector"].(map[string]any)["spec"].(map[string]any)["credential"].(map[string]any)["spec"].(map[string]any)
		spec["applicationId"], spec["tenantId"] = c.app, "10000000-0000-4000-8000-000000000001"
		spec["auth"].(map[string]any)["spec"].(map[string]any)["secretRef"] = "account.s-" + c.id
		e.mustAPI(http.MethodPost, "/ng/api/connectors"+q, e.admin, conn)

		b := e.browser()
		e.login(b, e.admin)
		res, body := e.do(b, http.MethodPost, "/ui/connectors/"+c.id+"/test", url.Values{}, ts.URL)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `aria-label="connection test result"`) {
			t.Fatalf("%s: %d %s", c.id, res.StatusCode, body)
		}
		if !strings.Contains(body, `<span class="status `+strings.ToLower(c.want)+`">`+c.want+`</span></h2>`) {
			t.Fatalf("%s: result is not %s: %s", c.id, c.want, body)
		}
		if c.reason != "" && (!strings.Contains(body, c.reason) || !strings.Contains(body, "What to do:")) {
			t.Fatalf("%s: no reason and hint: %s", c.id, body)
		}
		if c.want == "SUCCESS" && !strings.Contains(body, "subscription(s) visible") {
			t.Fatalf("%s: no subscriptions shown: %s", c.id, body)
		}
		if strings.Contains(body, c.secret) {
			t.Fatalf("%s: the secret reached the page", c.id)
		}
		_, body = e.do(b, http.MethodGet, "/ui/connectors", nil, "")
		if !strings.Contains(body, `<span class="status `+strings.ToLower(c.want)+`">`) {
			t.Fatalf("%s: list does not show the status: %s", c.id, body)
		}
	}
	// The tasks page lists both tests, run in the server; no delegate is registered.
	b := e.browser()
	e.login(b, e.admin)
	_, body := e.do(b, http.MethodGet, "/ui/tasks", nil, "")
	if strings.Count(body, "<td>azure.validate</td>") != 2 || !strings.Contains(body, "(server)") || !strings.Contains(body, "2 task(s).") {
		t.Fatalf("tasks page: %s", body)
	}
	_, body = e.do(b, http.MethodGet, "/ui/delegates", nil, "")
	if !strings.Contains(body, "No delegate has registered") {
		t.Fatalf("delegates page: %s", body)
	}
}
