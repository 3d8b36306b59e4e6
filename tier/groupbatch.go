package tier

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// BatchLoadConcurrency is the most single loads GetMany runs at once for a
// Group that has Load but no LoadMany.
const BatchLoadConcurrency = 16

// GetMany returns the values of ids: the ids found are in the map, the ids
// the source does not have are absent from it (and cached as negative
// entries, as Get does). Fresh L1 entries answer first (allocating nothing
// but the map); the rest are read from Redis in one pipelined round trip
// per node (in chunks of BatchChunk keys; 32 values or more are decoded on
// up to GOMAXPROCS goroutines, the caller's among them), then the fill
// leases of the missing keys in one more; the ids whose lease this process
// won are loaded with one batch load (GroupConfig.LoadMany), staged in L1
// and returned, and their L2 fills follow in one pipeline, each refused if
// the key was written meanwhile. Ids whose lease another process holds are
// waited for (bounded by Config.FillWait and half the caller's remaining
// time), then read again together. Ids already being read in this process,
// by Get or another GetMany, join that read. Duplicate ids are read once.
// Entries due for refresh-ahead, or served stale within
// StaleWhileRevalidate, are answered at once and reloaded in the background
// together: one batch load for all of them, once across the fleet.
//
// Ids that could not be served (an invalid id, a load error, the caller's
// context ending) are absent from the map and named, with their errors, in
// a *BatchError; every other id is served. Without a loader, GetMany reads
// the ids one by one, as Get does. Each id is counted as a read in the data
// type's TypeStats, as if read alone in the time the batch took.
func (g *Group[V]) GetMany(ctx context.Context, ids []string) (map[string]V, error) {
	out := make(map[string]V, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if g.loadMany == nil {
		return g.getEach(ctx, ids, out)
	}
	start := g.s.mono()
	p, err := g.prefix(ctx)
	if err != nil {
		// Redis cannot say which version is current: the cache cannot be
		// trusted, the source can.
		return g.uncachedMany(ctx, ids, out, start)
	}
	var errs batchErrors
	var items []batchItem
	var seen map[string]struct{} // the ids past L1, allocated on the first
	var due []refreshItem        // answered from L1, to reload in the background
	for _, id := range ids {
		var past *l1Entry // the id's L1 entry, past its check time
		if g.o.L1TTL >= 0 {
			v, _, err, hit, e := g.l1Hit(p, id)
			if hit {
				if err == nil {
					out[id] = v
				}
				continue
			}
			past = e
		}
		key, err := p.ns.Key(g.entity, id)
		if err != nil {
			g.tc.read(TierNone, false, err, g.s.mono()-start)
			errs.add(id, err)
			continue
		}
		if seen == nil {
			seen = make(map[string]struct{}, len(ids))
			items = make([]batchItem, 0, len(ids))
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		it := batchItem{id: id, key: key}
		if e := past; e != nil {
			now := time.Now().UnixNano()
			if now < e.expiresAt && now < e.freshUntil+int64(g.o.StaleWhileRevalidate) {
				// Due for refresh-ahead, or servable stale: answered
				// from L1, reloaded in the background with the other
				// ids of the batch that are due.
				stale := now >= e.freshUntil
				g.s.stats.l1Hits.Add(1)
				if stale {
					g.s.stats.staleServed.Add(1)
				}
				r, err := e.answer(TierL1, stale)
				g.put(out, &errs, id, r, err, start)
				due = append(due, refreshItem{key: key, id: id})
				continue
			}
			if now < e.staleUntil {
				it.stale = e
			}
		}
		items = append(items, it)
	}
	if len(due) > 0 {
		g.s.refreshManyAsync(ctx, due, &g.o, g.load, g.loadMany)
	}
	if len(items) > 0 {
		ctx, sp := g.s.startSpan(ctx, OpGetMany, p.prefix)
		g.s.getMany(ctx, items, &g.o, g.load, g.loadMany)
		for i := range items {
			g.put(out, &errs, items[i].id, items[i].res, items[i].err, start)
		}
		endGetMany(sp, items)
	}
	return out, errs.err()
}

// put records the outcome of one id of a batch that started at start.
func (g *Group[V]) put(out map[string]V, errs *batchErrors, id string, r Result, err error, start time.Duration) {
	g.tc.read(r.Tier, r.Stale, err, g.s.mono()-start)
	switch {
	case err == nil:
		v, _ := r.Value.(V) // a nil value (a nil pointer stored) is V's zero value
		out[id] = v
	case !errors.Is(err, ErrNotFound):
		errs.add(id, err)
	}
}

// getEach is GetMany by single reads (a Group without a loader peeks).
func (g *Group[V]) getEach(ctx context.Context, ids []string, out map[string]V) (map[string]V, error) {
	var errs batchErrors
	for _, id := range ids {
		v, _, err := g.Get(ctx, id)
		switch {
		case err == nil:
			out[id] = v
		case !errors.Is(err, ErrNotFound):
			errs.add(id, err)
		}
	}
	return out, errs.err()
}

// uncachedMany loads ids without the cache, counting each as a read of a
// batch that started at start.
func (g *Group[V]) uncachedMany(ctx context.Context, ids []string, out map[string]V, start time.Duration) (map[string]V, error) {
	var errs batchErrors
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := g.ns.Key(g.entity, id); err != nil {
			g.tc.read(TierNone, false, err, g.s.mono()-start)
			errs.add(id, err)
			continue
		}
		valid = append(valid, id)
	}
	if len(valid) == 0 {
		return out, errs.err()
	}
	vals, err := g.s.callBatchLoader(ctx, g.loadMany, valid)
	var per *BatchError
	errors.As(err, &per)
	d := g.s.mono() - start
	for _, id := range valid {
		v, err := batchOutcome(vals, per, err, id)
		if err == nil {
			g.tc.read(TierSource, false, nil, d)
			out[id], _ = v.(V)
			continue
		}
		g.tc.read(TierNone, false, err, d) // ErrNotFound: the source does not have it
		if !errors.Is(err, ErrNotFound) {
			errs.add(id, err)
		}
	}
	return out, errs.err()
}

// loadOne calls one for id; a panic in it (on a goroutine of the batch's)
// becomes the id's error, wrapping ErrPanic.
func loadOne[V any](ctx context.Context, one func(context.Context, string) (V, error), id string) (v V, err error) {
	defer recoverInto(&err)
	return one(ctx, id)
}

// batchLoaderOf adapts a Group's loaders to a BatchLoader: many, else one
// run for each id, at most BatchLoadConcurrency at a time; nil without
// either.
func batchLoaderOf[V any](many func(context.Context, []string) (map[string]V, error), one func(context.Context, string) (V, error)) BatchLoader {
	switch {
	case many != nil:
		return func(ctx context.Context, ids []string) (map[string]any, error) {
			vals, err := many(ctx, ids)
			out := make(map[string]any, len(vals))
			for id, v := range vals {
				out[id] = v
			}
			return out, err
		}
	case one != nil:
		return func(ctx context.Context, ids []string) (map[string]any, error) {
			out := make(map[string]any, len(ids))
			var errs batchErrors
			var mu sync.Mutex
			var eg errgroup.Group
			eg.SetLimit(BatchLoadConcurrency)
			for _, id := range ids {
				eg.Go(func() error {
					v, err := loadOne(ctx, one, id)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						out[id] = v
					case !errors.Is(err, ErrNotFound):
						errs.add(id, err)
					}
					return nil
				})
			}
			_ = eg.Wait() // the goroutines report through errs
			return out, errs.err()
		}
	}
	return nil
}
