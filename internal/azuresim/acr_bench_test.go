package azuresim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkACRTagPage measures tag-page requests on the 100,000-tag
// generated repository, newest first, from a random position (last=), over
// HTTPS with a cached access token: what a client listing every tag pays
// per page. Run: go test -run '^$' -bench ACR -benchtime 2s ./internal/azuresim/
func BenchmarkACRTagPage(b *testing.B) {
	s := startACRSim(b)
	tok := "Bearer " + pullToken(b, s, "repository:"+acrBigRepo+":metadata_read,pull")
	c := s.HTTPClient()
	for _, n := range []int{100, 1000} {
		for api, path := range map[string]string{"acr": "/acr/v1/" + url.PathEscape(acrBigRepo) + "/_tags", "v2": "/v2/" + acrBigRepo + "/tags/list"} {
			b.Run(fmt.Sprintf("%s/n=%d", api, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					last := fmt.Sprintf("v1.%05d", rand.IntN(acrBigCount))
					req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://%s%s?n=%d&orderby=timedesc&last=%s", acrLogin, path, n, last), nil)
					req.Header.Set("Authorization", tok)
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
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tags/s")
			})
		}
	}
}

// BenchmarkACRTokenExchange measures the token dance after the Entra
// token: /oauth2/exchange then /oauth2/token for one repository scope.
func BenchmarkACRTokenExchange(b *testing.B) {
	s := startACRSim(b)
	aad := aadToken(b, s, "pull", "https://containerregistry.azure.net/.default")
	c := s.HTTPClient()
	post := func(path string, form url.Values) {
		resp, err := c.PostForm("https://"+acrLogin+path, form)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", path, resp.StatusCode)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		post("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {acrLogin}, "access_token": {aad}})
		post("/oauth2/token", url.Values{"grant_type": {"password"}, "service": {acrLogin}, "scope": {"repository:team/api:pull"},
			"username": {acrApps["pull"][0]}, "password": {"pull-secret"}})
	}
}
