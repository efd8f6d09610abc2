package azuresim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

const (
	acrTenant   = "10000000-0000-4000-8000-0000000000a1"
	acrSub      = "20000000-0000-4000-8000-0000000000a1"
	acrLogin    = "acrtest.azurecr.io"
	acrOther    = "acrother.azurecr.io"
	acrBigRepo  = "big/repo-0"
	acrBigCount = 100_000
	acrRegScope = "/subscriptions/" + acrSub + "/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrtest"
)

// acrWorld: one registry with explicit repositories (one with a
// multi-platform tag and one OCI tag) and a generated repository of
// 100,000 tags; a second registry; an app per role.
const acrWorld = `
tenants:
- id: ` + acrTenant + `
  domain: acrtest.onmicrosoft.com
  apps:
  - {name: pull, appId: 30000000-0000-4000-8000-0000000000a1, objectId: 40000000-0000-4000-8000-0000000000a1, secrets: [{value: pull-secret}]}
  - {name: push, appId: 30000000-0000-4000-8000-0000000000a2, objectId: 40000000-0000-4000-8000-0000000000a2, secrets: [{value: push-secret}]}
  - {name: reader, appId: 30000000-0000-4000-8000-0000000000a3, objectId: 40000000-0000-4000-8000-0000000000a3, secrets: [{value: reader-secret}]}
  - {name: contrib, appId: 30000000-0000-4000-8000-0000000000a4, objectId: 40000000-0000-4000-8000-0000000000a4, secrets: [{value: contrib-secret}]}
  - {name: norole, appId: 30000000-0000-4000-8000-0000000000a5, objectId: 40000000-0000-4000-8000-0000000000a5, secrets: [{value: norole-secret}]}
  - {name: otherpull, appId: 30000000-0000-4000-8000-0000000000a6, objectId: 40000000-0000-4000-8000-0000000000a6, secrets: [{value: otherpull-secret}]}
  - {name: expired, appId: 30000000-0000-4000-8000-0000000000a7, objectId: 40000000-0000-4000-8000-0000000000a7, secrets: [{value: expired-secret, expiresAt: 2020-01-01T00:00:00Z}]}
  subscriptions:
  - id: ` + acrSub + `
    displayName: ACR tests
    resourceGroups:
    - name: rg-acr
      registries:
      - name: acrtest
        adminUserEnabled: true
        adminPasswords: [admin-password-1, admin-password-2]
        repositories:
        - name: library/nginx
          tags:
          - {name: "1.25", created: 2024-03-01T10:00:00Z}
          - {name: "1.26", created: 2024-06-01T10:00:00Z}
          - {name: latest, created: 2024-06-01T10:05:00Z}
          - {name: "1.24", created: 2024-01-01T10:00:00Z, updated: 2024-07-01T10:00:00Z}
        - name: team/api
          tags:
          - {name: v1.0.0, created: 2024-02-01T09:00:00Z}
          - {name: v1.2.0, created: 2024-07-01T09:00:00Z, platforms: [linux/amd64, linux/arm64/v8]}
          - {name: v2.0.0-oci, created: 2024-08-01T09:00:00Z, mediaType: application/vnd.oci.image.manifest.v1+json}
        generate:
          repositories: 1
          tagsPerRepository: 100000
          repositoryPrefix: big/repo-
          tagPrefix: "v1."
          start: 2020-01-01T00:00:00Z
          interval: 1m
      - name: acrother
        repositories:
        - name: app
          tags: [{name: "1"}]
  roleAssignments:
  - {principal: pull, role: AcrPull, scope: ` + acrRegScope + `}
  - {principal: push, role: AcrPush, scope: ` + acrRegScope + `}
  - {principal: reader, role: Reader, scope: /subscriptions/` + acrSub + `/resourceGroups/rg-acr}
  - {principal: contrib, role: Contributor, scope: /subscriptions/` + acrSub + `}
  - {principal: otherpull, role: AcrPull, scope: /subscriptions/` + acrSub + `/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrother}
`

var acrApps = map[string][2]string{
	"pull":      {"30000000-0000-4000-8000-0000000000a1", "pull-secret"},
	"push":      {"30000000-0000-4000-8000-0000000000a2", "push-secret"},
	"reader":    {"30000000-0000-4000-8000-0000000000a3", "reader-secret"},
	"contrib":   {"30000000-0000-4000-8000-0000000000a4", "contrib-secret"},
	"norole":    {"30000000-0000-4000-8000-0000000000a5", "norole-secret"},
	"otherpull": {"30000000-0000-4000-8000-0000000000a6", "otherpull-secret"},
}

