package ops_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/task"
)

// The demo world's principals (internal/azuresim/demo.yaml).
const (
	acrDemoTenant     = "10000000-0000-4000-8000-000000000001"
	acrDemoSub        = "20000000-0000-4000-8000-000000000001"
	acrReaderApp      = "30000000-0000-4000-8000-000000000001"
	acrReaderSecret   = "demo-reader-secret-0001"
	acrCertApp        = "30000000-0000-4000-8000-000000000002"
	acrPullOnlyApp    = "30000000-0000-4000-8000-000000000005"
	acrPullOnlySecret = "demo-acrpull-secret-0005"
	acrUserMIClient   = "60000000-0000-4000-8000-000000000002"
	acrDemoLogin      = "democontoso.azurecr.io"
	acrBigRepo        = "load/many-tags-0"
)

// acrSim serves the demo world with bigTags tags in the generated repository.
func acrSim(t testing.TB, bigTags int) *azuresim.Sim {
	t.Helper()
	w, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	reg := w.Tenants[0].Subscriptions[0].ResourceGroups[0].Registries[0]
	if reg.Name != "democontoso" || reg.Generate == nil {
		t.Fatalf("demo world changed: %+v", reg)
	}
	reg.Generate.TagsPerRepository = bigTags
	return azuresim.StartForTestWith(t, azuresim.Options{World: w})
}

type acrEnv struct {
	env      *ops.Env
	requests atomic.Int64
	onEvent  atomic.Pointer[func(azure.RequestEvent)]
}

