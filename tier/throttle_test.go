package tier

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestFailSafeThrottle: while the source fails, 50 reads of one expired key
// spread over a second on two Stores are all answered with the stale
// entry, and the loader is called at most once per FailSafeThrottle across
// both Stores (the failing reload's lock stays in Redis as the throttle),
// whether the reads reload it themselves (stale-if-error) or in the
// background (stale-while-revalidate). A write afterwards is not
// throttled.
func TestFailSafeThrottle(t *testing.T) {
	const throttle = 250 * time.Millisecond
	cases := []struct {
		name string
		o    Options
	}{
		{"stale-if-error", Options{StaleIfError: time.Minute}},
		{"stale-while-revalidate", Options{StaleWhileRevalidate: time.Minute}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := &c.o
			// "old" is fresh for a second: the second Store reads it after
			// the first wrote it, within Redis calls a loaded machine may
			// make slow.
			o.TTL, o.TTLJitter, o.FailSafeThrottle = time.Second, -1, throttle
			stores := []*Store{newStore(t, Config{}), newStore(t, Config{})}
			ctx := ctxT(t)
			key := testKey(t)
			if err := stores[0].Set(ctx, key, "old", o); err != nil {
				t.Fatal(err)
			}
			if _, err := stores[1].Get(ctx, key, o, nil); err != nil {
				t.Fatal(err)
			}
			pastCheckAt(t, key, stores...) // past its fresh time
			failing := &loader{fn: func(context.Context, string) (any, error) { return nil, errors.New("source down") }}

			const reads = 50
			start := time.Now()
			tick := time.NewTicker(time.Second / reads)
			defer tick.Stop()
			for i := range reads {
				r, err := stores[i%2].Get(ctx, key, o, failing.load)
				if err != nil || r.Value != "old" || !r.Stale {
					t.Fatalf("read %d = %+v, %v; want the stale \"old\"", i, r, err)
				}
				<-tick.C
			}
			elapsed := time.Since(start)
			// One load at the start, then at most one per throttle period.
			limit := 1 + int64(elapsed/throttle)
			if n := failing.calls.Load(); n < 1 || n > limit {
				t.Errorf("loader called %d times in %v; want 1 to %d (one per FailSafeThrottle of %v)", n, elapsed, limit, throttle)
			}
			t.Logf("%d loads for %d reads in %v", failing.calls.Load(), reads, elapsed)

			if err := stores[0].Set(ctx, key, "written", o); err != nil {
				t.Fatal(err)
			}
			for _, s := range stores {
				waitFor(t, func() bool {
					r, err := s.Get(ctx, key, o, failing.load)
					return err == nil && r.Value == "written"
				})
			}
		})
	}
}

// TestFailSafeThrottleHangingSource: a reload that fails because the
// source hung past LoadTimeout still leaves its lock as the throttle (ended
// with a context of its own, not the reload's expired one), and a reload
// slower than FillLockTTL keeps its lock to the end: no second load starts
// meanwhile, on any Store.
//
// Readers stop waiting for the hung reload at a SoftTimeout, not at a
// deadline of their own: a 100 ms deadline also bounded their Redis calls
// and the second Store's wait for its bus subscription, which a loaded
// machine can take longer than, and such a reader had no stale entry to
// serve.
func TestFailSafeThrottleHangingSource(t *testing.T) {
	const throttle = 5 * time.Second
	cfg := Config{LoadTimeout: 600 * time.Millisecond, FillLockTTL: 200 * time.Millisecond}
	stores := []*Store{newStore(t, cfg), newStore(t, cfg)}
	o := &Options{TTL: 30 * time.Millisecond, TTLJitter: -1, StaleIfError: time.Minute, FailSafeThrottle: throttle, SoftTimeout: 50 * time.Millisecond}
	ctx := ctxT(t)
	key := testKey(t)
	if err := stores[0].Set(ctx, key, "old", o); err != nil {
		t.Fatal(err)
	}
	pastCheckAt(t, key, stores...) // past its fresh time
	hanging := &loader{fn: func(ctx context.Context, _ string) (any, error) {
		<-ctx.Done() // the source hangs until the reload gives up
		return nil, ctx.Err()
	}}
	for i := range 8 {
		r, err := stores[i%2].Get(ctx, key, o, hanging.load)
		if err != nil || r.Value != "old" || !r.Stale {
			t.Fatalf("read %d = %+v, %v; want the stale \"old\"", i, r, err)
		}
		time.Sleep(100 * time.Millisecond) // spread over past LoadTimeout (no signal for time)
	}
	// Longer than the reload lock is taken for: only the throttle made it so.
	ttl, err := stores[0].Redis().PTTL(ctx, key+refreshLockSuffix).Result()
	if err != nil || ttl <= stores[0].reloadLockTTL() || ttl > throttle {
		t.Errorf("reload lock TTL after the hung reload = %v, %v; want kept as the %v throttle", ttl, err, throttle)
	}
	if n := hanging.calls.Load(); n != 1 {
		t.Errorf("loader called %d times; want 1 (the lock held through the slow load, then the throttle)", n)
	}
}
