package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/ops"
)

// acrCmds are `azimuth azure acr …`.
func acrCmds(s *streams) []*cobra.Command {
	cmd := &cobra.Command{
		Use:   "acr",
		Short: "Azure Container Registry: registries, repositories, every tag, pull credentials",
		Long: `Use Azure Container Registry through a connector.

Give a registry by its login server (--login-server myregistry.azurecr.io) and
repositories and tags are read from the registry itself, for which AcrPull is
enough. Give it by name (--registry myregistry --subscription SUB) and it is
looked up among the subscription's registries first, as Harness does, which
needs Reader. Tags are listed completely, page by page, whatever their number.`,
	}
	cmd.AddCommand(newACRRegistriesCmd(s), newACRRepositoriesCmd(s), newACRTagsCmd(s), newACRTagCmd(s), newACRLatestCmd(s), newACRLoginCredentialsCmd(s))
	return []*cobra.Command{cmd}
}

// registryFlags are the flags naming a registry.
type registryFlags struct {
	conn, loginServer, registry, subscription, resourceGroup string
}

func (f *registryFlags) add(cmd *cobra.Command) {
	azureConnectorFlag(cmd, &f.conn)
	cmd.Flags().StringVar(&f.loginServer, "login-server", "", "the registry's login server, e.g. myregistry.azurecr.io (AcrPull is enough)")
	cmd.Flags().StringVar(&f.registry, "registry", "", "the registry's name, looked up in --subscription (needs Reader)")
	cmd.Flags().StringVar(&f.subscription, "subscription", "", "subscription ID (with --registry)")
	cmd.Flags().StringVar(&f.resourceGroup, "resource-group", "", "resource group (with --registry)")
}

func (f *registryFlags) query() (url.Values, error) {
	if f.loginServer == "" && f.registry == "" {
		return nil, usageError{errors.New("give the registry: --login-server myregistry.azurecr.io, or --registry NAME --subscription SUB")}
	}
	return url.Values{"loginServer": {f.loginServer}, "registry": {f.registry}, "subscriptionId": {f.subscription}, "resourceGroup": {f.resourceGroup}}, nil
}

func newACRRegistriesCmd(s *streams) *cobra.Command {
	var conn, sub, rg string
	cmd := &cobra.Command{
		Use:   "registries",
		Short: "List the registries of a subscription (needs Reader)",
		Args:  cobra.NoArgs,
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
				Registries []struct {
					Registry      string `json:"registry"`
					LoginServer   string `json:"loginServer"`
					ResourceGroup string `json:"resourceGroup"`
					Location      string `json:"location"`
					SKU           string `json:"sku"`
				} `json:"registries"`
			}
			if err := call.do(cmd.Context(), "GET", "/ng/api/artifacts/acr/container-registries", url.Values{"subscriptionId": {sub}, "resourceGroup": {rg}}, nil, &out); err != nil {
				return err
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			tb := newTable(s.out, "NAME", "LOGIN SERVER", "RESOURCE GROUP", "LOCATION", "SKU")
			for _, r := range out.Registries {
				tb.row(r.Registry, r.LoginServer, r.ResourceGroup, r.Location, r.SKU)
			}
			return tb.flush()
		},
	}
	azureConnectorFlag(cmd, &conn)
	cmd.Flags().StringVar(&sub, "subscription", "", "subscription ID")
	cmd.Flags().StringVar(&rg, "resource-group", "", "only this resource group")
	return cmd
}

func newACRRepositoriesCmd(s *streams) *cobra.Command {
	var f registryFlags
	cmd := &cobra.Command{
		Use:     "repositories",
		Aliases: []string{"repos"},
		Short:   "List the repositories of a registry",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			q, err := f.query()
			if err != nil {
				return err
			}
			call, err := newAzureCall(cmd, f.conn)
			if err != nil {
				return err
			}
			reg := f.loginServer
			if reg == "" {
				reg = f.registry
			}
			var out struct {
				LoginServer  string `json:"loginServer"`
				Repositories []struct {
					Repository string `json:"repository"`
				} `json:"repositories"`
			}
			if err := call.do(cmd.Context(), "GET", "/ng/api/artifacts/acr/container-registries/"+url.PathEscape(reg)+"/repositories", q, nil, &out); err != nil {
				return err
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			tb := newTable(s.out, "REPOSITORY")
			for _, r := range out.Repositories {
				tb.row(r.Repository)
			}
			return tb.flush()
		},
	}
	f.add(cmd)
	return cmd
}

