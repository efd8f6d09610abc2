package azuresim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// TestListFiltering checks ARM's list semantics: a list answers the items
// the caller may read (200, possibly with an empty value) when the caller
// holds the list's read action anywhere at or inside the list's scope, and
// 403 AuthorizationFailed only when it holds it nowhere there.
func TestListFiltering(t *testing.T) {
	s := StartForTest(t, nil)
	sub := "/subscriptions/" + demoSub
	rgWeb, rgCon, rgVMs := sub+"/resourceGroups/rg-web", sub+"/resourceGroups/rg-containers", sub+"/resourceGroups/rg-vms"
	registry := rgCon + "/providers/Microsoft.ContainerRegistry/registries/democontoso"
	vm := rgVMs + "/providers/Microsoft.Compute/virtualMachines/vm-web-01"
	listRegistries := sub + "/providers/Microsoft.ContainerRegistry/registries?api-version=2023-07-01"
	listRGRegistries := rgCon + "/providers/Microsoft.ContainerRegistry/registries?api-version=2023-07-01"
	listVMs := sub + "/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01"
	listRGs := sub + "/resourcegroups?api-version=2021-04-01"
	type grant struct{ role, scope string }
	tests := []struct {
		name   string
		grants []grant
		list   string
		status int
		want   []string // names listed, when status is 200
	}{
		{"Reader on a resource group without registries: an empty list", []grant{{"Reader", rgWeb}}, listRegistries, 200, nil},
		{"Reader on a resource group without VMs: an empty list", []grant{{"Reader", rgWeb}}, listVMs, 200, nil},
		{"Reader on one registry: only that registry", []grant{{"Reader", registry}}, listRegistries, 200, []string{"democontoso"}},
		{"Reader on one registry, its group's list", []grant{{"Reader", registry}}, listRGRegistries, 200, []string{"democontoso"}},
		{"Reader on rg-containers: its registries", []grant{{"Reader", rgCon}}, listRegistries, 200, []string{"contosostaging", "democontoso"}},
		{"Reader on one VM: only that VM", []grant{{"Reader", vm}}, listVMs, 200, []string{"vm-web-01"}},
		{"Reader on one registry, resource groups: none readable but one held inside", []grant{{"Reader", registry}}, listRGs, 200, nil},
		{"AcrPull only: refused", []grant{{"AcrPull", registry}}, listRegistries, 403, nil},
		{"Reader elsewhere in the group's subscription, a group list: refused", []grant{{"Reader", rgWeb}}, listRGRegistries, 403, nil},
		{"nothing: refused", nil, listRegistries, 403, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("listfilter-%d", i)
			if _, _, err := s.AddApp(demoTenant, App{Name: name}); err != nil {
				t.Fatal(err)
			}
			for _, g := range tc.grants {
				if _, err := s.AddRoleAssignment(demoTenant, name, g.role, g.scope); err != nil {
					t.Fatal(err)
				}
			}
			token, _, err := s.IssueToken(demoTenant, name, "https://management.core.windows.net/")
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", s.Endpoints(cloud.Public).ResourceManager+tc.list, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Value []struct{ Name string } `json:"value"`
				Error struct{ Code string }   `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %d %s, want %d", tc.list, resp.StatusCode, body.Error.Code, tc.status)
			}
			if tc.status == http.StatusForbidden {
				if body.Error.Code != "AuthorizationFailed" {
					t.Fatalf("code %q, want AuthorizationFailed", body.Error.Code)
				}
				return
			}
			var got []string
			for _, v := range body.Value {
				got = append(got, strings.ToLower(v.Name))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
		})
	}
}
