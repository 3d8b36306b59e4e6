package tier

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// OtherNamespace is the Namespace of the TypeStats that sums the data types
// a Store counts past Config.MaxTypeStats (its Entity is empty).
const OtherNamespace = "_other"

// TypeStats is a snapshot of one data type's counters: the reads and loads
// of the Groups of one namespace and entity (every version of a versioned
// namespace is one data type). Reads through Store.Get with a key, not a
// Group, are counted in Stats only.
//
// Every read of a Group (Get, and each id of GetMany) counts once under the
// tier that answered it, so L1Hits + L2Hits + SourceHits + Failed is the
// number of reads; NotFound and StaleServed count some of those reads again.
// Readers that share one flight each count under its tier, where Stats
// counts L2 hits per flight. Counters have the tags of Stats's (package
// metrics exports them with namespace and entity labels).
type TypeStats struct {
	// Namespace and Entity name the data type, as its GroupConfig does.
	Namespace, Entity string

	// L1Hits counts reads answered by L1 (a cached not-found included).
	L1Hits uint64 `metric:"type_reads_total" tier:"l1" help:"Reads of a data type by the tier that answered (none: the read failed)."`
	// L2Hits counts reads answered by L2.
	L2Hits uint64 `metric:"type_reads_total" tier:"l2"`
	// SourceHits counts reads answered by the loader (the source of truth).
	SourceHits uint64 `metric:"type_reads_total" tier:"source"`
	// Failed counts reads nothing answered: a load error no stale value
	// covered, a peek's miss (ErrNoLoader), an invalid id, or the caller's
	// context ending first.
	Failed uint64 `metric:"type_reads_total" tier:"none"`
	// NotFound counts reads answered "not found" (ErrNotFound).
	NotFound uint64 `metric:"type_not_found_total" help:"Reads of a data type answered not found."`
	// StaleServed counts reads answered by a value past its fresh time
	// (stale-while-revalidate, stale-if-error).
	StaleServed uint64 `metric:"type_stale_served_total" help:"Reads of a data type answered by a stale value (stale-while-revalidate, stale-if-error)."`
	// Loads counts the ids the data type's loaders were called for: Load
	// calls, and each id of a LoadMany call, in reads, background reloads
	// and batches alike.
	Loads uint64 `metric:"type_loads_total" result:"ok" minus:"LoadErrors" help:"Ids a data type's loader was called for, by outcome."`
	// LoadErrors counts the ids whose load failed or panicked (not
	// counting ErrNotFound).
	LoadErrors uint64 `metric:"type_loads_total" result:"error"`

	// ReadLatency is the latency of the reads counted above. A read that
	// leaves L1 is timed from its start to its answer (each id of a GetMany
	// counts the whole batch's time). A Group's L1 hit is not timed, so that
	// it costs no more than it did without per data type statistics: it is
	// counted in the first bucket (at most 1 µs) and adds nothing to Sum.
	// (Config.ObserveRead times every read, L1 hits included, per Store.)
	ReadLatency LatencyHistogram
}

// Reads returns the number of reads counted: L1Hits + L2Hits + SourceHits
// + Failed.
func (t *TypeStats) Reads() uint64 { return t.L1Hits + t.L2Hits + t.SourceHits + t.Failed }

// TypeStats returns a snapshot of the counters of every data type this
// Store has a Group of, in the order their first Groups were made; past
// Config.MaxTypeStats data types, the rest are summed in one last entry
// whose Namespace is OtherNamespace.
func (s *Store) TypeStats() []TypeStats {
	return s.types.snapshot()
}

// typeCounters is the live form of one TypeStats. Its Groups hold it; the
// Store's typeTable owns it.
type typeCounters struct {
	// Written once by typeTable.counters, only read after.
	namespace, entity string

	// l1Hits counts the L1 hits of a Group's own lookup (Group.l1Hit),
	// on every core: a cache line of its own, apart from the other
	// counters. These hits count in Stats.L1Hits too (see Store.Stats):
	// they are counted here only.
	_      [64]byte
	l1Hits atomic.Uint64
	_      [56]byte

	// l1Answers counts the other L1 answers (through the Store's read
	// path: refresh-ahead, stale-while-revalidate).
	l1Answers, l2Hits, sourceHits, failed    atomic.Uint64
	notFound, staleServed, loads, loadErrors atomic.Uint64
	latency                                  latencyCounters
}

// read counts a read that left a Group's L1 lookup (or found nothing
// there) and took d.
func (c *typeCounters) read(t Tier, stale bool, err error, d time.Duration) {
	notFound := err != nil && errors.Is(err, ErrNotFound)
	switch {
	case t == TierL1:
		c.l1Answers.Add(1)
	case t == TierL2:
		c.l2Hits.Add(1)
	case t == TierSource, notFound:
		c.sourceHits.Add(1) // a not-found the loader gave and nothing cached
	default:
		c.failed.Add(1)
	}
	if notFound {
		c.notFound.Add(1)
	}
	if stale {
		c.staleServed.Add(1)
	}
	c.latency.observe(d)
}

