package tierotel_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tiercache/tiercache/internal/testsource"
	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

func newMetrics(t *testing.T) (*tierotel.Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	m, err := tierotel.New(provider.Meter("tiercache"), tierotel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, reader
}

// TestReadHook reads through a strategy on a Store whose ObserveRead is the
// hook of Metrics, and checks that each read lands in the histogram points
// of the tier that answered it.
func TestReadHook(t *testing.T) {
	ctx := context.Background()
	m, reader := newMetrics(t)
	// A generous L2Timeout: the test is about which tier answers, and a
	// loaded machine under -race can take longer than the default 100 ms
	// for a Redis call, which makes the read fall through to the source.
	store, err := tier.New(&tier.Config{Redis: shared.Client(t), L2Timeout: 2 * time.Second, ObserveRead: m.ReadHook("users")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := testsource.NewStrings(map[string]string{"1": "ada"})
	ca, err := strategy.NewCacheAside[string](store, src, strategy.Options{Namespace: testsource.UniqueNamespace("otelhook"), Entity: "user"})
	if err != nil {
		t.Fatal(err)
	}
	point := func(tierName string) string {
		return "tiercache.read.duration{strategy=users,tier=" + tierName + "}"
	}
	steps := []struct {
		name    string
		id      string
		clearL1 bool
		want    map[string]float64 // histogram counts after the step (absent: 0)
	}{
		{"miss loads", "1", false, map[string]float64{"source": 1, "l1": 0, "l2": 0}},
		{"L1 hit", "1", false, map[string]float64{"source": 1, "l1": 1, "l2": 0}},
		{"L1 cleared: L2", "1", true, map[string]float64{"source": 1, "l1": 1, "l2": 1}},
		{"L1 hit again", "1", false, map[string]float64{"source": 1, "l1": 2, "l2": 1}},
		{"not found: source", "2", false, map[string]float64{"source": 2, "l1": 2, "l2": 1}},
		{"cached not found: L1", "2", false, map[string]float64{"source": 2, "l1": 3, "l2": 1}},
	}
	for _, st := range steps {
		if st.clearL1 {
			store.ClearLocal()
		}
		_, _ = ca.Get(ctx, st.id)
		store.WaitL1()
		got := collect(t, reader)
		for tierName, want := range st.want {
			if v := got[point(tierName)]; v != want {
				t.Errorf("%s: %s = %v; want %v", st.name, point(tierName), v, want)
			}
		}
		if v := got[point("none")]; v != 0 {
			t.Errorf("%s: %s = %v; want 0", st.name, point("none"), v)
		}
	}
}

// TestQueueGauges holds a write-behind queue (its source blocks) and reads
// its depth and oldest write age back through the manual reader.
func TestQueueGauges(t *testing.T) {
	ctx := context.Background()
	w, src := testsource.HeldQueue(t, shared.Client(t), "otelqueue")

	m, reader := newMetrics(t)
	if err := m.AddQueue("sessions", w); err != nil {
		t.Fatal(err)
	}
	if err := m.AddQueue("sessions", w); err == nil {
		t.Error("second AddQueue succeeded; want ErrDuplicate")
	}
	depth := tierotel.QueueDepthName + "{strategy=sessions}"
	oldest := tierotel.QueueOldestName + "{strategy=sessions}"
	if depth != "tiercache.writebehind_queue_depth{strategy=sessions}" || oldest != "tiercache.writebehind_oldest_age{strategy=sessions}" {
		t.Errorf("gauge names %s, %s; want tiercache.writebehind_queue_depth, tiercache.writebehind_oldest_age", depth, oldest)
	}
	if got := collect(t, reader); got[depth] != 0 || got[oldest] != 0 {
		t.Errorf("empty queue: depth %v, oldest %v; want 0, 0", got[depth], got[oldest])
	}
	start := time.Now()
	for _, id := range []string{"a", "b"} {
		if err := w.Set(ctx, id, "v"); err != nil {
			t.Fatal(err)
		}
	}
	const pause = 20 * time.Millisecond
	time.Sleep(pause)
	got := collect(t, reader)
	if got[depth] != 2 {
		t.Errorf("%s = %v; want 2", depth, got[depth])
	}
	if limit := time.Since(start).Seconds(); got[oldest] < pause.Seconds() || got[oldest] > limit {
		t.Errorf("%s = %v; want between %v and %v", oldest, got[oldest], pause.Seconds(), limit)
	}

	close(src.Gate)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, reader); got[depth] != 0 || got[oldest] != 0 {
		t.Errorf("after Flush: depth %v, oldest %v; want 0, 0", got[depth], got[oldest])
	}
	m.RemoveQueue("sessions")
	if _, ok := collect(t, reader)[depth]; ok {
		t.Error("gauges of a removed queue still collected")
	}
}