// newACREnv is a server's executor environment (host "") or a delegate's on
// the simulated host.
func newACREnv(t testing.TB, sim *azuresim.Sim, host string) *acrEnv {
	t.Helper()
	o := sim.Override()
	if host != "" {
		var err error
		if o, err = sim.HostOverride(host); err != nil {
			t.Fatal(err)
		}
	}
	e := &acrEnv{}
	f, err := azure.NewFactory(azure.Options{Override: o, ManagedIdentity: host != "",
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
		Observe: func(ev azure.RequestEvent) {
			e.requests.Add(1)
			if fn := e.onEvent.Load(); fn != nil {
				(*fn)(ev)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	e.env = ops.NewEnv(slog.New(slog.DiscardHandler), f, map[bool]string{true: "dlg_test"}[host != ""])
	return e
}

func acrSecretConnector(id, app string) *connector.Connector {
	return &connector.Connector{Name: id, Identifier: id, AccountIdentifier: "acct", Type: connector.TypeAzure, Spec: &connector.AzureSpec{
		AzureEnvironmentType: string(cloud.Public),
		Credential: &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
			ApplicationID: app, TenantID: acrDemoTenant, Auth: &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: "account.sp"}}}}}
}

func acrCertConnector() *connector.Connector {
	c := acrSecretConnector("cert", acrCertApp)
	c.Spec.Credential.Manual.Auth = &connector.ManualAuth{Type: connector.AuthCertificate, CertificateRef: "account.pem"}
	return c
}

func acrMIConnector(id, clientID string) *connector.Connector {
	auth := &connector.ManagedIdentityAuth{Type: connector.ManagedIdentitySystem}
	if clientID != "" {
		auth = &connector.ManagedIdentityAuth{Type: connector.ManagedIdentityUser, ClientID: clientID}
	}
	return &connector.Connector{Name: id, Identifier: id, AccountIdentifier: "acct", Type: connector.TypeAzure, Spec: &connector.AzureSpec{
		DelegateSelectors: []string{"vm"},
		Credential:        &connector.Credential{Type: connector.CredentialInherit, Inherit: &connector.InheritSpec{Auth: auth}}}}
}

// acrCaller runs tasks of one connector through engine.Execute, as the server
// and delegates do.
type acrCaller struct {
	env     *acrEnv
	conn    *connector.Connector
	secrets ops.Secrets
}

func (c acrCaller) run(t testing.TB, kind task.Kind, params any, out any) *task.Error {
	t.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	res := engine.Execute(context.Background(), c.env.env, ops.Registry(), task.Spec{Kind: kind, Connector: c.conn, ConnectorVersion: 1, Params: b},
		engine.NewID(), time.Minute, c.secrets, nil, nil)
	if res.Status != task.Succeeded {
		if res.Error == nil {
			t.Fatalf("%s: %s without error", kind, res.Status)
		}
		return res.Error
	}
	if out != nil {
		if err := json.Unmarshal(res.Output, out); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

func (c acrCaller) must(t testing.TB, kind task.Kind, params any, out any) {
	t.Helper()
	if e := c.run(t, kind, params, out); e != nil {
		t.Fatalf("%s: %s: %s (hint: %s)", kind, e.Reason, e.Message, e.Hint)
	}
}

// mustPage runs one acr.tags page and decodes it as the API does
// (internal/api's acrTagPage): with TagPage's own decoder, not through
// encoding/json, which would scan the output twice before calling it.
func (c acrCaller) mustPage(t testing.TB, p ops.TagsParams, page *ops.TagPage) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	res := engine.Execute(context.Background(), c.env.env, ops.Registry(), task.Spec{Kind: ops.KindACRTags, Connector: c.conn, ConnectorVersion: 1, Params: b},
		engine.NewID(), time.Minute, c.secrets, nil, nil)
	if res.Status != task.Succeeded {
		t.Fatalf("acr.tags: %s: %+v", res.Status, res.Error)
	}
	if err := page.UnmarshalJSON(res.Output); err != nil {
		t.Fatal(err)
	}
}

// allTags follows every page of a listing.
func (c acrCaller) allTags(t testing.TB, p ops.TagsParams) ([]ops.TagInfo, int) {
	t.Helper()
	var all []ops.TagInfo
	pages := 0
	for {
		var page ops.TagPage
		c.must(t, ops.KindACRTags, p, &page)
		pages++
		all = append(all, page.Tags...)
		if page.NextPageToken == "" {
			return all, pages
		}
		p.PageToken = page.NextPageToken
	}
}

func readerCaller(e *acrEnv) acrCaller {
	return acrCaller{env: e, conn: acrSecretConnector("reader", acrReaderApp), secrets: ops.Secrets{connector.PathSecretRef: []byte(acrReaderSecret)}}
}

func acrPullCaller(e *acrEnv) acrCaller {
	return acrCaller{env: e, conn: acrSecretConnector("acrpull", acrPullOnlyApp), secrets: ops.Secrets{connector.PathSecretRef: []byte(acrPullOnlySecret)}}
}

func TestACRTagsEveryTagInOrder(t *testing.T) {
	const n = 100_000
	sim := acrSim(t, n)
	c := readerCaller(newACREnv(t, sim, ""))
	ref := ops.RegistryRef{LoginServer: acrDemoLogin}

	t.Run("newest first, 100,000 tags", func(t *testing.T) {
		tags, pages := c.allTags(t, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, PageSize: 5000})
		if len(tags) != n || pages != n/5000 {
			t.Fatalf("%d tags in %d pages, want %d in %d", len(tags), pages, n, n/5000)
		}
		seen := make(map[string]bool, n)
		for i, tg := range tags {
			if seen[tg.Name] {
				t.Fatalf("tag %s repeated", tg.Name)
			}
			seen[tg.Name] = true
			if i > 0 && tg.LastUpdateTime.After(tags[i-1].LastUpdateTime) {
				t.Fatalf("tag %d (%s, %s) is newer than the one before it (%s, %s)", i, tg.Name, tg.LastUpdateTime, tags[i-1].Name, tags[i-1].LastUpdateTime)
			}
			if !strings.HasPrefix(tg.Digest, "sha256:") || tg.CreatedTime.IsZero() {
				t.Fatalf("tag %+v lacks details", tg)
			}
		}
		if tags[0].Name != "build-99999" || tags[n-1].Name != "build-00000" {
			t.Fatalf("first %s, last %s", tags[0].Name, tags[n-1].Name)
		}
	})

	t.Run("oldest first, filter and limit", func(t *testing.T) {
		tags, _ := c.allTags(t, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, OrderBy: "timeasc", Filter: `7$`, Limit: 2500, PageSize: 1000})
		if len(tags) != 2500 || tags[0].Name != "build-00007" || tags[2499].Name != "build-24997" {
			t.Fatalf("%d tags, %s..%s", len(tags), tags[0].Name, tags[len(tags)-1].Name)
		}
	})

	t.Run("name order", func(t *testing.T) {
		tags, _ := c.allTags(t, ops.TagsParams{RegistryRef: ref, Repository: "team/api", OrderBy: "name", PageSize: 2})
		if got := tagNames(tags); got != "v1.0.0 v1.1.0 v1.2.0" {
			t.Fatalf("tags %s", got)
		}
	})

	t.Run("version order", func(t *testing.T) {
		tags, _ := c.allTags(t, ops.TagsParams{RegistryRef: ref, Repository: "library/nginx", OrderBy: "version"})
		// latest has no digits: Alphanum puts letters after digits.
		if got := tagNames(tags); got != "latest 1.26 1.25" {
			t.Fatalf("tags %s", got)
		}
		tags, _ = c.allTags(t, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, OrderBy: "version", Filter: `^build-0000\d$`, PageSize: 4})
		if got := tagNames(tags); got != "build-00009 build-00008 build-00007 build-00006 build-00005 build-00004 build-00003 build-00002 build-00001 build-00000" {
			t.Fatalf("tags %s", got)
		}
	})

	t.Run("version order pages are bounded", func(t *testing.T) {
		// No page size: the version order's default page, never the
		// whole repository in one output.
		var first ops.TagPage
		c.must(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, OrderBy: "version"}, &first)
		if len(first.Tags) != ops.MaxTagPageSize || first.NextPageToken == "" || first.Scanned != n {
			t.Fatalf("first page: %d tags, scanned %d, token %q", len(first.Tags), first.Scanned, first.NextPageToken)
		}
		if first.Tags[0].Name != "build-99999" || first.Tags[ops.MaxTagPageSize-1].Name != "build-90000" || first.Tags[0].Digest == "" {
			t.Fatalf("first page %s..%s", first.Tags[0].Name, first.Tags[len(first.Tags)-1].Name)
		}
		var second ops.TagPage
		c.must(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, OrderBy: "version", PageToken: first.NextPageToken}, &second)
		if len(second.Tags) != ops.MaxTagPageSize || second.Tags[0].Name != "build-89999" {
			t.Fatalf("second page: %d tags from %s", len(second.Tags), second.Tags[0].Name)
		}
		// A limit across pages.
		tags, pages := c.allTags(t, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, OrderBy: "version", Filter: `^build-00[0-2]`, Limit: 250, PageSize: 100})
		if len(tags) != 250 || pages != 3 || tags[0].Name != "build-00299" || tags[249].Name != "build-00050" {
			t.Fatalf("%d tags in %d pages: %s..%s", len(tags), pages, tags[0].Name, tags[len(tags)-1].Name)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		e := c.run(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, OrderBy: "sideways", Filter: "(", PageSize: -1}, nil)
		if e == nil || e.Kind != failure.Invalid.String() {
			t.Fatalf("error %+v", e)
		}
		for _, f := range []string{"repository", "orderBy", "filter", "pageSize"} {
			if !strings.Contains(e.Message, f) {
				t.Errorf("message %q does not name %s", e.Message, f)
			}
		}
		e = c.run(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: "team/api", PageToken: "not-a-token"}, nil)
		if e == nil || !strings.Contains(e.Message, "pageToken") {
			t.Fatalf("error %+v", e)
		}
	})

	t.Run("only registries of the cloud get the token", func(t *testing.T) {
		before := sim.RequestCount("acr.exchange")
		for _, ls := range []string{"attacker.example", "democontoso.azurecr.io.attacker.example", "democontoso.azurecr.io:8443", "x/y.azurecr.io", ".azurecr.io"} {
			e := c.run(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ops.RegistryRef{LoginServer: ls}, Repository: "team/api"}, nil)
			if e == nil || e.Kind != failure.Invalid.String() || !strings.Contains(e.Message, "loginServer") {
				t.Errorf("%s: %+v", ls, e)
			}
		}
		for _, repo := range []string{"team/api?n=1", "Team/API", "../x", "a//b"} {
			e := c.run(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: repo}, nil)
			if e == nil || e.Kind != failure.Invalid.String() || !strings.Contains(e.Message, "repository") {
				t.Errorf("%s: %+v", repo, e)
			}
		}
		if n := sim.RequestCount("acr.exchange"); n != before {
			t.Errorf("%d exchanges for refused requests", n-before)
		}
	})

	t.Run("no registry at all", func(t *testing.T) {
		for _, r := range []ops.RegistryRef{{}, {Registry: "  "}, {SubscriptionID: acrDemoSub}} {
			e := c.run(t, ops.KindACRTags, ops.TagsParams{RegistryRef: r, Repository: "team/api"}, nil)
			if e == nil || e.Kind != failure.Invalid.String() || !strings.Contains(e.Message, "give the registry's login server (loginServer) or its name (registry)") ||
				strings.Contains(e.Message, "is not a registry name") {
				t.Errorf("%+v: %+v", r, e)
			}
		}
	})

	t.Run("unknown repository", func(t *testing.T) {
		e := c.run(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: "no/such"}, nil)
		if e == nil || e.Kind != failure.NotFound.String() || !strings.Contains(e.Message, `"no/such"`) {
			t.Fatalf("error %+v", e)
		}
	})
}

