package tier

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestGetManyRefreshAheadOneBatchLoad: the ids of a batch whose entries are
// past their refresh point are answered at once, from L1 or from L2, and
// reloaded in the background with one batch load for all of them, once
// across two Stores reading them at the same time.
func TestGetManyRefreshAheadOneBatchLoad(t *testing.T) {
	for _, from := range []string{"L1", "L2"} {
		t.Run(from, func(t *testing.T) {
			ctx := ctxT(t)
			rdb := shared.Client(t)
			a := newStore(t, Config{Redis: rdb})
			b := newStore(t, Config{Redis: rdb})
			src := newBatchSource()
			ns := batchNamespace()
			opts := Options{TTL: 2 * time.Second, TTLJitter: -1, RefreshAfter: 0.1}
			group := func(s *Store) *Group[string] {
				g, err := NewGroup(s, GroupConfig[string]{Namespace: ns, Entity: "item", Options: opts, Load: src.load, LoadMany: src.loadMany})
				if err != nil {
					t.Fatal(err)
				}
				return g
			}
			ga, gb := group(a), group(b)
			ids := make([]string, 10)
			for i := range ids {
				ids[i] = fmt.Sprintf("id%d", i)
			}
			got, err := ga.GetMany(ctx, ids)
			if err != nil {
				t.Fatalf("first GetMany: %v", err)
			}
			checkServed(t, src, got, ids)
			if _, err := gb.GetMany(ctx, ids); err != nil { // b's L1 holds them too
				t.Fatalf("GetMany on b: %v", err)
			}
			if n := src.calls.Load(); n != 1 {
				t.Fatalf("batch loads after the first reads = %d; want 1", n)
			}
			// Past the refresh point (0.2 s of 2 s), well before expiry.
			due := time.Now().Add(300 * time.Millisecond)
			waitFor(t, func() bool { return time.Now().After(due) })
			if from == "L2" {
				a.ClearLocal()
				b.ClearLocal()
			}
			var wg sync.WaitGroup
			for _, g := range []*Group[string]{ga, gb} {
				wg.Go(func() {
					got, err := g.GetMany(ctx, ids)
					if err != nil {
						t.Errorf("GetMany past the refresh point: %v", err)
					}
					checkServed(t, src, got, ids)
				})
			}
			wg.Wait()
			a.bg.Wait() // the background reloads
			b.bg.Wait()
			if n := src.calls.Load(); n != 2 {
				t.Errorf("batch loads = %d; want 2 (the first read, then one reload of all the ids due)", n)
			}
			for _, id := range ids {
				if n := src.loadCount(id); n != 2 {
					t.Errorf("loads of %q = %d; want 2", id, n)
				}
			}
		})
	}
}

// TestGetManyRefreshThrottled: a batch refresh whose load fails keeps the
// refresh locks of its keys for FailSafeThrottle, as a single reload does,
// so that no process reloads them before it has passed.
func TestGetManyRefreshThrottled(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{})
	src := newBatchSource()
	const throttle = 3 * time.Second
	g, err := NewGroup(s, GroupConfig[string]{Namespace: batchNamespace(), Entity: "item",
		Options: Options{TTL: 2 * time.Second, TTLJitter: -1, RefreshAfter: 0.1, FailSafeThrottle: throttle},
		Load:    src.load, LoadMany: src.loadMany})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"a", "b"}
	if _, err := g.GetMany(ctx, ids); err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	src.mu.Lock()
	src.fail = map[string]bool{"a": true, "b": true}
	src.mu.Unlock()
	due := time.Now().Add(300 * time.Millisecond)
	waitFor(t, func() bool { return time.Now().After(due) })
	got, err := g.GetMany(ctx, ids) // answered from L1; reloads in the background, and fails
	if err != nil {
		t.Fatalf("GetMany past the refresh point: %v", err)
	}
	checkServed(t, src, got, ids)
	s.bg.Wait()
	if n := s.Stats().RefreshErrors; n != 2 {
		t.Fatalf("RefreshErrors = %d; want 2", n)
	}
	for _, id := range ids {
		key, _ := g.Key(ctx, id)
		ttl, err := s.Redis().PTTL(ctx, key+refreshLockSuffix).Result()
		if err != nil || ttl <= 0 || ttl > throttle {
			t.Errorf("refresh lock of %q after a failed reload: TTL %v, %v; want kept as the throttle, at most %v", id, ttl, err, throttle)
		}
	}
}

// TestGetManySkipsL2WhileRepairPending: a key whose last write in this
// process did not reach Redis is read from the source by GetMany, as by
// Get, never from L2 (which may hold the value from before that write).
func TestGetManySkipsL2WhileRepairPending(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{})
	src := newBatchSource()
	g := newBatchGroup(t, s, batchNamespace(), src, false)
	key, _ := g.Key(ctx, "x")
	if err := s.Set(ctx, key, "old", nil); err != nil {
		t.Fatalf("Set: %v", err)
	}
	s.ClearLocal()
	// As remember leaves it after a failed write, without its repairer
	// (which would delete the old entry).
	s.repairs.mu.Lock()
	s.repairs.keys[key] = 1
	s.repairs.n.Add(1)
	s.repairs.mu.Unlock()
	got, err := g.GetMany(ctx, []string{"x"})
	if err != nil || got["x"] != src.value("x") {
		t.Errorf("GetMany while a repair is pending = %q, %v; want the source's %q", got["x"], err, src.value("x"))
	}
}

// TestRefreshSkipsL2WhileRepairPending: a background refresh of a key whose
// last write in this process did not reach Redis reloads it from the
// source, never copying into L1 what L2 holds (older than that write, even
// when it is fresher by the clock).
func TestRefreshSkipsL2WhileRepairPending(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	a := newStore(t, Config{Redis: rdb, DisableBus: true})
	b := newStore(t, Config{Redis: rdb, DisableBus: true})
	o := &Options{TTL: 4 * time.Second, TTLJitter: -1, RefreshAfter: 0.1}
	key := testKey(t)
	// As remember leaves it after a failed write, without its repairer.
	a.repairs.mu.Lock()
	a.repairs.keys[key] = 1
	a.repairs.n.Add(1)
	a.repairs.mu.Unlock()
	src := constLoader("new")
	loaded := time.Now()
	if r, err := a.Get(ctx, key, o, src.load); err != nil || r.Value != "new" || r.Tier != TierSource {
		t.Fatalf("Get = %+v, %v; want \"new\" from the source", r, err)
	}
	a.WaitL1()
	// Another instance writes an older value (say, before the write that
	// failed) into L2, later by the clock than A's load.
	waitFor(t, func() bool { return time.Since(loaded) > 300*time.Millisecond })
	if err := b.Set(ctx, key, "old", o); err != nil {
		t.Fatal(err)
	}
	// A's L1 entry is due for refresh-ahead (0.4 s), the L2 entry not yet (0.7 s).
	waitFor(t, func() bool { return time.Since(loaded) > 450*time.Millisecond })
	if r, err := a.Get(ctx, key, o, src.load); err != nil || r.Value != "new" {
		t.Fatalf("Get past the refresh point = %+v, %v; want \"new\"", r, err)
	}
	a.bg.Wait()
	a.WaitL1()
	if r, err := a.Get(ctx, key, o, src.load); err != nil || r.Value != "new" {
		t.Errorf("Get after the refresh = %+v, %v; want \"new\" (the source's), never L2's older \"old\"", r, err)
	}
}
