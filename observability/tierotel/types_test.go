package tierotel_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/tier"
)

// TestMetricsTypeStats reads two data types (and a third past
// MaxTypeStats) and checks the per data type counters and the latency
// histograms read back through an OpenTelemetry ManualReader against
// Store.TypeStats.
func TestMetricsTypeStats(t *testing.T) {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{Redis: shared.Client(t), MaxTypeStats: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var p tierotel.Producer
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(&p))
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	m, err := tierotel.New(provider.Meter("tiercache"), tierotel.Config{Producer: &p})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Add("shop", store); err != nil {
		t.Fatal(err)
	}

	load := func(_ context.Context, id string) (string, error) {
		if id == "bad" {
			return "", errors.New("db down")
		}
		return "v-" + id, nil
	}
	var groups []*tier.Group[string]
	for _, ns := range []string{"otelA", "otelB", "otelC"} {
		g, err := tier.NewGroup(store, tier.GroupConfig[string]{Namespace: ns, Entity: "item", Load: load})
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	for i, g := range groups {
		for _, id := range []string{"1", "1", "bad"}[:1+i] {
			_, _, _ = g.Get(ctx, id)
			store.WaitL1()
		}
	}
	store.ClearLocal()
	_, _, _ = groups[0].Get(ctx, "1")

	got := collect(t, reader)
	stats := store.TypeStats()
	if len(stats) != 3 || stats[2].Namespace != tier.OtherNamespace {
		t.Fatalf("TypeStats = %+v; want otelA, otelB and %s", stats, tier.OtherNamespace)
	}
	for _, ts := range stats {
		attrs := fmt.Sprintf("entity=%s,namespace=%s", ts.Entity, ts.Namespace)
		for point, want := range map[string]uint64{
			"tiercache.type_reads{" + attrs + ",strategy=shop,tier=l1}":      ts.L1Hits,
			"tiercache.type_reads{" + attrs + ",strategy=shop,tier=l2}":      ts.L2Hits,
			"tiercache.type_reads{" + attrs + ",strategy=shop,tier=source}":  ts.SourceHits,
			"tiercache.type_reads{" + attrs + ",strategy=shop,tier=none}":    ts.Failed,
			"tiercache.type_loads{" + attrs + ",result=ok,strategy=shop}":    ts.Loads - ts.LoadErrors,
			"tiercache.type_loads{" + attrs + ",result=error,strategy=shop}": ts.LoadErrors,
			"tiercache.type_not_found{" + attrs + ",strategy=shop}":          ts.NotFound,
			"tiercache.type_stale_served{" + attrs + ",strategy=shop}":       ts.StaleServed,
			tierotel.TypeLatencyName + "{" + attrs + ",strategy=shop}":       ts.ReadLatency.Count(),
		} {
			if v, ok := got[point]; !ok || v != float64(want) {
				t.Errorf("%s = %v (present %v); want %d", point, v, ok, want)
			}
		}
	}
	if a := stats[0]; a.L1Hits != 0 || a.L2Hits != 1 || a.SourceHits != 1 {
		t.Errorf("otelA = %+v; want 1 L2 hit, 1 source read", a)
	}
	if o := stats[2]; o.Loads != 2 || o.LoadErrors != 1 || o.L1Hits != 1 {
		t.Errorf("%s = %+v; want otelC's 2 loads (1 failed) and 1 L1 hit", tier.OtherNamespace, o)
	}

	// The histogram's buckets, bounds and sum are the Store's.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			h, ok := mt.Data.(metricdata.Histogram[float64])
			if mt.Name != tierotel.TypeLatencyName || !ok {
				continue
			}
			for _, p := range h.DataPoints {
				ns, _ := p.Attributes.Value(attribute.Key(metrics.LabelNamespace))
				if ns.AsString() != "otelA" {
					continue
				}
				found = true
				want := store.TypeStats()[0].ReadLatency
				if !slices.Equal(p.Bounds, metrics.LatencyBucketsSeconds()) || !slices.Equal(p.BucketCounts, want.Counts[:]) || p.Sum != want.Sum.Seconds() {
					t.Errorf("histogram = bounds %v, counts %v, sum %v; want %v, %v, %v", p.Bounds, p.BucketCounts, p.Sum,
						metrics.LatencyBucketsSeconds(), want.Counts, want.Sum.Seconds())
				}
			}
		}
	}
	if !found {
		t.Errorf("no %s point for otelA", tierotel.TypeLatencyName)
	}
}
