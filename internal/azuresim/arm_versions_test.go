package azuresim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// Every ARM route names the api-versions it accepts.
func TestARMRoutesDeclareAPIVersions(t *testing.T) {
	s := StartForTest(t, nil)
	for _, r := range s.arm {
		api, ok := armAPIs[routeArea(r.name)]
		if !ok {
			t.Errorf("route %s (%s %s) declares no api-versions: add its area to armAPIs", r.name, r.method, r.pattern)
			continue
		}
		if api.versions == nil && routeArea(r.name) != "operations" {
			t.Errorf("route %s accepts every version", r.name)
		}
	}
}

// An api-version the route's resource type does not have is refused with
// ARM's error (before authorization), naming the versions it has.
func TestARMAPIVersionPerRoute(t *testing.T) {
	s := StartForTest(t, nil)
	sub := "/subscriptions/" + demoSub
	registry := sub + "/resourceGroups/rg-containers/providers/Microsoft.ContainerRegistry/registries/democontoso"
	tests := []struct {
		name, path, version string
		status              int
		code, message       string
	}{
		{"subscriptions with the RG version", "/subscriptions", "2021-04-01", 400, "InvalidApiVersionParameter",
			"The api-version '2021-04-01' is invalid. The supported versions are '2022-12-01'."},
		{"resource groups with a future version", sub + "/resourcegroups", "2099-01-01", 400, "InvalidApiVersionParameter",
			"The api-version '2099-01-01' is invalid. The supported versions are '2021-04-01'."},
		{"malformed", sub + "/resourcegroups", "yesterday", 400, "InvalidApiVersionParameter",
			"The api-version 'yesterday' is invalid. The supported versions are '2021-04-01'."},
		{"registry with the subscriptions version", registry, "2022-12-01", 400, "NoRegisteredProviderFound",
			"No registered resource provider found for location 'eastus' and API version '2022-12-01' for type 'registries'. The supported api-versions are '2023-07-01'. The supported locations are 'eastus, westeurope, westus2'."},
		{"sites across the subscription", sub + "/providers/Microsoft.Web/sites", "2023-07-01", 400, "NoRegisteredProviderFound",
			"No registered resource provider found for location 'global' and API version '2023-07-01' for type 'sites'. The supported api-versions are '2024-04-01'. The supported locations are 'eastus, westeurope, westus2'."},
		{"role assignments at a group", sub + "/resourceGroups/rg-web/providers/Microsoft.Authorization/roleAssignments", "2015-07-01", 400, "NoRegisteredProviderFound",
			"No registered resource provider found for location 'westeurope' and API version '2015-07-01' for type 'roleAssignments'. The supported api-versions are '2022-04-01'. The supported locations are 'eastus, westeurope, westus2'."},
		{"blueprint assignments", sub + "/providers/Microsoft.Blueprint/blueprintAssignments", "2017-11-11-preview", 400, "NoRegisteredProviderFound",
			"No registered resource provider found for location 'global' and API version '2017-11-11-preview' for type 'blueprintAssignments'. The supported api-versions are '2018-11-01-preview'. The supported locations are 'eastus, westeurope, westus2'."},
		{"the registry with its own version", registry, "2023-07-01", 200, "", ""},
		{"sites with theirs", sub + "/providers/Microsoft.Web/sites", "2024-04-01", 200, "", ""},
	}
	// An identity with no role at all: the version is checked first, so
	// it gets the 400, not a 403.
	token, _, err := s.IssueToken(demoTenant, "azimuth-reader", "https://management.core.windows.net/")
	if err != nil {
		t.Fatal(err)
	}
	noRole, _, err := s.IssueToken(demoTenant, "azimuth-norole", "https://management.core.windows.net/")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens := []string{token}
			if tc.status != 200 {
				tokens = append(tokens, noRole)
			}
			for _, tok := range tokens {
				req, _ := http.NewRequest(http.MethodGet, s.Endpoints(cloud.Public).ResourceManager+tc.path+"?api-version="+tc.version, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := s.HTTPClient().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Message != tc.message {
					t.Fatalf("got %d %s %q\nwant %d %s %q", resp.StatusCode, body.Error.Code, body.Error.Message, tc.status, tc.code, tc.message)
				}
			}
		})
	}
}
