package strategy

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/tier"
)

// RefreshAhead keeps hot values fresh without making readers wait: once a
// value is older than Options.RefreshAfter of its TTL (DefaultRefreshAfter
// when zero), a read returns it at once and starts one background reload of
// the key. The Store runs at most one reload per key per process and, with
// Redis, one per key across the fleet (a refresh lock), on a bounded worker
// pool and a context detached from the reader's; a failed reload is counted
// (tier.Stats RefreshErrors and LoadErrors) and the current value stays
// until its TTL ends.
//
// Only reads trigger reloads: a key not read between its refresh point and
// the end of its TTL is not refreshed and simply expires, so the cost of
// refreshing follows the keys in use. Writes are those of WriteThrough: Set
// stores the value in the source, then in the cache; Delete removes it from
// both.
//
// Choose it for data read constantly whose readers must never wait for a
// reload, and which may be up to one TTL old: a product catalogue, prices
// fetched from another service, feature flags, configuration.
type RefreshAhead[V any] struct {
	b   binding[V]
	src Writer[V] // nil for a read-only source
}

var _ Strategy[int] = (*RefreshAhead[int])(nil)

// NewRefreshAhead returns a refresh-ahead strategy for one data type. A zero
// o.RefreshAfter means DefaultRefreshAfter. src needs only a Loader (a
// LoaderFunc will do); Set and Delete need it to be a Writer too and return
// ErrReadOnly otherwise.
func NewRefreshAhead[V any](store *tier.Store, src Loader[V], o Options) (*RefreshAhead[V], error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil source", ErrConfig)
	}
	if o.RefreshAfter == 0 {
		o.RefreshAfter = DefaultRefreshAfter
	}
	b, err := newBinding(store, o, src.Load, loadManyOf(src))
	if err != nil {
		return nil, err
	}
	return &RefreshAhead[V]{b: b, src: writerOf(src)}, nil
}

// Get returns the value of id. A read past the refresh point returns the
// cached value at once and starts the key's background reload. A fresh L1
// hit allocates nothing.
func (r *RefreshAhead[V]) Get(ctx context.Context, id string) (V, error) {
	return r.b.get(ctx, id)
}

// Lookup is Get that also reports the tier that answered.
func (r *RefreshAhead[V]) Lookup(ctx context.Context, id string) (V, tier.Tier, error) {
	return r.b.lookup(ctx, id)
}

// Set stores v in the source, then in L2 and L1, as WriteThrough does.
func (r *RefreshAhead[V]) Set(ctx context.Context, id string, v V) error {
	if r.src == nil {
		return ErrReadOnly
	}
	return r.b.write(ctx, r.src, id, v)
}

// Delete removes id from the source, then from L2 and L1.
func (r *RefreshAhead[V]) Delete(ctx context.Context, id string) error {
	if r.src == nil {
		return ErrReadOnly
	}
	return r.b.remove(ctx, r.src, id)
}
