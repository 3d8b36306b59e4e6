package tierprom_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/observability/tierprom"
	"github.com/tiercache/tiercache/tier"
)

var errDown = errors.New("source down")

// typeTraffic reads two data types of store (and a third past its
// MaxTypeStats of 2): L1 hits, L2 hits, loads, a not-found and a load
// error.
func typeTraffic(t *testing.T, store *tier.Store) {
	t.Helper()
	ctx := context.Background()
	load := func(_ context.Context, id string) (string, error) {
		switch id {
		case "missing":
			return "", tier.ErrNotFound
		case "bad":
			return "", errDown
		}
		return "v-" + id, nil
	}
	var groups []*tier.Group[string]
	for _, ns := range []string{"promA", "promB", "promC"} {
		g, err := tier.NewGroup(store, tier.GroupConfig[string]{Namespace: ns, Entity: "item", Load: load})
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	for i, g := range groups {
		for _, id := range []string{"1", "1", "missing", "bad"}[:2+i] {
			_, _, _ = g.Get(ctx, id)
			store.WaitL1()
		}
	}
	store.ClearLocal()
	_, _, _ = groups[0].Get(ctx, "1")
}

// TestCollectorTypeStats checks the per data type series read back
// through a real prometheus.Registry against Store.TypeStats: every
// counter, and the histogram's count, sum and cumulative buckets; the data
// type past MaxTypeStats is under namespace _other.
func TestCollectorTypeStats(t *testing.T) {
	store, err := tier.New(&tier.Config{Redis: shared.Client(t), MaxTypeStats: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := tierprom.NewCollector(tierprom.Config{})
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("shop", store); err != nil {
		t.Fatal(err)
	}
	typeTraffic(t, store)

	got := gathered(t, reg)
	stats := store.TypeStats()
	if len(stats) != 3 || stats[2].Namespace != tier.OtherNamespace {
		t.Fatalf("TypeStats = %+v; want promA, promB and %s", stats, tier.OtherNamespace)
	}
	for _, ts := range stats {
		labels := fmt.Sprintf("strategy=shop,namespace=%s,entity=%s", ts.Namespace, ts.Entity)
		want := map[string]uint64{
			"tiercache_type_reads_total{entity=%s,namespace=%s,strategy=shop,tier=l1}":      ts.L1Hits,
			"tiercache_type_reads_total{entity=%s,namespace=%s,strategy=shop,tier=l2}":      ts.L2Hits,
			"tiercache_type_reads_total{entity=%s,namespace=%s,strategy=shop,tier=source}":  ts.SourceHits,
			"tiercache_type_reads_total{entity=%s,namespace=%s,strategy=shop,tier=none}":    ts.Failed,
			"tiercache_type_not_found_total{entity=%s,namespace=%s,strategy=shop}":          ts.NotFound,
			"tiercache_type_stale_served_total{entity=%s,namespace=%s,strategy=shop}":       ts.StaleServed,
			"tiercache_type_loads_total{entity=%s,namespace=%s,result=ok,strategy=shop}":    ts.Loads - ts.LoadErrors,
			"tiercache_type_loads_total{entity=%s,namespace=%s,result=error,strategy=shop}": ts.LoadErrors,
			"tiercache_type_read_duration_seconds{entity=%s,namespace=%s,strategy=shop}":    ts.ReadLatency.Count(),
		}
		for pattern, w := range want {
			id := fmt.Sprintf(pattern, ts.Entity, ts.Namespace)
			if v, ok := got[id]; !ok || v != float64(w) {
				t.Errorf("%s = %v (present %v); want %d (%s)", id, v, ok, w, labels)
			}
		}
		if ts.Reads() == 0 {
			t.Errorf("%s: no reads counted", ts.Namespace)
		}
	}
	if a := stats[0]; a.L1Hits != 1 || a.L2Hits != 1 || a.SourceHits != 1 || a.Loads != 1 {
		t.Errorf("promA = %+v; want 1 L1 hit, 1 L2 hit, 1 load", a)
	}
	if o := stats[2]; o.Loads != 3 || o.LoadErrors != 1 || o.NotFound != 1 {
		t.Errorf("%s = %+v; want promC's 3 loads (1 failed, 1 not found)", tier.OtherNamespace, o)
	}
	checkHistogram(t, reg, stats[0])
}

// checkHistogram compares the histogram of ts's data type as gathered with
// its ReadLatency.
func checkHistogram(t *testing.T, reg *prometheus.Registry, ts tier.TypeStats) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "tiercache_"+metrics.TypeLatencyName {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabel(m, metrics.LabelNamespace, ts.Namespace) {
				continue
			}
			h := m.GetHistogram()
			if h.GetSampleSum() != ts.ReadLatency.Sum.Seconds() {
				t.Errorf("sum = %v; want %v", h.GetSampleSum(), ts.ReadLatency.Sum.Seconds())
			}
			bounds := metrics.LatencyBucketsSeconds()
			if len(h.GetBucket()) != len(bounds) {
				t.Fatalf("%d buckets; want %d", len(h.GetBucket()), len(bounds))
			}
			var cum uint64
			for i, b := range h.GetBucket() {
				cum += ts.ReadLatency.Counts[i]
				if b.GetUpperBound() != bounds[i] || b.GetCumulativeCount() != cum {
					t.Errorf("bucket %d = le %v, %d; want le %v, %d", i, b.GetUpperBound(), b.GetCumulativeCount(), bounds[i], cum)
				}
			}
			return
		}
	}
	t.Errorf("no %s series for namespace %s", metrics.TypeLatencyName, ts.Namespace)
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