func tagNames(tags []ops.TagInfo) string {
	var s []string
	for _, t := range tags {
		s = append(s, t.Name)
	}
	return strings.Join(s, " ")
}

func TestACRPullOnlyIdentity(t *testing.T) {
	sim := acrSim(t, 3000)
	c := acrPullCaller(newACREnv(t, sim, ""))

	t.Run("lists tags and repositories by login server", func(t *testing.T) {
		tags, _ := c.allTags(t, ops.TagsParams{RegistryRef: ops.RegistryRef{LoginServer: acrDemoLogin}, Repository: acrBigRepo})
		if len(tags) != 3000 {
			t.Fatalf("%d tags", len(tags))
		}
		var repos ops.Repositories
		c.must(t, ops.KindACRRepositories, ops.RepositoriesParams{RegistryRef: ops.RegistryRef{Registry: acrDemoLogin}}, &repos)
		if strings.Join(repos.Repositories, " ") != "library/nginx load/many-tags-0 team/api team/worker" {
			t.Fatalf("repositories %v", repos.Repositories)
		}
	})

	t.Run("listing registries names what is missing", func(t *testing.T) {
		e := c.run(t, ops.KindACRRegistries, ops.RegistriesParams{SubscriptionID: acrDemoSub}, nil)
		if e == nil {
			t.Fatal("AcrPull listed registries")
		}
		wantMsg := "Listing container registries needs the action Microsoft.ContainerRegistry/registries/read at /subscriptions/" + acrDemoSub +
			", and the connector's identity does not hold it there (Azure answered AuthorizationFailed). AcrPull alone does not grant it."
		if e.Kind != failure.Forbidden.String() || e.Reason != string(azure.ReasonAuthorizationFailed) || e.Message != wantMsg {
			t.Fatalf("error %+v\nwant message %q", e, wantMsg)
		}
		for _, want := range []string{"login server", ".azurecr.io", "AcrPull on the registry is enough", "assign Reader", "--role Reader --scope /subscriptions/" + acrDemoSub, "--assignee " + acrPullOnlyApp} {
			if !strings.Contains(e.Hint, want) {
				t.Errorf("hint %q lacks %q", e.Hint, want)
			}
		}
	})

	t.Run("a registry name falls back to its login server", func(t *testing.T) {
		var page ops.TagPage
		c.must(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ops.RegistryRef{SubscriptionID: acrDemoSub, Registry: "democontoso"}, Repository: "team/api"}, &page)
		if page.LoginServer != acrDemoLogin || len(page.Tags) != 3 {
			t.Fatalf("page %+v", page)
		}
	})

	t.Run("a registry it holds no role on", func(t *testing.T) {
		e := c.run(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ops.RegistryRef{LoginServer: "contosostaging.azurecr.io"}, Repository: "team/api"}, nil)
		if e == nil || e.Kind != failure.Forbidden.String() || !strings.Contains(e.Message, ops.ActionRegistryPull) || !strings.Contains(e.Hint, "AcrPull") {
			t.Fatalf("error %+v", e)
		}
	})
}

