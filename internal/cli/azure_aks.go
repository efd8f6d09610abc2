package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// aksCmds are `azimuth azure aks …`.
func aksCmds(s *streams) []*cobra.Command {
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "AKS clusters and kubeconfigs through a connector",
		Long: `List the AKS clusters a connector can see and get kubeconfigs for them.

Kubeconfigs need no kubelogin and no Azure CLI: for an Entra ID cluster the
user entry holds a short-lived Entra token Azimuth obtained with the
connector's credential (script steps, azimuth run, get one that holds no
credential at all). A connector secret is never written into one.`,
	}
	cmd.AddCommand(newAKSClustersCmd(s), newAKSKubeconfigCmd(s))
	return []*cobra.Command{cmd}
}

// connectorFlag adds --connector (Harness's connectorRef).
func connectorFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVarP(v, "connector", "c", "", "the Azure connector: ID, org.ID or account.ID (required)")
}

func needConnector(ref string) error {
	if ref == "" {
		return withExit(ExitUsage, errors.New("--connector is required"))
	}
	return nil
}

func newAKSClustersCmd(s *streams) *cobra.Command {
	var conn, sub, rg string
	cmd := &cobra.Command{
		Use:   "clusters",
		Short: "List the AKS clusters of a subscription or resource group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needConnector(conn); err != nil {
				return err
			}
			if sub == "" {
				return withExit(ExitUsage, errors.New("--subscription is required"))
			}
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			q := scopeQuery(c, t)
			q.Set("connectorRef", conn)
			q.Set("subscriptionId", sub)
			if rg != "" {
				q.Set("resourceGroup", rg)
			}
			var out ops.AKSClusterList
			if _, err := c.Do(cmd.Context(), client.Request{Method: http.MethodGet, Path: "/ng/api/azimuth/aks/clusters", Query: q}, &out); err != nil {
				return err
			}
			if done, err := p.structured(out); done {
				return err
			}
			tb := newTable(s.out, "NAME", "RESOURCE GROUP", "VERSION", "ENTRA ID", "LOCAL ACCOUNTS", "STATE")
			for _, cl := range out.Clusters {
				tb.row(cl.Cluster, cl.ResourceGroup, cl.KubernetesVersion, yesNo(cl.AAD), yesNo(cl.LocalAccounts), cl.ProvisioningState)
			}
			return tb.flush()
		},
	}
	connectorFlag(cmd, &conn)
	cmd.Flags().StringVar(&sub, "subscription", "", "subscription id (required)")
	cmd.Flags().StringVar(&rg, "resource-group", "", "only this resource group")
	return cmd
}

func newAKSKubeconfigCmd(s *streams) *cobra.Command {
	var conn, file string
	var p ops.KubeconfigParams
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Get a kubeconfig of an AKS cluster (user credentials unless --admin)",
		Long: `Get a kubeconfig of an AKS cluster and print it (or write it, mode 0600,
with --file). User credentials by default; --admin asks for the cluster's
admin credentials, which Azure refuses for a cluster with local accounts
disabled. -o json prints the whole result (credential kind, expiry).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needConnector(conn); err != nil {
				return err
			}
			if err := needCluster(p); err != nil {
				return err
			}
			pr, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			q := scopeQuery(c, t)
			q.Set("connectorRef", conn)
			var out ops.Kubeconfig
			if _, err := c.Do(cmd.Context(), client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/aks/kubeconfig", Query: q, JSON: p}, &out); err != nil {
				return err
			}
			if file != "" {
				if err := os.WriteFile(file, []byte(out.Kubeconfig), 0o600); err != nil {
					return err
				}
				fmt.Fprintf(s.err, "kubeconfig of %s written to %s: %s\n", out.Cluster, file, credentialWord(out))
				return nil
			}
			if done, err := pr.structured(out); done {
				return err
			}
			_, err = fmt.Fprint(s.out, out.Kubeconfig)
			return err
		},
	}
	connectorFlag(cmd, &conn)
	clusterFlags(cmd, &p)
	cmd.Flags().StringVar(&file, "file", "", "write the kubeconfig to this file (mode 0600) instead of printing it")
	return cmd
}

func clusterFlags(cmd *cobra.Command, p *ops.KubeconfigParams) {
	cmd.Flags().StringVar(&p.SubscriptionID, "subscription", "", "subscription id (required)")
	cmd.Flags().StringVar(&p.ResourceGroup, "resource-group", "", "the cluster's resource group (required)")
	cmd.Flags().StringVar(&p.Cluster, "cluster", "", "the cluster's name (required)")
	cmd.Flags().StringVar(&p.Namespace, "namespace", "", "the kubeconfig context's namespace")
	cmd.Flags().BoolVar(&p.UseClusterAdminCredentials, "admin", false, "the cluster's admin credentials (useClusterAdminCredentials)")
}

func needCluster(p ops.KubeconfigParams) error {
	for _, f := range []struct{ flag, v string }{{"--subscription", p.SubscriptionID}, {"--resource-group", p.ResourceGroup}, {"--cluster", p.Cluster}} {
		if f.v == "" {
			return withExit(ExitUsage, fmt.Errorf("%s is required", f.flag))
		}
	}
	return nil
}

func credentialWord(k ops.Kubeconfig) string {
	w := "user credentials"
	if k.Admin {
		w = "admin credentials"
	}
	switch k.Credential {
	case ops.KubeCredentialEntraToken:
		w += ", an Entra token"
		if k.ExpiresOn != nil {
			w += " valid until " + k.ExpiresOn.Format("15:04:05 MST")
		}
	case ops.KubeCredentialClientCertificate:
		w += ", the local account's client certificate"
	case ops.KubeCredentialToken:
		w += ", the local account's token"
	}
	return w
}

// scopeQuery is the request's scope parameters.
func scopeQuery(c *client.Client, t target) url.Values {
	q := url.Values{"accountIdentifier": {c.Account()}}
	if t.Org != "" {
		q.Set("orgIdentifier", t.Org)
	}
	if t.Project != "" {
		q.Set("projectIdentifier", t.Project)
	}
	return q
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
