package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/task"
)

const benchOps = 1000

// BenchmarkConnectionTestOperations runs 1,000 Azure operations (a
// connection test: the identity's token, then one subscription listing)
// through one connector, three ways in the same run against the same
// simulator:
//
//   - api: POST testConnection over HTTP (API key check, connector load,
//     engine, secret decryption, executor, status and audit written to
//     SQLite);
//   - engine: the engine's Run with the same spec (secret decryption,
//     executor; no HTTP, nothing written);
//   - direct: the SDK alone, one azidentity credential and one client,
//     listing the subscriptions.
//
// internal/azure's BenchmarkOperations measures the layer below (Factory
// and shared clients against the bare SDK).
//
// Metrics: token-requests (what the simulator saw for every api and
// engine operation, the first acquisition included; goal at most 2),
// operations, api-us/op, engine-us/op, direct-us/op, and the overheads
// api-overhead-us/op and engine-overhead-us/op against direct.
//
//	go test -run '^$' -bench ConnectionTestOperations -benchtime 1x ./internal/api/
func BenchmarkConnectionTestOperations(b *testing.B) {
	e := newConnEnv(b, connOpts{})
	e.withSecret("bench", readerApp, demoTenant, readerSecret)
	c, err := e.svc.Connectors.Get(context.Background(), access.System("bench"), scope.Scope{Account: acct}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	spec := task.Spec{Kind: ops.KindValidate, Scope: c.Scope, Connector: c.Doc, ConnectorVersion: c.Version}
	ctx := context.Background()

	ep := e.sim.Endpoints(cloud.Public)
	co := policy.ClientOptions{
		Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: ep.AuthorityHost, Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{
			azcloud.ResourceManager: {Endpoint: ep.ResourceManager, Audience: ep.ResourceManagerAudience}}},
		Transport: e.sim.HTTPClient(),
	}
	direct, err := azidentity.NewClientSecretCredential(demoTenant, readerApp, readerSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: co, DisableInstanceDiscovery: true})
	if err != nil {
		b.Fatal(err)
	}
	directClient, err := armsubscriptions.NewClient(direct, &arm.ClientOptions{ClientOptions: co})
	if err != nil {
		b.Fatal(err)
	}
	listDirect := func() {
		pager := directClient.NewListPager(nil)
		for pager.More() {
			if _, err := pager.NextPage(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	viaAPI := func() {
		r := e.req("POST", "/ng/api/connectors/testConnection/bench"+q("", ""), e.admin, nil)
		if r.Status != http.StatusOK || r.data()["status"] != "SUCCESS" {
			b.Fatal(r)
		}
	}
	viaEngine := func() {
		res, err := e.eng.Run(ctx, spec)
		if err != nil || res.Status != task.Succeeded {
			b.Fatal(res, err)
		}
	}
	// Warm the direct path; then count every token request of ours from
	// the first.
	listDirect()
	directTokens := sumTokens(e)
	e.sim.ResetCounters()
	viaAPI()
	e.mu.Lock()
	e.responses = nil
	e.mu.Unlock()

	var apiT, engT, dirT time.Duration
	measure := func(d *time.Duration, f func()) {
		start := time.Now()
		for range benchOps {
			f()
		}
		*d += time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		measure(&dirT, listDirect)
		measure(&engT, viaEngine)
		measure(&apiT, viaAPI)
		e.mu.Lock()
		e.responses = nil
		e.mu.Unlock()
	}
	b.StopTimer()
	tokens := sumTokens(e)
	if tokens > 2 {
		b.Errorf("%d operations cost %d token requests, want at most 2", 2*b.N*benchOps+1, tokens)
	}
	n := float64(b.N * benchOps)
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
	b.ReportMetric(float64(tokens), "token-requests")
	b.ReportMetric(float64(directTokens), "direct-token-requests")
	b.ReportMetric(float64(2*b.N*benchOps+1), "operations")
	b.ReportMetric(us(apiT), "api-us/op")
	b.ReportMetric(us(engT), "engine-us/op")
	b.ReportMetric(us(dirT), "direct-us/op")
	b.ReportMetric(us(apiT)-us(dirT), "api-overhead-us/op")
	b.ReportMetric(us(engT)-us(dirT), "engine-overhead-us/op")
}

// sumTokens is every token request the simulator counted, for the
// reader app only (the direct credential is the same app: counted apart
// before the reset).
func sumTokens(e *connEnv) int {
	n := 0
	for k, v := range e.sim.TokenRequestCounts() {
		if k.ClientID == readerApp {
			n += v
		}
	}
	return n
}