func startACRSim(t testing.TB) *Sim {
	t.Helper()
	w, err := ParseWorld([]byte(acrWorld))
	if err != nil {
		t.Fatal(err)
	}
	return StartForTest(t, w)
}

func acrClient(t testing.TB, s *Sim, login, app string) *azcontainerregistry.Client {
	t.Helper()
	id := acrApps[app]
	cred := secretCredTB(t, s, acrTenant, id[0], id[1])
	c, err := azcontainerregistry.NewClient("https://"+login, cred, &azcontainerregistry.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: azcloud.Configuration{Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{
			azcontainerregistry.ServiceName: {Audience: "https://containerregistry.azure.net"},
		}},
		Transport: s.HTTPClient(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// acrDo sends a GET to a registry with an Authorization header ("" for
// none) and returns the response with its body read.
func acrDo(t testing.TB, s *Sim, method, u, auth string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// aadToken gets an Entra token for an app of the ACR world.
func aadToken(t testing.TB, s *Sim, app, scope string) string {
	t.Helper()
	id := acrApps[app]
	tok, err := secretCredTB(t, s, acrTenant, id[0], id[1]).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// acrRefresh exchanges an app's Entra token for an ACR refresh token.
func acrRefresh(t testing.TB, s *Sim, login, app string) string {
	t.Helper()
	resp, b := acrDo(t, s, http.MethodPost, "https://"+login+"/oauth2/exchange?api-version=2021-07-01", "", url.Values{
		"grant_type": {"access_token"}, "service": {login}, "access_token": {aadToken(t, s, app, "https://containerregistry.azure.net/.default")},
	})
	if resp.StatusCode != 200 {
		t.Fatalf("exchange for %s: %d %s", app, resp.StatusCode, b)
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.RefreshToken == "" {
		t.Fatalf("exchange body %s: %v", b, err)
	}
	return out.RefreshToken
}

// acrAccessFor trades a refresh token for an access token.
func acrAccessFor(t testing.TB, s *Sim, login, refresh string, scopes ...string) (int, string, []byte) {
	t.Helper()
	resp, b := acrDo(t, s, http.MethodPost, "https://"+login+"/oauth2/token?api-version=2021-07-01", "", url.Values{
		"grant_type": {"refresh_token"}, "service": {login}, "scope": scopes, "refresh_token": {refresh},
	})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.AccessToken, b
}

func tokenAccess(t testing.TB, tok string) []acrAccess {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c acrClaims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Access
}

func dockerErrorCode(t testing.TB, b []byte) string {
	t.Helper()
	var env struct {
		Errors []acrErr `json:"errors"`
	}
	if err := json.Unmarshal(b, &env); err != nil || len(env.Errors) == 0 {
		t.Fatalf("body %q is not a Docker error envelope: %v", b, err)
	}
	return env.Errors[0].Code
}

func TestACRChallenge(t *testing.T) {
	s := startACRSim(t)
	tests := []struct {
		path, want string
	}{
		{"/v2/", `Bearer realm="https://acrtest.azurecr.io/oauth2/token",service="acrtest.azurecr.io"`},
		{"/acr/v1/_catalog", `Bearer realm="https://acrtest.azurecr.io/oauth2/token",service="acrtest.azurecr.io",scope="registry:catalog:*"`},
		{"/v2/_catalog", `Bearer realm="https://acrtest.azurecr.io/oauth2/token",service="acrtest.azurecr.io",scope="registry:catalog:*"`},
		{"/acr/v1/library%2Fnginx/_tags?api-version=2021-07-01", `Bearer realm="https://acrtest.azurecr.io/oauth2/token",service="acrtest.azurecr.io",scope="repository:library/nginx:metadata_read"`},
		{"/v2/library/nginx/tags/list", `Bearer realm="https://acrtest.azurecr.io/oauth2/token",service="acrtest.azurecr.io",scope="repository:library/nginx:pull"`},
		{"/v2/library/nginx/manifests/latest", `Bearer realm="https://acrtest.azurecr.io/oauth2/token",service="acrtest.azurecr.io",scope="repository:library/nginx:pull"`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+tc.path, "", nil)
			if resp.StatusCode != 401 {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.want {
				t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, tc.want)
			}
			if got := resp.Header.Get("Docker-Distribution-Api-Version"); got != "registry/2.0" {
				t.Errorf("Docker-Distribution-Api-Version %q", got)
			}
			if code := dockerErrorCode(t, b); code != "UNAUTHORIZED" {
				t.Errorf("code %s", code)
			}
		})
	}
	t.Run("detail names the access", func(t *testing.T) {
		_, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/acr/v1/team%2Fapi/_tags", "", nil)
		want := `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit https://aka.ms/acr/authorization for more information.","detail":[{"Action":"metadata_read","Name":"team/api","Type":"repository"}]}]}`
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("body\n got %s\nwant %s", b, want)
		}
	})
}

func TestACRSDKListing(t *testing.T) {
	s := startACRSim(t)
	ctx := context.Background()
	c := acrClient(t, s, acrLogin, "pull")

	t.Run("repositories, two per page", func(t *testing.T) {
		var names []string
		pages := 0
		for p := c.NewListRepositoriesPager(&azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr[int32](2)}); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, n := range page.Names {
				names = append(names, *n)
			}
		}
		want := []string{"big/repo-0", "library/nginx", "team/api"}
		if !slices.Equal(names, want) || pages != 2 {
			t.Errorf("got %v in %d pages, want %v in 2", names, pages, want)
		}
	})

	t.Run("explicit tags in every order, one per page", func(t *testing.T) {
		for _, tc := range []struct {
			order azcontainerregistry.ArtifactTagOrderBy
			want  []string
		}{
			{"", []string{"1.24", "1.25", "1.26", "latest"}},
			{azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending, []string{"1.24", "latest", "1.26", "1.25"}},
			{azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending, []string{"1.25", "1.26", "latest", "1.24"}},
		} {
			opts := &azcontainerregistry.ClientListTagsOptions{MaxNum: to.Ptr[int32](1)}
			if tc.order != "" {
				opts.OrderBy = to.Ptr(tc.order)
			}
			var got []string
			for p := c.NewListTagsPager("library/nginx", opts); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if *page.RegistryLoginServer != acrLogin || *page.Repository != "library/nginx" {
					t.Errorf("page names %s %s", *page.RegistryLoginServer, *page.Repository)
				}
				for _, tg := range page.Tags {
					got = append(got, *tg.Name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("orderby %q: got %v, want %v", tc.order, got, tc.want)
			}
		}
	})

	// Paging through the 100,000-tag repository with the SDK, newest
	// first and oldest first, from a position near either end (a full
	// traversal with the SDK's decoding is left to the benchmarks: it takes
	// a minute under -race); TestACRV2Listing walks all 100,000.
	t.Run("100,000 generated tags, paged in time order", func(t *testing.T) {
		for _, tc := range []struct {
			order       azcontainerregistry.ArtifactTagOrderBy
			last        string
			first, tail string
			count       int
		}{
			{azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending, "", "v1.99999", "", 0},
			{azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending, "v1.02500", "v1.02499", "v1.00000", 2500},
			{azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending, "v1.97499", "v1.97500", "v1.99999", 2500},
		} {
			s.ResetCounters()
			opts := &azcontainerregistry.ClientListTagsOptions{MaxNum: to.Ptr[int32](1000), OrderBy: to.Ptr(tc.order)}
			if tc.last != "" {
				opts.Last = to.Ptr(tc.last)
			}
			var prev *time.Time
			var names []string
			for p := c.NewListTagsPager(acrBigRepo, opts); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, tg := range page.Tags {
					if prev != nil && tg.LastUpdatedOn.Equal(*prev) {
						t.Fatalf("tag %s has the time of the one before", *tg.Name)
					}
					if prev != nil && tg.LastUpdatedOn.Before(*prev) != (tc.order == azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending) {
						t.Fatalf("tag %s (%v) is out of %s order after %v", *tg.Name, tg.LastUpdatedOn, tc.order, prev)
					}
					prev = tg.LastUpdatedOn
					names = append(names, *tg.Name)
				}
				if tc.count == 0 {
					break
				}
			}
			if names[0] != tc.first || (tc.count > 0 && (len(names) != tc.count || names[len(names)-1] != tc.tail)) {
				t.Errorf("%s from %q: %d tags %s..%s, want %d %s..%s", tc.order, tc.last, len(names), names[0], names[len(names)-1], tc.count, tc.first, tc.tail)
			}
			// The client exchanged in earlier subtests: the SDK caches the
			// refresh token; each pager needs at most one new access token.
			if ex, tk := s.RequestCount("acr.exchange"), s.RequestCount("acr.token"); ex != 0 || tk > 1 {
				t.Errorf("acr.exchange served %d requests and acr.token %d, want 0 and at most 1", ex, tk)
			}
		}
	})

	t.Run("tag properties and manifest", func(t *testing.T) {
		tp, err := c.GetTagProperties(ctx, "library/nginx", "latest", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *tp.Tag.Name != "latest" || !tp.Tag.CreatedOn.Equal(time.Date(2024, 6, 1, 10, 5, 0, 0, time.UTC)) || !*tp.Tag.ChangeableAttributes.CanRead {
			t.Errorf("tag properties %+v", tp.Tag)
		}
		m, err := c.GetManifest(ctx, "library/nginx", "latest", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(MediaTypeDockerManifest)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(m.ManifestData)
		sum := sha256.Sum256(body)
		if d := "sha256:" + hex.EncodeToString(sum[:]); d != *m.DockerContentDigest || d != *tp.Tag.Digest {
			t.Errorf("manifest hashes to %s; Docker-Content-Digest %s; tag digest %s", d, *m.DockerContentDigest, *tp.Tag.Digest)
		}
		var doc manifestDoc
		if err := json.Unmarshal(body, &doc); err != nil || doc.MediaType != MediaTypeDockerManifest || doc.Config.MediaType != mediaTypeDockerConfig {
			t.Errorf("manifest %s: %v", body, err)
		}
		mp, err := c.GetManifestProperties(ctx, "library/nginx", *tp.Tag.Digest, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *mp.Manifest.Digest != *tp.Tag.Digest || *mp.Manifest.Architecture != "amd64" || len(mp.Manifest.Tags) != 1 || *mp.Manifest.Tags[0] != "latest" {
			t.Errorf("manifest properties %+v", mp.Manifest)
		}
	})

	t.Run("generated tag by digest", func(t *testing.T) {
		tp, err := c.GetTagProperties(ctx, acrBigRepo, "v1.54321", nil)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := c.GetManifestProperties(ctx, acrBigRepo, *tp.Tag.Digest, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(mp.Manifest.Tags) != 1 || *mp.Manifest.Tags[0] != "v1.54321" {
			t.Errorf("manifest tags %v", mp.Manifest.Tags)
		}
	})

	t.Run("multi-platform tag is a manifest list", func(t *testing.T) {
		_, err := c.GetManifest(ctx, "team/api", "v1.2.0", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(MediaTypeDockerManifest)})
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 404 {
			t.Fatalf("GetManifest accepting only a single manifest: %v, want 404", err)
		}
		m, err := c.GetManifest(ctx, "team/api", "v1.2.0", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(MediaTypeDockerList)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(m.ManifestData)
		var idx indexDoc
		if err := json.Unmarshal(body, &idx); err != nil || len(idx.Manifests) != 2 || idx.Manifests[1].Platform.Variant != "v8" {
			t.Fatalf("index %s: %v", body, err)
		}
		mp, err := c.GetManifestProperties(ctx, "team/api", *m.DockerContentDigest, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *mp.Manifest.MediaType != MediaTypeDockerList || len(mp.Manifest.RelatedArtifacts) != 2 || *mp.Manifest.RelatedArtifacts[1].Architecture != "arm64" {
			t.Errorf("index properties %+v", mp.Manifest)
		}
		child, err := c.GetManifestProperties(ctx, "team/api", idx.Manifests[1].Digest, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *child.Manifest.Architecture != "arm64" || len(child.Manifest.Tags) != 0 {
			t.Errorf("platform manifest properties %+v", child.Manifest)
		}
	})

	t.Run("OCI manifest", func(t *testing.T) {
		m, err := c.GetManifest(ctx, "team/api", "v2.0.0-oci", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(MediaTypeOCIManifest)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(m.ManifestData)
		var doc manifestDoc
		if err := json.Unmarshal(body, &doc); err != nil || doc.MediaType != MediaTypeOCIManifest || doc.Config.MediaType != mediaTypeOCIConfig {
			t.Errorf("manifest %s: %v", body, err)
		}
	})

	t.Run("unknown repository and tag", func(t *testing.T) {
		_, err := c.GetTagProperties(ctx, "library/nginx", "nope", nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 404 {
			t.Errorf("unknown tag: %v", err)
		}
		_, err = c.GetTagProperties(ctx, "no/such", "latest", nil)
		if !errors.As(err, &re) || re.StatusCode != 404 {
			t.Errorf("unknown repository: %v", err)
		}
	})
}

func TestACRTokenRBAC(t *testing.T) {
	s := startACRSim(t)
	tests := []struct {
		app         string
		login       string
		scope       string
		wantStatus  int
		wantActions []string
	}{
		{"pull", acrLogin, "repository:team/api:pull,push", 200, []string{"pull"}},
		{"pull", acrLogin, "repository:team/api:metadata_read", 200, []string{"metadata_read"}},
		{"pull", acrLogin, "registry:catalog:*", 200, []string{"*"}},
		{"pull", acrLogin, "repository:team/api:push", 401, nil},
		{"push", acrLogin, "repository:team/api:pull,push", 200, []string{"pull", "push"}},
		{"push", acrLogin, "repository:team/api:delete", 401, nil},
		{"reader", acrLogin, "repository:team/api:pull,push", 200, []string{"pull"}},
		{"contrib", acrLogin, "repository:team/api:pull,push,delete", 200, []string{"pull", "push", "delete"}},
		{"contrib", acrLogin, "repository:team/api:*", 200, []string{"pull", "push", "delete", "metadata_read", "metadata_write"}},
		{"norole", acrLogin, "repository:team/api:pull", 401, nil},
		{"norole", acrLogin, "registry:catalog:*", 401, nil},
		{"otherpull", acrLogin, "repository:team/api:pull", 401, nil},
		{"otherpull", acrOther, "repository:app:pull", 200, []string{"pull"}},
	}
	for _, tc := range tests {
		t.Run(tc.app+" "+tc.login+" "+tc.scope, func(t *testing.T) {
			refresh := acrRefresh(t, s, tc.login, tc.app)
			status, tok, body := acrAccessFor(t, s, tc.login, refresh, tc.scope)
			if status != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", status, body, tc.wantStatus)
			}
			if status != 200 {
				if code := dockerErrorCode(t, body); code != "UNAUTHORIZED" {
					t.Errorf("code %s", code)
				}
				return
			}
			acc := tokenAccess(t, tok)
			if len(acc) != 1 || !slices.Equal(acc[0].Actions, tc.wantActions) {
				t.Errorf("access %+v, want actions %v", acc, tc.wantActions)
			}
		})
	}

	t.Run("SDK surfaces a 401 for an identity without a role", func(t *testing.T) {
		c := acrClient(t, s, acrLogin, "norole")
		_, err := c.NewListRepositoriesPager(nil).NextPage(context.Background())
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 401 {
			t.Fatalf("got %v, want a 401 ResponseError", err)
		}
	})

	t.Run("an access token for the catalog is challenged on a repository", func(t *testing.T) {
		_, tok, _ := acrAccessFor(t, s, acrLogin, acrRefresh(t, s, acrLogin, "pull"), "registry:catalog:*")
		resp, _ := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/acr/v1/team%2Fapi/_tags", "Bearer "+tok, nil)
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="repository:team/api:metadata_read",error="insufficient_scope"`) {
			t.Errorf("status %d, challenge %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/acr/v1/_catalog", "Bearer "+tok, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "library/nginx") {
			t.Errorf("catalog with the token: %d %s", resp.StatusCode, b)
		}
	})
}

func TestACRRefreshToken(t *testing.T) {
	s := startACRSim(t)
	refresh := acrRefresh(t, s, acrLogin, "pull")
	parts := strings.Split(refresh, ".")
	if len(parts) != 3 || strings.ContainsAny(parts[1], "-_") {
		t.Fatalf("refresh token payload %q must be std-base64 safe", parts[1])
	}
	// As the Go SDK reads exp: pad and decode with StdEncoding.
	p := parts[1] + strings.Repeat("=", (4-len(parts[1])%4)%4)
	b, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"jti", "sub", "nbf", "exp", "iat", "iss", "aud", "version", "grant_type", "tenant", "permissions", "roles"} {
		if _, ok := c[k]; !ok {
			t.Errorf("refresh token lacks %s: %s", k, b)
		}
	}
	if c["iss"] != acrIssuer || c["aud"] != acrLogin || c["grant_type"] != "refresh_token" || c["tenant"] != acrTenant {
		t.Errorf("claims %s", b)
	}

	t.Run("a refresh token is not an access token", func(t *testing.T) {
		resp, _ := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/", "Bearer "+refresh, nil)
		if resp.StatusCode != 401 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("another registry refuses it", func(t *testing.T) {
		status, _, _ := acrAccessFor(t, s, acrOther, refresh, "repository:app:pull")
		if status != 401 {
			t.Errorf("status %d", status)
		}
	})
	t.Run("it expires", func(t *testing.T) {
		s.SetClockSkew(2 * time.Hour)
		defer s.SetClockSkew(0)
		status, _, body := acrAccessFor(t, s, acrLogin, refresh, "repository:team/api:pull")
		if status != 401 || !strings.Contains(string(body), "expired") {
			t.Errorf("status %d %s", status, body)
		}
	})
}

func TestACRExchangeValidatesTheAADToken(t *testing.T) {
	s := startACRSim(t)
	exchange := func(tok string) (int, []byte) {
		resp, b := acrDo(t, s, http.MethodPost, "https://"+acrLogin+"/oauth2/exchange?api-version=2021-07-01", "", url.Values{
			"grant_type": {"access_token"}, "service": {acrLogin}, "access_token": {tok},
		})
		return resp.StatusCode, b
	}
	acrTok := aadToken(t, s, "pull", "https://containerregistry.azure.net/.default")
	tests := []struct {
		name   string
		token  string
		skew   time.Duration
		status int
	}{
		{"registry audience", acrTok, 0, 200},
		{"ARM audience (as Azure accepts)", aadToken(t, s, "pull", "https://management.core.windows.net//.default"), 0, 200},
		{"AKS audience", aadToken(t, s, "pull", cloud.DefaultAKS+"/.default"), 0, 401},
		{"tampered", acrTok[:len(acrTok)-4] + "AAAA", 0, 401},
		{"expired", acrTok, 3 * time.Hour, 401},
		{"not a JWT", "nope", 0, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.SetClockSkew(tc.skew)
			defer s.SetClockSkew(0)
			status, b := exchange(tc.token)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, b, tc.status)
			}
			if status != 200 && dockerErrorCode(t, b) != "UNAUTHORIZED" {
				t.Errorf("body %s", b)
			}
		})
	}
}

func TestACRBasicAndPasswordGrants(t *testing.T) {
	s := startACRSim(t)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tokenURL := "https://" + acrLogin + "/oauth2/token?service=" + acrLogin + "&scope=" + url.QueryEscape("repository:team/api:pull")
	refresh := acrRefresh(t, s, acrLogin, "pull")
	tests := []struct {
		name, auth string
		status     int
	}{
		{"service principal id and secret", basic(acrApps["pull"][0], "pull-secret"), 200},
		{"wrong secret", basic(acrApps["pull"][0], "nope"), 401},
		{"expired secret", basic("30000000-0000-4000-8000-0000000000a7", "expired-secret"), 401},
		{"principal without a role", basic(acrApps["norole"][0], "norole-secret"), 401},
		{"admin user", basic("acrtest", "admin-password-2"), 200},
		{"admin user, wrong password", basic("acrtest", "admin-password-3"), 401},
		{"null GUID and refresh token (docker login)", basic(acrNullUser, refresh), 200},
		{"anonymous", "", 401},
	}
	for _, tc := range tests {
		t.Run("GET "+tc.name, func(t *testing.T) {
			resp, b := acrDo(t, s, http.MethodGet, tokenURL, tc.auth, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.status)
			}
			if tc.status == 200 {
				var out struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.Unmarshal(b, &out)
				if acc := tokenAccess(t, out.AccessToken); len(acc) != 1 || acc[0].Name != "team/api" {
					t.Errorf("access %+v", acc)
				}
			}
		})
	}

	t.Run("password grant", func(t *testing.T) {
		resp, b := acrDo(t, s, http.MethodPost, "https://"+acrLogin+"/oauth2/token", "", url.Values{
			"grant_type": {"password"}, "service": {acrLogin}, "scope": {"registry:catalog:*"},
			"username": {acrApps["reader"][0]}, "password": {"reader-secret"},
		})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d %s", resp.StatusCode, b)
		}
		resp, b = acrDo(t, s, http.MethodPost, "https://"+acrLogin+"/oauth2/token", "", url.Values{
			"grant_type": {"password"}, "service": {acrLogin}, "scope": {"registry:catalog:*"}, "refresh_token": {""},
		})
		if resp.StatusCode != 401 || !strings.Contains(string(b), "anonymous pull is not enabled") {
			t.Errorf("anonymous password grant: %d %s", resp.StatusCode, b)
		}
	})

	t.Run("Basic straight on the data plane", func(t *testing.T) {
		for _, tc := range []struct {
			name, auth string
			status     int
		}{
			{"AcrPull", basic(acrApps["pull"][0], "pull-secret"), 200},
			{"admin", basic("acrtest", "admin-password-1"), 200},
			{"no role", basic(acrApps["norole"][0], "norole-secret"), 403},
			{"bad secret", basic(acrApps["pull"][0], "x"), 401},
		} {
			resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/_catalog", tc.auth, nil)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: status %d (%s), want %d", tc.name, resp.StatusCode, b, tc.status)
			}
			if tc.status == 403 && dockerErrorCode(t, b) != "DENIED" {
				t.Errorf("%s: body %s", tc.name, b)
			}
		}
	})

	t.Run("admin user disabled", func(t *testing.T) {
		resp, _ := acrDo(t, s, http.MethodGet, "https://"+acrOther+"/oauth2/token?service="+acrOther, basic("acrother", "anything"), nil)
		if resp.StatusCode != 401 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

// pullToken is an access token of the pull app for scopes.
func pullToken(t testing.TB, s *Sim, scopes ...string) string {
	t.Helper()
	status, tok, b := acrAccessFor(t, s, acrLogin, acrRefresh(t, s, acrLogin, "pull"), scopes...)
	if status != 200 {
		t.Fatalf("token: %d %s", status, b)
	}
	return tok
}

func TestACRV2Listing(t *testing.T) {
	s := startACRSim(t)
	tok := "Bearer " + pullToken(t, s, "repository:"+acrBigRepo+":pull", "registry:catalog:*", "repository:library/nginx:pull")

	t.Run("Harness's call: newest 500 tags", func(t *testing.T) {
		resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/"+acrBigRepo+"/tags/list?n=500&orderby=timedesc", tok, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var out struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Name != acrBigRepo || len(out.Tags) != 500 || out.Tags[0] != "v1.99999" || out.Tags[499] != "v1.99500" {
			t.Errorf("got %s with %d tags %s..%s", out.Name, len(out.Tags), out.Tags[0], out.Tags[len(out.Tags)-1])
		}
		if got, want := resp.Header.Get("Link"), `</v2/big/repo-0/tags/list?last=v1.99500&n=500&orderby=timedesc>; rel="next"`; got != want {
			t.Errorf("Link %q, want %q", got, want)
		}
	})

	t.Run("all 100,000 tags, once each, in name order", func(t *testing.T) {
		next := "/v2/" + acrBigRepo + "/tags/list?n=1000"
		n, prev := 0, ""
		for next != "" {
			resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+next, tok, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", next, resp.StatusCode, b)
			}
			var out struct{ Tags []string }
			_ = json.Unmarshal(b, &out)
			for _, tag := range out.Tags {
				if tag <= prev {
					t.Fatalf("tag %q after %q", tag, prev)
				}
				prev = tag
				n++
			}
			next = ""
			if l := resp.Header.Get("Link"); l != "" {
				next = l[1:strings.Index(l, ">")]
			}
		}
		if n != acrBigCount {
			t.Errorf("listed %d tags, want %d", n, acrBigCount)
		}
	})

	t.Run("following Link visits every tag once", func(t *testing.T) {
		next := "/v2/library/nginx/tags/list?n=3"
		var all []string
		for next != "" {
			resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+next, tok, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", next, resp.StatusCode, b)
			}
			var out struct{ Tags []string }
			_ = json.Unmarshal(b, &out)
			all = append(all, out.Tags...)
			next = ""
			if l := resp.Header.Get("Link"); l != "" {
				if strings.Contains(l, "api-version") || !strings.HasPrefix(l, "</") {
					t.Errorf("Link %q must be relative without api-version", l)
				}
				next = l[1:strings.Index(l, ">")]
			}
		}
		if want := []string{"1.24", "1.25", "1.26", "latest"}; !slices.Equal(all, want) {
			t.Errorf("got %v, want %v", all, want)
		}
	})

	t.Run("catalog paging", func(t *testing.T) {
		resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/_catalog?n=1", tok, nil)
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"repositories":["big/repo-0"]}` {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		if got, want := resp.Header.Get("Link"), `</v2/_catalog?last=big%2Frepo-0&n=1&orderby=>; rel="next"`; got != want {
			t.Errorf("Link %q, want %q", got, want)
		}
		resp, b = acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/_catalog?last=library%2Fnginx", tok, nil)
		if strings.TrimSpace(string(b)) != `{"repositories":["team/api"]}` || resp.Header.Get("Link") != "" {
			t.Errorf("last page: %s, Link %q", b, resp.Header.Get("Link"))
		}
	})

	t.Run("bad n", func(t *testing.T) {
		resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/_catalog?n=zero", tok, nil)
		if resp.StatusCode != 400 || dockerErrorCode(t, b) != "PAGINATION_NUMBER_INVALID" {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("unknown repository", func(t *testing.T) {
		tok := "Bearer " + pullToken(t, s, "repository:no/such:pull")
		resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/no/such/tags/list", tok, nil)
		if resp.StatusCode != 404 || dockerErrorCode(t, b) != "NAME_UNKNOWN" {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("HEAD manifest and config blob", func(t *testing.T) {
		resp, _ := acrDo(t, s, http.MethodHead, "https://"+acrLogin+"/v2/library/nginx/manifests/1.25", tok, nil)
		d := resp.Header.Get("Docker-Content-Digest")
		if resp.StatusCode != 200 || !strings.HasPrefix(d, "sha256:") || resp.Header.Get("Content-Type") != MediaTypeDockerManifest {
			t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
		}
		resp, body := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/library/nginx/manifests/"+d, tok, nil)
		if resp.StatusCode != 200 || digestOf(body) != d {
			t.Fatalf("GET by digest: %d, body hashes to %s, want %s", resp.StatusCode, digestOf(body), d)
		}
		var doc manifestDoc
		_ = json.Unmarshal(body, &doc)
		resp, cfg := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/library/nginx/blobs/"+doc.Config.Digest, tok, nil)
		if resp.StatusCode != 200 || digestOf(cfg) != doc.Config.Digest || int64(len(cfg)) != doc.Config.Size {
			t.Fatalf("config blob: %d %s", resp.StatusCode, cfg)
		}
		resp, b := acrDo(t, s, http.MethodGet, "https://"+acrLogin+"/v2/library/nginx/blobs/"+doc.Layers[0].Digest, tok, nil)
		if resp.StatusCode != 404 || dockerErrorCode(t, b) != "BLOB_UNKNOWN" {
			t.Errorf("layer blob: %d %s", resp.StatusCode, b)
		}
	})
}

func TestACRFaultsAndCounters(t *testing.T) {
	s := startACRSim(t)
	tok := "Bearer " + pullToken(t, s, "repository:library/nginx:metadata_read")
	if _, err := s.AddFault(Fault{Route: "acr.tags", Status: 429, RetryAfter: Duration(2 * time.Second), Times: 1}); err != nil {
		t.Fatal(err)
	}
	s.ResetCounters()
	u := "https://" + acrLogin + "/acr/v1/library%2Fnginx/_tags?n=2"
	resp, b := acrDo(t, s, http.MethodGet, u, tok, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || dockerErrorCode(t, b) != "TOOMANYREQUESTS" {
		t.Fatalf("faulted: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	resp, b = acrDo(t, s, http.MethodGet, u, tok, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("after the fault: %d %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Link"); got != `</acr/v1/library/nginx/_tags?last=1.25&n=2&orderby=>; rel="next"` {
		t.Errorf("Link %q", got)
	}
	if got := s.RequestCount("acr.tags"); got != 2 {
		t.Errorf("acr.tags count %d, want 2", got)
	}
}

// secretCredTB is secretCred for tests and benchmarks.
func secretCredTB(t testing.TB, s *Sim, tenant, clientID, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            clientOptions(s, cloud.Public),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// The listing's cached digests are the digests of the manifests served.
func TestACRCachedDigestsMatchManifests(t *testing.T) {
	s := startACRSim(t)
	a := s.acrRegistry("acrtest")
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, _ := a.reg.Repo(acrBigRepo)
	for _, i := range []int{0, 1, 4242, acrBigCount - 1, 4242} {
		listed := a.tagAt(v, i)
		want := v.TagAt(i)
		_, art := a.resolve(v, i)
		if listed.Name != want.Name || listed.Digest != want.Digest || !listed.Created.Equal(want.Created) {
			t.Errorf("tag %d: listed %+v, TagAt %+v", i, listed, want)
		}
		if listed.Digest != art.digest || digestOf(art.body) != listed.Digest {
			t.Errorf("tag %d: listed digest %s, manifest %s hashing to %s", i, listed.Digest, art.digest, digestOf(art.body))
		}
	}
}