// snapshot adds the counters to into. A Group's own L1 hits, not timed,
// are counted in the first latency bucket.
func (c *typeCounters) snapshot(into *TypeStats) {
	l1 := c.l1Hits.Load()
	into.L1Hits += l1 + c.l1Answers.Load()
	into.L2Hits += c.l2Hits.Load()
	into.SourceHits += c.sourceHits.Load()
	into.Failed += c.failed.Load()
	into.NotFound += c.notFound.Load()
	into.StaleServed += c.staleServed.Load()
	into.Loads += c.loads.Load()
	into.LoadErrors += c.loadErrors.Load()
	h := c.latency.snapshot()
	h.Counts[0] += l1
	for i, n := range h.Counts {
		into.ReadLatency.Counts[i] += n
	}
	into.ReadLatency.Sum += h.Sum
}

// typeTable holds a Store's typeCounters: one per data type, up to a bound,
// and one shared by the data types past it.
type typeTable struct {
	// Written once by New, only read after.
	max int

	// mu guards the rest; a Group looks its counters up once, when made.
	mu     sync.Mutex
	byName map[[2]string]*typeCounters
	list   []*typeCounters // in the order they were made
	other  *typeCounters   // nil until a data type is past max
}

// counters returns the counters of the data type namespace, entity: its
// own, or the shared ones of the data types past the bound.
func (t *typeTable) counters(namespace, entity string) *typeCounters {
	t.mu.Lock()
	defer t.mu.Unlock()
	name := [2]string{namespace, entity}
	if c, ok := t.byName[name]; ok {
		return c
	}
	if len(t.list) >= t.max {
		if t.other == nil {
			t.other = &typeCounters{namespace: OtherNamespace}
		}
		return t.other
	}
	if t.byName == nil {
		t.byName = make(map[[2]string]*typeCounters)
	}
	c := &typeCounters{namespace: namespace, entity: entity}
	t.byName[name] = c
	t.list = append(t.list, c)
	return c
}

// all returns every typeCounters, the shared ones last.
func (t *typeTable) all() []*typeCounters {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := append(make([]*typeCounters, 0, len(t.list)+1), t.list...)
	if t.other != nil {
		all = append(all, t.other)
	}
	return all
}

// snapshot reads every data type's counters.
func (t *typeTable) snapshot() []TypeStats {
	all := t.all()
	out := make([]TypeStats, len(all))
	for i, c := range all {
		out[i].Namespace, out[i].Entity = c.namespace, c.entity
		c.snapshot(&out[i])
	}
	return out
}

// l1Hits sums the L1 hits counted by the Groups' own lookups, which
// Stats.L1Hits includes.
func (t *typeTable) l1Hits() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n uint64
	for _, c := range t.list {
		n += c.l1Hits.Load()
	}
	if t.other != nil {
		n += t.other.l1Hits.Load()
	}
	return n
}

// countLoads wraps a Group's loader so that its calls and failures are
// counted in c. A panic is counted as a failure and goes on up to the
// Store's recovery.
func countLoads[V any](c *typeCounters, load func(context.Context, string) (V, error)) func(context.Context, string) (V, error) {
	if load == nil {
		return nil
	}
	return func(ctx context.Context, id string) (v V, err error) {
		c.loads.Add(1)
		failed := true // until load returns
		defer func() {
			if failed {
				c.loadErrors.Add(1)
			}
		}()
		v, err = load(ctx, id)
		failed = err != nil && !errors.Is(err, ErrNotFound)
		return v, err
	}
}

// countBatchLoads is countLoads for a LoadMany: each id counts as a load,
// and each id it failed (see GroupConfig.LoadMany) as a failure.
func countBatchLoads[V any](c *typeCounters, many func(context.Context, []string) (map[string]V, error)) func(context.Context, []string) (map[string]V, error) {
	if many == nil {
		return nil
	}
	return func(ctx context.Context, ids []string) (vals map[string]V, err error) {
		c.loads.Add(uint64(len(ids)))
		failed := len(ids) // until many returns
		defer func() { c.loadErrors.Add(uint64(failed)) }()
		vals, err = many(ctx, ids)
		failed = 0
		if err == nil {
			return vals, nil
		}
		var per *BatchError
		isPer := errors.As(err, &per)
		for _, id := range ids {
			if _, ok := vals[id]; ok {
				continue
			}
			e := err
			if isPer {
				e = per.Errs[id]
			}
			if e != nil && !errors.Is(e, ErrNotFound) {
				failed++
			}
		}
		return vals, err
	}
}
