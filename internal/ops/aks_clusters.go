package ops

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// AKSClustersParams select the clusters to list: every cluster of a
// subscription, or of one resource group in it.
type AKSClustersParams struct {
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup,omitempty"`
}

// AKSCluster is one managed cluster. Cluster is Harness's field (the
// cluster's name); the rest is what Azimuth adds.
type AKSCluster struct {
	Cluster           string `json:"cluster"`
	ResourceGroup     string `json:"resourceGroup"`
	ID                string `json:"id"`
	Location          string `json:"location,omitempty"`
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	FQDN              string `json:"fqdn,omitempty"`
	ProvisioningState string `json:"provisioningState,omitempty"`
	PowerState        string `json:"powerState,omitempty"`
	// AAD is true for clusters integrated with Entra ID: their user
	// kubeconfigs authenticate with Entra tokens.
	AAD       bool `json:"aad"`
	AzureRBAC bool `json:"azureRbac"`
	// LocalAccounts is false when the cluster refuses static (admin)
	// credentials.
	LocalAccounts bool `json:"localAccounts"`
}

// AKSClusterList is Harness's AzureClustersDTO: {"clusters": [...]}.
type AKSClusterList struct {
	Clusters []AKSCluster `json:"clusters"`
}

func checkSubscription(id string) error {
	if strings.TrimSpace(id) == "" {
		return &failure.Error{Kind: failure.Invalid, Message: "subscriptionId is required",
			Fields: []failure.FieldError{{Field: "subscriptionId", Message: "subscriptionId is required"}}}
	}
	return nil
}

func clustersClient(cred *azure.Credential, sub string) (*armcontainerservice.ManagedClustersClient, error) {
	return azure.Client(cred, "armcontainerservice.ManagedClusters/"+sub, func(c *azure.Credential) (*armcontainerservice.ManagedClustersClient, error) {
		return armcontainerservice.NewManagedClustersClient(sub, c, c.ARMOptions())
	})
}

// AKSClusters lists managed clusters (armcontainerservice, every page),
// sorted by resource group and name.
func AKSClusters(ctx context.Context, env *Env, in Input) (any, error) {
	var p AKSClustersParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	if err := checkSubscription(p.SubscriptionID); err != nil {
		return nil, err
	}
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, err
	}
	client, err := clustersClient(cred, p.SubscriptionID)
	if err != nil {
		return nil, fmt.Errorf("managed clusters client: %w", err)
	}
	out := &AKSClusterList{Clusters: []AKSCluster{}}
	add := func(list []*armcontainerservice.ManagedCluster) {
		for _, mc := range list {
			if mc != nil {
				out.Clusters = append(out.Clusters, clusterOf(mc))
			}
		}
	}
	if p.ResourceGroup != "" {
		pager := client.NewListByResourceGroupPager(p.ResourceGroup, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, cred.Classify(err)
			}
			add(page.Value)
		}
	} else {
		pager := client.NewListPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, cred.Classify(err)
			}
			add(page.Value)
		}
	}
	sort.Slice(out.Clusters, func(i, j int) bool {
		a, b := out.Clusters[i], out.Clusters[j]
		if !strings.EqualFold(a.ResourceGroup, b.ResourceGroup) {
			return strings.ToLower(a.ResourceGroup) < strings.ToLower(b.ResourceGroup)
		}
		return a.Cluster < b.Cluster
	})
	logf(in.Log, "%d cluster(s) in %s", len(out.Clusters), where(p.SubscriptionID, p.ResourceGroup))
	return out, nil
}

func where(sub, rg string) string {
	if rg == "" {
		return "subscription " + sub
	}
	return fmt.Sprintf("resource group %s of subscription %s", rg, sub)
}

func clusterOf(mc *armcontainerservice.ManagedCluster) AKSCluster {
	c := AKSCluster{Cluster: deref(mc.Name), ID: deref(mc.ID), Location: deref(mc.Location), LocalAccounts: true}
	c.ResourceGroup = resourceGroupOf(c.ID)
	if pr := mc.Properties; pr != nil {
		c.KubernetesVersion = deref(pr.CurrentKubernetesVersion)
		if c.KubernetesVersion == "" {
			c.KubernetesVersion = deref(pr.KubernetesVersion)
		}
		c.FQDN = deref(pr.Fqdn)
		c.ProvisioningState = deref(pr.ProvisioningState)
		if pr.PowerState != nil && pr.PowerState.Code != nil {
			c.PowerState = string(*pr.PowerState.Code)
		}
		if pr.AADProfile != nil {
			c.AAD = true
			c.AzureRBAC = pr.AADProfile.EnableAzureRBAC != nil && *pr.AADProfile.EnableAzureRBAC
		}
		if pr.DisableLocalAccounts != nil && *pr.DisableLocalAccounts {
			c.LocalAccounts = false
		}
	}
	return c
}
