package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/client"
)

// maxDocument caps a connector document read from a file or stdin (the
// server takes at most 1 MiB).
const maxDocument = 1 << 20

func newConnectorCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "connector",
		Aliases: []string{"connectors"},
		Short:   "Create, read, update, delete and export Azure connectors",
		Long: `Manage Azure connectors with Harness's connector documents (JSON or YAML):

  connector:
    name: azure-prod
    identifier: azure_prod
    orgIdentifier: default          # omit both for an account connector
    projectIdentifier: web
    type: Azure
    spec:
      credential: {type: ManualConfig, spec: {applicationId: ..., tenantId: ...,
                   auth: {type: Secret, spec: {secretRef: account.sp-secret}}}}
      azureEnvironmentType: AZURE
      executeOnDelegate: false

The document names the connector's scope; --org and --project given on the
command line replace it (to import an exported connector into another
project). get, list, delete, export and validate-id act in the scope of
--org and --project (the account when neither is given).`,
	}
	cmd.AddCommand(newConnectorWriteCmd(s, false), newConnectorGetCmd(s), newConnectorListCmd(s),
		newConnectorWriteCmd(s, true), newConnectorDeleteCmd(s), newConnectorExportCmd(s), newConnectorValidateIDCmd(s), newConnectorTestCmd(s))
	return cmd
}

// readDocument reads -f FILE, or stdin for "-".
func readDocument(s *streams, path string) ([]byte, error) {
	if path == "" {
		return nil, withExit(ExitUsage, errors.New("-f FILE is required (- reads standard input)"))
	}
	var r io.Reader
	name := path
	if path == "-" {
		r, name = s.in, "standard input"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, withExit(ExitUsage, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return nil, withExit(ExitUsage, fmt.Errorf("read %s: %w", name, err))
	}
	if len(b) > maxDocument {
		return nil, withExit(ExitInvalid, fmt.Errorf("%s is larger than %d bytes", name, maxDocument))
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, withExit(ExitInvalid, fmt.Errorf("%s is empty", name))
	}
	return b, nil
}

// rescope replaces the scope of a connector document: org and project are
// set when given (an empty value removes the field). The result is JSON.
func rescope(doc []byte, org, project *string) ([]byte, error) {
	j := doc
	if !bytes.HasPrefix(bytes.TrimSpace(doc), []byte("{")) {
		var err error
		if j, err = yaml.YAMLToJSON(doc); err != nil {
			return nil, withExit(ExitInvalid, errors.New("the document is not valid YAML or JSON"))
		}
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(j, &outer); err != nil {
		return nil, withExit(ExitInvalid, errors.New("the document is not a JSON or YAML object"))
	}
	var inner map[string]json.RawMessage
	if raw, ok := outer["connector"]; !ok || json.Unmarshal(raw, &inner) != nil || inner == nil {
		return nil, withExit(ExitInvalid, errors.New("the document has no connector object: it starts with `connector:` (YAML) or {\"connector\": {...}} (JSON)"))
	}
	set := func(key string, v *string) {
		if v == nil {
			return
		}
		if *v == "" {
			delete(inner, key)
			return
		}
		b, _ := json.Marshal(*v)
		inner[key] = b
	}
	set("orgIdentifier", org)
	set("projectIdentifier", project)
	b, err := json.Marshal(inner)
	if err != nil {
		return nil, err
	}
	outer["connector"] = b
	return json.Marshal(outer)
}

// scopeOverride is the scope given on the command line for a document, as
// pointers: nil when the flag was not given.
func scopeOverride(cmd *cobra.Command) (org, project *string) {
	if flagChanged(cmd, "org") {
		v := flagString(cmd, "org")
		org = &v
	}
	if flagChanged(cmd, "project") {
		v := flagString(cmd, "project")
		project = &v
	}
	return org, project
}

func newConnectorWriteCmd(s *streams, update bool) *cobra.Command {
	var file string
	var ifVersion int64
	use, short := "create -f FILE", "Create a connector from a document (JSON or YAML; - reads stdin)"
	if update {
		use, short = "update -f FILE", "Replace a connector with a full document (identifier, scope and type stay)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			doc, err := readDocument(s, file)
			if err != nil {
				return err
			}
			if org, project := scopeOverride(cmd); org != nil || project != nil {
				if doc, err = rescope(doc, org, project); err != nil {
					return err
				}
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out client.Connector
			verb := "Created"
			if update {
				verb = "Updated"
				out, err = c.UpdateConnector(cmd.Context(), doc, client.IfMatch(ifVersion))
			} else {
				out, err = c.CreateConnector(cmd.Context(), doc)
			}
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			info := out.Connector
			_, err = fmt.Fprintf(s.out, "%s connector %s in %s (status %s, version %d).\n", verb, info.Identifier,
				scopeString(info.OrgIdentifier, info.ProjectIdentifier), out.Status.Status, out.Version)
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "connector document, JSON or YAML (- for standard input)")
	if update {
		cmd.Flags().Int64Var(&ifVersion, "if-version", 0, "update only if the connector is still at this version (see get)")
	}
	return cmd
}

func credentialSummary(info client.ConnectorInfo) (cred, env, selectors, onDelegate string) {
	a, err := info.Azure()
	if err != nil {
		return "?", "", "", ""
	}
	cs := a.Credential.Spec
	cred = a.Credential.Type
	switch {
	case cs.Auth.Spec.SecretRef != "":
		cred += "/" + cs.Auth.Type + " " + cs.Auth.Spec.SecretRef
	case cs.Auth.Spec.CertificateRef != "":
		cred += "/" + cs.Auth.Type + " " + cs.Auth.Spec.CertificateRef
	case cs.Auth.Spec.ClientID != "":
		cred += "/" + cs.Auth.Type + " " + cs.Auth.Spec.ClientID
	case cs.Auth.Type != "":
		cred += "/" + cs.Auth.Type
	}
	onDelegate = "true"
	if a.ExecuteOnDelegate != nil && !*a.ExecuteOnDelegate {
		onDelegate = "false"
	}
	return cred, a.AzureEnvironmentType, strings.Join(a.DelegateSelectors, ","), onDelegate
}

func newConnectorGetCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a connector",
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
			out, err := c.GetConnector(cmd.Context(), t.scope(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			info := out.Connector
			a, _ := info.Azure()
			cred, env, sel, onDel := credentialSummary(info)
			summary := ""
			if out.Status.ErrorSummary != nil {
				summary = *out.Status.ErrorSummary
			}
			return fields(s.out,
				"Identifier", info.Identifier,
				"Name", info.Name,
				"Description", info.Description,
				"Scope", scopeString(info.OrgIdentifier, info.ProjectIdentifier),
				"Type", info.Type,
				"Credential", cred,
				"Application ID", a.Credential.Spec.ApplicationID,
				"Tenant ID", a.Credential.Spec.TenantID,
				"Environment", env,
				"Delegate selectors", sel,
				"Execute on delegate", onDel,
				"Tags", tagsString(info.Tags),
				"Status", out.Status.Status,
				"Error summary", summary,
				"Last tested", when(out.Status.LastTestedAt),
				"Created", when(out.CreatedAt),
				"Modified", when(out.LastModifiedAt),
				"Version", strconv.FormatInt(out.Version, 10),
			)
		},
	}
}

func newConnectorListCmd(s *streams) *cobra.Command {
	var l listFlags
	var types []string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the connectors of a scope",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, s, &l, listing[client.Connector]{
				what:   "connectors",
				header: []string{"IDENTIFIER", "NAME", "SCOPE", "CREDENTIAL", "ENVIRONMENT", "STATUS", "MODIFIED"},
				row: func(it client.Connector) []string {
					ci := it.Connector
					cred, env, _, _ := credentialSummary(ci)
					return []string{ci.Identifier, ci.Name, scopeString(ci.OrgIdentifier, ci.ProjectIdentifier), cred, env, it.Status.Status, when(it.LastModifiedAt)}
				},
				fetch: func(c *client.Client, t target, o client.ListOptions) (client.Page[client.Connector], error) {
					return c.ListConnectors(cmd.Context(), t.scope(), client.ListConnectorsOptions{ListOptions: o, Types: types})
				},
				empty: true,
			})
		},
	}
	l.add(cmd, true)
	cmd.Flags().StringSliceVar(&types, "type", nil, "connector types (Azure)")
	return cmd
}

