package permission

import (
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/failure"
)

const (
	tenantA = "10000000-0000-4000-8000-000000000001"
	tenantB = "10000000-0000-4000-8000-000000000009"
	subA    = "20000000-0000-4000-8000-000000000001"
	subB    = "20000000-0000-4000-8000-000000000002"
	subAID  = "/subscriptions/" + subA
	rgA     = subAID + "/resourceGroups/rg-a"
	rgB     = subAID + "/resourceGroups/rg-b"
	regA    = rgA + "/providers/Microsoft.ContainerRegistry/registries/rega"
	aksA    = rgA + "/providers/Microsoft.ContainerService/managedClusters/aksa"
	nsA     = aksA + "/namespaces/team"
	siteA   = rgA + "/providers/Microsoft.Web/sites/appa"
	slotA   = siteA + "/slots/staging"
	mgA     = "/providers/Microsoft.Management/managementGroups/platform"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in, canonical string
		level         Level
		typ, name     string
	}{
		{"/", "/", LevelTenant, "", "/"},
		{" / ", "/", LevelTenant, "", "/"},
		{mgA, mgA, LevelManagementGroup, "", "platform"},
		{"providers/microsoft.management/MANAGEMENTGROUPS/platform/", mgA, LevelManagementGroup, "", "platform"},
		{"/subscriptions/" + strings.ToUpper(subA), subAID, LevelSubscription, "", subA},
		{subAID + "/resourcegroups/rg-a", rgA, LevelResourceGroup, "", "rg-a"},
		{regA, regA, LevelResource, "Microsoft.ContainerRegistry/registries", "rega"},
		{slotA, slotA, LevelResource, "Microsoft.Web/sites/slots", "staging"},
		{rgA + "/PROVIDERS/Microsoft.Web/sites/appa", siteA, LevelResource, "Microsoft.Web/sites", "appa"},
		{nsA, nsA, LevelResource, "Microsoft.ContainerService/managedClusters/namespaces", "team"},
	}
	for _, tc := range tests {
		s, err := ParseScope(tc.in)
		if err != nil {
			t.Errorf("ParseScope(%q): %v", tc.in, err)
			continue
		}
		if s.String() != tc.canonical || s.Level() != tc.level || s.ResourceType() != tc.typ || s.Name() != tc.name {
			t.Errorf("ParseScope(%q) = %q %s %q %q, want %q %s %q %q", tc.in, s, s.Level(), s.ResourceType(), s.Name(), tc.canonical, tc.level, tc.typ, tc.name)
		}
		again, err := ParseScope(s.String())
		if err != nil || !again.Equal(s) {
			t.Errorf("%q does not parse back to itself: %v", s, err)
		}
	}
}

func TestParseScopeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "a scope is"},
		{"subscriptions", "GUID"},
		{"/subscriptions/not-a-guid", "GUID"},
		{subAID + "/rg/x", "resourceGroups"},
		{subAID + "/resourceGroups", "resourceGroups"},
		{rgA + "/providers/Microsoft.Web/sites", "providers/{namespace}/{type}/{name}"},
		{rgA + "/providers/Microsoft.Web/sites/app/slots", "type without a name"},
		{rgA + "/providers/not a namespace/sites/x", "character"},
		{rgA + "/providers/nodots/sites/x", "not a resource provider namespace"},
		{rgA + "/things/x/y/z", "providers"},
		{"/providers/Microsoft.Web/sites/x", "managementGroups"},
		{"/tenants/x", "starts with"},
		{subAID + "/resourceGroups/rg;rm -rf", "character"},
		{subAID + "/resourceGroups/rg\nx", "character"},
		{subAID + "//resourceGroups/rg", "empty"},
	}
	for _, tc := range tests {
		_, err := ParseScope(tc.in)
		if err == nil {
			t.Errorf("ParseScope(%q) accepted it", tc.in)
			continue
		}
		if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseScope(%q) = %v (kind %s), want an Invalid error mentioning %q", tc.in, err, failure.KindOf(err), tc.want)
		}
	}
}

func TestScopeContains(t *testing.T) {
	tests := []struct {
		a, t string
		mgs  []string
		want bool
	}{
		{"/", regA, nil, true},
		{"/", mgA, nil, true},
		{subAID, regA, nil, true},
		{strings.ToUpper(rgA), regA, nil, true},
		{rgA, rgB, nil, false},
		{rgA, rgA + "x", nil, false},
		{regA, rgA, nil, false},
		{siteA, slotA, nil, true},
		{slotA, siteA, nil, false},
		{aksA, nsA, nil, true},
		{"/subscriptions/" + subB, regA, nil, false},
		{mgA, subAID, nil, false},
		{mgA, subAID, []string{"platform", tenantA}, true},
		{mgA, regA, []string{"other"}, false},
		{mgA, mgA, nil, true},
		{subAID, mgA, nil, false},
		{subAID, "/", nil, false},
	}
	for _, tc := range tests {
		if got := MustParseScope(tc.a).Contains(MustParseScope(tc.t), tc.mgs); got != tc.want {
			t.Errorf("%s contains %s (mgs %v) = %v, want %v", tc.a, tc.t, tc.mgs, got, tc.want)
		}
	}
}

func TestScopeUpAndParent(t *testing.T) {
	s := MustParseScope(slotA)
	for _, tc := range []struct {
		l    Level
		want string
	}{{LevelResource, slotA}, {LevelResourceGroup, rgA}, {LevelSubscription, subAID}, {LevelTenant, "/"}} {
		got, err := s.Up(tc.l)
		if err != nil || got.String() != tc.want {
			t.Errorf("Up(%s) = %s, %v; want %s", tc.l, got, err, tc.want)
		}
	}
	if _, err := s.Up(LevelManagementGroup); !failure.Is(err, failure.Invalid) {
		t.Errorf("Up(managementGroup) from a resource: %v, want Invalid", err)
	}
	chain := []string{siteA, rgA, subAID, "/"}
	for _, want := range chain {
		s = s.Parent()
		if s.String() != want {
			t.Fatalf("Parent = %s, want %s", s, want)
		}
	}
	if !(Scope{}).IsZero() || TenantScope().IsZero() {
		t.Fatal("the zero Scope must be distinguishable from the tenant root")
	}
	if LevelResourceGroup.String() != "resourceGroup" || Level(42).String() != "Level(42)" {
		t.Fatal("Level.String")
	}
}
