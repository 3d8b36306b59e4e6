package strategy_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// batchMem is a memSource with a batch loader.
type batchMem struct {
	*wbSource
	loadManys atomic.Int64
}

var _ strategy.BatchLoader[Profile] = (*batchMem)(nil)

func (m *batchMem) LoadMany(ctx context.Context, ids []string) (map[string]Profile, error) {
	m.loadManys.Add(1)
	out := make(map[string]Profile, len(ids))
	for _, id := range ids {
		if p, ok := m.get(id); ok {
			out[id] = p
		}
	}
	return out, nil
}

// batchReader is what every strategy offers for batch reads.
type batchReader interface {
	GetMany(ctx context.Context, ids []string) (map[string]Profile, error)
}

// TestGetManyStrategies: every strategy's GetMany returns the source's
// values of the ids it has, leaves the others out, loads them with one
// LoadMany call and caches them.
func TestGetManyStrategies(t *testing.T) {
	builds := []struct {
		name  string
		build func(t *testing.T, s *tier.Store, src *batchMem, o strategy.Options) batchReader
	}{
		{"cache-aside", func(t *testing.T, s *tier.Store, src *batchMem, o strategy.Options) batchReader {
			c, err := strategy.NewCacheAside[Profile](s, src, o)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
		{"write-through", func(t *testing.T, s *tier.Store, src *batchMem, o strategy.Options) batchReader {
			c, err := strategy.NewWriteThrough[Profile](s, src, o)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
		{"refresh-ahead", func(t *testing.T, s *tier.Store, src *batchMem, o strategy.Options) batchReader {
			c, err := strategy.NewRefreshAhead[Profile](s, src, o)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
		{"write-behind", func(t *testing.T, s *tier.Store, src *batchMem, o strategy.Options) batchReader {
			return newWriteBehind(t, s, src, o, &strategy.WriteBehindConfig[Profile]{})
		}},
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			ctx := ctxT(t)
			src := &batchMem{wbSource: newWBSource()}
			src.put(Profile{ID: "a", Name: "A"})
			src.put(Profile{ID: "b", Name: "B"})
			store := newStore(t)
			r := b.build(t, store, src, testOptions(t))
			for round := range 2 {
				got, err := r.GetMany(ctx, []string{"a", "gone", "b"})
				if err != nil || len(got) != 2 || got["a"].Name != "A" || got["b"].Name != "B" {
					t.Errorf("round %d: GetMany = %v, %v; want a and b", round, got, err)
				}
				store.WaitL1()
			}
			if n, m := src.loads.Load(), src.loadManys.Load(); n != 0 || m != 1 {
				t.Errorf("%d Loads and %d LoadMany calls; want 0 and 1", n, m)
			}
		})
	}
}

// TestWriteBehindGetManyQueued: ids with a write still queued are answered
// from the queue, not from the source, whether the source has a batch
// loader or not.
func TestWriteBehindGetManyQueued(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "load", true: "load-many"}[batch], func(t *testing.T) {
			ctx := ctxT(t)
			wb := newWBSource()
			wb.put(Profile{ID: "q", Name: "old"})
			wb.put(Profile{ID: "s", Name: "S"})
			wb.gate = make(chan struct{}) // the flusher holds until the end
			var src strategy.Source[Profile] = wb
			if batch {
				src = &batchMem{wbSource: wb}
			}
			store := newStore(t)
			o := testOptions(t)
			w := newWriteBehind(t, store, src, o, &strategy.WriteBehindConfig[Profile]{FlushInterval: time.Hour})
			t.Cleanup(func() { close(wb.gate) }) // before Shutdown (cleanups run last first)
			if err := w.Set(ctx, "q", Profile{ID: "q", Name: "new"}); err != nil {
				t.Fatal(err)
			}
			key, _ := o.Key("q")
			if err := store.Delete(ctx, key); err != nil { // the cache lost it: the queue must answer
				t.Fatal(err)
			}
			got, err := w.GetMany(ctx, []string{"q", "s"})
			if err != nil || got["q"].Name != "new" || got["s"].Name != "S" {
				t.Errorf("GetMany = %v, %v; want q from the queue (new) and s from the source", got, err)
			}
		})
	}
}

// TestWriteThroughSetMany: SetMany writes the source with one StoreBatch
// when it has one (else Store for each id), then the cache, so that reads
// need no load; ids the source refused are named and not cached.
func TestWriteThroughSetMany(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "store", true: "store-batch"}[batch], func(t *testing.T) {
			ctx := ctxT(t)
			wb := newWBSource()
			var src strategy.Source[Profile] = wb
			if batch {
				src = batchSource{wb}
			} else {
				wb.fail["bad"] = -1
			}
			store := newStore(t)
			w, err := strategy.NewWriteThrough[Profile](store, src, testOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			items := map[string]Profile{"a": {ID: "a", Name: "A"}, "b": {ID: "b", Name: "B"}}
			if !batch {
				items["bad"] = Profile{ID: "bad"}
			}
			err = w.SetMany(ctx, items)
			var be *strategy.BatchError
			switch {
			case batch && err != nil:
				t.Fatalf("SetMany: %v", err)
			case !batch && (!errors.As(err, &be) || len(be.Errs) != 1 || be.Errs["bad"] == nil || !errors.Is(err, errWrite)):
				t.Fatalf("SetMany error = %v; want a BatchError naming bad, wrapping errWrite", err)
			}
			if batch && (len(wb.batches) != 1 || wb.batches[0] != 2) {
				t.Errorf("StoreBatch calls %v; want one of 2", wb.batches)
			}
			store.WaitL1()
			got, err := w.GetMany(ctx, []string{"a", "b"})
			if err != nil || got["a"].Name != "A" || got["b"].Name != "B" {
				t.Errorf("GetMany = %v, %v; want a and b", got, err)
			}
			if n := wb.loads.Load(); n != 0 {
				t.Errorf("%d loads after SetMany; want 0 (read from the cache)", n)
			}
			if _, err := w.Get(ctx, "bad"); !errors.Is(err, strategy.ErrNotFound) {
				t.Errorf("Get(bad) = %v; want ErrNotFound (the source refused it)", err)
			}
		})
	}
}

// TestWriteBehindSetMany: SetMany queues every write and caches the values;
// the source has them once flushed; an invalid id is named and not queued.
func TestWriteBehindSetMany(t *testing.T) {
	ctx := ctxT(t)
	src := newWBSource()
	store := newStore(t)
	w := newWriteBehind(t, store, src, testOptions(t), &strategy.WriteBehindConfig[Profile]{FlushInterval: time.Hour})
	err := w.SetMany(ctx, map[string]Profile{"a": {ID: "a", Name: "A"}, "b": {ID: "b", Name: "B"}, "": {}})
	var be *strategy.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 1 || be.Errs[""] == nil {
		t.Errorf("SetMany error = %v; want a BatchError naming the empty id", err)
	}
	if depth, _ := w.QueueStats(); depth != 2 {
		t.Errorf("queue depth %d; want 2", depth)
	}
	store.WaitL1()
	got, err := w.GetMany(ctx, []string{"a", "b"})
	if err != nil || got["a"].Name != "A" || got["b"].Name != "B" {
		t.Errorf("GetMany = %v, %v; want a and b", got, err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, ok := src.get("b"); !ok || p.Name != "B" {
		t.Errorf("source[b] = %v, %v; want B", p, ok)
	}
}
