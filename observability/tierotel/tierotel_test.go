package tierotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/tier"
)

var shared *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &shared) }

// collect reads every data point: counters by value, histograms by count,
// keyed "name{k=v,...}" with attributes sorted.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s: monotonic %v, temporality %v; want a cumulative counter", m.Name, d.IsMonotonic, d.Temporality)
				}
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = float64(p.Count)
				}
			}
		}
	}
	return out
}

func attrs(set attribute.Set) string {
	var kv []string
	for _, a := range set.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{Redis: shared.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	m, err := tierotel.New(provider.Meter("tiercache"), tierotel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Add("sessions", store); err != nil {
		t.Fatal(err)
	}
	if err := m.Add("sessions", store); !errors.Is(err, tierotel.ErrDuplicate) {
		t.Errorf("second Add = %v; want ErrDuplicate", err)
	}

	obs := m.Observer("sessions")
	run := fmt.Sprintf("%d:", time.Now().UnixNano()) // the shared Redis outlives a -count run
	load := func(context.Context, string) (any, error) { return "v", nil }
	failing := func(context.Context, string) (any, error) { return nil, errors.New("db down") }
	for _, step := range []struct {
		key   string
		load  tier.Loader
		clear bool
	}{
		{"otel:a", load, false},    // source
		{"otel:a", load, false},    // l1
		{"otel:a", load, true},     // l2
		{"otel:b", failing, false}, // load error: none
	} {
		if step.clear {
			store.ClearLocal()
		}
		_, _ = metrics.TimeGet(ctx, obs, store, run+step.key, nil, step.load)
		store.WaitL1()
	}

	got := collect(t, reader)
	tests := []struct {
		point string
		want  float64
	}{
		{"tiercache.reads{result=hit,strategy=sessions,tier=l1}", 1},
		{"tiercache.reads{result=miss,strategy=sessions,tier=l1}", 3},
		{"tiercache.reads{result=hit,strategy=sessions,tier=l2}", 1},
		{"tiercache.reads{result=miss,strategy=sessions,tier=l2}", 2},
		{"tiercache.loads{result=ok,strategy=sessions}", 1},
		{"tiercache.loads{result=error,strategy=sessions}", 1},
		{"tiercache.redis_errors{strategy=sessions}", 0},
		{"tiercache.breaker_state{result=closed,strategy=sessions}", 1},
		{"tiercache.breaker_state{result=open,strategy=sessions}", 0},
		{"tiercache.read.duration{strategy=sessions,tier=source}", 1},
		{"tiercache.read.duration{strategy=sessions,tier=l1}", 1},
		{"tiercache.read.duration{strategy=sessions,tier=l2}", 1},
		{"tiercache.read.duration{strategy=sessions,tier=none}", 1},
	}
	for _, tt := range tests {
		if v, ok := got[tt.point]; !ok || v != tt.want {
			t.Errorf("%s = %v (present %v); want %v", tt.point, v, ok, tt.want)
		}
	}
	rows := 0
	for k := range got {
		if !strings.HasPrefix(k, "tiercache.read.duration") {
			rows++
		}
	}
	if want := len(metrics.Counters()); rows != want {
		t.Errorf("%d counter points; want one per metrics.Counters row (%d)", rows, want)
	}

	m.Remove("sessions")
	got = collect(t, reader)
	if _, ok := got["tiercache.sets{strategy=sessions}"]; ok {
		t.Error("points of a removed store still collected")
	}
}

func TestNewNilMeter(t *testing.T) {
	if _, err := tierotel.New(nil, tierotel.Config{}); !errors.Is(err, tierotel.ErrNoMeter) {
		t.Errorf("New(nil) = %v; want ErrNoMeter", err)
	}
}

func TestInstrumentName(t *testing.T) {
	for _, tt := range []struct{ row, want string }{
		{"reads_total", "tiercache.reads"},
		{"l1_sets_lost_total", "tiercache.l1_sets_lost"},
	} {
		if got := tierotel.InstrumentName(tt.row); got != tt.want {
			t.Errorf("InstrumentName(%q) = %q; want %q", tt.row, got, tt.want)
		}
	}
}
