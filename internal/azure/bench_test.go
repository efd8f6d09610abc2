package azure

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
)

const opsPerRun = 1000

// BenchmarkOperations runs 1,000 ARM operations (GET a subscription)
// through one connector the way executors do — Factory.Credential, the
// credential's shared client (Client), the call — and the same 1,000 calls straight through the SDK
// (one azidentity credential, one client), in the same run against the
// same simulator. One benchmark op is one batch of 1,000 of each.
//
// Metrics: token-requests-total (seen by the simulator for all
// operations-total Azimuth operations; goal at most 2),
// direct-token-requests, azimuth-us/op and direct-us/op (per operation),
// overhead-ratio (azimuth / direct).
//
//	go test -run '^$' -bench BenchmarkOperations -benchtime 3x ./internal/azure/
func BenchmarkOperations(b *testing.B) {
	s := startSim(b)
	f := newFactory(b, s.Override(), func(o *Options) { o.Retry = policy.RetryOptions{} })
	conn := secretConnector("bench", secretApp, tenantID)
	sec := secrets(connector.PathSecretRef, secretValue)
	ctx := context.Background()

	e := s.Endpoints(cloud.Public)
	co := policy.ClientOptions{
		Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: e.AuthorityHost, Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{
			azcloud.ResourceManager: {Endpoint: e.ResourceManager, Audience: e.ResourceManagerAudience}}},
		Transport: s.HTTPClient(),
	}
	direct, err := azidentity.NewClientSecretCredential(tenantID, secretApp, secretValue, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: co, DisableInstanceDiscovery: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	directClient, err := armsubscriptions.NewClient(direct, &arm.ClientOptions{ClientOptions: co})
	if err != nil {
		b.Fatal(err)
	}

	ours := func() {
		for range opsPerRun {
			cred, err := f.Credential(conn, sec, "bench-v1")
			if err != nil {
				b.Fatal(err)
			}
			client, err := Client(cred, "armsubscriptions", func(c *Credential) (*armsubscriptions.Client, error) {
				return armsubscriptions.NewClient(c, c.ARMOptions())
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := client.Get(ctx, sub1, nil); err != nil {
				b.Fatal(cred.Classify(err))
			}
		}
	}
	theirs := func() {
		for range opsPerRun {
			if _, err := directClient.Get(ctx, sub1, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Warm both paths' connections; the token counts start after this.
	s.ResetCounters()
	if _, err := directClient.Get(ctx, sub1, nil); err != nil {
		b.Fatal(err)
	}
	directTokens := s.TokenRequests(tenantID, secretApp, "https://management.core.windows.net//.default")
	s.ResetCounters()

	var oursTime, theirsTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate the order so neither path always pays for the
		// other's garbage.
		first, second, ft, st := ours, theirs, &oursTime, &theirsTime
		if i%2 == 1 {
			first, second, ft, st = theirs, ours, &theirsTime, &oursTime
		}
		start := time.Now()
		first()
		*ft += time.Since(start)
		start = time.Now()
		second()
		*st += time.Since(start)
	}
	b.StopTimer()
	tokens := 0
	for _, n := range s.TokenRequestCounts() {
		tokens += n
	}
	if tokens > 2 {
		b.Errorf("%d operations cost %d token requests, want at most 2", b.N*opsPerRun, tokens)
	}
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*opsPerRun) }
	b.ReportMetric(float64(tokens), "token-requests-total")
	b.ReportMetric(float64(b.N*opsPerRun), "operations-total")
	b.ReportMetric(float64(directTokens), "direct-token-requests")
	b.ReportMetric(perOp(oursTime), "azimuth-us/op")
	b.ReportMetric(perOp(theirsTime), "direct-us/op")
	b.ReportMetric(float64(oursTime)/float64(theirsTime), "overhead-ratio")
}
