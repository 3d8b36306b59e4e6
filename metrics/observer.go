package metrics

import (
	"context"
	"time"

	"github.com/tiercache/tiercache/tier"
)

// Observer receives the latency of each read and the tier that answered it
// ("l1", "l2", "source", or "none" for a failed read). Implementations must
// be safe for concurrent use and fast: they run on every read.
type Observer interface {
	ObserveRead(tier string, d time.Duration)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(tier string, d time.Duration)

// ObserveRead calls f.
func (f ObserverFunc) ObserveRead(tier string, d time.Duration) { f(tier, d) }

// TimeGet calls store.Get and reports to obs how long it took, under the tier
// that answered. It is the timing hook until tier calls an Observer itself.
// A read answered by a cached not-found counts under the tier that held it.
func TimeGet(ctx context.Context, obs Observer, store *tier.Store, key string, o *tier.Options, load tier.Loader) (tier.Result, error) {
	start := time.Now()
	r, err := store.Get(ctx, key, o, load)
	obs.ObserveRead(r.Tier.String(), time.Since(start))
	return r, err
}
