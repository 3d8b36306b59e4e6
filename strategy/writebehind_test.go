package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

func TestWriteBehindCoalescesHotKeys(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newWBSource()
	w := newWriteBehind(t, store, src, testOptions(t), &strategy.WriteBehindConfig[Profile]{FlushInterval: 500 * time.Millisecond})
	const keys, perKey = 10, 1000
	var wg sync.WaitGroup
	for k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("hot%d", k)
			for v := 1; v <= perKey; v++ {
				if err := w.Set(ctx, id, Profile{ID: id, Version: v}); err != nil {
					t.Errorf("Set: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	writes := src.stores.Load()
	t.Logf("%d Sets, %d source writes (%.0f:1)", keys*perKey, writes, float64(keys*perKey)/float64(writes))
	if writes > 300 {
		t.Errorf("source writes = %d for %d Sets to %d keys; want at most 300", writes, keys*perKey, keys)
	}
	for k := range keys {
		id := fmt.Sprintf("hot%d", k)
		if p, ok := src.get(id); !ok || p.Version != perKey {
			t.Errorf("source holds %+v, %v for %s; want version %d", p, ok, id, perKey)
		}
		if p, err := w.Get(ctx, id); err != nil || p.Version != perKey {
			t.Errorf("Get(%s) = %+v, %v; want version %d", id, p, err, perKey)
		}
	}
	if st := w.Stats(); st.Queued != keys*perKey || st.Written != uint64(writes) || st.Pending != 0 {
		t.Errorf("Stats = %+v; want Queued %d, Written %d, Pending 0", st, keys*perKey, writes)
	}
}

func TestWriteBehindBatches(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := batchSource{newWBSource()}
	w := newWriteBehind(t, store, src, testOptions(t), &strategy.WriteBehindConfig[Profile]{BatchSize: 50, FlushInterval: time.Hour})
	for i := range 120 {
		if err := w.Set(ctx, fmt.Sprint(i), Profile{ID: fmt.Sprint(i), Version: i}); err != nil {
			t.Fatal(err)
		}
	}
	// Two full batches go without waiting for the interval.
	eventually(t, "two full batches are written", func() bool { return src.stores.Load() == 100 })
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	got := slices.Clone(src.batches)
	src.mu.Unlock()
	if want := []int{50, 50, 20}; !slices.Equal(got, want) {
		t.Errorf("batch sizes = %v; want %v", got, want)
	}
	for i := range 120 {
		if p, ok := src.get(fmt.Sprint(i)); !ok || p.Version != i {
			t.Errorf("source holds %+v, %v for %d", p, ok, i)
		}
	}
}

func TestWriteBehindRetriesThenDeadLetters(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newWBSource()
	src.fail["flaky"] = 2 // fails twice, then works
	src.fail["broken"] = -1
	var (
		mu   sync.Mutex
		dead []strategy.FailedWrite[Profile]
	)
	o := testOptions(t)
	w := newWriteBehind(t, store, src, o, &strategy.WriteBehindConfig[Profile]{
		FlushInterval: 5 * time.Millisecond,
		MaxAttempts:   3,
		RetryBackoff:  time.Millisecond,
		DeadLetter: func(f strategy.FailedWrite[Profile]) {
			mu.Lock()
			defer mu.Unlock()
			dead = append(dead, f)
		},
	})
	for _, id := range []string{"flaky", "broken", "fine"} {
		if err := w.Set(ctx, id, Profile{ID: id, Version: 7}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id       string
		attempts int
		stored   bool
	}{
		{"fine", 1, true},
		{"flaky", 3, true},
		{"broken", 3, false},
	} {
		if got := src.attempts(c.id); got != c.attempts {
			t.Errorf("write attempts of %s = %d; want %d", c.id, got, c.attempts)
		}
		if _, ok := src.get(c.id); ok != c.stored {
			t.Errorf("source holds %s: %v; want %v", c.id, ok, c.stored)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dead) != 1 {
		t.Fatalf("dead letters = %+v; want one, for broken", dead)
	}
	key, _ := o.Key("broken")
	if d := dead[0]; d.ID != "broken" || d.Key != key || d.Value.Version != 7 || d.Delete || d.Attempts != 3 || !errors.Is(d.Err, errWrite) {
		t.Errorf("dead letter = %+v; want broken, version 7, 3 attempts, wrapping %v", d, errWrite)
	}
	if st := w.Stats(); st.Retries != 4 || st.DeadLettered != 1 || st.Written != 2 {
		t.Errorf("Stats = %+v; want 4 retries, 1 dead-lettered, 2 written", st)
	}
	// The cache must not keep a value the source never got.
	store.WaitL1()
	if p, err := w.Get(ctx, "broken"); !errors.Is(err, strategy.ErrNotFound) {
		t.Errorf("Get(broken) = %+v, %v; want ErrNotFound", p, err)
	}
}

func TestWriteBehindBackpressure(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newWBSource()
	src.gate = make(chan struct{})
	src.entered = make(chan struct{}, 1)
	w := newWriteBehind(t, store, src, testOptions(t), &strategy.WriteBehindConfig[Profile]{QueueSize: 2, BatchSize: 2, FlushInterval: time.Millisecond})
	for _, id := range []string{"a", "b"} {
		if err := w.Set(ctx, id, Profile{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	<-src.entered // the flusher holds a and b: the queue is full

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := w.Set(short, "c", Profile{ID: "c"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Set on a full queue = %v; want context.DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Set(ctx, "c", Profile{ID: "c", Version: 1}) }()
	select {
	case err := <-done:
		t.Fatalf("Set on a full queue returned %v before the queue drained", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(src.gate) // the source takes a and b
	if err := <-done; err != nil {
		t.Fatalf("Set after the queue drained: %v", err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, ok := src.get("c"); !ok || p.Version != 1 {
		t.Errorf("source holds %+v, %v for c; want version 1", p, ok)
	}
}

func TestWriteBehindGetSeesQueuedWrites(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newWBSource()
	src.put(Profile{ID: "1", Version: 1})
	o := testOptions(t)
	w := newWriteBehind(t, store, src, o, &strategy.WriteBehindConfig[Profile]{FlushInterval: time.Hour})
	if err := w.Set(ctx, "1", Profile{ID: "1", Version: 2}); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	src.put(Profile{ID: "gone", Version: 1})
	// Evict the cache entries: reads must still see the queued writes,
	// not the source's older values.
	key, _ := o.Key("1")
	if err := store.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if p, err := w.Get(ctx, "1"); err != nil || p.Version != 2 {
		t.Errorf("Get(1) = %+v, %v; want the queued version 2", p, err)
	}
	if p, err := w.Get(ctx, "gone"); !errors.Is(err, strategy.ErrNotFound) {
		t.Errorf("Get(gone) = %+v, %v; want ErrNotFound (a Delete is queued)", p, err)
	}
	if n := src.loads.Load(); n != 0 {
		t.Errorf("source loads = %d; want 0", n)
	}
}

func TestNewWriteBehindConfigErrors(t *testing.T) {
	l1only, err := tier.New(&tier.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l1only.Close()
	for _, c := range []struct {
		name  string
		store *tier.Store
		cfg   *strategy.WriteBehindConfig[Profile]
	}{
		{"durable without redis", l1only, &strategy.WriteBehindConfig[Profile]{Durable: true}},
		{"claim idle too short", newStore(t), &strategy.WriteBehindConfig[Profile]{Durable: true, ClaimIdle: strategy.MinClaimIdle - 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := strategy.NewWriteBehind(c.store, newMemSource(), testOptions(t), c.cfg); !errors.Is(err, strategy.ErrConfig) {
				t.Errorf("NewWriteBehind error = %v; want ErrConfig", err)
			}
		})
	}
}

// TestWriteBehindCacheFailureHealsAfterFlush makes the cache update of a Set
// fail (Redis unreachable): the Set is still accepted, and once the source
// has the write, the old value left in Redis is dropped.
func TestWriteBehindCacheFailureHealsAfterFlush(t *testing.T) {
	ctx := ctxT(t)
	proxy := redistest.StartProxy(t, shared.Addr())
	rdb := redis.NewClient(redistest.ClientOptions(proxy.Addr()))
	t.Cleanup(func() { rdb.Close() })
	// The breaker off: this test is about healing, and the failures below
	// (the Set, the bus's reconnects) would open it on a slow machine.
	store, err := tier.New(&tier.Config{Redis: rdb, L2Timeout: 2 * time.Second, BreakerFailures: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	src := newWBSource()
	src.put(Profile{ID: "1", Version: 1})
	o := testOptions(t)
	w := newWriteBehind(t, store, src, o, &strategy.WriteBehindConfig[Profile]{FlushInterval: time.Hour})
	if _, err := w.Get(ctx, "1"); err != nil { // Redis now holds version 1
		t.Fatal(err)
	}

	proxy.SetRefuse(true)
	proxy.Cut()
	if err := w.Set(ctx, "1", Profile{ID: "1", Version: 2}); err != nil {
		t.Fatalf("Set with Redis unreachable = %v; want nil (the write is queued)", err)
	}
	proxy.SetRefuse(false)
	key, _ := o.Key("1")
	// Version 1's entry may be gone already: the Store remembered the cache
	// write that failed and deletes the key as soon as Redis answers (see
	// tier's repair); otherwise the flush's invalidation deletes it. Either
	// way it must be gone once the source has version 2.
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := shared.Client(t).Exists(ctx, key).Val(); n != 0 {
		t.Errorf("Redis still holds the old entry after the source took the new value")
	}
	store.WaitL1()
	if p, err := w.Get(ctx, "1"); err != nil || p.Version != 2 {
		t.Errorf("Get = %+v, %v; want version 2", p, err)
	}
}

// TestWriteBehindQueueStats holds the source and checks that the queue's
// depth and oldest write age count writes waiting and being written, keep
// the age of a write replaced by a later one, and drop to zero once the
// source has everything.
func TestWriteBehindQueueStats(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newWBSource()
	src.gate = make(chan struct{})
	src.entered = make(chan struct{}, 1)
	w := newWriteBehind(t, store, src, testOptions(t), &strategy.WriteBehindConfig[Profile]{BatchSize: 1, FlushInterval: time.Millisecond})

	if depth, oldest := w.QueueStats(); depth != 0 || oldest != 0 {
		t.Errorf("empty queue: QueueStats() = %d, %v; want 0, 0", depth, oldest)
	}
	start := time.Now()
	if err := w.Set(ctx, "a", Profile{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	<-src.entered // the flusher holds a
	const pause = 30 * time.Millisecond
	time.Sleep(pause)
	for _, p := range []Profile{{ID: "a", Version: 1}, {ID: "b"}} { // a waits again behind the held write
		if err := w.Set(ctx, p.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	depth, oldest := w.QueueStats()
	if depth != 3 {
		t.Errorf("QueueStats() depth = %d; want 3 (a being written, a's next write and b waiting)", depth)
	}
	if limit := time.Since(start); oldest < pause || oldest > limit {
		t.Errorf("QueueStats() oldest = %v; want between %v and %v (the held write's age)", oldest, pause, limit)
	}
	if st := w.Stats(); st.Pending != depth || st.Oldest < oldest {
		t.Errorf("Stats() Pending, Oldest = %d, %v; want %d, at least %v", st.Pending, st.Oldest, depth, oldest)
	}

	close(src.gate)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if depth, oldest := w.QueueStats(); depth != 0 || oldest != 0 {
		t.Errorf("after Flush: QueueStats() = %d, %v; want 0, 0", depth, oldest)
	}
}
