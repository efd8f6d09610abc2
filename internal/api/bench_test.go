package api_test

import (
	"fmt"
	"testing"

	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

// BenchmarkConnectorAPI measures create, get and list (page of 100) of
// connectors through the whole HTTP stack (auth, validation, secret checks,
// audit) on each database. Run:
//
//	go test -run X -bench ConnectorAPI -benchtime 300x ./internal/api/
func BenchmarkConnectorAPI(b *testing.B) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			e := newEnv(b, d)
			e.createProject("default", "p")
			e.must(e.createTextSecret(e.admin, "", "", "sp", "v"))
			n := 0
			b.Run("create", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if r := e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, azureConnector(fmt.Sprintf("c%d", n), "default", "p", "account.sp")); r.Status != 200 {
						b.Fatal(r)
					}
					n++
				}
			})
			b.Run("get", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if r := e.req("GET", fmt.Sprintf("/ng/api/connectors/c%d", i%n)+q("default", "p"), e.admin, nil); r.Status != 200 {
						b.Fatal(r)
					}
				}
			})
			b.Run("list100", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if r := e.req("GET", "/ng/api/connectors"+q("default", "p", "pageSize=100"), e.admin, nil); r.Status != 200 {
						b.Fatal(r)
					}
				}
			})
			e.responses = nil
		})
	}
}
