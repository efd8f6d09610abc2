package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/service"
)

func newSecretCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secret",
		Aliases: []string{"secrets"},
		Short:   "Manage text and file secrets (values are write-only)",
		Long: `Manage text and file secrets at account, organization (--org) or project
(--org and --project) scope. Values are write-only: nothing ever prints one.
A value is never given as an argument (it would land in shell history and in
the process list): text secrets read it from --value-file or --value-stdin,
file secrets from --file. One trailing newline of a text value is dropped.`,
	}
	create := &cobra.Command{Use: "create", Short: "Create a text or file secret"}
	create.AddCommand(newSecretWriteCmd(s, client.SecretText, false), newSecretWriteCmd(s, client.SecretFile, false))
	update := &cobra.Command{Use: "update", Short: "Update a text or file secret (its value only when one is given)"}
	update.AddCommand(newSecretWriteCmd(s, client.SecretText, true), newSecretWriteCmd(s, client.SecretFile, true))
	cmd.AddCommand(create, update, newSecretGetCmd(s), newSecretListCmd(s), newSecretDeleteCmd(s))
	return cmd
}

// secretFlags are the metadata flags of secret create and update.
type secretFlags struct {
	name, description string
	tags              []string
	valueFile         string
	valueStdin        bool
	file              string
	value             string // refused: a value never goes on the command line
	ifVersion         int64
}

func parseTags(tags []string) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, t := range tags {
		k, v, _ := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		if k == "" {
			return nil, withExit(ExitUsage, fmt.Errorf("--tag %q: want KEY=VALUE or KEY", t))
		}
		m[k] = v
	}
	return m, nil
}

// readLimited reads at most service.MaxSecretSize bytes.
func readLimited(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, service.MaxSecretSize+1))
	if err != nil {
		return nil, withExit(ExitUsage, fmt.Errorf("read %s: %w", what, err))
	}
	if len(b) > service.MaxSecretSize {
		wipeBytes(b)
		return nil, withExit(ExitInvalid, fmt.Errorf("%s is larger than %d bytes, the limit for a secret", what, service.MaxSecretSize))
	}
	return b, nil
}

func wipeBytes(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// textValue reads a text secret's value from --value-file or
// --value-stdin; nil when neither is given and the value is optional.
func (f *secretFlags) textValue(s *streams, required bool) ([]byte, error) {
	switch {
	case f.valueFile != "" && f.valueStdin:
		return nil, withExit(ExitUsage, errors.New("give --value-file or --value-stdin, not both"))
	case f.valueFile != "":
		fh, err := os.Open(f.valueFile)
		if err != nil {
			return nil, withExit(ExitUsage, fmt.Errorf("--value-file: %w", err))
		}
		defer fh.Close()
		b, err := readLimited(fh, f.valueFile)
		if err != nil {
			return nil, err
		}
		return trimNewline(b), nil
	case f.valueStdin:
		if fh, ok := s.in.(*os.File); ok {
			if fi, err := fh.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintln(s.err, "Type the value, then Enter and Ctrl-D (it is shown as you type; prefer a pipe or --value-file):")
			}
		}
		b, err := readLimited(s.in, "standard input")
		if err != nil {
			return nil, err
		}
		return trimNewline(b), nil
	case required:
		return nil, withExit(ExitUsage, errors.New("a text secret needs its value: --value-file FILE or --value-stdin (never on the command line)"))
	}
	return nil, nil
}

// trimNewline drops one trailing newline, which files and echo add.
func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func (f *secretFlags) fileContent(required bool) ([]byte, error) {
	if f.file == "" {
		if required {
			return nil, withExit(ExitUsage, errors.New("a file secret needs --file FILE"))
		}
		return nil, nil
	}
	var r io.Reader
	if f.file == "-" {
		return nil, withExit(ExitUsage, errors.New("--file needs a file name"))
	}
	fh, err := os.Open(f.file)
	if err != nil {
		return nil, withExit(ExitUsage, fmt.Errorf("--file: %w", err))
	}
	defer fh.Close()
	r = fh
	return readLimited(r, f.file)
}

