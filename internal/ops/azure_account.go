package ops

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// SubscriptionsParams are azure.subscriptions' parameters (none).
type SubscriptionsParams struct{}

// Subscriptions is azure.subscriptions' output: every subscription the
// identity can see, sorted by display name.
type Subscriptions struct {
	Subscriptions []SubscriptionInfo `json:"subscriptions"`
}

// SubscriptionInfo is one subscription.
type SubscriptionInfo struct {
	SubscriptionID string `json:"subscriptionId"`
	DisplayName    string `json:"displayName"`
	State          string `json:"state,omitempty"`
	TenantID       string `json:"tenantId,omitempty"`
}

// ResourceGroupsParams are azure.resourcegroups' parameters.
type ResourceGroupsParams struct {
	SubscriptionID string `json:"subscriptionId"`
}

// ResourceGroups is azure.resourcegroups' output, sorted by name.
type ResourceGroups struct {
	SubscriptionID string              `json:"subscriptionId"`
	ResourceGroups []ResourceGroupInfo `json:"resourceGroups"`
}

// ResourceGroupInfo is one resource group.
type ResourceGroupInfo struct {
	Name              string            `json:"name"`
	Location          string            `json:"location,omitempty"`
	ProvisioningState string            `json:"provisioningState,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
}

// ListSubscriptions lists every subscription the connector's identity can
// see, following every page.
func ListSubscriptions(ctx context.Context, env *Env, in Input) (any, error) {
	if err := decodeParams(in.Params, &SubscriptionsParams{}); err != nil {
		return nil, err
	}
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, err
	}
	client, err := azure.Client(cred, "armsubscriptions", func(c *azure.Credential) (*armsubscriptions.Client, error) {
		return armsubscriptions.NewClient(c, c.ARMOptions())
	})
	if err != nil {
		return nil, fmt.Errorf("subscriptions client: %w", err)
	}
	out := &Subscriptions{Subscriptions: []SubscriptionInfo{}}
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, cred.Classify(err)
		}
		for _, s := range page.Value {
			if s == nil {
				continue
			}
			item := SubscriptionInfo{SubscriptionID: deref(s.SubscriptionID), DisplayName: deref(s.DisplayName), TenantID: deref(s.TenantID)}
			if s.State != nil {
				item.State = string(*s.State)
			}
			out.Subscriptions = append(out.Subscriptions, item)
		}
	}
	sort.SliceStable(out.Subscriptions, func(i, j int) bool {
		return strings.ToLower(out.Subscriptions[i].DisplayName) < strings.ToLower(out.Subscriptions[j].DisplayName)
	})
	logf(in.Log, "%d subscription(s)", len(out.Subscriptions))
	return out, nil
}

// ListResourceGroups lists every resource group of a subscription.
func ListResourceGroups(ctx context.Context, env *Env, in Input) (any, error) {
	var p ResourceGroupsParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	p.SubscriptionID = strings.TrimSpace(p.SubscriptionID)
	if p.SubscriptionID == "" {
		return nil, failure.InvalidField("subscriptionId", "is required")
	}
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, err
	}
	client, err := azure.Client(cred, "armresources.groups:"+p.SubscriptionID, func(c *azure.Credential) (*armresources.ResourceGroupsClient, error) {
		return armresources.NewResourceGroupsClient(p.SubscriptionID, c, c.ARMOptions())
	})
	if err != nil {
		return nil, fmt.Errorf("resource groups client: %w", err)
	}
	out := &ResourceGroups{SubscriptionID: p.SubscriptionID, ResourceGroups: []ResourceGroupInfo{}}
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, cred.Classify(err)
		}
		for _, g := range page.Value {
			if g == nil {
				continue
			}
			item := ResourceGroupInfo{Name: deref(g.Name), Location: deref(g.Location)}
			if g.Properties != nil {
				item.ProvisioningState = deref(g.Properties.ProvisioningState)
			}
			if len(g.Tags) > 0 {
				item.Tags = map[string]string{}
				for k, v := range g.Tags {
					item.Tags[k] = deref(v)
				}
			}
			out.ResourceGroups = append(out.ResourceGroups, item)
		}
	}
	sort.SliceStable(out.ResourceGroups, func(i, j int) bool {
		return strings.ToLower(out.ResourceGroups[i].Name) < strings.ToLower(out.ResourceGroups[j].Name)
	})
	logf(in.Log, "%d resource group(s) in subscription %s", len(out.ResourceGroups), p.SubscriptionID)
	return out, nil
}

// connectorCredential is the connector's credential for an executor.
func connectorCredential(env *Env, in Input) (*azure.Credential, error) {
	if env == nil || env.Azure == nil {
		return nil, failure.New(failure.Internal, "%s: the executor environment has no Azure factory", in.Kind)
	}
	if in.Connector == nil {
		return nil, failure.New(failure.Invalid, "%s needs a connector", in.Kind)
	}
	return env.Azure.Credential(in.Connector, in.Secrets, in.CredentialKey)
}

var (
	_ Func = ListSubscriptions
	_ Func = ListResourceGroups
)
