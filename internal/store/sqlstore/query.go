package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/store"
)

// where builds a WHERE clause with $N placeholders.
type where struct {
	conds []string
	args  []any
}

// arg adds a bind argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// scopes adds "the row lies in one of ms"; columns are account, org,
// project. An empty list matches nothing.
func (w *where) scopes(ms []store.ScopeMatch) {
	if len(ms) == 0 {
		w.add("1 = 0")
		return
	}
	var ors []string
	for _, m := range ms {
		parts := []string{"account = " + w.arg(m.Scope.Account)}
		if !m.Subtree || m.Scope.Org != "" {
			parts = append(parts, "org = "+w.arg(m.Scope.Org))
		}
		if !m.Subtree || m.Scope.Project != "" {
			parts = append(parts, "project = "+w.arg(m.Scope.Project))
		}
		ors = append(ors, "("+strings.Join(parts, " AND ")+")")
	}
	w.add("(" + strings.Join(ors, " OR ") + ")")
}

// search adds a case-insensitive substring match on the given columns.
func (w *where) search(term string, cols ...string) {
	term = strings.TrimSpace(term)
	if term == "" {
		return
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	p := w.arg("%" + r.Replace(strings.ToLower(term)) + "%")
	var ors []string
	for _, c := range cols {
		ors = append(ors, "LOWER("+c+") LIKE "+p+` ESCAPE '\'`)
	}
	w.add("(" + strings.Join(ors, " OR ") + ")")
}

// in adds "col IN (...)" when vals is not empty.
func (w *where) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = w.arg(v)
	}
	w.add(col + " IN (" + strings.Join(ps, ", ") + ")")
}

// limit renders LIMIT/OFFSET for p (size 0 = no limit).
func (w *where) limit(p store.Page) string {
	if p.Size <= 0 {
		return ""
	}
	return " LIMIT " + w.arg(p.Size) + " OFFSET " + w.arg(p.Offset())
}

func encodeTags(t map[string]string) string {
	if len(t) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(t) // a map[string]string always marshals
	return string(b)
}

func decodeTags(s string) (map[string]string, error) {
	t := map[string]string{}
	if s == "" {
		return t, nil
	}
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("decode stored tags: %w", err)
	}
	return t, nil
}

type scanner interface{ Scan(dest ...any) error }
