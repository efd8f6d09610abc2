package cli

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/permission"
)

// permissionCmds are `azimuth azure permissions …`.
func permissionCmds(s *streams) []*cobra.Command {
	cmd := &cobra.Command{
		Use:   "permissions",
		Short: "Check a connector's Azure permissions and generate least-privilege roles",
		Long: `Check what a connector's identity may do in Azure, capability by capability, and
generate the roles that grant exactly what is missing.

Capabilities are ids (acr.list-registries, aks.user-credentials, webapp.deploy,
...) or aliases: base, acr, aks, aks-admin, webapp, vm, arm, blueprint.
'azimuth azure permissions capabilities' lists them with their Azure actions.`,
	}
	cmd.AddCommand(newPermissionsCheckCmd(s), newPermissionsRoleCmd(s), newPermissionsCapabilitiesCmd(s))
	return []*cobra.Command{cmd}
}

func capabilityFlag(cmd *cobra.Command) []string {
	v, _ := cmd.Flags().GetStringSlice("for")
	return v
}

func newPermissionsCheckCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check --connector REF --scope SCOPE --for CAPABILITIES",
		Short: "Check a connector's identity's permissions for capabilities at a scope",
		Long: `Read the identity's effective permissions at the scope (and wherever each
capability must be granted) and say, per capability, whether it is allowed; if
not, the exact missing actions and data actions, the smallest built-in role that
grants them, where to assign it, and the usual mistakes by name (AcrPull where
Reader is needed, a role assigned below the scope it is needed at, a role in
another subscription or tenant). Exits 7 when a capability is denied.`,
		Example: `  azimuth azure permissions check --connector account.azure_prod \
    --scope /subscriptions/<sub>/resourceGroups/rg-app --for acr,aks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			ref, scope, caps := flagString(cmd, "connector"), flagString(cmd, "scope"), capabilityFlag(cmd)
			if ref == "" || scope == "" || len(caps) == 0 {
				return withExit(ExitUsage, fmt.Errorf("--connector, --scope and --for are required"))
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out ops.PermissionsCheckResult
			body := map[string]any{"connectorRef": ref, "scope": scope, "capabilities": caps}
			if _, err := c.Do(cmd.Context(), client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/permissions/check",
				Query: scopeQuery(c, t), JSON: body}, &out); err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				if err == nil && out.Report != nil && !out.Allowed {
					return withExit(ExitFailed, fmt.Errorf("some capabilities are not allowed"))
				}
				return err
			}
			if err := printCheck(s, out); err != nil {
				return err
			}
			if out.Report != nil && !out.Allowed {
				return withExit(ExitFailed, fmt.Errorf("some capabilities are not allowed at %s", out.Scope))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringP("connector", "c", "", "the connector (connectorRef: id, org.id or account.id)")
	f.String("scope", "", "a subscription, resource group or resource id")
	f.StringSlice("for", nil, "capabilities or aliases, comma-separated")
	return cmd
}

func printCheck(s *streams, out ops.PermissionsCheckResult) error {
	if out.Identity != nil {
		fmt.Fprintf(s.out, "Identity: object %s (application %s) in tenant %s\n", out.Identity.ObjectID, out.Identity.ApplicationID, out.Identity.TenantID)
	}
	if out.Report == nil {
		return nil
	}
	fmt.Fprintf(s.out, "Scope:    %s\n\n", out.Scope)
	tb := newTable(s.out, "CAPABILITY", "STATUS", "GRANT AT", "MISSING", "FIX")
	for _, v := range out.Verdicts {
		missing := strings.Join(append(append([]string{}, v.MissingActions...), v.MissingDataActions...), " ")
		if n := len(v.MissingActions) + len(v.MissingDataActions); n > 2 {
			missing = fmt.Sprintf("%d operations", n)
		}
		fix := ""
		if v.Fix != nil {
			fix = v.Fix.Role.Name
		}
		tb.row(v.Capability, string(v.Status), v.Scope, missing, fix)
	}
	if err := tb.flush(); err != nil {
		return err
	}
	for _, v := range out.Verdicts {
		if v.Status == permission.StatusAllowed {
			continue
		}
		fmt.Fprintf(s.out, "\n%s (%s at %s)\n", v.Capability, v.Status, v.Scope)
		for _, a := range v.MissingActions {
			fmt.Fprintf(s.out, "  missing action:      %s\n", a)
		}
		for _, a := range v.MissingDataActions {
			fmt.Fprintf(s.out, "  missing data action: %s\n", a)
		}
		for _, m := range v.Mistakes {
			fmt.Fprintf(s.out, "  %s: %s\n", m.Kind, clean(m.Message))
		}
	}
	if len(out.Fixes) > 0 {
		fmt.Fprintf(s.out, "\nTo fix (built-in roles; 'azimuth azure permissions role' gives the least-privilege custom role):\n")
		for _, f := range out.Fixes {
			fmt.Fprintf(s.out, "  %s\n", permission.AssignCommand(assigneeOf(out), permission.PrincipalServicePrincipal, f.Role.Name, f.Scope))
		}
	}
	for _, r := range out.Reads {
		if r.Reason != "" {
			fmt.Fprintf(s.out, "\nnote: reading %s at %s failed: %s\n", r.Source, r.Scope, r.Reason)
		}
	}
	for _, n := range out.Notes {
		fmt.Fprintf(s.out, "note: %s\n", clean(n))
	}
	return nil
}

// assigneeOf is the object id of the identity checked (a service
// principal or managed identity), or "" for "$ASSIGNEE_OBJECT_ID".
func assigneeOf(out ops.PermissionsCheckResult) string {
	if out.Identity != nil {
		return out.Identity.ObjectID
	}
	return ""
}

func newPermissionsRoleCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role --for CAPABILITIES --scope SCOPE",
		Short: "Generate the least-privilege custom role, the az commands and the built-in alternative",
		Long: `Generate, for capabilities at a scope, the custom role(s) that grant exactly their
