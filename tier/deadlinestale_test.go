package tier

import (
	"context"
	"testing"
	"time"
)

// TestDeadlineServesStale: a reader whose deadline expires while the
// source is reloading an expired value gets that value, marked stale, when
// it is within the stale-if-error window, whether it still sits in the
// reader's L1 or only in L2 (written by another instance), instead of
// context.DeadlineExceeded.
func TestDeadlineServesStale(t *testing.T) {
	o := &Options{TTL: 20 * time.Millisecond, TTLJitter: -1, StaleIfError: time.Minute}
	cases := []struct {
		name string
		tier Tier // the tier the stale value is held in
	}{
		{"stale in L1", TierL1},
		{"stale in L2", TierL2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reader, key := expiredOld(t, c.tier, o)
			ctx := ctxT(t)
			loading := make(chan struct{})
			slow := func(ctx context.Context, _ string) (any, error) {
				close(loading)
				<-ctx.Done() // the source hangs until the Store gives up on it
				return nil, ctx.Err()
			}
			rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			r, err := reader.Get(rctx, key, o, slow)
			if err != nil || r.Value != "old" || !r.Stale || r.Tier != c.tier {
				t.Fatalf("Get past its deadline = %+v, %v; want the stale value from %v, marked stale", r, err, c.tier)
			}
			<-loading
			if got := reader.Stats().StaleServed; got != 1 {
				t.Errorf("StaleServed = %d; want 1", got)
			}
		})
	}
}