func newACRTagsCmd(s *streams) *cobra.Command {
	var (
		f                       registryFlags
		order, filter           string
		limit, pageSize         int
		namesOnly, showProgress bool
	)
	cmd := &cobra.Command{
		Use:   "tags REPOSITORY",
		Short: "List every tag of a repository, newest first",
		Long: `List the tags of a repository: all of them, page by page, as they arrive.

--order-by is timedesc (newest first, the default), timeasc, name, or version
(highest first, as Harness sorts; each page of it reads the whole repository,
so its pages are of 10,000 tags unless --page-size says otherwise). --filter keeps the tags matching a regular expression (RE2),
--limit stops after that many. Output streams with bounded memory in every
format; on a terminal, stderr shows how many tags have arrived.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			q, err := f.query()
			if err != nil {
				return err
			}
			call, err := newAzureCall(cmd, f.conn)
			if err != nil {
				return err
			}
			q.Set("repository", args[0])
			q.Set("orderBy", order)
			q.Set("filter", filter)
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			if pageSize > 0 {
				q.Set("pageSize", strconv.Itoa(pageSize))
			}
			if namesOnly {
				q.Set("namesOnly", "true")
			}
			w := newTagWriter(s.out, format, namesOnly)
			prog := newTagProgress(s.err, showProgress)
			for {
				var page ops.TagPage
				if err := call.do(cmd.Context(), "GET", "/ng/api/azimuth/acr/tags", q, nil, &page); err != nil {
					prog.done()
					return err
				}
				if err := w.page(page.Tags); err != nil {
					prog.done()
					return err
				}
				if page.NextPageToken == "" {
					prog.done()
					return w.end()
				}
				prog.add(len(page.Tags))
				q.Set("pageToken", page.NextPageToken)
			}
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&order, "order-by", "timedesc", "timedesc, timeasc, name or version")
	cmd.Flags().StringVar(&filter, "filter", "", "regular expression (RE2) a tag must match")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many tags (0: all)")
	cmd.Flags().IntVar(&pageSize, "page-size", 0, "tags per request (default 1000, 10000 in the version order; at most 10000)")
	cmd.Flags().BoolVar(&namesOnly, "names-only", false, "names only, no digests and times (cheaper)")
	cmd.Flags().BoolVar(&showProgress, "progress", true, "show progress on stderr when it is a terminal")
	return cmd
}

// tagWriter writes tags page by page in a format, holding one page.
type tagWriter struct {
	out       io.Writer
	format    string
	namesOnly bool
	n         int
	width     int
}

func newTagWriter(out io.Writer, format string, namesOnly bool) *tagWriter {
	return &tagWriter{out: out, format: format, namesOnly: namesOnly}
}

func (w *tagWriter) page(tags []ops.TagInfo) error {
	switch w.format {
	case formatJSON:
		buf := make([]byte, 0, 160*len(tags)+8)
		if w.n == 0 {
			buf = append(buf, "[\n"...)
		}
		for _, t := range tags {
			b, err := tagJSON(t, w.namesOnly)
			if err != nil {
				return err
			}
			if w.n > 0 {
				buf = append(buf, ",\n"...)
			}
			buf = append(append(buf, "  "...), b...)
			w.n++
		}
		_, err := w.out.Write(buf)
		return err
	case formatYAML:
		if len(tags) == 0 {
			return nil
		}
		var items []any = make([]any, len(tags))
		for i, t := range tags {
			items[i] = tagValue(t, w.namesOnly)
		}
		w.n += len(tags)
		return writeYAML(w.out, items)
	}
	if w.n == 0 {
		w.width = 3
		for _, t := range tags {
			w.width = max(w.width, min(len(t.Name), 60))
		}
		if w.namesOnly {
			if _, err := fmt.Fprintln(w.out, "TAG"); err != nil {
				return err
			}
		} else if _, err := fmt.Fprintf(w.out, "%-*s  %-20s  %-19s  %s\n", w.width, "TAG", "DIGEST", "UPDATED", "CREATED"); err != nil {
			return err
		}
	}
	buf := make([]byte, 0, 100*len(tags))
	for _, t := range tags {
		if w.namesOnly {
			buf = append(append(buf, cell(t.Name)...), '\n')
		} else {
			buf = fmt.Appendf(buf, "%-*s  %-20s  %-19s  %s\n", w.width, cell(t.Name), shortDigest(t.Digest), tagStamp(t.LastUpdateTime), tagStamp(t.CreatedTime))
		}
		w.n++
	}
	_, err := w.out.Write(buf)
	return err
}

func (w *tagWriter) end() error {
	switch w.format {
	case formatJSON:
		if w.n == 0 {
			_, err := io.WriteString(w.out, "[]\n")
			return err
		}
		_, err := io.WriteString(w.out, "\n]\n")
		return err
	case formatYAML:
		if w.n == 0 {
			_, err := io.WriteString(w.out, "[]\n")
			return err
		}
	}
	return nil
}

func tagValue(t ops.TagInfo, namesOnly bool) any {
	if namesOnly {
		return map[string]string{"name": t.Name}
	}
	return t
}

func tagJSON(t ops.TagInfo, namesOnly bool) ([]byte, error) {
	return json.Marshal(tagValue(t, namesOnly))
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return cell(d)
}

func tagStamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// tagProgress counts arrived items on stderr, when stderr is a terminal.
type tagProgress struct {
	w     io.Writer
	on    bool
	n     int
	shown bool
}

func newTagProgress(w io.Writer, want bool) *tagProgress {
	return &tagProgress{w: w, on: want && isTerminalWriter(w)}
}

// add shows the count once more than one page has arrived: a short
// listing prints nothing extra.
func (p *tagProgress) add(n int) {
	p.n += n
	if p.on {
		fmt.Fprintf(p.w, "\r%d tags so far…", p.n)
		p.shown = true
	}
}

func (p *tagProgress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newACRTagCmd(s *streams) *cobra.Command {
	var f registryFlags
	cmd := &cobra.Command{
		Use:   "tag REPOSITORY TAG",
		Short: "Describe a tag: digest, media type, platforms, times",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			q, err := f.query()
			if err != nil {
				return err
			}
			call, err := newAzureCall(cmd, f.conn)
			if err != nil {
				return err
			}
			q.Set("repository", args[0])
			q.Set("tag", args[1])
			var d ops.TagDetails
			if err := call.do(cmd.Context(), "GET", "/ng/api/azimuth/acr/tag", q, nil, &d); err != nil {
				return err
			}
			return printTagDetails(s, p, d)
		},
	}
	f.add(cmd)
	return cmd
}

func printTagDetails(s *streams, p *printer, d ops.TagDetails) error {
	if ok, err := p.structured(d); ok {
		return err
	}
	platforms := ""
	for i, x := range d.Platforms {
		if i > 0 {
			platforms += ", "
		}
		platforms += x
	}
	return fields(s.out, "Image", d.Image, "Digest", d.Digest, "Media type", d.MediaType, "Platforms", platforms,
		"Size", strconv.FormatInt(d.Size, 10), "Created", tagStamp(d.CreatedTime), "Updated", tagStamp(d.LastUpdateTime), "Pinned", d.ImageByDigest)
}

func newACRLatestCmd(s *streams) *cobra.Command {
	var f registryFlags
	var re string
	cmd := &cobra.Command{
		Use:   "latest REPOSITORY",
		Short: "The most recently pushed tag matching a regular expression",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			q, err := f.query()
			if err != nil {
				return err
			}
			call, err := newAzureCall(cmd, f.conn)
			if err != nil {
				return err
			}
			q.Set("repository", args[0])
			var out struct {
				Tag string `json:"tag"`
			}
			if err := call.do(cmd.Context(), "POST", "/ng/api/artifacts/acr/getLastSuccessfulBuild", q, map[string]string{"tagRegex": re}, &out); err != nil {
				return err
			}
			q.Set("tag", out.Tag)
			var d ops.TagDetails
			if err := call.do(cmd.Context(), "GET", "/ng/api/azimuth/acr/tag", q, nil, &d); err != nil {
				return err
			}
			return printTagDetails(s, p, d)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&re, "tag-regex", ".*", "regular expression (RE2) the tag must match")
	return cmd
}

func newACRLoginCredentialsCmd(s *streams) *cobra.Command {
	var f registryFlags
	var passwordOnly bool
	cmd := &cobra.Command{
		Use:   "login-credentials",
		Short: "Docker login credentials for a registry (user name and an ACR refresh token)",
		Long: `Print credentials that docker login and crane auth login accept, issued for
the connector's identity (it needs AcrPull on the registry to pull):

  azimuth azure acr login-credentials -c CONN --login-server R --password-only |
    docker login R -u 00000000-0000-0000-0000-000000000000 --password-stdin

The password is an ACR refresh token, valid for a few hours (Expires).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			q, err := f.query()
			if err != nil {
				return err
			}
			call, err := newAzureCall(cmd, f.conn)
			if err != nil {
				return err
			}
			var out ops.LoginCredentials
			if err := call.do(cmd.Context(), "POST", "/ng/api/azimuth/acr/login-credentials", q, nil, &out); err != nil {
				return err
			}
			if passwordOnly {
				_, err := fmt.Fprintln(s.out, out.Password)
				return err
			}
			if ok, err := p.structured(out); ok {
				return err
			}
			return fields(s.out, "Login server", out.LoginServer, "Username", out.Username, "Password", out.Password, "Expires", tagStamp(out.ExpiresOn))
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&passwordOnly, "password-only", false, "print only the password (for docker login --password-stdin)")
	return cmd
}
