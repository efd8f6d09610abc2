package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
)

// projectOrg is the organization of a project command: --org, else the
// configured one, else "default".
func projectOrg(t target) string {
	if t.Org != "" {
		return t.Org
	}
	return "default"
}

func newProjectCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "project",
		Aliases: []string{"projects"},
		Short:   "Manage projects (in --org, default \"default\")",
	}
	cmd.AddCommand(newProjectCreateCmd(s), newProjectGetCmd(s), newProjectListCmd(s), newProjectDeleteCmd(s))
	return cmd
}

func newProjectCreateCmd(s *streams) *cobra.Command {
	var name, description, color string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create ID",
		Short: "Create a project in an organization",
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
			org := projectOrg(t)
			out, err := c.CreateProject(cmd.Context(), org, client.ProjectInfo{OrgIdentifier: org, Identifier: args[0], Name: name,
				Description: description, Color: color, Tags: tm})
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			_, err = fmt.Fprintf(s.out, "Created project %s in organization %s.\n", out.Project.Identifier, out.Project.OrgIdentifier)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name (default: the identifier)")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringVar(&color, "color", "", "colour, e.g. #0063f7")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE or KEY (repeatable)")
	return cmd
}

func newProjectGetCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a project",
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
			out, err := c.GetProject(cmd.Context(), projectOrg(t), args[0])
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			pr := out.Project
			return fields(s.out, "Identifier", pr.Identifier, "Organization", pr.OrgIdentifier, "Name", pr.Name,
				"Description", pr.Description, "Color", pr.Color, "Tags", tagsString(pr.Tags),
				"Created", when(out.CreatedAt), "Modified", when(out.LastModifiedAt), "Version", strconv.FormatInt(out.Version, 10))
		},
	}
}

func newProjectListCmd(s *streams) *cobra.Command {
	var l listFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List projects (of --org, or of every organization)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, s, &l, listing[client.Project]{
				what:   "projects",
				header: []string{"ORG", "IDENTIFIER", "NAME", "DESCRIPTION", "TAGS"},
				row: func(it client.Project) []string {
					pr := it.Project
					return []string{pr.OrgIdentifier, pr.Identifier, pr.Name, pr.Description, tagsString(pr.Tags)}
				},
				fetch: func(c *client.Client, t target, o client.ListOptions) (client.Page[client.Project], error) {
					return c.ListProjects(cmd.Context(), t.Org, o)
				},
			})
		},
	}
	l.add(cmd, true)
	return cmd
}

func newProjectDeleteCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an empty project",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			org := projectOrg(t)
			if err := c.DeleteProject(cmd.Context(), org, args[0], 0); err != nil {
				return apiError(t, err)
			}
			_, err = fmt.Fprintf(s.out, "Deleted project %s from organization %s.\n", args[0], org)
			return err
		},
	}
}
