package tier

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The load answers its readers before its L2 fill lands. These tests hold a
// Store between the two (its beforeLand hook) and check that nothing older
// than a write is ever cached, that readers arriving in between do not load
// again, and that a holder that dies in between costs one more load.

// heldFill returns a Store whose fills wait before landing until release is
// called, and a channel that receives the key of each fill held.
func heldFill(t *testing.T, cfg Config) (s *Store, held <-chan string, release func()) {
	t.Helper()
	s = newStore(t, cfg)
	gate := make(chan struct{})
	ch := make(chan string, 16)
	s.beforeLand = func(key string) {
		ch <- key
		<-gate
	}
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the Store's Close, which waits for the fill
	return s, ch, release
}

func TestFillRaceWriteBetweenLoadAndFill(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			rdb := top.client(t)
			a, held, release := heldFill(t, Config{Redis: top.client(t)})
			b := newStore(t, Config{Redis: top.client(t)})
			key := testKey(t)
			subscribe(t, key, a, b)
			r, err := a.Get(ctx, key, &userOptions, constLoader(sampleUser(1)).load)
			if err != nil || r.Value.(user).ID != 1 {
				t.Fatalf("Get = %+v, %v; want user 1 from the source", r, err)
			}
			<-held // loaded and answered; the fill has not landed
			if err := b.Set(ctx, key, sampleUser(2), &userOptions); err != nil {
				t.Fatal(err)
			}
			release()
			a.fills.Wait()
			if env, err := decodeEnvelope(rawGet(t, rdb, key)); err != nil || env.lease() {
				t.Fatalf("L2 holds %v, %v; want B's value", env, err)
			}
			for name, s := range map[string]*Store{"A (the loader)": a, "B (the writer)": b} {
				waitFor(t, func() bool {
					r, err := s.Get(ctx, key, &userOptions, nil)
					return err == nil && r.Value.(user).ID == 2
				})
				r, err := s.Get(ctx, key, &userOptions, nil)
				if err != nil || r.Value.(user).ID != 2 {
					t.Errorf("%s: Get = %+v, %v; want user 2 (the write), never the older load", name, r, err)
				}
			}
			if st := a.Stats(); st.StaleFills == 0 {
				t.Errorf("A's StaleFills = 0; want the refused fill counted")
			}
		})
	}
}

func TestFillRaceReaderBetweenLoadAndFill(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			// A without L1: its second reader cannot be answered by L1, only
			// by the answered flight (or Redis, which holds a lease).
			a, held, release := heldFill(t, Config{Redis: top.client(t), DisableL1: true})
			b := newStore(t, Config{Redis: top.client(t)})
			key := testKey(t)
			subscribe(t, key, b)
			l := constLoader(sampleUser(3))
			if _, err := a.Get(ctx, key, &userOptions, l.load); err != nil {
				t.Fatal(err)
			}
			<-held
			// A reader of the same process comes in: it takes the loaded
			// value from the answered flight, not the source.
			r, err := a.Get(ctx, key, &userOptions, l.load)
			if err != nil || r.Value.(user).ID != 3 {
				t.Fatalf("A's second reader: Get = %+v, %v; want user 3", r, err)
			}
			// A reader of another process waits for the fill.
			done := make(chan Result, 1)
			go func() {
				r, err := b.Get(ctx, key, &userOptions, l.load)
				if err != nil {
					t.Errorf("B's reader: %v", err)
				}
				done <- r
			}()
			waitFor(t, func() bool { return b.Stats().FillWaits > 0 })
			release()
			r = <-done
			if r.Value == nil || r.Value.(user).ID != 3 {
				t.Errorf("B's reader got %+v; want user 3", r)
			}
			if n := l.calls.Load(); n != 1 {
				t.Errorf("source loads = %d; want 1 (readers between load and fill do not load again)", n)
			}
		})
	}
}

func TestFillRaceHolderDiesBetweenLoadAndFill(t *testing.T) {
	const lockTTL = 300 * time.Millisecond
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			// The holder answers its reader and never lands its fill, as a
			// process killed between the two would: its lease stays.
			a, held, _ := heldFill(t, Config{Redis: top.client(t), FillLockTTL: lockTTL})
			b := newStore(t, Config{Redis: top.client(t), FillLockTTL: lockTTL})
			key := testKey(t)
			l := constLoader(sampleUser(4))
			if _, err := a.Get(ctx, key, &userOptions, l.load); err != nil {
				t.Fatal(err)
			}
			<-held
			start := time.Now()
			r, err := b.Get(ctx, key, &userOptions, l.load)
			if err != nil || r.Value.(user).ID != 4 {
				t.Fatalf("B: Get = %+v, %v; want user 4", r, err)
			}
			if waited := time.Since(start); waited > lockTTL+2*time.Second {
				t.Errorf("B waited %v; want about the lease TTL %v", waited, lockTTL)
			}
			if n := l.calls.Load(); n != 2 {
				t.Errorf("source loads = %d; want 2 (the holder's, and one after its lease expired)", n)
			}
			b.fills.Wait()
			if env, err := decodeEnvelope(rawGet(t, top.client(t), key)); err != nil || env.lease() {
				t.Errorf("L2 holds %v, %v; want B's fill", env, err)
			}
		})
	}
}

// TestRefreshAheadWithoutL1: with L1 disabled, a read past the refresh
// point (answered by L2) starts one background reload.
func TestRefreshAheadWithoutL1(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{DisableL1: true})
	// The refresh point is at a tenth of a 4 s TTL: the read past it must
	// come before the TTL, and the first read's fill, awaited first, and a
	// loaded machine's stalls have taken more than the 150 ms a 400 ms TTL
	// refreshed at half left (the read found the entry expired and loaded).
	const ttl = 4 * time.Second
	var version sync.Mutex
	v := int64(1)
	l := &loader{fn: func(context.Context, string) (any, error) {
		version.Lock()
		defer version.Unlock()
		return sampleUser(v), nil
	}}
	o := userOptions
	o.TTL, o.TTLJitter, o.RefreshAfter = ttl, -1, 0.1
	key := testKey(t)
	if _, err := s.Get(ctx, key, &o, l.load); err != nil {
		t.Fatal(err)
	}
	s.fills.Wait()
	version.Lock()
	v = 2
	version.Unlock()
	time.Sleep(ttl/10 + 100*time.Millisecond) // past the refresh point, still fresh: the scenario, not a synchronisation
	r, err := s.Get(ctx, key, &o, l.load)
	if err != nil || r.Tier != TierL2 || r.Value.(user).ID != 1 {
		t.Fatalf("Get past the refresh point = %+v, %v; want user 1 from L2 at once", r, err)
	}
	for range 4 { // more reads while (or after) it reloads: no second reload
		if r, err := s.Get(ctx, key, &o, l.load); err != nil || r.Tier != TierL2 {
			t.Fatalf("Get = %+v, %v; want an L2 hit", r, err)
		}
	}
	waitFor(t, func() bool { return s.Stats().Refreshes == 1 })
	waitFor(t, func() bool {
		r, err := s.Get(ctx, key, &o, l.load)
		return err == nil && r.Value.(user).ID == 2
	})
	if n := l.calls.Load(); n != 2 {
		t.Errorf("source loads = %d; want 2 (the fill and one reload)", n)
	}
	if n := s.Stats().Refreshes; n != 1 {
		t.Errorf("refreshes = %d; want 1", n)
	}
}
