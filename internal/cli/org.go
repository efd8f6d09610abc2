package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
)

func newOrgCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "org",
		Aliases: []string{"orgs", "organization"},
		Short:   "Manage organizations",
	}
	cmd.AddCommand(newOrgCreateCmd(s), newOrgGetCmd(s), newOrgListCmd(s), newOrgDeleteCmd(s))
	return cmd
}

func newOrgCreateCmd(s *streams) *cobra.Command {
	var name, description string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create ID",
		Short: "Create an organization",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			tm, err := parseTags(tags)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			if name == "" {
				name = args[0]
			}
			out, err := c.CreateOrg(cmd.Context(), client.OrgInfo{Identifier: args[0], Name: name, Description: description, Tags: tm})
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			_, err = fmt.Fprintf(s.out, "Created organization %s.\n", out.Organization.Identifier)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name (default: the identifier)")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE or KEY (repeatable)")
	return cmd
}

func newOrgGetCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show an organization",
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
			out, err := c.GetOrg(cmd.Context(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			o := out.Organization
			return fields(s.out, "Identifier", o.Identifier, "Name", o.Name, "Description", o.Description,
				"Tags", tagsString(o.Tags), "Created", when(out.CreatedAt), "Modified", when(out.LastModifiedAt),
				"Version", strconv.FormatInt(out.Version, 10))
		},
	}
}

func newOrgListCmd(s *streams) *cobra.Command {
	var l listFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List organizations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, s, &l, listing[client.Org]{
				what:   "organizations",
				header: []string{"IDENTIFIER", "NAME", "DESCRIPTION", "TAGS"},
				row: func(it client.Org) []string {
					o := it.Organization
					return []string{o.Identifier, o.Name, o.Description, tagsString(o.Tags)}
				},
				fetch: func(c *client.Client, _ target, o client.ListOptions) (client.Page[client.Org], error) {
					return c.ListOrgs(cmd.Context(), o)
				},
			})
		},
	}
	l.add(cmd, true)
	return cmd
}

func newOrgDeleteCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an empty organization",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteOrg(cmd.Context(), args[0], 0); err != nil {
				return apiError(t, err)
			}
			_, err = fmt.Fprintf(s.out, "Deleted organization %s.\n", args[0])
			return err
		},
	}
}