actions and data actions (Azure's JSON, for az role definition create), the az
commands that create and assign them, the smallest built-in alternative, and with
--namespace and --group/--user the Kubernetes Role and RoleBinding for clusters
authorised by Kubernetes RBAC (confined to the namespace; --cluster-wide adds a
ClusterRole for listing every namespace). Nothing is sent to Azure. With --connector and no
--assignee the commands name the connector's identity. --write DIR saves the role
JSON and the Kubernetes YAML there.`,
		Example: `  azimuth azure permissions role --for aks --scope /subscriptions/<sub>/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks \
    --namespace team --group <entra-group-object-id>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			caps, scope := capabilityFlag(cmd), flagString(cmd, "scope")
			if scope == "" || len(caps) == 0 {
				return withExit(ExitUsage, fmt.Errorf("--for and --scope are required"))
			}
			body := map[string]any{"capabilities": caps, "scope": scope}
			for flag, key := range map[string]string{"connector": "connectorRef", "assignee": "assignee", "assignee-type": "assigneePrincipalType", "role-name": "roleName", "namespace": "namespace", "kubernetes-name": "kubernetesName"} {
				if v := flagString(cmd, flag); v != "" {
					body[key] = v
				}
			}
			var subjects []map[string]string
			groups, _ := cmd.Flags().GetStringSlice("group")
			users, _ := cmd.Flags().GetStringSlice("user")
			for _, g := range groups {
				subjects = append(subjects, map[string]string{"kind": "Group", "name": g})
			}
			for _, u := range users {
				subjects = append(subjects, map[string]string{"kind": "User", "name": u})
			}
			if len(subjects) > 0 {
				body["subjects"] = subjects
			}
			if wide, _ := cmd.Flags().GetBool("cluster-wide"); wide {
				body["clusterWide"] = true
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var plan permission.Plan
			if _, err := c.Do(cmd.Context(), client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/permissions/role",
				Query: scopeQuery(c, t), JSON: body}, &plan); err != nil {
				return apiError(t, err)
			}
			if dir := flagString(cmd, "write"); dir != "" {
				if err := writePlanFiles(s, dir, plan); err != nil {
					return err
				}
			}
			if ok, err := p.structured(plan); ok {
				return err
			}
			return printPlan(s, plan)
		},
	}
	f := cmd.Flags()
	f.StringSlice("for", nil, "capabilities or aliases, comma-separated")
	f.String("scope", "", "a subscription, resource group, resource (or management group, /) id")
	f.StringP("connector", "c", "", "a connector whose identity the commands name")
	f.String("assignee", "", "the object id (or app id) the roles are for")
	f.String("assignee-type", "", "the assignee's kind: ServicePrincipal (managed identities too), User, Group; with an object id the commands use --assignee-object-id, which needs no Microsoft Graph lookup")
	f.String("role-name", "", "the custom role's name")
	f.String("namespace", "", "Kubernetes namespace for the Role and RoleBinding (aks)")
	f.StringSlice("group", nil, "Entra group object id(s) to bind in the namespace")
	f.StringSlice("user", nil, "user principal name(s) or object id(s) to bind in the namespace")
	f.String("kubernetes-name", "", "name of the Role and RoleBinding (default azimuth-deployer)")
	f.Bool("cluster-wide", false, "also a ClusterRole and ClusterRoleBinding for the cluster-scoped data actions (listing every namespace); the namespace's Role already reads the namespace itself")
	f.String("write", "", "directory to write the role JSON and Kubernetes YAML files into")
	return cmd
}