func newConnectorDeleteCmd(s *streams) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a connector",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteConnector(cmd.Context(), t.scope(), args[0], force); err != nil {
				return apiError(t, err)
			}
			_, err = fmt.Fprintf(s.out, "Deleted connector %s from %s.\n", args[0], t.scope())
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete even when other entities refer to it")
	return cmd
}

func newConnectorExportCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "export ID",
		Short: "Print a connector as a document that create accepts (-o yaml, the default, or json)",
		Long: `Print a connector as a document without the server's fields, ready for
"azimuth connector create -f". Import it into another scope with --org and
--project on create:

  azimuth connector export azure_prod --org default --project web > c.yaml
  azimuth connector create -f c.yaml --org default --project staging`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format := formatYAML
			if flagChanged(cmd, "output") {
				f, err := outputFormat(cmd)
				if err != nil {
					return err
				}
				if f == formatTable {
					return withExit(ExitUsage, errors.New("export writes yaml or json, not a table"))
				}
				format = f
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			out, err := c.GetConnector(cmd.Context(), t.scope(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			doc, err := out.Document()
			if err != nil {
				return err
			}
			if format == formatJSON {
				var buf bytes.Buffer
				if err := json.Indent(&buf, doc, "", "  "); err != nil {
					return err
				}
				buf.WriteByte('\n')
				_, err = s.out.Write(buf.Bytes())
				return err
			}
			y, err := jsonToYAML(doc)
			if err != nil {
				return err
			}
			_, err = s.out.Write(y)
			return err
		},
	}
}

func newConnectorValidateIDCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "validate-id ID",
		Short: "Check that an identifier is valid and free in the scope (exit 0 free, 4 taken, 6 invalid)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			free, err := c.ConnectorIDFree(cmd.Context(), t.scope(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			if !free {
				return withExit(ExitConflict, fmt.Errorf("connector identifier %s is taken in %s", args[0], t.scope()))
			}
			_, err = fmt.Fprintf(s.out, "Connector identifier %s is free in %s.\n", args[0], t.scope())
			return err
		},
	}
}
