package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/azimuthcd/azimuth/internal/server"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/api"
	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

// newAzureAPIEnv is newAPIEnv with the task engine and the Azure factory
// pointed at a simulator of the demo world (bigTags tags in
// load/many-tags-0), and the connectors reader (Reader) and acrpull
// (AcrPull only).
func newACRAPIEnv(t *testing.T, bigTags int) *apiEnv {
	t.Helper()
	dir := isolate(t)
	w, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	w.Tenants[0].Subscriptions[0].ResourceGroups[0].Registries[0].Generate.TagsPerRepository = bigTags
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: w})
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
	f, err := azure.NewFactory(azure.Options{Override: sim.Override(), Retry: policy.RetryOptions{RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	eng := engine.New(engine.Deps{Secrets: svc.Secrets, Env: ops.NewEnv(nil, f, "")})
	srv := httptest.NewServer(api.New(api.Deps{Services: svc, Health: st, Version: "test", Tasks: eng}).Handler())
	t.Cleanup(srv.Close)
	e := &apiEnv{t: t, url: srv.URL, admin: tok.Reveal(), st: st, kr: kr, dir: dir}
	for _, c := range [][2]string{{"reader", "30000000-0000-4000-8000-000000000001"}, {"acrpull", "30000000-0000-4000-8000-000000000005"}} {
		secretValue := map[string]string{"reader": "demo-reader-secret-0001", "acrpull": devACRPullSecret}[c[0]]
		for _, req := range acrSeedRequests("acme", c[0], c[1], devACRTenant, secretValue) {
			e.acrPost(req.path, req.body)
		}
	}
	return e
}

func (e *apiEnv) acrPost(path string, body any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.url+path, bytes.NewReader(b))
	req.Header.Set("x-api-key", e.admin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(res.Body)
		e.t.Fatalf("POST %s: %d %s", path, res.StatusCode, buf.String())
	}
}

func TestAzureACRCommands(t *testing.T) {
	e := newACRAPIEnv(t, 5000)
	const login = "democontoso.azurecr.io"

	r := e.ok("azure", "subscriptions", "-c", "reader")
	if !strings.Contains(r.out, "20000000-0000-4000-8000-000000000001  Contoso Production  Enabled") {
		t.Errorf("subscriptions:\n%s", r.out)
	}
	r = e.ok("azure", "resource-groups", "-c", "reader", "--subscription", "20000000-0000-4000-8000-000000000001")
	if !strings.Contains(r.out, "rg-containers") || strings.Count(r.out, "\n") != 5 {
		t.Errorf("resource groups:\n%s", r.out)
	}
	r = e.ok("azure", "acr", "registries", "-c", "reader", "--subscription", "20000000-0000-4000-8000-000000000001")
	if !strings.Contains(r.out, "democontoso     democontoso.azurecr.io") {
		t.Errorf("registries:\n%s", r.out)
	}
	r = e.cli(e.admin, "", "azure", "acr", "registries", "-c", "acrpull", "--subscription", "20000000-0000-4000-8000-000000000001")
	if r.code != ExitDenied || !strings.Contains(r.err, "Microsoft.ContainerRegistry/registries/read") || !strings.Contains(r.err, "login server") {
		t.Errorf("AcrPull registries: %s", r)
	}
	r = e.ok("azure", "acr", "repositories", "-c", "acrpull", "--login-server", login)
	if r.out != "REPOSITORY\nlibrary/nginx\nload/many-tags-0\nteam/api\nteam/worker\n" {
		t.Errorf("repositories:\n%s", r.out)
	}

	// Every tag, streamed over several pages, in each format.
	r = e.ok("azure", "acr", "tags", "load/many-tags-0", "-c", "acrpull", "--login-server", login, "--page-size", "700", "-o", "json")
	var tags []ops.TagInfo
	if err := json.Unmarshal([]byte(r.out), &tags); err != nil {
		t.Fatalf("json: %v\n%.300s", err, r.out)
	}
	if len(tags) != 5000 || tags[0].Name != "build-4999" || tags[4999].Name != "build-0000" || tags[0].Digest == "" {
		t.Fatalf("%d tags, %+v ... %+v", len(tags), tags[0], tags[len(tags)-1])
	}
	r = e.ok("azure", "acr", "tags", "load/many-tags-0", "-c", "acrpull", "--login-server", login, "--page-size", "700", "--names-only", "-o", "yaml")
	var names []map[string]string
	if err := yaml.Unmarshal([]byte(r.out), &names); err != nil || len(names) != 5000 || names[1]["name"] != "build-4998" {
		t.Fatalf("yaml: %v, %d", err, len(names))
	}
	r = e.ok("azure", "acr", "tags", "team/api", "-c", "reader", "--registry", "democontoso", "--subscription", "20000000-0000-4000-8000-000000000001", "--order-by", "version")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TAG") || !strings.HasPrefix(lines[1], "v1.2.0  sha256:") || !strings.HasPrefix(lines[3], "v1.0.0") {
		t.Errorf("table:\n%s", r.out)
	}
	r = e.ok("azure", "acr", "tags", "load/many-tags-0", "-c", "acrpull", "--login-server", login, "--filter", "^build-00", "--limit", "3", "--order-by", "timeasc", "--names-only")
	if r.out != "TAG\nbuild-0000\nbuild-0001\nbuild-0002\n" || r.err != "" {
		t.Errorf("filtered: %s", r)
	}
	r = e.ok("azure", "acr", "latest", "load/many-tags-0", "-c", "acrpull", "--login-server", login, "--tag-regex", "^build-1")
	if !strings.Contains(r.out, login+"/load/many-tags-0:build-1999") {
		t.Errorf("latest:\n%s", r.out)
	}
	r = e.ok("azure", "acr", "login-credentials", "-c", "acrpull", "--login-server", login, "--password-only")
	if strings.Count(r.out, ".") != 2 {
		t.Errorf("password is not a token: %q", r.out)
	}
	r = e.cli(e.admin, "", "azure", "acr", "tags", "team/api", "-c", "acrpull")
	if r.code != ExitUsage || !strings.Contains(r.err, "--login-server") {
		t.Errorf("no registry: %s", r)
	}
}

