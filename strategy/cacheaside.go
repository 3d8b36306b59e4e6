package strategy

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/tier"
)

// CacheAside reads lazily: Get answers from L1, then L2, then loads from the
// source and fills both tiers. Set and Delete write the source first and then
// invalidate the key in L1 and L2, so that the next read loads the new value;
// a load that was in flight during the write does not put its older result
// back (see tier.Store).
//
// Choose it for data read far more often than written, whose writers can
// tolerate a cache miss after each write: search results, catalogue pages,
// reference data.
type CacheAside[V any] struct {
	b   binding[V]
	src Writer[V] // nil for a read-only source
}

var _ Strategy[int] = (*CacheAside[int])(nil)

// NewCacheAside returns a cache-aside strategy for one data type. src needs
// only a Loader (a LoaderFunc will do); Set and Delete need it to be a
// Writer too and return ErrReadOnly otherwise.
func NewCacheAside[V any](store *tier.Store, src Loader[V], o Options) (*CacheAside[V], error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil source", ErrConfig)
	}
	b, err := newBinding(store, o, src.Load, loadManyOf(src))
	if err != nil {
		return nil, err
	}
	return &CacheAside[V]{b: b, src: writerOf(src)}, nil
}

// Get returns the value of id. A fresh L1 hit allocates nothing. Errors: an
// invalid id (wrapping a keys error), ErrNotFound, or the source's error;
// cache failures are never returned.
func (c *CacheAside[V]) Get(ctx context.Context, id string) (V, error) {
	return c.b.get(ctx, id)
}

// Lookup is Get that also reports the tier that answered (tier.TierL1,
// TierL2 or TierSource), for logs and tests; it allocates nothing more than
// Get.
func (c *CacheAside[V]) Lookup(ctx context.Context, id string) (V, tier.Tier, error) {
	return c.b.lookup(ctx, id)
}

// Set writes v to the source, then invalidates id in the cache. A value the
// codec cannot encode is refused before anything is written (an error
// wrapping codec.ErrEncode). A source error is returned and the cache is
// left as it was.
func (c *CacheAside[V]) Set(ctx context.Context, id string, v V) error {
	if c.src == nil {
		return ErrReadOnly
	}
	key, err := c.b.keyFor(ctx, id)
	if err != nil {
		return err
	}
	if err := c.b.encodable(key, v); err != nil {
		return err // the next read could not cache it
	}
	if err := c.src.Store(ctx, id, v); err != nil {
		return fmt.Errorf("strategy: store %q: %w", key, err)
	}
	return c.b.invalidate(ctx, key)
}

// Delete removes id from the source, then from the cache.
func (c *CacheAside[V]) Delete(ctx context.Context, id string) error {
	if c.src == nil {
		return ErrReadOnly
	}
	key, err := c.b.keyFor(ctx, id)
	if err != nil {
		return err
	}
	if err := c.src.Remove(ctx, id); err != nil {
		return fmt.Errorf("strategy: remove %q: %w", key, err)
	}
	return c.b.invalidate(ctx, key)
}