func printPlan(s *streams, plan permission.Plan) error {
	for i, g := range plan.Grants {
		if i > 0 {
			fmt.Fprintln(s.out)
		}
		fmt.Fprintf(s.out, "# At %s, for %s\n", g.Scope, strings.Join(g.Capabilities, ", "))
		if g.Custom != nil {
			fmt.Fprintf(s.out, "\n# %s\n%s\n", g.CustomFile, g.Custom.JSON())
			for _, c := range g.Commands {
				fmt.Fprintln(s.out, c)
			}
		}
		if len(g.BuiltInCommands) > 0 {
			fmt.Fprintf(s.out, "\n# Or the built-in alternative (broader):\n")
			for _, c := range g.BuiltInCommands {
				fmt.Fprintln(s.out, c)
			}
		}
	}
	if plan.Kubernetes != "" {
		fmt.Fprintf(s.out, "\n# Kubernetes RBAC (kubectl apply -f -):\n%s", plan.Kubernetes)
	}
	for _, n := range plan.Notes {
		fmt.Fprintf(s.out, "\n# note: %s", clean(n))
	}
	if len(plan.Notes) > 0 {
		fmt.Fprintln(s.out)
	}
	return nil
}

// writePlanFiles saves each custom role's JSON (the file its commands
// read) and the Kubernetes manifests into dir.
func writePlanFiles(s *streams, dir string, plan permission.Plan) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, b []byte) error {
		path := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(s.err, "wrote %s\n", path)
		return nil
	}
	for _, g := range plan.Grants {
		if g.Custom != nil && g.CustomFile != "" {
			if err := write(g.CustomFile, g.Custom.JSON()); err != nil {
				return err
			}
		}
	}
	if plan.Kubernetes != "" {
		return write("kubernetes-rbac.yaml", []byte(plan.Kubernetes))
	}
	return nil
}

func newPermissionsCapabilitiesCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "capabilities",
		Short: "List the capabilities and aliases, with the Azure permissions each needs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out struct {
				Capabilities []struct {
					ID          string   `json:"id"`
					Description string   `json:"description"`
					Actions     []string `json:"actions,omitempty"`
					DataActions []string `json:"dataActions,omitempty"`
					Level       string   `json:"level"`
					LevelReason string   `json:"levelReason"`
					Roles       []string `json:"roles,omitempty"`
				} `json:"capabilities"`
				Aliases map[string][]string `json:"aliases"`
			}
			if _, err := c.Do(cmd.Context(), client.Request{Method: http.MethodGet, Path: "/ng/api/azimuth/permissions/capabilities", Query: scopeQuery(c, t)}, &out); err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			tb := newTable(s.out, "CAPABILITY", "LEVEL", "OPERATIONS", "ROLES")
			for _, c := range out.Capabilities {
				tb.row(c.ID, c.Level, fmt.Sprint(len(c.Actions)+len(c.DataActions)), strings.Join(c.Roles, ", "))
			}
			return tb.flush()
		},
	}
}
