package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/azimuthcd/azimuth/internal/connector"
)

// Harness-shaped probes: what Harness itself does with a connector, tried
// end to end against the simulator as the connector's identity. Unlike the
// per-action probes, they do not depend on the grant scope a verdict chose:
// a verdict that puts a capability at the wrong scope disagrees with them.

// pRepo is the repository (with one tag) of every registry of the world.
const pRepo = "team/api"

// callV sends one ARM request as id with an api-version of the route's
// own (the one Harness or the SDK sends).
func (h *permHarness) callV(t *testing.T, id pIdentity, method, path, version string) (int, []byte) {
	t.Helper()
	c := h.arm(t, id)
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = runtime.JoinPaths(c.Endpoint(), path)
	}
	req, err := runtime.NewRequest(context.Background(), method, u)
	if err != nil {
		t.Fatal(err)
	}
	if version != "" {
		q := req.Raw().URL.Query()
		q.Set("api-version", version)
		req.Raw().URL.RawQuery = q.Encode()
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var b []byte
	b, err = runtime.Payload(resp)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// pAPIVersion is the api-version the SDK module (or Azimuth's raw client)
// sends for an ARM path: ARM routes by type and version, and refuses a
// version the type does not have.
func pAPIVersion(path string) string {
	p := strings.ToLower(path)
	ns := ""
	if i := strings.LastIndex(p, "/providers/"); i >= 0 {
		ns, _, _ = strings.Cut(p[i+len("/providers/"):], "/")
	}
	switch ns {
	case "microsoft.authorization":
		return "2022-04-01"
	case "microsoft.resources":
		return "2021-04-01"
	case "microsoft.blueprint":
		return "2018-11-01-preview"
	case "microsoft.containerregistry":
		return "2023-07-01"
	case "microsoft.containerservice":
		return "2025-02-01"
	case "microsoft.web":
		return "2024-04-01"
	case "microsoft.compute":
		return "2025-04-01"
	case "microsoft.network":
		return "2025-01-01"
	}
	if strings.Contains(p, "/resourcegroups") {
		return "2021-04-01"
	}
	return "2022-12-01" // subscriptions
}

// registriesIn are the registries of the world inside target (a registry:
// itself; a resource group: its registries; a subscription: all).
func registriesIn(target string) []string {
	switch {
	case strings.EqualFold(target, pReg):
		return []string{"appreg"}
	case strings.EqualFold(target, pRG):
		return []string{"appreg", "appreg2"}
	case strings.EqualFold(target, pRGOther):
		return []string{"otherreg", "otherreg2"}
	case strings.EqualFold(target, pSubID):
		return []string{"appreg", "appreg2", "otherreg", "otherreg2"}
	}
	return nil
}

// findRegistriesDenies is Harness's registry lookup: list every registry
// of the subscription (every page), then look the registries of target up
// by name, case-insensitively. A refused list or a registry not found is
// a denial ("No registry found with given Subscription" / "Not found
// Azure container registry by name").
func (h *permHarness) findRegistriesDenies(t *testing.T, id pIdentity, target string) (denied bool, loginServers map[string]string) {
	t.Helper()
	want := registriesIn(target)
	if want == nil {
		t.Fatalf("no registries known in %s", target)
	}
	found := map[string]string{}
	next, version := pSubID+"/providers/Microsoft.ContainerRegistry/registries", "2023-07-01"
	for pages := 0; next != ""; pages++ {
		if pages > 50 {
			t.Fatalf("listing registries: too many pages")
		}
		status, body := h.callV(t, id, http.MethodGet, next, version)
		if status == http.StatusForbidden {
			return true, nil
		}
		if status != http.StatusOK {
			t.Fatalf("listing registries as %s: %d %s", id.name(), status, body)
		}
		var page struct {
			Value []struct {
				Name       string `json:"name"`
				Properties struct {
					LoginServer string `json:"loginServer"`
				} `json:"properties"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Value {
			found[strings.ToLower(r.Name)] = strings.ToLower(r.Properties.LoginServer)
		}
		next, version = page.NextLink, ""
	}
	for _, w := range want {
		if _, ok := found[w]; !ok {
			return true, nil
		}
	}
	return false, found
}

// acrArtifactDenies is Harness's ACR artifact source end to end: find the
// registry by name in the subscription's list, then list a repository's
// tags through the registry's data plane (Entra token exchanged for an
// ACR refresh token, then an access token for the repository's
// metadata_read and pull, which /v2/<repo>/tags/list asks for).
func (h *permHarness) acrArtifactDenies(t *testing.T, id pIdentity) bool {
	t.Helper()
	denied, servers := h.findRegistriesDenies(t, id, pReg)
	if denied {
		return true
	}
	login := servers["appreg"]
	if login == "" {
		t.Fatalf("registry appreg listed without a login server")
	}
	cred, err := h.factory.Credential(pConnector(id), map[string][]byte{connector.PathSecretRef: []byte(id.secret)}, "probe")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatal(err)
	}
	c := h.sim.HTTPClient()
	form := func(path string, v url.Values) (map[string]any, int) {
		resp, err := c.PostForm("https://"+login+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
		}
		return out, resp.StatusCode
	}
	rt, status := form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {login}, "access_token": {tok.Token}})
	if status != http.StatusOK {
		return true
	}
	at, status := form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {login},
		"scope": {"repository:" + pRepo + ":metadata_read,pull"}, "refresh_token": {fmt.Sprint(rt["refresh_token"])}})
	if status != http.StatusOK {
		return true
	}
	req, _ := http.NewRequest(http.MethodGet, "https://"+login+"/v2/"+pRepo+"/tags/list?n=500&orderby=timedesc", nil)
	req.Header.Set("Authorization", "Bearer "+fmt.Sprint(at["access_token"]))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var tags struct {
			Tags []string `json:"tags"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tags); err != nil || !slices.Contains(tags.Tags, "v1") {
			t.Fatalf("tags of %s: %v %v", pRepo, tags, err)
		}
		return false
	case http.StatusUnauthorized, http.StatusForbidden:
		return true
	}
	t.Fatalf("tags of %s: %d", pRepo, resp.StatusCode)
	return false
}

// kubeconfigDenies is Harness's kubeconfig fetch with user credentials:
// POST listClusterUserCredential, take kubeconfigs[0].value and decode it.
// (Harness sends api-version 2022-02-01; the simulator serves the SDK's.)
func (h *permHarness) kubeconfigDenies(t *testing.T, id pIdentity) bool {
	t.Helper()
	status, body := h.callV(t, id, http.MethodPost, pAKS+"/listClusterUserCredential", pAPIVersion(pAKS))
	switch status {
	case http.StatusForbidden:
		return true
	case http.StatusOK:
	default:
		t.Fatalf("listClusterUserCredential as %s: %d %s", id.name(), status, body)
	}
	var creds struct {
		Kubeconfigs []struct {
			Value string `json:"value"`
		} `json:"kubeconfigs"`
	}
	if err := json.Unmarshal(body, &creds); err != nil || len(creds.Kubeconfigs) == 0 {
		t.Fatalf("credential results %s: %v", body, err)
	}
	kc, err := base64.StdEncoding.DecodeString(creds.Kubeconfigs[0].Value)
	if err != nil || !strings.Contains(string(kc), "server:") {
		t.Fatalf("kubeconfig %q: %v", kc, err)
	}
	return false
}
