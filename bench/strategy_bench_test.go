package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// benchItem is the value type of the strategy benchmarks.
type benchItem struct {
	ID      string
	Name    string
	Version int
}

// countingSource is an in-memory system of record that counts its writes.
// Its loads wait while a gate is set, so that a benchmark can hold a
// background reload.
type countingSource struct {
	mu   sync.Mutex
	rows map[string]benchItem
	gate chan struct{}
	// writeDelay is how long each write takes, standing in for a database
	// round trip.
	writeDelay time.Duration
	writes     atomic.Int64
	loads      atomic.Int64
}

func newCountingSource() *countingSource { return &countingSource{rows: map[string]benchItem{}} }

func (s *countingSource) Load(ctx context.Context, id string) (benchItem, error) {
	s.loads.Add(1)
	s.mu.Lock()
	gate := s.gate
	v, ok := s.rows[id]
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return benchItem{}, ctx.Err()
		}
	}
	if !ok {
		return benchItem{}, strategy.ErrNotFound
	}
	return v, nil
}

func (s *countingSource) Store(_ context.Context, id string, v benchItem) error {
	s.writes.Add(1)
	if s.writeDelay > 0 {
		time.Sleep(s.writeDelay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[id] = v
	return nil
}

func (s *countingSource) Remove(_ context.Context, id string) error {
	s.writes.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, id)
	return nil
}

var benchNS atomic.Int64

func benchOptions() strategy.Options {
	return strategy.Options{Namespace: fmt.Sprintf("bench%d", benchNS.Add(1)), Entity: "item", Options: tier.Options{TTL: time.Hour}}
}

func benchStore(b *testing.B) *tier.Store {
	b.Helper()
	// A generous Redis timeout: a benchmark on a busy machine should measure
	// slow calls, not fail on them (write-through returns cache errors).
	s, err := tier.New(&tier.Config{Redis: redisServer.Client(b), L2Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// hotKeys is the hot-key workload: every Set goes to one of this many ids.
const hotKeys = 10

// BenchmarkStrategySet measures Set under a hot-key workload (parallel
// writers, 10 ids) for write-through and write-behind side by side, and
// reports how many source writes each Set cost: with a source that costs
// nothing (the cache's own cost) and with one whose writes take 1 ms (a
// database round trip).
func BenchmarkStrategySet(b *testing.B) {
	ids := make([]string, hotKeys)
	for i := range ids {
		ids[i] = "hot" + strconv.Itoa(i)
	}
	cases := []struct {
		name  string
		build builder
	}{
		{"WriteThrough", func(b *testing.B, store *tier.Store, src *countingSource) (strategy.Strategy[benchItem], func(context.Context) error) {
			s, err := strategy.NewWriteThrough[benchItem](store, src, benchOptions())
			if err != nil {
				b.Fatal(err)
			}
			return s, nil
		}},
		{"WriteBehind", func(b *testing.B, store *tier.Store, src *countingSource) (strategy.Strategy[benchItem], func(context.Context) error) {
			s, err := strategy.NewWriteBehind[benchItem](store, src, benchOptions(), &strategy.WriteBehindConfig[benchItem]{})
			if err != nil {
				b.Fatal(err)
			}
			return s, s.Shutdown
		}},
		{"WriteBehind/durable", func(b *testing.B, store *tier.Store, src *countingSource) (strategy.Strategy[benchItem], func(context.Context) error) {
			s, err := strategy.NewWriteBehind[benchItem](store, src, benchOptions(), &strategy.WriteBehindConfig[benchItem]{Durable: true})
			if err != nil {
				b.Fatal(err)
			}
			return s, s.Shutdown
		}},
	}
	for _, delay := range []time.Duration{0, time.Millisecond} {
		for _, c := range cases {
			b.Run(fmt.Sprintf("source=%v/%s", delay, c.name), func(b *testing.B) {
				benchSet(b, ids, delay, c.build)
			})
		}
	}
}

// builder builds a strategy over a store and a source, and returns what
// flushes it (nil when Set reaches the source at once).
type builder func(b *testing.B, store *tier.Store, src *countingSource) (strategy.Strategy[benchItem], func(context.Context) error)

func benchSet(b *testing.B, ids []string, delay time.Duration, build builder) {
	ctx := context.Background()
	store := benchStore(b)
	src := newCountingSource()
	src.writeDelay = delay
	s, flush := build(b, store, src)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		v := int(next.Add(1))
		for i := 0; pb.Next(); i++ {
			id := ids[(v+i)%hotKeys]
			if err := s.Set(ctx, id, benchItem{ID: id, Name: "hot item", Version: i}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if flush != nil {
		if err := flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(src.writes.Load())/float64(b.N), "source-writes/set")
}

// BenchmarkRefreshAheadGet compares a read of a fresh entry with a read past
// its refresh point, while that key's one background reload is running
// (held by the source until the benchmark ends), and with reads that keep
// triggering reloads (a refresh point 1 ms after each load).
func BenchmarkRefreshAheadGet(b *testing.B) {
	ctx := context.Background()
	b.Run("fresh", func(b *testing.B) {
		store := benchStore(b)
		src := newCountingSource()
		src.rows["1"] = benchItem{ID: "1", Name: "kettle"}
		o := benchOptions()
		r, err := strategy.NewRefreshAhead[benchItem](store, src, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Get(ctx, "1"); err != nil {
			b.Fatal(err)
		}
		store.WaitL1()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := r.Get(ctx, "1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("past-refresh-point", func(b *testing.B) {
		store := benchStore(b)
		src := newCountingSource()
		src.rows["1"] = benchItem{ID: "1", Name: "kettle"}
		o := benchOptions()
		o.TTL, o.TTLJitter, o.RefreshAfter = time.Hour, -1, 0.00001 // refresh point 36 ms after the load
		r, err := strategy.NewRefreshAhead[benchItem](store, src, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Get(ctx, "1"); err != nil {
			b.Fatal(err)
		}
		gate := make(chan struct{})
		src.mu.Lock()
		src.gate = gate
		src.mu.Unlock()
		defer close(gate)
		time.Sleep(50 * time.Millisecond) // past the refresh point
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := r.Get(ctx, "1"); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(src.loads.Load()-1), "reloads")
	})
	b.Run("reloading", func(b *testing.B) {
		store := benchStore(b)
		src := newCountingSource()
		src.rows["1"] = benchItem{ID: "1", Name: "kettle"}
		o := benchOptions()
		o.TTL, o.TTLJitter, o.RefreshAfter = time.Second, -1, 0.001 // refresh point 1 ms after each load
		r, err := strategy.NewRefreshAhead[benchItem](store, src, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Get(ctx, "1"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := r.Get(ctx, "1"); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(src.loads.Load()-1)/float64(b.N), "reloads/op")
	})
}
