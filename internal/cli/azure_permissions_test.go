package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const permSub = "/subscriptions/96000000-0000-4000-8000-000000000001"

func TestPermissionsRoleCommand(t *testing.T) {
	e := newAPIEnv(t)
	aks := permSub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks"
	// Table: the role JSON, the commands, the built-in alternative, the
	// Kubernetes manifests.
	r := e.ok("azure", "permissions", "role", "--for", "aks", "--scope", aks, "--namespace", "team", "--group", "94000000-0000-4000-8000-000000000001", "--write", "out")
	for _, want := range []string{"az role definition create --role-definition @", "az role assignment create", `"DataActions": [`, "kind: RoleBinding", "built-in alternative"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "out", "*"))
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.HasSuffix(f, ".json") {
			var def map[string]any
			if err := json.Unmarshal(b, &def); err != nil || def["AssignableScopes"] == nil {
				t.Errorf("%s: %v %s", f, err, b)
			}
		}
	}
	// JSON and YAML.
	r = e.ok("azure", "permissions", "role", "--for", "acr", "--scope", permSub, "-o", "json", "--assignee", "93000000-0000-4000-8000-000000000001")
	var plan struct {
		Grants []struct {
			Scope    string
			Commands []string
		}
	}
	if err := json.Unmarshal([]byte(r.out), &plan); err != nil || len(plan.Grants) == 0 || !strings.Contains(strings.Join(plan.Grants[0].Commands, " "), "--assignee 93000000-0000-4000-8000-000000000001") {
		t.Fatalf("%v %s", err, r.out)
	}
	if r = e.ok("azure", "permissions", "role", "--for", "webapp", "--scope", permSub+"/resourceGroups/rg", "-o", "yaml"); !strings.Contains(r.out, "grants:") {
		t.Fatalf("%s", r.out)
	}
	// The catalogue.
	if r = e.ok("azure", "permissions", "capabilities"); !strings.Contains(r.out, "acr.list-registries") || !strings.Contains(r.out, "subscription") {
		t.Fatalf("%s", r.out)
	}
	// Mistakes of the caller.
	if r = e.cli(e.admin, "", "azure", "permissions", "role", "--for", "nope", "--scope", permSub); r.code != ExitInvalid {
		t.Errorf("unknown capability: %s", r)
	}
	if r = e.cli(e.admin, "", "azure", "permissions", "check", "--for", "acr"); r.code != ExitUsage {
		t.Errorf("check without a connector: %s", r)
	}
}
