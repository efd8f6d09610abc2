package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
)

func newAPIKeyCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "apikey",
		Aliases: []string{"apikeys", "api-key"},
		Short:   "Manage API keys (an admin key is needed)",
		Long: `Manage API keys. A key belongs to a scope (the account, --org, or --org
and --project) and has a role there and below: viewer, editor or admin.
A key is shown once, when it is created; the server keeps only its hash.`,
	}
	cmd.AddCommand(newAPIKeyCreateCmd(s), newAPIKeyListCmd(s), newAPIKeyGetCmd(s), newAPIKeyRevokeCmd(s))
	return cmd
}

func newAPIKeyCreateCmd(s *streams) *cobra.Command {
	var name, role string
	cmd := &cobra.Command{
		Use:   "create --name NAME --role viewer|editor|admin",
		Short: "Create an API key and print it (once) on standard output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || role == "" {
				return withExit(ExitUsage, errors.New("--name and --role are required"))
			}
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			k, token, err := c.CreateAPIKey(cmd.Context(), t.scope(), name, role)
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(struct {
				APIKey client.APIKey `json:"apiKey"`
				Token  string        `json:"token"`
			}{k, token}); ok {
				return err
			}
			// The key alone on stdout, so KEY=$(azimuth apikey create ...)
			// works; the words on stderr.
			fmt.Fprintf(s.err, "Created API key %s (id %s, role %s at %s). It is shown only this once:\n",
				k.Name, k.ID, k.Role, scopeString(k.OrgIdentifier, k.ProjectIdentifier))
			_, err = fmt.Fprintln(s.out, token)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "a name saying who or what uses the key")
	cmd.Flags().StringVar(&role, "role", "", "viewer, editor or admin")
	return cmd
}

var apiKeyHeader = []string{"ID", "NAME", "SCOPE", "ROLE", "CREATED", "CREATED BY", "REVOKED"}

func apiKeyRow(k client.APIKey) []string {
	return []string{k.ID, k.Name, scopeString(k.OrgIdentifier, k.ProjectIdentifier), k.Role, when(k.CreatedAt), k.CreatedBy, when(k.RevokedAt)}
}

func newAPIKeyListCmd(s *streams) *cobra.Command {
	var l listFlags
	var sub bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the API keys of a scope (never the keys themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, s, &l, listing[client.APIKey]{
				what:   "API keys",
				header: apiKeyHeader,
				row:    apiKeyRow,
				fetch: func(c *client.Client, t target, o client.ListOptions) (client.Page[client.APIKey], error) {
					return c.ListAPIKeys(cmd.Context(), t.scope(), sub, o)
				},
			})
		},
	}
	l.add(cmd, false)
	cmd.Flags().BoolVar(&sub, "sub-scopes", false, "include the keys of every scope below this one")
	return cmd
}

func newAPIKeyGetCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show an API key's record",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			k, err := c.GetAPIKey(cmd.Context(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(k); ok {
				return err
			}
			return fields(s.out, "ID", k.ID, "Name", k.Name, "Account", k.AccountIdentifier,
				"Scope", scopeString(k.OrgIdentifier, k.ProjectIdentifier), "Role", k.Role,
				"Created", when(k.CreatedAt), "Created by", k.CreatedBy, "Revoked", when(k.RevokedAt))
		},
	}
}

func newAPIKeyRevokeCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key: it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			k, err := c.RevokeAPIKey(cmd.Context(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			_, err = fmt.Fprintf(s.out, "Revoked API key %s (%s).\n", k.ID, k.Name)
			return err
		},
	}
}
