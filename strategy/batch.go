package strategy

import (
	"context"
	"errors"
	"fmt"

	"github.com/tiercache/tiercache/tier"
)

// BatchLoader is an optional interface of a Loader: when a strategy's
// source has it, GetMany loads the ids it misses with one call. Without it,
// GetMany loads them with Load, at most tier.BatchLoadConcurrency at a
// time.
type BatchLoader[V any] interface {
	// LoadMany returns the values of the ids the source has; the ids
	// missing from the map are not found. An error that is a *BatchError
	// fails the ids it names (the others are read from the map); any other
	// error fails every id missing from the map.
	LoadMany(ctx context.Context, ids []string) (map[string]V, error)
}

// BatchError is returned by GetMany and SetMany when some ids failed: it
// names each with its error (errors.Is and errors.As look through it); the
// other ids were served or written. It is tier.BatchError.
type BatchError = tier.BatchError

// loadManyOf returns src's LoadMany, or nil.
func loadManyOf[V any](src Loader[V]) func(ctx context.Context, ids []string) (map[string]V, error) {
	if bl, ok := src.(BatchLoader[V]); ok {
		return bl.LoadMany
	}
	return nil
}

// getMany is the batch read every strategy shares (see tier.Group.GetMany).
func (b *binding[V]) getMany(ctx context.Context, ids []string) (map[string]V, error) {
	return b.g.GetMany(ctx, ids)
}

// writeMany stores items in the source (one StoreBatch call when src is a
// BatchStorer, else Store for each id), then the ids the source took in L2
// (one pipeline) and L1. Ids that failed are named in a *BatchError; an id
// the source refused is left untouched in the cache, and a StoreBatch error
// fails every id (some or none were written).
func (b *binding[V]) writeMany(ctx context.Context, src Writer[V], items map[string]V) error {
	errs := make(map[string]error)
	valid := make(map[string]V, len(items))
	for id, v := range items {
		if _, err := b.keyFor(ctx, id); err != nil {
			errs[id] = err
			continue
		}
		valid[id] = v
	}
	stored := valid
	if bs, ok := src.(BatchStorer[V]); ok && len(valid) > 0 {
		if err := bs.StoreBatch(ctx, valid); err != nil {
			for id := range valid {
				errs[id] = fmt.Errorf("strategy: store batch: %w", err)
			}
			stored = nil
		}
	} else {
		stored = make(map[string]V, len(valid))
		for id, v := range valid {
			if err := src.Store(ctx, id, v); err != nil {
				errs[id] = fmt.Errorf("strategy: store %q: %w", id, err)
				continue
			}
			stored[id] = v
		}
	}
	var be *BatchError
	if err := b.g.SetMany(ctx, stored); errors.As(err, &be) {
		for id, err := range be.Errs {
			errs[id] = fmt.Errorf("strategy: cache %q: %w", id, err)
		}
	} else if err != nil {
		for id := range stored {
			errs[id] = fmt.Errorf("strategy: cache %q: %w", id, err)
		}
	}
	if len(errs) > 0 {
		return &BatchError{Errs: errs}
	}
	return nil
}

// GetMany returns the values of ids: found ids in the map, ids the source
// does not have absent from it (and cached as not found). Ids that failed
// are absent and named in a *BatchError; the others are served. See
// tier.Group.GetMany for how a batch travels.
func (c *CacheAside[V]) GetMany(ctx context.Context, ids []string) (map[string]V, error) {
	return c.b.getMany(ctx, ids)
}

// GetMany returns the values of ids, as CacheAside.GetMany does.
func (w *WriteThrough[V]) GetMany(ctx context.Context, ids []string) (map[string]V, error) {
	return w.b.getMany(ctx, ids)
}

// SetMany stores items in the source (one StoreBatch call when the source
// is a BatchStorer, else Store for each id), then the ids the source took
// in L2 (one pipelined round trip per node) and L1. Ids that failed are
// named in a *BatchError; the others were written.
func (w *WriteThrough[V]) SetMany(ctx context.Context, items map[string]V) error {
	return w.b.writeMany(ctx, w.src, items)
}

// GetMany returns the values of ids, as CacheAside.GetMany does; entries
// past their refresh point are served and reloaded in the background.
func (r *RefreshAhead[V]) GetMany(ctx context.Context, ids []string) (map[string]V, error) {
	return r.b.getMany(ctx, ids)
}

// GetMany returns the values of ids, as CacheAside.GetMany does: ids with a
// write still queued are answered from the queue, the others from the cache
// or the source.
func (w *WriteBehind[V]) GetMany(ctx context.Context, ids []string) (map[string]V, error) {
	return w.b.getMany(ctx, ids)
}

// SetMany queues the write of every value of items, as Set does for each.
// Ids that failed (invalid, or the queue refused them) are named in a
// *BatchError; the others are queued and cached.
func (w *WriteBehind[V]) SetMany(ctx context.Context, items map[string]V) error {
	errs := make(map[string]error)
	for id, v := range items {
		if err := w.Set(ctx, id, v); err != nil {
			errs[id] = err
		}
	}
	if len(errs) > 0 {
		return &BatchError{Errs: errs}
	}
	return nil
}

// loadManyQueued is the batch loader of a WriteBehind whose source is a
// BatchLoader: queued writes answer first (they are newer than the source),
// the source's LoadMany the rest.
func (w *WriteBehind[V]) loadManyQueued(ctx context.Context, ids []string) (map[string]V, error) {
	out := make(map[string]V, len(ids))
	rest := make([]string, 0, len(ids))
	for _, id := range ids {
		v, del, found := w.q.lookup(id)
		switch {
		case !found:
			rest = append(rest, id)
		case !del:
			out[id] = v
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	vals, err := w.src.(BatchLoader[V]).LoadMany(ctx, rest)
	for id, v := range vals {
		out[id] = v
	}
	return out, err
}