// The dev part seeds the AcrPull-only connector (twice is fine: a dev
// directory is restarted) and describes the demo registries in dev.json.
func TestDevACRPart(t *testing.T) {
	dir := isolate(t)
	w, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: w})
	cc := filepath.Join(dir, "cloud.json")
	if err := sim.Override().Write(cc); err != nil {
		t.Fatal(err)
	}
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, Account: "acme", LogLevel: "info", LogFormat: "text",
		ShutdownTimeout: time.Second, Dev: true, DatabaseURL: filepath.Join(dir, "azimuth.db"), MasterKeyFile: filepath.Join(dir, "master.key"), CloudConfig: cc}
	srv, err := server.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Store.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &apiEnv{t: t, url: hs.URL, admin: srv.AdminKey.Reveal(), st: srv.Store, kr: srv.Keyring, dir: dir}
	env := &DevEnv{Config: &cfg, Server: srv, Info: &DevInfo{URL: e.url, APIKey: e.admin, AccountIdentifier: "acme"}}
	for range 2 {
		if err := devACR(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	info := env.Info.ACR.(*DevACR)
	if info.ManyTags != (DevRepository{LoginServer: "democontoso.azurecr.io", Name: "load/many-tags-0", Tags: 20000}) || len(info.Registries) != 3 ||
		info.AcrPullOnly.Connector != devACRConnector || len(info.Try) != 4 {
		t.Fatalf("dev.json acr: %+v", info)
	}
	b, _ := json.Marshal(env.Info)
	if strings.Contains(string(b), devACRPullSecret) {
		t.Error("dev.json shows the demo secret")
	}
	r := e.ok("azure", "acr", "tags", info.ManyTags.Name, "-c", info.AcrPullOnly.Connector, "--login-server", info.ManyTags.LoginServer, "--names-only", "-o", "json")
	var tags []map[string]string
	if err := json.Unmarshal([]byte(r.out), &tags); err != nil || len(tags) != 20000 {
		t.Fatalf("%v %d", err, len(tags))
	}
}
