package azuresim

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// BenchmarkTokenRequests measures client-secret token requests end to end
// (TLS keep-alive, form parsing, secret check, JWT signing).
func BenchmarkTokenRequests(b *testing.B) {
	s := StartForTest(b, nil)
	c := s.HTTPClient()
	u := s.Endpoints(cloud.Public).AuthorityHost + demoTenant + "/oauth2/v2.0/token"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {readerAppID}, "client_secret": {readerSecret}, "scope": {armScope}}.Encode()
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkARMListPage measures one page (100 items) of an ARM list with
// RBAC filtering: resource groups of a subscription holding 500.
func BenchmarkARMListPage(b *testing.B) {
	var rgs strings.Builder
	for i := range 500 {
		fmt.Fprintf(&rgs, "    - {name: rg-%03d}\n", i)
	}
	w, err := ParseWorld([]byte(`
tenants:
- id: 10000000-0000-4000-8000-000000000001
  domain: bench.onmicrosoft.com
  apps: [{name: reader, appId: 30000000-0000-4000-8000-000000000001, objectId: 40000000-0000-4000-8000-000000000001}]
  subscriptions:
  - id: 20000000-0000-4000-8000-000000000001
    displayName: Bench
    resourceGroups:
` + rgs.String() + `
  roleAssignments: [{principal: reader, role: Reader, scope: /subscriptions/20000000-0000-4000-8000-000000000001}]
`))
	if err != nil {
		b.Fatal(err)
	}
	s := StartForTest(b, w)
	token, _, err := s.IssueToken(demoTenant, "reader", "https://management.core.windows.net/")
	if err != nil {
		b.Fatal(err)
	}
	c := s.HTTPClient()
	u := s.Endpoints(cloud.Public).ResourceManager + "/subscriptions/" + demoSub + "/resourcegroups?api-version=2021-04-01"
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}
