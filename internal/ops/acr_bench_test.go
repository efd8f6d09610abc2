package ops_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/azimuthcd/azimuth/internal/ops"
)

// BenchmarkACRList100k lists the 100,000 tags of one repository on the
// simulator, completely, with Azimuth's acr.tags task (every page through
// engine.Execute, as the server and delegates run it, newest first, with
// digests and times) and with go-containerregistry's remote.List (what
// `crane ls` runs: /v2/<repo>/tags/list, 1000 names a page), on the same
// simulator in the same run. peak-heap-MiB is the largest live heap seen
// while listing, above the heap before it.
//
//	go test -run '^$' -bench ACRList100k -benchtime 5x ./internal/ops/
func BenchmarkACRList100k(b *testing.B) {
	const n = 100_000
	sim := acrSim(b, n)
	e := newACREnv(b, sim, "")
	c := readerCaller(e)
	ref := ops.RegistryRef{LoginServer: acrDemoLogin}
	// Warm both paths (tokens, the simulator's digest cache).
	c.must(b, ops.KindACRTags, ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, PageSize: 10}, nil)
	repo, err := name.NewRepository(acrDemoLogin + "/" + acrBigRepo)
	if err != nil {
		b.Fatal(err)
	}
	craneOpts := []remote.Option{remote.WithAuth(&authn.Basic{Username: acrReaderApp, Password: acrReaderSecret}),
		remote.WithTransport(sim.HTTPClient().Transport), remote.WithContext(context.Background())}
	if _, err := remote.List(repo, craneOpts...); err != nil {
		b.Fatal(err)
	}

	for _, v := range []struct {
		name      string
		pageSize  int
		namesOnly bool
	}{
		{"azimuth/details/pageSize=1000", 1000, false},
		{"azimuth/details/pageSize=10000", ops.MaxTagPageSize, false},
		{"azimuth/names/pageSize=10000", ops.MaxTagPageSize, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			peak := acrMeasurePeak(b, func() {
				count := 0
				p := ops.TagsParams{RegistryRef: ref, Repository: acrBigRepo, PageSize: v.pageSize, NamesOnly: v.namesOnly}
				for {
					var page ops.TagPage
					c.mustPage(b, p, &page)
					count += len(page.Tags)
					if page.NextPageToken == "" {
						break
					}
					p.PageToken = page.NextPageToken
				}
				if count != n {
					b.Fatalf("%d tags", count)
				}
			})
			b.ReportMetric(peak, "peak-heap-MiB")
		})
	}
	b.Run("crane", func(b *testing.B) {
		peak := acrMeasurePeak(b, func() {
			tags, err := remote.List(repo, craneOpts...)
			if err != nil || len(tags) != n {
				b.Fatalf("%d tags, %v", len(tags), err)
			}
		})
		b.ReportMetric(peak, "peak-heap-MiB")
	})
}

// measurePeak runs fn b.N times and returns the largest live heap seen
// above the heap before each run, in MiB.
func acrMeasurePeak(b *testing.B, fn func()) float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	var worst uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		base := read()
		var peak uint64
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(200 * time.Microsecond)
			defer tick.Stop()
			for {
				if v := read(); v > peak {
					peak = v
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		b.StartTimer()
		fn()
		b.StopTimer()
		close(done)
		wg.Wait()
		if peak > base && peak-base > worst {
			worst = peak - base
		}
		b.StartTimer()
	}
	return float64(worst) / (1 << 20)
}
