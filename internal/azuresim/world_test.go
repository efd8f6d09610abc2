package azuresim

import (
	"strings"
	"testing"
	"time"
)

func TestDemoWorld(t *testing.T) {
	w, err := DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.prepare(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := w.prepare(time.Now()); err == nil {
		t.Fatal("a world can be prepared (owned by a Sim) only once")
	}
	_, sub := w.subscription(demoSub)
	reg := sub.resourceGroup("rg-containers").Registries[0]
	if reg.LoginServer != "democontoso.azurecr.io" || len(reg.AdminPasswords) != 2 {
		t.Fatalf("registry defaults: %+v", reg)
	}
	names := reg.RepositoryNames()
	if len(names) != 4 || names[0] != "library/nginx" || names[1] != "load/many-tags-0" {
		t.Fatalf("repositories %v", names)
	}
	repo, ok := reg.Repo("load/many-tags-0")
	if !ok || repo.TagCount() != 20000 {
		t.Fatalf("generated repository: %v %d", ok, repo.TagCount())
	}
	first, last := repo.TagAt(0), repo.TagAt(19999)
	if first.Name != "build-00000" || last.Name != "build-19999" || !last.Created.After(first.Created) || !strings.HasPrefix(first.Digest, "sha256:") {
		t.Fatalf("tags %+v %+v", first, last)
	}
	if i, ok := repo.TagIndex("build-12345"); !ok || i != 12345 {
		t.Fatalf("TagIndex = %d %v", i, ok)
	}
	if _, ok := repo.TagIndex("build-1234"); ok {
		t.Fatal("an unpadded name is not a generated tag")
	}
	if _, ok := reg.Repo("load/many-tags-1"); ok {
		t.Fatal("only one generated repository")
	}
	nginx, _ := reg.Repo("library/nginx")
	if nginx.TagAt(0).Name != "1.25" || nginx.TagAt(2).Name != "latest" {
		t.Fatal("explicit tags are ordered by creation")
	}
	cl := sub.resourceGroup("rg-containers").Clusters[1]
	if !cl.DisableLocalAccounts || cl.AADProfile.TenantID != demoTenant || !strings.HasSuffix(cl.FQDN, ".hcp.eastus.azmk8s.io") {
		t.Fatalf("cluster %+v", cl)
	}
}

func TestGeneratedTagsAreCheap(t *testing.T) {
	w, err := ParseWorld([]byte(`
tenants:
- id: 10000000-0000-4000-8000-000000000009
  domain: big.onmicrosoft.com
  subscriptions:
  - id: 20000000-0000-4000-8000-000000000009
    displayName: Big
    resourceGroups:
    - name: rg
      registries:
      - name: bigregistry
        generate: {repositories: 1000, tagsPerRepository: 100000}
`))
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1, func() {
		if err := w.prepare(time.Now()); err != nil && !strings.Contains(err.Error(), "already") {
			t.Fatal(err)
		}
	})
	if allocs > 20000 {
		t.Fatalf("preparing 100,000,000 generated tags took %v allocations; they must not be materialised", allocs)
	}
	reg := w.Tenants[0].Subscriptions[0].ResourceGroups[0].Registries[0]
	repo, ok := reg.Repo("generated/app-999")
	if !ok || repo.TagCount() != 100000 || repo.TagAt(99999).Name != "1.0.99999" {
		t.Fatalf("%v %d", ok, repo.TagCount())
	}
}

