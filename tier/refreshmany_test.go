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
