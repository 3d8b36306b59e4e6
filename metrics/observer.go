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

// Hook adapts obs to tier.Config.ObserveRead, so that the Store times every
// read itself, strategies' L1 hits included:
//
//	store, err := tier.New(&tier.Config{Redis: rdb, ObserveRead: metrics.Hook(obs)})
//
// The observability adapters have hooks of their own that skip the tier's
// name (tierprom.Collector.ReadHook, tierotel.Metrics.ReadHook).
func Hook(obs Observer) func(tier.Tier, time.Duration) {
	return func(t tier.Tier, d time.Duration) { obs.ObserveRead(t.String(), d) }
}

// TimeGet calls store.Get and reports to obs how long it took, under the tier
// that answered. A read answered by a cached not-found counts under the tier
// that held it. Prefer tier.Config.ObserveRead (see Hook), which times every
// read, strategies' included; TimeGet suits a Store whose Config is not
// yours.
func TimeGet(ctx context.Context, obs Observer, store *tier.Store, key string, o *tier.Options, load tier.Loader) (tier.Result, error) {
	start := time.Now()
	r, err := store.Get(ctx, key, o, load)
	obs.ObserveRead(r.Tier.String(), time.Since(start))
	return r, err
}