func newSecretWriteCmd(s *streams, typ string, update bool) *cobra.Command {
	var f secretFlags
	kind := "text"
	if typ == client.SecretFile {
		kind = "file"
	}
	cmd := &cobra.Command{
		Use:  kind + " ID",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if flagChanged(cmd, "value") {
				return withExit(ExitUsage, errors.New("a secret value is never given on the command line (shell history, process list): use --value-file FILE or --value-stdin"))
			}
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			tags, err := parseTags(f.tags)
			if err != nil {
				return err
			}
			var value []byte
			if typ == client.SecretText {
				value, err = f.textValue(s, !update)
			} else {
				value, err = f.fileContent(!update)
			}
			if err != nil {
				return err
			}
			defer wipeBytes(value)
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			meta := client.SecretMeta{Identifier: args[0], Name: f.name, Description: f.description, Tags: tags}
			ctx := cmd.Context()
			var out client.Secret
			verb := "Created"
			switch {
			case !update && typ == client.SecretText:
				out, err = c.CreateTextSecret(ctx, t.scope(), meta, value)
			case !update:
				out, err = c.CreateFileSecret(ctx, t.scope(), meta, value)
			default:
				verb = "Updated"
				// Keep what the flags do not change: read, merge, write
				// back only if nobody changed it meanwhile.
				cur, gerr := c.GetSecret(ctx, t.scope(), args[0])
				if gerr != nil {
					return apiError(t, gerr)
				}
				if cur.Secret.Type != typ {
					return withExit(ExitInvalid, fmt.Errorf("secret %s is a %s secret; use `secret update %s`", args[0], secretKind(cur.Secret.Type), secretKind(cur.Secret.Type)))
				}
				if !flagChanged(cmd, "name") {
					meta.Name = cur.Secret.Name
				}
				if !flagChanged(cmd, "description") {
					meta.Description = cur.Secret.Description
				}
				if !flagChanged(cmd, "tag") {
					meta.Tags = cur.Secret.Tags
				}
				v := client.IfMatch(cur.Version)
				if f.ifVersion > 0 {
					v = client.IfMatch(f.ifVersion)
				}
				if typ == client.SecretText {
					out, err = c.UpdateTextSecret(ctx, t.scope(), meta, value, v)
				} else {
					out, err = c.UpdateFileSecret(ctx, t.scope(), meta, value, v)
				}
			}
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			what := ""
			if update && value == nil {
				what = ", value kept"
			}
			_, err = fmt.Fprintf(s.out, "%s %s secret %s in %s (version %d%s).\n", verb, kind, out.Secret.Identifier,
				scopeString(out.Secret.OrgIdentifier, out.Secret.ProjectIdentifier), out.Version, what)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "display name (default: the identifier)")
	fl.StringVar(&f.description, "description", "", "description")
	fl.StringArrayVar(&f.tags, "tag", nil, "tag KEY=VALUE or KEY (repeatable; on update replaces every tag)")
	if typ == client.SecretText {
		fl.StringVar(&f.valueFile, "value-file", "", "file holding the value (one trailing newline is dropped)")
		fl.BoolVar(&f.valueStdin, "value-stdin", false, "read the value from standard input")
		fl.StringVar(&f.value, "value", "", "refused: never put a secret value on the command line")
		_ = fl.MarkHidden("value")
	} else {
		fl.StringVar(&f.file, "file", "", "the file to store, e.g. a PEM with certificate and private key (at most 1 MiB)")
	}
	if update {
		fl.Int64Var(&f.ifVersion, "if-version", 0, "update only if the secret is still at this version")
		cmd.Short = "Update a " + kind + " secret; flags not given keep their values"
	} else {
		cmd.Short = "Create a " + kind + " secret"
	}
	return cmd
}

func secretKind(t string) string {
	if t == client.SecretFile {
		return "file"
	}
	return "text"
}

func newSecretGetCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a secret's metadata (never its value)",
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
			out, err := c.GetSecret(cmd.Context(), t.scope(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			x := out.Secret
			return fields(s.out,
				"Identifier", x.Identifier,
				"Name", x.Name,
				"Type", x.Type,
				"Scope", scopeString(x.OrgIdentifier, x.ProjectIdentifier),
				"Description", x.Description,
				"Tags", tagsString(x.Tags),
				"Secret manager", x.Spec.SecretManagerIdentifier,
				"Value", "(write-only)",
				"Created", when(out.CreatedAt),
				"Updated", when(out.UpdatedAt),
				"Version", strconv.FormatInt(out.Version, 10),
			)
		},
	}
}

func newSecretListCmd(s *streams) *cobra.Command {
	var l listFlags
	var typ string
	var sub bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the secrets of a scope",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var types []string
			return runList(cmd, s, &l, listing[client.Secret]{
				what:   "secrets",
				header: []string{"IDENTIFIER", "NAME", "TYPE", "SCOPE", "UPDATED"},
				row: func(it client.Secret) []string {
					x := it.Secret
					return []string{x.Identifier, x.Name, secretKind(x.Type), scopeString(x.OrgIdentifier, x.ProjectIdentifier), when(it.UpdatedAt)}
				},
				check: func() error {
					switch strings.ToLower(typ) {
					case "":
					case "text", strings.ToLower(client.SecretText):
						types = []string{client.SecretText}
					case "file", strings.ToLower(client.SecretFile):
						types = []string{client.SecretFile}
					default:
						return withExit(ExitUsage, fmt.Errorf("--type %q: want text or file", typ))
					}
					return nil
				},
				fetch: func(c *client.Client, t target, o client.ListOptions) (client.Page[client.Secret], error) {
					return c.ListSecrets(cmd.Context(), t.scope(), client.ListSecretsOptions{ListOptions: o, Types: types, IncludeSubScopes: sub})
				},
				empty: true,
			})
		},
	}
	l.add(cmd, true)
	cmd.Flags().StringVar(&typ, "type", "", "text or file")
	cmd.Flags().BoolVar(&sub, "sub-scopes", false, "include the secrets of every scope below this one")
	return cmd
}

func newSecretDeleteCmd(s *streams) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a secret (--force even when a connector refers to it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteSecret(cmd.Context(), t.scope(), args[0], force); err != nil {
				if client.IsConflict(err) && !force {
					err = fmt.Errorf("%w\n  (--force deletes it anyway; the connectors that use it will fail)", err)
				}
				return apiError(t, err)
			}
			_, err = fmt.Fprintf(s.out, "Deleted secret %s from %s.\n", args[0], t.scope())
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete even when connectors refer to it")
	return cmd
}
