package tierprom_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiercache/tiercache/internal/testsource"
	"github.com/tiercache/tiercache/observability/tierprom"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// TestReadHook reads through a strategy on a Store whose ObserveRead is the
// Collector's hook, and checks that each read lands in the histogram of the
// tier that answered it.
func TestReadHook(t *testing.T) {
	ctx := context.Background()
	c := tierprom.NewCollector(tierprom.Config{})
	// A generous L2Timeout: the test is about which tier answers, and a
	// loaded machine under -race can take longer than the default 100 ms
	// for a Redis call, which makes the read fall through to the source.
	store, err := tier.New(&tier.Config{Redis: shared.Client(t), L2Timeout: 2 * time.Second, ObserveRead: c.ReadHook("users")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	src := testsource.NewStrings(map[string]string{"1": "ada"})
	ca, err := strategy.NewCacheAside[string](store, src, strategy.Options{Namespace: testsource.UniqueNamespace("promhook"), Entity: "user"})
	if err != nil {
		t.Fatal(err)
	}
	series := func(tierName string) string {
		return "tiercache_read_duration_seconds{strategy=users,tier=" + tierName + "}"
	}
	steps := []struct {
		name    string
		id      string
		clearL1 bool
		want    map[string]float64 // histogram counts after the step
	}{
		{"miss loads", "1", false, map[string]float64{"source": 1, "l1": 0, "l2": 0, "none": 0}},
		{"L1 hit", "1", false, map[string]float64{"source": 1, "l1": 1, "l2": 0, "none": 0}},
		{"L1 cleared: L2", "1", true, map[string]float64{"source": 1, "l1": 1, "l2": 1, "none": 0}},
		{"L1 hit again", "1", false, map[string]float64{"source": 1, "l1": 2, "l2": 1, "none": 0}},
		{"not found: source", "2", false, map[string]float64{"source": 2, "l1": 2, "l2": 1, "none": 0}},
		{"cached not found: L1", "2", false, map[string]float64{"source": 2, "l1": 3, "l2": 1, "none": 0}},
	}
	for _, st := range steps {
		if st.clearL1 {
			store.ClearLocal()
		}
		_, _ = ca.Get(ctx, st.id)
		store.WaitL1()
		got := gathered(t, reg)
		for tierName, want := range st.want {
			if v, ok := got[series(tierName)]; !ok || v != want {
				t.Errorf("%s: %s = %v (present %v); want %v", st.name, series(tierName), v, ok, want)
			}
		}
	}
}

// TestQueueGauges holds a write-behind queue (its source blocks) and reads
// its depth and oldest write age back from the registry.
func TestQueueGauges(t *testing.T) {
	ctx := context.Background()
	w, src := testsource.HeldQueue(t, shared.Client(t), "promqueue")

	c := tierprom.NewCollector(tierprom.Config{})
	if err := c.AddQueue("sessions", w); err != nil {
		t.Fatal(err)
	}
	if err := c.AddQueue("sessions", w); err == nil {
		t.Error("second AddQueue succeeded; want ErrDuplicate")
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	const (
		depth  = "tiercache_writebehind_queue_depth{strategy=sessions}"
		oldest = "tiercache_writebehind_oldest_age_seconds{strategy=sessions}"
	)
	if got := gathered(t, reg); got[depth] != 0 || got[oldest] != 0 {
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
	got := gathered(t, reg)
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
	if got := gathered(t, reg); got[depth] != 0 || got[oldest] != 0 {
		t.Errorf("after Flush: depth %v, oldest %v; want 0, 0", got[depth], got[oldest])
	}
	c.RemoveQueue("sessions")
	if _, ok := gathered(t, reg)[depth]; ok {
		t.Error("gauges of a removed queue still gathered")
	}
}
