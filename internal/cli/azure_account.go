package cli

import (
	"context"
	"errors"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
)

// azureAccountCmds are `azimuth azure subscriptions|resource-groups`.
func azureAccountCmds(s *streams) []*cobra.Command {
	return []*cobra.Command{newAzureSubscriptionsCmd(s), newAzureResourceGroupsCmd(s)}
}

// azureCall is one connector request of the `azure` commands: the API
// client, where it points, and the query with the scope and connectorRef.
type azureCall struct {
	c *client.Client
	t target
	q url.Values
}

func newAzureCall(cmd *cobra.Command, connectorRef string) (*azureCall, error) {
	if connectorRef == "" {
		return nil, usageError{errAzureNoConnector}
	}
	c, t, err := newAPIClient(cmd)
	if err != nil {
		return nil, err
	}
	q := url.Values{"connectorRef": {connectorRef}}
	if t.Org != "" {
		q.Set("orgIdentifier", t.Org)
	}
	if t.Project != "" {
		q.Set("projectIdentifier", t.Project)
	}
	return &azureCall{c: c, t: t, q: q}, nil
}

// do runs one request and decodes its data into out.
func (a *azureCall) do(ctx context.Context, method, path string, extra url.Values, body, out any) error {
	q := url.Values{}
	for k, v := range a.q {
		q[k] = v
	}
	for k, v := range extra {
		if len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	_, err := a.c.Do(ctx, client.Request{Method: method, Path: path, Query: q, JSON: body}, out)
	return apiError(a.t, err)
}

var errAzureNoConnector = errors.New("--connector is required: the Azure connector to use (ID, org.ID or account.ID)")

func azureConnectorFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVarP(v, "connector", "c", "", "the Azure connector (ID, org.ID or account.ID, seen from --org/--project)")
}

func newAzureSubscriptionsCmd(s *streams) *cobra.Command {
	var conn string
	cmd := &cobra.Command{
		Use:     "subscriptions",
		Aliases: []string{"subscription", "subs"},
		Short:   "List the subscriptions a connector sees",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			call, err := newAzureCall(cmd, conn)
			if err != nil {
				return err
			}
			var out struct {
				Subscriptions []struct {
					SubscriptionID   string `json:"subscriptionId"`
					SubscriptionName string `json:"subscriptionName"`
					State            string `json:"state,omitempty"`
					TenantID         string `json:"tenantId,omitempty"`
				} `json:"subscriptions"`
			}
			if err := call.do(cmd.Context(), "GET", "/ng/api/azure/subscriptions", nil, nil, &out); err != nil {
				return err
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			tb := newTable(s.out, "SUBSCRIPTION ID", "NAME", "STATE", "TENANT")
			for _, x := range out.Subscriptions {
				tb.row(x.SubscriptionID, x.SubscriptionName, x.State, x.TenantID)
			}
			return tb.flush()
		},
	}
	azureConnectorFlag(cmd, &conn)
	return cmd
}

func newAzureResourceGroupsCmd(s *streams) *cobra.Command {
	var conn, sub string
	cmd := &cobra.Command{
		Use:     "resource-groups",
		Aliases: []string{"resource-group", "rg", "rgs"},
		Short:   "List the resource groups of a subscription",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			if sub == "" {
				return usageError{errors.New("--subscription is required")}
			}
			call, err := newAzureCall(cmd, conn)
			if err != nil {
				return err
			}
			var out struct {
				ResourceGroups []struct {
					ResourceGroup string `json:"resourceGroup"`
					Location      string `json:"location,omitempty"`
				} `json:"resourceGroups"`
			}
			if err := call.do(cmd.Context(), "GET", "/ng/api/azure/subscriptions/"+url.PathEscape(sub)+"/resourceGroups", nil, nil, &out); err != nil {
				return err
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			tb := newTable(s.out, "NAME", "LOCATION")
			for _, x := range out.ResourceGroups {
				tb.row(x.ResourceGroup, x.Location)
			}
			return tb.flush()
		},
	}
	azureConnectorFlag(cmd, &conn)
	cmd.Flags().StringVar(&sub, "subscription", "", "subscription ID")
	return cmd
}