func TestWorldValidation(t *testing.T) {
	base := `
tenants:
- id: 10000000-0000-4000-8000-000000000009
  domain: v.onmicrosoft.com
  subscriptions:
  - id: 20000000-0000-4000-8000-000000000009
    displayName: V
    resourceGroups: [{name: rg}]
`
	tests := []struct{ name, yaml, want string }{
		{"no tenants", "tenants: []", "at least one tenant"},
		{"bad tenant id", strings.Replace(base, "10000000-0000-4000-8000-000000000009", "nope", 1), "must be a GUID"},
		{"unknown field", base + "  bogus: 1\n", "unknown field"},
		{"unknown role", base + "  apps: [{name: a, appId: 30000000-0000-4000-8000-000000000009, objectId: 40000000-0000-4000-8000-000000000009}]\n  roleAssignments: [{principal: a, role: Janitor, scope: /}]\n", `role "Janitor"`},
		{"unknown principal", base + "  roleAssignments: [{principal: ghost, role: Reader, scope: /}]\n", `principal "ghost"`},
		{"unknown scope", base + "  apps: [{name: a, appId: 30000000-0000-4000-8000-000000000009, objectId: 40000000-0000-4000-8000-000000000009}]\n  roleAssignments: [{principal: a, role: Reader, scope: /subscriptions/20000000-0000-4000-8000-000000000009/resourceGroups/nope}]\n", `no resource group "nope"`},
		{"secret without value", base + "  apps: [{name: a, appId: 30000000-0000-4000-8000-000000000009, objectId: 40000000-0000-4000-8000-000000000009, secrets: [{keyId: x}]}]\n", "value is required"},
		{"duplicate names", base + "  apps: [{name: a, appId: 30000000-0000-4000-8000-000000000009, objectId: 40000000-0000-4000-8000-000000000009}, {name: a, appId: 30000000-0000-4000-8000-000000000008, objectId: 40000000-0000-4000-8000-000000000008}]\n", "used twice"},
		{"host with unknown identity", base + "  hosts: [{name: h, userAssigned: [ghost]}]\n", `userAssigned "ghost"`},
		{"bad cloud", strings.Replace(base, "domain:", "cloud: MARS\n  domain:", 1), "unknown cloud"},
		// AKS refuses to disable local accounts on a cluster without Entra
		// integration (nobody could sign in to it).
		{"local accounts off without Entra", strings.Replace(base, "[{name: rg}]", "[{name: rg, clusters: [{name: aks, disableLocalAccounts: true}]}]", 1),
			"clusters[0] (aks): disableLocalAccounts needs aadProfile"},
	}
	// With Entra integration it is accepted.
	ok := strings.Replace(base, "[{name: rg}]", "[{name: rg, clusters: [{name: aks, disableLocalAccounts: true, aadProfile: {managed: true}}]}]", 1)
	w, err := ParseWorld([]byte(ok))
	if err == nil {
		err = w.prepare(time.Now())
	}
	if err != nil {
		t.Fatalf("a cluster with Entra integration and local accounts off: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ParseWorld([]byte(tc.yaml))
			if err == nil {
				err = w.prepare(time.Now())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSecretRedacts(t *testing.T) {
	s := Secret("hunter2")
	for _, got := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if strings.Contains(got, "hunter2") {
			t.Fatalf("secret leaked: %q", got)
		}
	}
	b, _ := s.MarshalJSON()
	if strings.Contains(string(b), "hunter2") || s.Reveal() != "hunter2" {
		t.Fatal("MarshalJSON must redact; Reveal must not")
	}
}

func TestLookupsByHostName(t *testing.T) {
	w, err := DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.prepare(time.Now()); err != nil {
		t.Fatal(err)
	}
	r, ok := w.registryByLoginServer("DemoContoso.azurecr.io")
	if !ok || r.ID() != "/subscriptions/"+demoSub+"/resourceGroups/rg-containers/providers/Microsoft.ContainerRegistry/registries/democontoso" {
		t.Fatalf("%v %s", ok, r.ID())
	}
	if _, ok := w.registryByLoginServer("nope.azurecr.io"); ok {
		t.Fatal("unknown login server found")
	}
	_, sub := w.subscription(demoSub)
	fqdn := sub.resourceGroup("rg-containers").Clusters[0].FQDN
	c, ok := w.clusterByFQDN(fqdn)
	if !ok || c.Cluster.Name != "aks-local" || c.Tenant.ID != demoTenant {
		t.Fatalf("%v %+v", ok, c)
	}
}
