package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/azimuthcd/azimuth/internal/api"
	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

const (
	acrTenant = "10000000-0000-4000-8000-000000000001"
	acrSub    = "20000000-0000-4000-8000-000000000001"
	acrLogin  = "democontoso.azurecr.io"
	acrBig    = "load/many-tags-0"
)

// acrEnv is a server in-process with the task engine, its Azure factory
// pointed at the simulator, and two connectors of the demo world that
// connect through the server: reader (Reader + AcrPull) and acrpull
// (AcrPull on democontoso only).
func acrEnv(t *testing.T, bigTags int) (*env, *azuresim.Sim) {
	t.Helper()
	e, sim, _ := acrEngineEnv(t, bigTags)
	return e, sim
}

// acrEngineEnv is acrEnv with its engine, for tests that install a
// delegate stand-in.
func acrEngineEnv(t *testing.T, bigTags int) (*env, *azuresim.Sim, *engine.Engine) {
	t.Helper()
	w, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	w.Tenants[0].Subscriptions[0].ResourceGroups[0].Registries[0].Generate.TagsPerRepository = bigTags
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: w})

	ctx := context.Background()
	e := &env{t: t, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlstore.Open(ctx, sqlstore.Options{URL: filepath.Join(t.TempDir(), "azimuth.db"), Logger: log})
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
	tok, _, _, err := e.svc.Scopes.Bootstrap(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = tok.Reveal()
	f, err := azure.NewFactory(azure.Options{Override: sim.Override(), Logger: log,
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	eng := engine.New(engine.Deps{Secrets: e.svc.Secrets, Env: ops.NewEnv(log, f, ""), Logger: log})
	a := api.New(api.Deps{Services: e.svc, Health: st, Logger: log, Version: "test", Tasks: eng})
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)

	for _, c := range []struct{ id, app, secret string }{
		{"reader", "30000000-0000-4000-8000-000000000001", "demo-reader-secret-0001"},
		{"acrpull", "30000000-0000-4000-8000-000000000005", "demo-acrpull-secret-0005"},
	} {
		e.must(e.req("POST", "/ng/api/v2/secrets?accountIdentifier="+acct, e.admin, secretBody(c.id+"_sp", "SecretText",
			map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": c.secret})))
		e.must(e.req("POST", "/ng/api/connectors?accountIdentifier="+acct, e.admin, map[string]any{"connector": map[string]any{
			"name": c.id, "identifier": c.id, "type": "Azure",
			"spec": map[string]any{"azureEnvironmentType": "AZURE", "executeOnDelegate": false,
				"credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{
					"applicationId": c.app, "tenantId": acrTenant,
					"auth": map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": "account." + c.id + "_sp"}}}}}}}))
	}
	return e, sim, eng
}

func aq(kv ...string) string {
	v := url.Values{"accountIdentifier": {acct}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

func TestACREndpoints(t *testing.T) {
	e, sim := acrEnv(t, 30_000)

	t.Run("subscriptions and resource groups", func(t *testing.T) {
		r := e.must(e.req("GET", "/ng/api/azure/subscriptions"+aq("connectorRef", "reader"), e.admin, nil))
		subs := r.data()["subscriptions"].([]any)
		if len(subs) != 1 || subs[0].(map[string]any)["subscriptionId"] != acrSub || subs[0].(map[string]any)["subscriptionName"] != "Contoso Production" {
			t.Fatalf("%s", r)
		}
		e.must(e.req("GET", "/ng/api/artifacts/acr/subscriptions"+aq("connectorRef", "account.reader", "fqnPath", "x"), e.admin, nil))
		r = e.must(e.req("GET", "/ng/api/azure/subscriptions/"+acrSub+"/resourceGroups"+aq("connectorRef", "reader"), e.admin, nil))
		if rgs := r.data()["resourceGroups"].([]any); len(rgs) != 4 || rgs[0].(map[string]any)["resourceGroup"] != "rg-containers" {
			t.Fatalf("%s", r)
		}
	})

	t.Run("registries and repositories", func(t *testing.T) {
		r := e.must(e.req("GET", "/ng/api/artifacts/acr/container-registries"+aq("connectorRef", "reader", "subscriptionId", acrSub), e.admin, nil))
		regs := r.data()["registries"].([]any)
		if len(regs) != 2 || regs[1].(map[string]any)["registry"] != "democontoso" || regs[1].(map[string]any)["loginServer"] != acrLogin {
			t.Fatalf("%s", r)
		}
		r = e.must(e.req("GET", "/ng/api/artifacts/acr/container-registries/democontoso/repositories"+aq("connectorRef", "reader", "subscriptionId", acrSub), e.admin, nil))
		if repos := r.data()["repositories"].([]any); len(repos) != 4 || repos[2].(map[string]any)["repository"] != "team/api" {
			t.Fatalf("%s", r)
		}
	})

	t.Run("AcrPull only", func(t *testing.T) {
		r := e.req("GET", "/ng/api/artifacts/acr/container-registries"+aq("connectorRef", "acrpull", "subscriptionId", acrSub), e.admin, nil)
		want := "Listing container registries needs the action Microsoft.ContainerRegistry/registries/read at /subscriptions/" + acrSub +
			", and the connector's identity does not hold it there (Azure answered AuthorizationFailed). AcrPull alone does not grant it."
		if r.Status != http.StatusForbidden || r.Body["code"] != "AuthorizationFailed" || !strings.HasPrefix(r.Body["message"].(string), want) {
			t.Fatalf("%s", r)
		}
		if !strings.Contains(string(r.Raw), "give the registry's login server") {
			t.Errorf("no login-server hint: %s", r)
		}
		r = e.must(e.req("GET", "/ng/api/artifacts/acr/container-registries/"+acrLogin+"/repositories"+aq("connectorRef", "acrpull"), e.admin, nil))
		if repos := r.data()["repositories"].([]any); len(repos) != 4 {
			t.Fatalf("%s", r)
		}
		r = e.must(e.req("GET", "/ng/api/azimuth/acr/tags"+aq("connectorRef", "acrpull", "loginServer", acrLogin, "repository", "team/api", "orderBy", "name"), e.admin, nil))
		if tags := r.data()["tags"].([]any); len(tags) != 3 || tags[0].(map[string]any)["name"] != "v1.0.0" {
			t.Fatalf("%s", r)
		}
	})

	t.Run("getBuildDetails streams every tag", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/ng/api/artifacts/acr/getBuildDetails"+aq("connectorRef", "acrpull", "registry", acrLogin, "repository", acrBig), nil)
		req.Header.Set("x-api-key", e.admin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Status string `json:"status"`
			Data   struct {
				BuildDetailsList []map[string]any `json:"buildDetailsList"`
			} `json:"data"`
			CorrelationID string `json:"correlationId"`
		}
		if err := json.NewDecoder(bufio.NewReader(res.Body)).Decode(&body); err != nil {
			t.Fatal(err)
		}
		l := body.Data.BuildDetailsList
		if res.StatusCode != 200 || body.Status != "SUCCESS" || body.CorrelationID != res.Header.Get("X-Correlation-Id") || len(l) != 30_000 {
			t.Fatalf("%d %s, %d tags", res.StatusCode, body.Status, len(l))
		}
		md := l[0]["metadata"].(map[string]any)
		if l[0]["tag"] != "build-29999" || l[29_999]["tag"] != "build-00000" || md["image"] != acrLogin+"/"+acrBig+":build-29999" ||
			md["registryHostname"] != acrLogin || md["SHA"] != l[0]["digest"] || l[0]["digest"] == "" || l[0]["createdTime"] == nil {
			t.Fatalf("first %+v, last %+v", l[0], l[29_999])
		}
		// Harness's AcrBuildDetailsDTO names the repository `repository`.
		if l[0]["repository"] != acrBig || l[0]["imagePath"] != nil {
			t.Fatalf("first %+v", l[0])
		}
	})

	t.Run("getBuildDetails resolves a registry name once", func(t *testing.T) {
		before := sim.RequestCount("arm.registries.list")
		req, _ := http.NewRequest("GET", e.srv.URL+"/ng/api/artifacts/acr/getBuildDetails"+aq("connectorRef", "reader", "subscriptionId", acrSub,
			"registry", "democontoso", "repository", acrBig, "namesOnly", "true"), nil)
		req.Header.Set("x-api-key", e.admin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Data struct {
				BuildDetailsList []struct {
					Tag        string `json:"tag"`
					Repository string `json:"repository"`
				} `json:"buildDetailsList"`
			} `json:"data"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil || len(body.Data.BuildDetailsList) != 30_000 {
			t.Fatalf("%v, %d tags", err, len(body.Data.BuildDetailsList))
		}
		// 30 pages of 1000, one registry lookup.
		if n := sim.RequestCount("arm.registries.list") - before; n != 1 {
			t.Fatalf("%d registry listings for one getBuildDetails", n)
		}
	})

	t.Run("the version order is paged too", func(t *testing.T) {
		r := e.must(e.req("GET", "/ng/api/azimuth/acr/tags"+aq("connectorRef", "reader", "loginServer", acrLogin, "repository", acrBig, "orderBy", "version", "namesOnly", "true"), e.admin, nil))
		tags := r.data()["tags"].([]any)
		if len(tags) != ops.MaxTagPageSize || tags[0].(map[string]any)["name"] != "build-29999" || r.data()["nextPageToken"] == nil {
			t.Fatalf("%d tags, token %v", len(tags), r.data()["nextPageToken"])
		}
		// More than the largest page is lowered to it.
		r = e.must(e.req("GET", "/ng/api/azimuth/acr/tags"+aq("connectorRef", "reader", "loginServer", acrLogin, "repository", acrBig, "pageSize", "50000", "namesOnly", "true"), e.admin, nil))
		if tags := r.data()["tags"].([]any); len(tags) != ops.MaxTagPageSize {
			t.Fatalf("%d tags", len(tags))
		}
	})

	t.Run("last successful build", func(t *testing.T) {
		r := e.must(e.req("POST", "/ng/api/artifacts/acr/getLastSuccessfulBuild"+aq("connectorRef", "reader", "subscriptionId", acrSub, "registry", "democontoso", "repository", acrBig),
			e.admin, map[string]any{"tagRegex": `^build-1\d{4}$`}))
		if d := r.data(); d["tag"] != "build-19999" || d["metadata"].(map[string]any)["SHA"] == "" {
			t.Fatalf("%s", r)
		}
		r = e.req("POST", "/ng/api/artifacts/acr/getLastSuccessfulBuild"+aq("connectorRef", "reader", "subscriptionId", acrSub, "registry", "democontoso", "repository", "team/api"),
			e.admin, map[string]any{"tagRegex": `[`})
		if r.Status != 400 || !strings.Contains(string(r.Raw), "TagRegex field contains an invalid regex value '['.") {
			t.Fatalf("%s", r)
		}
		r = e.must(e.req("GET", "/ng/api/azimuth/acr/tag"+aq("connectorRef", "reader", "loginServer", acrLogin, "repository", "team/api", "tag", "v1.2.0"), e.admin, nil))
		if d := r.data(); d["image"] != acrLogin+"/team/api:v1.2.0" || len(d["platforms"].([]any)) != 2 {
			t.Fatalf("%s", r)
		}
	})

	t.Run("paged tags", func(t *testing.T) {
		seen, token, pages := 0, "", 0
		for {
			r := e.must(e.req("GET", "/ng/api/azimuth/acr/tags"+aq("connectorRef", "reader", "loginServer", acrLogin, "repository", acrBig,
				"pageSize", "7000", "pageToken", token, "namesOnly", "true"), e.admin, nil))
			seen += len(r.data()["tags"].([]any))
			pages++
			token, _ = r.data()["nextPageToken"].(string)
			if token == "" {
				break
			}
		}
		if seen != 30_000 || pages != 5 {
			t.Fatalf("%d tags in %d pages", seen, pages)
		}
		r := e.req("GET", "/ng/api/azimuth/acr/tags"+aq("connectorRef", "reader", "loginServer", acrLogin, "repository", acrBig, "limit", "x"), e.admin, nil)
		if r.Status != 400 || !strings.Contains(string(r.Raw), "limit") {
			t.Fatalf("%s", r)
		}
	})

	t.Run("login credentials work with crane", func(t *testing.T) {
		r := e.must(e.req("POST", "/ng/api/azimuth/acr/login-credentials"+aq("connectorRef", "acrpull", "loginServer", acrLogin), e.admin, nil))
		d := r.data()
		if d["username"] != ops.NullUsername || d["password"] == "" {
			t.Fatalf("%s", r)
		}
		repo, _ := name.NewRepository(acrLogin + "/team/api")
		tags, err := remote.List(repo, remote.WithAuth(&authn.Basic{Username: d["username"].(string), Password: d["password"].(string)}), remote.WithTransport(sim.HTTPClient().Transport))
		if err != nil || len(tags) != 3 {
			t.Fatalf("%v %v", tags, err)
		}
	})
}
