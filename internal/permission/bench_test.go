package permission

import "testing"

// An identity with Contributor at the subscription and two narrower roles,
// as Microsoft.Authorization/permissions would report it.
func benchEffective() []Permission {
	var perms []Permission
	for _, name := range []string{"Contributor", "AcrPull", "Azure Kubernetes Service RBAC Writer"} {
		r, _ := LookupBuiltin(name)
		perms = append(perms, r.Permissions...)
	}
	return perms
}

func BenchmarkAllowed(b *testing.B) {
	set := Compile(benchEffective())
	op := Operation{Name: "Microsoft.Web/sites/slots/slotsswap/action"}
	for b.Loop() {
		if !set.Allows(op) {
			b.Fatal("denied")
		}
	}
}

// BenchmarkCheckAll checks every capability of the matrix at a resource
// group, with effective permissions at every grant scope and three role
// assignments to diagnose.
func BenchmarkCheckAll(b *testing.B) {
	scopes, err := RequiredScopes(matrixCaps, rgA)
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Scope: rgA, Capabilities: matrixCaps, TenantID: tenantA,
		Assignments: []Assignment{{Scope: subAID, RoleName: "Contributor"}, {Scope: regA, RoleName: "AcrPull"}, {Scope: rgB, RoleName: "Reader"}}}
	for _, s := range scopes {
		req.Effective = append(req.Effective, ScopedPermissions{Scope: s, Permissions: benchEffective()})
	}
	for b.Loop() {
		if _, err := Check(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	req := GenerateRequest{Capabilities: []string{"acr", "aks", "webapp", "vm"}, Scope: rgA, Namespace: "team", Subjects: []Subject{{Kind: "Group", Name: groupOID}}}
	for b.Loop() {
		if _, err := Generate(req); err != nil {
			b.Fatal(err)
		}
	}
}
