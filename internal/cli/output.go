package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/azimuthcd/azimuth/internal/client"
)

// Output formats.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

// outputFormat is the -o flag, checked.
func outputFormat(cmd *cobra.Command) (string, error) {
	f := strings.ToLower(flagString(cmd, "output"))
	switch f {
	case "", formatTable:
		return formatTable, nil
	case formatJSON, formatYAML:
		return f, nil
	}
	return "", withExit(ExitUsage, fmt.Errorf("-o %q: want table, json or yaml", f))
}

// printer writes a command's result in the chosen format.
type printer struct {
	out    io.Writer
	format string
}

func newPrinter(cmd *cobra.Command, s *streams) (*printer, error) {
	f, err := outputFormat(cmd)
	if err != nil {
		return nil, err
	}
	return &printer{out: s.out, format: f}, nil
}

// structured writes v as JSON or YAML and reports true; in table format it
// does nothing and reports false.
func (p *printer) structured(v any) (bool, error) {
	switch p.format {
	case formatJSON:
		return true, writeJSON(p.out, v)
	case formatYAML:
		return true, writeYAML(p.out, v)
	}
	return false, nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	y, err := jsonToYAML(b)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}

// jsonToYAML converts JSON to block-style YAML keeping the key order (so an
// exported connector reads name, identifier, ..., spec as the server wrote
// it). Strings that YAML would read as something else are quoted.
func jsonToYAML(j []byte) ([]byte, error) {
	var n yamlv3.Node
	if err := yamlv3.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	var clear func(*yamlv3.Node)
	clear = func(n *yamlv3.Node) {
		if n.Kind != yamlv3.ScalarNode || n.Tag != "!!str" {
			n.Style = 0
		} else {
			n.Style &^= yamlv3.FlowStyle
			if n.Style == yamlv3.DoubleQuotedStyle && plainSafe(n.Value) {
				n.Style = 0
			}
		}
		for _, c := range n.Content {
			clear(c)
		}
	}
	clear(&n)
	var buf bytes.Buffer
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// plainSafe reports whether a string can be written unquoted; the encoder
// still quotes it when YAML would read it as another type.
func plainSafe(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// table writes aligned columns. Cells are cleaned of control characters so
// a name cannot move the terminal's cursor.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(headers...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			_, _ = io.WriteString(t.tw, "\t")
		}
		_, _ = io.WriteString(t.tw, cell(c))
	}
	_, _ = io.WriteString(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

// cell makes a value printable on one line of a table.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case !unicode.IsPrint(r):
			return '?'
		}
		return r
	}, s)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// fields writes "Key:  value" lines for a single entity.
func fields(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], clean(v))
	}
	return tw.Flush()
}

// clean removes control characters but keeps the whole text.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case !unicode.IsPrint(r):
			return '?'
		}
		return r
	}, s)
}

func tagsString(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if m[k] == "" {
			parts = append(parts, k)
		} else {
			parts = append(parts, k+"="+m[k])
		}
	}
	return strings.Join(parts, ",")
}

func when(m client.Millis) string {
	t := m.Time()
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(time.DateTime)
}

func scopeString(org, project string) string {
	switch {
	case project != "":
		return org + "/" + project
	case org != "":
		return org
	}
	return "account"
}

// pageFooter tells, on stderr, that more pages exist.
func pageFooter(w io.Writer, what string, p pageInfo) {
	if p.pages > 1 {
		fmt.Fprintf(w, "Page index %d of %d pages (%d %s in all); --page-index N for another, --all for every one.\n", p.idx, p.pages, p.total, what)
	}
}

// pageInfo is where a listing is in its pages.
type pageInfo struct{ idx, pages, total int64 }

func infoOf[T any](p client.Page[T]) pageInfo {
	return pageInfo{idx: p.PageIndex, pages: p.TotalPages, total: p.TotalItems}
}

// listFlags are the paging and search flags of list commands.
type listFlags struct {
	search    string
	pageIndex int
	pageSize  int
	all       bool
}

func (l *listFlags) add(cmd *cobra.Command, search bool) {
	f := cmd.Flags()
	if search {
		f.StringVar(&l.search, "search", "", "only those whose identifier or name contains this")
	}
	f.IntVar(&l.pageIndex, "page-index", 0, "page to show, from 0")
	f.IntVar(&l.pageSize, "page-size", 0, "items per page (server default 100, at most 1000)")
	f.BoolVar(&l.all, "all", false, "list every page")
}

func (l *listFlags) options(pageIndex int) client.ListOptions {
	size := l.pageSize
	if l.all && size == 0 {
		size = 1000
	}
	return client.ListOptions{PageIndex: pageIndex, PageSize: size, SearchTerm: l.search}
}

func (l *listFlags) check() error {
	if l.all && l.pageIndex != 0 {
		return withExit(ExitUsage, errors.New("--all and --page-index do not go together"))
	}
	return nil
}

// list fetches one page, or every page with --all.
func list[T any](cmd *cobra.Command, l *listFlags, fetch func(o client.ListOptions) (client.Page[T], error)) ([]T, pageInfo, error) {
	if err := l.check(); err != nil {
		return nil, pageInfo{}, err
	}
	if !l.all {
		p, err := fetch(l.options(l.pageIndex))
		if err != nil {
			return nil, pageInfo{}, err
		}
		return p.Content, infoOf(p), nil
	}
	items, err := client.All(cmd.Context(), func(_ context.Context, i int) (client.Page[T], error) { return fetch(l.options(i)) })
	return items, pageInfo{}, err
}

// listing is what a list command shows of its items.
type listing[T any] struct {
	what   string           // the items, plural, for the paging footer
	header []string         // the table's columns
	row    func(T) []string // one item's cells
	check  func() error     // optional: the command's own flags, checked after -o
	fetch  func(c *client.Client, t target, o client.ListOptions) (client.Page[T], error)
	empty  bool // say on stderr when the scope holds none
}

// runList is the body of every list command: check -o and the command's
// flags, fetch a page (every page with --all), print it as JSON or YAML when
// asked and as a table otherwise, then the paging footer on stderr.
func runList[T any](cmd *cobra.Command, s *streams, l *listFlags, ls listing[T]) error {
	p, err := newPrinter(cmd, s)
	if err != nil {
		return err
	}
	if ls.check != nil {
		if err := ls.check(); err != nil {
			return err
		}
	}
	c, t, err := newAPIClient(cmd)
	if err != nil {
		return err
	}
	items, info, err := list(cmd, l, func(o client.ListOptions) (client.Page[T], error) { return ls.fetch(c, t, o) })
	if err != nil {
		return apiError(t, err)
	}
	if items == nil {
		items = []T{}
	}
	if ok, err := p.structured(items); ok {
		return err
	}
	tb := newTable(s.out, ls.header...)
	for _, it := range items {
		tb.row(ls.row(it)...)
	}
	if err := tb.flush(); err != nil {
		return err
	}
	if ls.empty && len(items) == 0 {
		fmt.Fprintf(s.err, "No %s in %s.\n", ls.what, t.scope())
	}
	pageFooter(s.err, ls.what, info)
	return nil
}
