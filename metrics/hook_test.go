package metrics_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/testsource"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

var _ metrics.QueueReader = (*strategy.WriteBehind[int])(nil)

// TestHook checks that a Store with metrics.Hook reports every read under
// the tier that answered, a strategy's L1 hits (through Store.LookupL1)
// included.
func TestHook(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	// A generous L2Timeout: the test is about which tier answers, and a
	// loaded machine under -race can take longer than the default 100 ms
	// for a Redis call, which makes the L2 read fall through to the source.
	store, err := tier.New(&tier.Config{Redis: shared.Client(t), L2Timeout: 2 * time.Second, ObserveRead: metrics.Hook(&rec)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := testsource.NewStrings(map[string]string{"1": "ada"})
	ca, err := strategy.NewCacheAside[string](store, src, strategy.Options{Namespace: testsource.UniqueNamespace("metrics"), Entity: "hook"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		clearL1 bool
		want    string
	}{
		{"miss loads", false, "source"},
		{"L1 hit", false, "l1"},
		{"L1 cleared: L2", true, "l2"},
		{"L1 hit again", false, "l1"},
	}
	for _, st := range steps {
		if st.clearL1 {
			store.ClearLocal()
		}
		if v, err := ca.Get(ctx, "1"); err != nil || v != "ada" {
			t.Fatalf("%s: Get(1) = %q, %v; want ada, nil", st.name, v, err)
		}
		store.WaitL1()
		rec.mu.Lock()
		seen := slices.Clone(rec.seen)
		rec.seen = nil
		rec.mu.Unlock()
		if !slices.Equal(seen, []string{st.want}) {
			t.Errorf("%s: observed %v; want [%s]", st.name, seen, st.want)
		}
	}
}

// TestWriteBehindQueueReader reads a held write-behind queue through
// metrics.QueueReader.
func TestWriteBehindQueueReader(t *testing.T) {
	ctx := context.Background()
	w, src := testsource.HeldQueue(t, shared.Client(t), "metrics")
	var q metrics.QueueReader = w
	if err := w.Set(ctx, "1", "ada"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if depth, oldest := q.QueueStats(); depth != 1 || oldest < 10*time.Millisecond {
		t.Errorf("QueueStats() = %d, %v; want 1, at least 10ms", depth, oldest)
	}
	close(src.Gate)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if depth, oldest := q.QueueStats(); depth != 0 || oldest != 0 {
		t.Errorf("after Flush: QueueStats() = %d, %v; want 0, 0", depth, oldest)
	}
}
