package api_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

// benchConnectors is how many connectors the database holds before the
// measured operations start (issue 2 asks for 10,000).
const benchConnectors = 10_000

// BenchmarkConnectorAPI measures create, get and list (a page of 100) of
// connectors through the whole HTTP stack (auth, validation, secret checks,
// audit) on each database holding benchConnectors connectors, and reports
// each operation's p50 and p99 latency besides Go's ns/op (the inverse of
// throughput on one client). Run:
//
//	go test -run X -bench ConnectorAPI -benchtime 2000x ./internal/api/
func BenchmarkConnectorAPI(b *testing.B) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			e := newEnv(b, d)
			e.createProject("default", "p")
			e.must(e.createTextSecret(e.admin, "", "", "sp", "v"))
			n := 0
			create := func() {
				if r := e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, azureConnector(fmt.Sprintf("c%d", n), "default", "p", "account.sp")); r.Status != 200 {
					b.Fatal(r)
				}
				n++
			}
			for n < benchConnectors {
				create()
				if n%500 == 0 {
					e.responses = nil
				}
			}
			measure := func(b *testing.B, op func(i int)) {
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					op(i)
					lat = append(lat, time.Since(t0))
					if i%500 == 499 {
						e.responses = nil
					}
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			}
			b.Run("create", func(b *testing.B) { measure(b, func(int) { create() }) })
			b.Run("get", func(b *testing.B) {
				measure(b, func(i int) {
					if r := e.req("GET", fmt.Sprintf("/ng/api/connectors/c%d", (i*7919)%n)+q("default", "p"), e.admin, nil); r.Status != 200 {
						b.Fatal(r)
					}
				})
			})
			b.Run("list100", func(b *testing.B) {
				measure(b, func(i int) {
					page := (i * 31) % (n / 100)
					if r := e.req("GET", "/ng/api/connectors"+q("default", "p", "pageSize=100", fmt.Sprintf("pageIndex=%d", page)), e.admin, nil); r.Status != 200 {
						b.Fatal(r)
					}
				})
			})
			e.responses = nil
		})
	}
}
