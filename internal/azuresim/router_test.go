package azuresim

import (
	"net/http"
	"testing"
)

func TestRouter(t *testing.T) {
	rt := newRouter("test")
	noop := func(http.ResponseWriter, *http.Request) {}
	rt.handle("GET", "/subscriptions/{subscriptionId}/resourcegroups/{rg}", "rg.get", noop)
	rt.handle("GET", "/{scope...}/providers/Microsoft.Authorization/permissions", "perm.scope", noop)
	rt.handle("GET", "/subscriptions/{subscriptionId}/resourcegroups/{rg}/providers/Microsoft.Authorization/permissions", "perm.rg", noop)
	rt.handle("PUT", "/subscriptions/{subscriptionId}/resourcegroups/{rg}", "rg.put", noop)
	tests := []struct {
		method, path, want string
		params             map[string]string
		found              bool
	}{
		{"GET", "/SUBSCRIPTIONS/s1/resourceGroups/My%20RG", "rg.get", map[string]string{"subscriptionId": "s1", "rg": "My RG"}, true},
		{"PUT", "/subscriptions/s1/resourcegroups/rg", "rg.put", nil, true},
		{"DELETE", "/subscriptions/s1/resourcegroups/rg", "", nil, true},
		{"GET", "/subscriptions/s1/resourceGroups/rg/providers/microsoft.authorization/PERMISSIONS", "perm.rg", nil, true},
		{"GET", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/a/providers/Microsoft.Authorization/permissions", "perm.scope",
			map[string]string{"scope": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/a"}, true},
		{"GET", "/providers/Microsoft.Authorization/permissions", "perm.scope", map[string]string{"scope": "/"}, true},
		{"GET", "/nothing", "", nil, false},
	}
	for _, tc := range tests {
		r, ps, found := rt.match(tc.method, tc.path)
		name := ""
		if r != nil {
			name = r.name
		}
		if name != tc.want || found != tc.found {
			t.Errorf("%s %s: route %q found %v, want %q %v", tc.method, tc.path, name, found, tc.want, tc.found)
			continue
		}
		for k, v := range tc.params {
			if ps[k] != v {
				t.Errorf("%s %s: param %s = %q, want %q", tc.method, tc.path, k, ps[k], v)
			}
		}
	}
}
