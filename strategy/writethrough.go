package strategy

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/tier"
)

// WriteThrough writes the source and the cache together: Set stores the value
// in the source first and, only once the source has taken it, in L2 and then
// L1 (the Store tells other instances to drop their L1 copies). A source
// error is returned and leaves every tier as it was. Delete removes the value
// from the source, then from both tiers. Reads are those of CacheAside.
//
// A Set costs a source write plus a Redis SET; in exchange the value just
// written is read back from the cache, never reloaded, and the cache never
// holds a value the source refused.
//
// Choose it for data that is read soon after it is written and must never
// be lost or shown before it is stored: user profiles, settings, account
// state.
type WriteThrough[V any] struct {
	b   binding[V]
	src Source[V]
}

var _ Strategy[int] = (*WriteThrough[int])(nil)

// NewWriteThrough returns a write-through strategy for one data type.
func NewWriteThrough[V any](store *tier.Store, src Source[V], o Options) (*WriteThrough[V], error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil source", ErrConfig)
	}
	b, err := newBinding(store, o, src.Load, loadManyOf(src))
	if err != nil {
		return nil, err
	}
	return &WriteThrough[V]{b: b, src: src}, nil
}

// Get returns the value of id. A fresh L1 hit allocates nothing. Errors: an
// invalid id (wrapping a keys error), ErrNotFound, or the source's error;
// cache failures are never returned.
func (w *WriteThrough[V]) Get(ctx context.Context, id string) (V, error) {
	return w.b.get(ctx, id)
}

// Lookup is Get that also reports the tier that answered.
func (w *WriteThrough[V]) Lookup(ctx context.Context, id string) (V, tier.Tier, error) {
	return w.b.lookup(ctx, id)
}

// Set stores v in the source, then in L2 and L1. A value the codec cannot
// encode is refused before anything is written (an error wrapping
// codec.ErrEncode). A source error is returned
// and the cache is left untouched. A Redis error after the source took the
// value is returned too (the source holds v; the key is dropped from L1 and
// L2 may serve the old value until it expires).
func (w *WriteThrough[V]) Set(ctx context.Context, id string, v V) error {
	return w.b.write(ctx, w.src, id, v)
}

// Delete removes id from the source, then from L2 and L1.
func (w *WriteThrough[V]) Delete(ctx context.Context, id string) error {
	return w.b.remove(ctx, w.src, id)
}
