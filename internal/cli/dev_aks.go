package cli

import (
	"context"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/azuresim"
)

// DevAKSCluster is one demo cluster in dev.json's "aks": where it is and
// a script step to try against it.
type DevAKSCluster struct {
	Name           string   `json:"name"`
	SubscriptionID string   `json:"subscriptionId"`
	ResourceGroup  string   `json:"resourceGroup"`
	TenantID       string   `json:"tenantId"`
	AAD            bool     `json:"aad"`
	LocalAccounts  bool     `json:"localAccounts"`
	Namespaces     []string `json:"namespaces"`
	// Identities are the demo world's identities a step can use on it
	// (user credentials and, on Entra clusters, a Kubernetes role).
	Identities []string `json:"identities"`
	// Try is an azimuth run command line; CONNECTOR is a connector of one
	// of Identities.
	Try string `json:"try"`
}

// stepIdentities are the demo identities the demo world gives access to
// both clusters (demo.yaml's role assignments for issue 7's steps).
var stepIdentities = map[string][]string{
	"aks-local": {"azimuth-owner (secret)", "azimuth-cert (certificate)", "azimuth-reader (secret)", "delegate-host (system-assigned MI)", "delegate-identity (user-assigned MI)"},
	"aks-aad":   {"azimuth-owner (secret)", "azimuth-cert (certificate)", "delegate-host (system-assigned MI)", "delegate-identity (user-assigned MI)"},
}

func init() {
	devParts = append(devParts, DevPart{Name: "aks", Order: 41, After: devAKS})
}

// devAKS names the demo world's clusters in dev.json when the simulator
// serves this dev server's clouds.
func devAKS(_ context.Context, env *DevEnv) error {
	if env.Config == nil || env.Config.CloudConfig == "" {
		return nil
	}
	w, err := azuresim.DemoWorld()
	if err != nil {
		return fmt.Errorf("demo world: %w", err)
	}
	var out []DevAKSCluster
	for _, t := range w.Tenants {
		for _, s := range t.Subscriptions {
			for _, rg := range s.ResourceGroups {
				for _, c := range rg.Clusters {
					dc := DevAKSCluster{Name: c.Name, SubscriptionID: s.ID, ResourceGroup: rg.Name, TenantID: t.ID,
						AAD: c.AADProfile != nil, LocalAccounts: !c.DisableLocalAccounts, Identities: stepIdentities[c.Name], Namespaces: []string{}}
					for _, ns := range c.Namespaces {
						dc.Namespaces = append(dc.Namespaces, ns.Name)
					}
					dc.Try = fmt.Sprintf("azimuth run --connector CONNECTOR --subscription %s --resource-group %s --cluster %s --namespace default -- 'export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}; kubectl get pods -n default'",
						s.ID, rg.Name, c.Name)
					out = append(out, dc)
				}
			}
		}
	}
	env.Info.AKS = map[string]any{"clusters": out}
	if env.Log != nil {
		env.Log.Info("demo AKS clusters", "count", len(out))
	}
	return nil
}
