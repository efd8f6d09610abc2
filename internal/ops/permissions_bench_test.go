package ops

import (
	"context"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
)

// BenchmarkPermissionsCheck is one permissions.check end to end against
// the simulator (token cached): effective permissions along the path,
// role assignments, visible subscriptions, evaluation.
func BenchmarkPermissionsCheck(b *testing.B) {
	for _, bc := range []struct {
		name, role, at, scope string
		caps                  []string
		latency               time.Duration // added to every ARM answer
	}{
		{"reader-acr-at-registry", "Reader", "subscription", pReg, []string{"acr"}, 0},
		{"acrpull-acr-at-registry", "AcrPull", "resource", pReg, []string{"acr"}, 0},
		{"contributor-all-at-rg", "Contributor", "resourceGroup", pRG, []string{"base", "acr", "aks", "webapp", "vm", "arm"}, 0},
		// ARM's own latency dominates in Azure: the reads run at once.
		{"acrpull-acr-at-registry-arm-20ms", "AcrPull", "resource", pReg, []string{"acr"}, 20 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, ids, _ := newPermHarnessTB(b)
			var id pIdentity
			for _, x := range ids {
				if x.role == bc.role && x.at == bc.at {
					id = x
				}
			}
			in := pInput(id, string(KindPermissionsCheck), PermissionsCheckParams{Scope: bc.scope, Capabilities: bc.caps})
			if _, err := PermissionsCheck(context.Background(), h.env, in); err != nil {
				b.Fatal(err)
			}
			if bc.latency > 0 {
				if _, err := h.sim.AddFault(azuresim.Fault{Route: "arm.*", Latency: azuresim.Duration(bc.latency)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := PermissionsCheck(context.Background(), h.env, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