func TestACRThrottledMidListing(t *testing.T) {
	const n = 20_000
	sim := acrSim(t, n)
	e := newACREnv(t, sim, "")
	c := readerCaller(e)
	var tagPages, throttled atomic.Int64
	var once sync.Once
	hook := func(ev azure.RequestEvent) {
		if ev.Host != acrDemoLogin || !strings.HasSuffix(ev.Path, "/_tags") {
			return
		}
		if ev.Status == 429 {
			throttled.Add(1)
		}
		if tagPages.Add(1) == 5 {
			once.Do(func() {
				if _, err := sim.AddFault(azuresim.Fault{Route: "acr.tags", Status: 429, RetryAfter: azuresim.Duration(20 * time.Millisecond), Times: 2}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	e.onEvent.Store(&hook)
	// One task reads 10 registry pages; the 6th and 7th requests are
	// answered 429 (Retry-After: 1) and retried.
	tags, pages := c.allTags(t, ops.TagsParams{RegistryRef: ops.RegistryRef{LoginServer: acrDemoLogin}, Repository: acrBigRepo, PageSize: ops.MaxTagPageSize})
	if throttled.Load() != 2 {
		t.Fatalf("%d throttled answers, want 2", throttled.Load())
	}
	if len(tags) != n || pages != 2 {
		t.Fatalf("%d tags in %d pages", len(tags), pages)
	}
	seen := map[string]bool{}
	for i, tg := range tags {
		want := "build-" + acrPad5(n-1-i)
		if tg.Name != want || seen[tg.Name] {
			t.Fatalf("tag %d is %s, want %s (repeated: %t)", i, tg.Name, want, seen[tg.Name])
		}
		seen[tg.Name] = true
	}

	// Retries exhausted (four 429s for one try and three retries): the
	// task fails, and the same page token resumes where it stopped.
	var first ops.TagPage
	p := ops.TagsParams{RegistryRef: ops.RegistryRef{LoginServer: acrDemoLogin}, Repository: acrBigRepo, PageSize: 3000}
	c.must(t, ops.KindACRTags, p, &first)
	if _, err := sim.AddFault(azuresim.Fault{Route: "acr.tags", Status: 429, RetryAfter: azuresim.Duration(time.Second), Times: 4}); err != nil {
		t.Fatal(err)
	}
	p.PageToken = first.NextPageToken
	if fe := c.run(t, ops.KindACRTags, p, nil); fe == nil || fe.Reason != string(azure.ReasonThrottled) || !strings.Contains(fe.Hint, "pageToken") {
		t.Fatalf("error %+v", fe)
	}
	var second ops.TagPage
	c.must(t, ops.KindACRTags, p, &second)
	if second.Tags[0].Name != "build-"+acrPad5(n-1-3000) || len(second.Tags) != 3000 {
		t.Fatalf("resumed at %s with %d tags", second.Tags[0].Name, len(second.Tags))
	}
}

func acrPad5(i int) string {
	s := "0000" + acrItoa(i)
	return s[len(s)-5:]
}

func acrItoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestACRCredentialKinds(t *testing.T) {
	sim := acrSim(t, 100)
	server, delegate := newACREnv(t, sim, ""), newACREnv(t, sim, "delegate-host")
	pemBytes, err := sim.CertificatePEM(acrDemoTenant, "azimuth-cert", "main")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		c    acrCaller
	}{
		{"service principal secret", readerCaller(server)},
		{"service principal certificate", acrCaller{env: server, conn: acrCertConnector(), secrets: ops.Secrets{connector.PathCertificateRef: pemBytes}}},
		{"system-assigned managed identity", acrCaller{env: delegate, conn: acrMIConnector("sysmi", "")}},
		{"user-assigned managed identity", acrCaller{env: delegate, conn: acrMIConnector("usermi", acrUserMIClient)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := ops.RegistryRef{LoginServer: acrDemoLogin}
			var repos ops.Repositories
			c.c.must(t, ops.KindACRRepositories, ops.RepositoriesParams{RegistryRef: ref}, &repos)
			if len(repos.Repositories) != 4 {
				t.Fatalf("repositories %v", repos.Repositories)
			}
			tags, _ := c.c.allTags(t, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, PageSize: 30})
			if len(tags) != 100 || tags[0].Name != "build-99" {
				t.Fatalf("%d tags, first %s", len(tags), tags[0].Name)
			}
			var d ops.TagDetails
			c.c.must(t, ops.KindACRTag, ops.TagParams{RegistryRef: ref, Repository: "team/api", Tag: "v1.2.0"}, &d)
			if !strings.HasPrefix(d.Digest, "sha256:") || !strings.Contains(d.MediaType, "list") || strings.Join(d.Platforms, ",") != "linux/amd64,linux/arm64" ||
				d.Image != acrDemoLogin+"/team/api:v1.2.0" || d.ImageByDigest != acrDemoLogin+"/team/api@"+d.Digest || d.CreatedTime.IsZero() {
				t.Fatalf("details %+v", d)
			}
			var latest ops.TagDetails
			c.c.must(t, ops.KindACRLatestTag, ops.LatestTagParams{RegistryRef: ref, Repository: acrBigRepo, TagRegex: `^build-[0-4]\d$`}, &latest)
			if latest.Tag != "build-49" || latest.Digest == "" {
				t.Fatalf("latest %+v", latest)
			}
			var creds ops.LoginCredentials
			c.c.must(t, ops.KindACRLoginCredentials, ops.LoginCredentialsParams{RegistryRef: ref}, &creds)
			if creds.Username != ops.NullUsername || creds.Password == "" || !creds.ExpiresOn.After(time.Now()) {
				t.Fatalf("credentials for %s as %s until %s", creds.LoginServer, creds.Username, creds.ExpiresOn)
			}
			// What docker login and crane accept: crane's client lists
			// with them.
			repo, err := name.NewRepository(acrDemoLogin + "/team/api")
			if err != nil {
				t.Fatal(err)
			}
			list, err := remote.List(repo, remote.WithAuth(&authn.Basic{Username: creds.Username, Password: creds.Password}), remote.WithTransport(sim.HTTPClient().Transport))
			if err != nil || strings.Join(list, " ") != "v1.0.0 v1.1.0 v1.2.0" {
				t.Fatalf("crane with the credentials: %v %v", list, err)
			}
		})
	}
}

func TestACRLatestTagErrors(t *testing.T) {
	sim := acrSim(t, 100)
	c := readerCaller(newACREnv(t, sim, ""))
	ref := ops.RegistryRef{SubscriptionID: acrDemoSub, Registry: "democontoso"}
	e := c.run(t, ops.KindACRLatestTag, ops.LatestTagParams{RegistryRef: ref, Repository: "team/api", TagRegex: "v[1"}, nil)
	if e == nil || e.Message != "TagRegex field contains an invalid regex value 'v[1'." || e.Hint != "Please check tagRegex field in ACR artifact configuration." {
		t.Fatalf("error %+v", e)
	}
	e = c.run(t, ops.KindACRLatestTag, ops.LatestTagParams{RegistryRef: ref, Repository: "team/api", TagRegex: "^v9"}, nil)
	want := "Could not find any tags that match regex [^v9] for ACR repository [team/api] for subscription [" + acrDemoSub + "] in registry [democontoso.azurecr.io]."
	if e == nil || e.Kind != failure.NotFound.String() || e.Message != want {
		t.Fatalf("error %+v", e)
	}
	e = c.run(t, ops.KindACRTag, ops.TagParams{RegistryRef: ref, Repository: "team/api", Tag: "v9"}, nil)
	if e == nil || e.Kind != failure.NotFound.String() || !strings.Contains(e.Message, `Tag "v9"`) {
		t.Fatalf("error %+v", e)
	}
	e = c.run(t, ops.KindACRTag, ops.TagParams{RegistryRef: ops.RegistryRef{SubscriptionID: acrDemoSub, Registry: "nosuch"}, Repository: "team/api", Tag: "v9"}, nil)
	if e == nil || e.Message != "Not found Azure container registry by name: nosuch, subscription id: "+acrDemoSub {
		t.Fatalf("error %+v", e)
	}
}

// ACR tokens are cached per credential across tasks: the second listing
// asks Entra and the registry for nothing.
func TestACRTokensCached(t *testing.T) {
	sim := acrSim(t, 100)
	c := readerCaller(newACREnv(t, sim, ""))
	ref := ops.RegistryRef{LoginServer: acrDemoLogin}
	c.must(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: "team/api"}, nil)
	exchanges, tokens, entra := sim.RequestCount("acr.exchange"), sim.RequestCount("acr.token"), sim.RequestCount("entra.token")
	if exchanges != 1 || tokens != 1 || entra != 1 {
		t.Fatalf("first listing: %d exchanges, %d ACR tokens, %d Entra tokens", exchanges, tokens, entra)
	}
	for range 5 {
		c.must(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: "team/api"}, nil)
		c.must(t, ops.KindACRTag, ops.TagParams{RegistryRef: ref, Repository: "team/api", Tag: "v1.0.0"}, nil)
	}
	if d := sim.RequestCount("acr.exchange") - exchanges; d != 0 {
		t.Errorf("%d more exchanges", d)
	}
	if d := sim.RequestCount("acr.token") - tokens; d != 0 {
		t.Errorf("%d more ACR access tokens", d)
	}
	if d := sim.RequestCount("entra.token") - entra; d != 0 {
		t.Errorf("%d more Entra tokens", d)
	}
	// Another repository needs another scope: one more access token from
	// the cached refresh token, no new exchange.
	c.must(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: "library/nginx"}, nil)
	if sim.RequestCount("acr.exchange") != exchanges || sim.RequestCount("acr.token") != tokens+1 {
		t.Errorf("other repository: %d exchanges, %d ACR tokens", sim.RequestCount("acr.exchange"), sim.RequestCount("acr.token"))
	}
}

