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
			o.TTL, o.TTLJitter, o.FailSafeThrottle = 30*time.Millisecond, -1, throttle
			stores := []*Store{newStore(t, Config{}), newStore(t, Config{})}
			ctx := ctxT(t)
			key := testKey(t)
			if err := stores[0].Set(ctx, key, "old", o); err != nil {
				t.Fatal(err)
			}
			if _, err := stores[1].Get(ctx, key, o, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(40 * time.Millisecond) // past its fresh time (no signal for time)
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
