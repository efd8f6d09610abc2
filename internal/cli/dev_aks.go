package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
)

// The connector `azimuth dev` seeds for the AKS demo: the demo world's
// azimuth-owner (a client secret), which may use both clusters.
const (
	devAKSConnector = "aks_demo"
	devAKSSecret    = "aks-demo-owner-secret"
	devAKSApp       = "azimuth-owner"
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
	// Try is an azimuth run command line with the seeded connector.
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
func devAKS(ctx context.Context, env *DevEnv) error {
	if env.Config == nil || env.Config.CloudConfig == "" {
		return nil
	}
	w, err := azuresim.DemoWorld()
	if err != nil {
		return fmt.Errorf("demo world: %w", err)
	}
	conn, err := seedAKSConnector(ctx, env, w)
	if err != nil {
		return err
	}
	name := conn
	if name == "" {
		name = "CONNECTOR"
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
					dc.Try = fmt.Sprintf("azimuth run --connector %s --subscription %s --resource-group %s --cluster %s --namespace default -- 'export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}; kubectl get pods -n default'",
						name, s.ID, rg.Name, c.Name)
					out = append(out, dc)
				}
			}
		}
	}
	env.Info.AKS = map[string]any{"connector": conn, "clusters": out}
	if env.Log != nil {
		env.Log.Info("demo AKS clusters", "count", len(out))
	}
	return nil
}

// seedAKSConnector creates or refreshes a secret and a service-principal
// connector for the demo world's azimuth-owner, which connects through the
// server; script steps with it still run on a delegate. It goes through the
// services, not the HTTP API: dev parts run before the server serves. It
// returns the connector's identifier ("" when there is no server, as in
// unit tests).
func seedAKSConnector(ctx context.Context, env *DevEnv, w *azuresim.World) (string, error) {
	if env.Server == nil || env.Config == nil {
		return "", nil
	}
	var app *azuresim.App
	var tenant string
	for _, t := range w.Tenants {
		for _, a := range t.Apps {
			if a.Name == devAKSApp && len(a.Secrets) > 0 {
				app, tenant = a, t.ID
			}
		}
	}
	if app == nil {
		return "", nil
	}
	p := access.System("azimuth dev")
	sc := scope.Scope{Account: env.Config.Account}
	svc := env.Server.Services
	if err := upsertSecret(ctx, svc.Secrets, p, sc, devAKSSecret, service.SecretText, []byte(app.Secrets[0].Value.Reveal())); err != nil {
		return "", fmt.Errorf("seed the AKS demo secret: %w", err)
	}
	doc, _ := json.Marshal(map[string]any{"connector": map[string]any{
		"name": "aks-demo", "identifier": devAKSConnector, "type": "Azure",
		"description": "A service principal allowed on both demo clusters: try azimuth run with it.",
		"tags":        map[string]string{"seeded-by": "azimuth-dev"},
		"spec": map[string]any{
			"credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{
				"applicationId": app.AppID, "tenantId": tenant,
				"auth": map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": "account." + devAKSSecret}}}},
			"azureEnvironmentType": "AZURE", "executeOnDelegate": false,
		}}})
	wr := service.Write{Account: sc.Account, Body: doc, MediaType: "application/json"}
	if _, err := svc.Connectors.Create(ctx, p, wr); err != nil {
		if failure.KindOf(err) != failure.Conflict {
			return "", fmt.Errorf("seed the AKS demo connector: %w", err)
		}
		if _, err := svc.Connectors.Update(ctx, p, wr); err != nil {
			return "", fmt.Errorf("seed the AKS demo connector: %w", err)
		}
	}
	env.Info.AddConnector(DevConnector{Identifier: devAKSConnector, Scope: "account", Credential: "ServicePrincipalSecret", ConnectsThrough: "server",
		Expect: "SUCCESS", Secrets: []string{devAKSSecret}, Note: "azimuth-owner: may use both demo clusters; script steps with it run on a delegate"})
	return devAKSConnector, nil
}