func TestAzureSubscriptionsAndResourceGroups(t *testing.T) {
	sim := acrSim(t, 10)
	c := readerCaller(newACREnv(t, sim, ""))
	var subs ops.Subscriptions
	c.must(t, ops.KindSubscriptions, nil, &subs)
	if len(subs.Subscriptions) != 1 || subs.Subscriptions[0].SubscriptionID != acrDemoSub || subs.Subscriptions[0].DisplayName != "Contoso Production" {
		t.Fatalf("subscriptions %+v", subs)
	}
	var rgs ops.ResourceGroups
	c.must(t, ops.KindResourceGroups, ops.ResourceGroupsParams{SubscriptionID: acrDemoSub}, &rgs)
	var got []string
	for _, g := range rgs.ResourceGroups {
		got = append(got, g.Name)
	}
	if strings.Join(got, " ") != "rg-containers rg-identities rg-vms rg-web" {
		t.Fatalf("resource groups %v", got)
	}
	var regs ops.Registries
	c.must(t, ops.KindACRRegistries, ops.RegistriesParams{SubscriptionID: acrDemoSub}, &regs)
	if len(regs.Registries) != 2 || regs.Registries[0].Name != "contosostaging" || regs.Registries[1].LoginServer != acrDemoLogin || regs.Registries[1].ResourceGroup != "rg-containers" {
		t.Fatalf("registries %+v", regs)
	}
	if e := c.run(t, ops.KindResourceGroups, ops.ResourceGroupsParams{}, nil); e == nil || e.Kind != failure.Invalid.String() {
		t.Fatalf("error %+v", e)
	}
}

