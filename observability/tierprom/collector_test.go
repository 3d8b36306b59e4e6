package tierprom_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/observability/tierprom"
	"github.com/tiercache/tiercache/tier"
)

var shared *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &shared) }

// gathered indexes a Gather's counters and histogram counts by family and
// labels: "tiercache_reads_total{strategy=products,tier=l1,result=hit}".
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			id := f.GetName() + labelString(m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[id] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[id] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[id] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func labelString(ls []*dto.LabelPair) string {
	s := "{"
	for i, l := range ls {
		if i > 0 {
			s += ","
		}
		s += l.GetName() + "=" + l.GetValue()
	}
	return s + "}"
}

func TestCollector(t *testing.T) {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{Redis: shared.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	c := tierprom.NewCollector(tierprom.Config{})
	if err := c.Add("products", store); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("products", store); !errors.Is(err, tierprom.ErrDuplicate) {
		t.Errorf("second Add = %v; want ErrDuplicate", err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("Register: %v", err)
	}

	obs := c.Observer("products")
	load := func(context.Context, string) (any, error) { return "v", nil }
	missing := func(context.Context, string) (any, error) { return nil, tier.ErrNotFound }
	run := fmt.Sprintf("%d:", time.Now().UnixNano()) // the shared Redis outlives a -count run
	get := func(key string, l tier.Loader) {
		t.Helper()
		key = run + key
		if _, err := metrics.TimeGet(ctx, obs, store, key, nil, l); err != nil && !errors.Is(err, tier.ErrNotFound) {
			t.Fatalf("Get(%q): %v", key, err)
		}
		store.WaitL1()
	}
	get("prom:a", load)       // source
	get("prom:a", load)       // l1
	store.ClearLocal()        //
	get("prom:a", load)       // l2
	get("prom:gone", missing) // source, negative cached
	get("prom:gone", missing) // l1 negative hit
	if err := store.Set(ctx, "prom:b", "w", nil); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, "prom:b"); err != nil {
		t.Fatal(err)
	}

	got := gathered(t, reg)
	tests := []struct {
		series string
		want   float64
	}{
		{"tiercache_reads_total{result=hit,strategy=products,tier=l1}", 2},
		{"tiercache_reads_total{result=miss,strategy=products,tier=l1}", 3},
		{"tiercache_reads_total{result=hit,strategy=products,tier=l2}", 1},
		{"tiercache_reads_total{result=miss,strategy=products,tier=l2}", 2},
		{"tiercache_negative_hits_total{strategy=products}", 1},
		{"tiercache_loads_total{result=ok,strategy=products}", 2},
		{"tiercache_loads_total{result=error,strategy=products}", 0},
		{"tiercache_sets_total{strategy=products}", 1},
		{"tiercache_deletes_total{strategy=products}", 1},
		{"tiercache_redis_errors_total{strategy=products}", 0},
		{"tiercache_breaker_state{result=closed,strategy=products}", 1},
		{"tiercache_breaker_state{result=open,strategy=products}", 0},
		{"tiercache_read_duration_seconds{strategy=products,tier=source}", 2},
		{"tiercache_read_duration_seconds{strategy=products,tier=l1}", 2},
		{"tiercache_read_duration_seconds{strategy=products,tier=l2}", 1},
	}
	for _, tt := range tests {
		if v, ok := got[tt.series]; !ok || v != tt.want {
			t.Errorf("%s = %v (present %v); want %v", tt.series, v, ok, tt.want)
		}
	}
	if n := len(metrics.Counters()); countPrefix(got, "{strategy=products") == 0 || len(got) < n {
		t.Errorf("gathered %d series; want at least the %d counters", len(got), n)
	}

	c.Remove("products")
	got = gathered(t, reg)
	if _, ok := got["tiercache_sets_total{strategy=products}"]; ok {
		t.Errorf("series of a removed store still gathered")
	}
}

func countPrefix(m map[string]float64, sub string) int {
	n := 0
	for k := range m {
		for i := 0; i+len(sub) <= len(k); i++ {
			if k[i:i+len(sub)] == sub {
				n++
				break
			}
		}
	}
	return n
}

func TestCollectorConstLabelsAndBuckets(t *testing.T) {
	c := tierprom.NewCollector(tierprom.Config{
		ConstLabels: prometheus.Labels{"instance": "a"},
		Buckets:     []float64{0.001, 0.01},
	})
	c.Observer("s").ObserveRead("l1", 2*time.Millisecond)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "tiercache_read_duration_seconds" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		if n := len(h.GetBucket()); n != 2 {
			t.Errorf("buckets = %d; want 2", n)
		}
		if got := labelString(f.GetMetric()[0].GetLabel()); got != "{instance=a,strategy=s,tier=l1}" {
			t.Errorf("labels = %s; want {instance=a,strategy=s,tier=l1}", got)
		}
		return
	}
	t.Error("no tiercache_read_duration_seconds family gathered")
}
