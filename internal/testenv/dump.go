package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// DumpTables renders every row of every table of db (PostgreSQL's public
// schema when postgres, else SQLite's tables): a "== table" line, then one
// line per row, sorted, each column as name=value, bytes both as text and
// in hex. Tests compare dumps to prove a request changed nothing, and search
// them for a planted value.
func DumpTables(t testing.TB, db *sql.DB, postgres bool) string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
	}
	tables := queryStrings(t, db, q)
	sort.Strings(tables)
	var out strings.Builder
	for _, tb := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM `+tb)
		if err != nil {
			t.Fatalf("dump table %s: %v", tb, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatalf("dump table %s: %v", tb, err)
		}
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump table %s: %v", tb, err)
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					fmt.Fprintf(&b, "%s=%s (%x) ", cols[i], bs, bs)
				} else {
					fmt.Fprintf(&b, "%s=%v ", cols[i], v)
				}
			}
			lines = append(lines, b.String())
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			t.Fatalf("dump table %s: %v", tb, err)
		}
		sort.Strings(lines)
		fmt.Fprintf(&out, "== %s\n%s\n", tb, strings.Join(lines, "\n"))
	}
	return out.String()
}

func queryStrings(t testing.TB, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}