// ACR tokens are renewed shortly before they expire (by the Env's clock),
// not when the registry refuses them.
func TestACRTokensRenewedBeforeExpiry(t *testing.T) {
	sim := acrSim(t, 10)
	e := newACREnv(t, sim, "")
	var offset atomic.Int64
	base := time.Now()
	e.env.Now = func() time.Time { return base.Add(time.Duration(offset.Load())) }
	c := readerCaller(e)
	list := func() {
		t.Helper()
		c.must(t, ops.KindACRTags, ops.TagsParams{RegistryRef: ops.RegistryRef{LoginServer: acrDemoLogin}, Repository: "team/api"}, nil)
	}
	list()
	if sim.RequestCount("acr.exchange") != 1 || sim.RequestCount("acr.token") != 1 {
		t.Fatalf("%v", sim.RequestCounts())
	}
	// The simulator's tokens live an hour: renewed 5 minutes before.
	offset.Store(int64(54 * time.Minute))
	list()
	if sim.RequestCount("acr.exchange") != 1 || sim.RequestCount("acr.token") != 1 {
		t.Fatalf("renewed too early: %v", sim.RequestCounts())
	}
	offset.Store(int64(56 * time.Minute))
	list()
	if sim.RequestCount("acr.exchange") != 2 || sim.RequestCount("acr.token") != 2 || sim.RequestCount("acr.tags") != 3 {
		t.Fatalf("not renewed: %v", sim.RequestCounts())
	}
}
