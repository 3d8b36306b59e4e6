package tier

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/keys"
)

// GroupConfig names one data type and says how it is cached.
type GroupConfig[V any] struct {
	// Namespace and Entity name the data type: its keys are
	// "{Namespace}:{Entity}:{id}" (see package keys). Both are required.
	Namespace string
	Entity    string
	// Versioned builds keys under the namespace's current version
	// ("{Namespace}@v{N}:{Entity}:{id}", see NamespaceVersion): bumping it
	// invalidates every key of the namespace at once. While the version is
	// not known (Redis unreachable), reads go to the loader uncached and
	// writes fail.
	Versioned bool
	// Options say how values are cached (TTL, codec, stale windows,
	// refresh-ahead). Options.Decode is ignored: values are decoded as V.
	Options Options
	// Load reads the value of an id from the source of truth, or returns
	// ErrNotFound. Nil makes the Group's reads peeks: a miss is ErrNoLoader.
	// A panic in it is recovered and returned as an error wrapping ErrPanic.
	Load func(ctx context.Context, id string) (V, error)
	// LoadMany, when set, reads many ids in one call for GetMany: the ids
	// missing from its map are not found. An error that is a *BatchError
	// fails the ids it names; any other error fails every id missing from
	// the map. Nil: GetMany loads its missing ids with Load, at most
	// BatchLoadConcurrency at a time.
	LoadMany func(ctx context.Context, ids []string) (map[string]V, error)
}

// Group is one data type's view of a Store, as groupcache's Group is: a
// name (namespace and entity), a getter (the loader) and how its values are
// cached. Its reads take ids, not keys: a fresh L1 hit hashes only the id
// and allocates nothing. A Group is safe for concurrent use and needs no
// closing; it lives as long as its Store.
type Group[V any] struct {
	s      *Store
	ns     keys.Namespace
	entity string
	o      Options
	load   Loader // cfg.Load adapted once; nil without one
	// loadMany is cfg.LoadMany adapted, or Load run concurrently; nil
	// without either.
	loadMany BatchLoader

	tc *typeCounters // this data type's counters (see Store.TypeStats)

	plain   *groupPrefix // the prefix when not versioned
	version *NamespaceVersion
	current atomic.Pointer[groupPrefix] // the prefix of the version last seen
}

// groupPrefix is a Group's key prefix under one namespace version.
type groupPrefix struct {
	version uint64
	ns      keys.Namespace
	prefix  string // "{namespace}[@v{N}]:{entity}:"
}

// NewGroup returns the Group of one data type of values V in s. An invalid
// namespace or entity is an error wrapping ErrInvalidGroup.
func NewGroup[V any](s *Store, cfg GroupConfig[V]) (*Group[V], error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidGroup)
	}
	ns, err := keys.NewNamespace(cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidGroup, err)
	}
	if _, err := ns.Key(cfg.Entity, "x"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidGroup, err)
	}
	g := &Group[V]{s: s, ns: ns, entity: cfg.Entity, o: cfg.Options, tc: s.types.counters(cfg.Namespace, cfg.Entity)}
	g.o.Decode = decodeAs[V]()
	g.o.typeHash = typeHash(reflect.TypeFor[V]())
	load := countLoads(g.tc, cfg.Load)
	if load != nil {
		g.load = func(ctx context.Context, id string) (any, error) { return load(ctx, id) }
	}
	g.loadMany = batchLoaderOf(countBatchLoads(g.tc, cfg.LoadMany), load)
	if cfg.Versioned {
		g.version = s.NamespaceVersion(cfg.Namespace)
	} else {
		g.plain = g.newPrefix(ns, 0)
	}
	return g, nil
}

func (g *Group[V]) newPrefix(ns keys.Namespace, version uint64) *groupPrefix {
	probe, _ := ns.Key(g.entity, "x") // the entity was checked by NewGroup
	prefix := probe[:len(probe)-1]
	return &groupPrefix{version: version, ns: ns, prefix: prefix}
}

// prefix returns the key prefix under the namespace's current version. Once
// the version is known it allocates nothing unless the version changed.
func (g *Group[V]) prefix(ctx context.Context) (*groupPrefix, error) {
	if g.plain != nil {
		return g.plain, nil
	}
	v, err := g.version.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("tier: namespace version: %w", err)
	}
	if p := g.current.Load(); p != nil && p.version == v {
		return p, nil
	}
	p := g.newPrefix(g.ns.Versioned(v), v)
	g.current.Store(p)
	return p, nil
}

// Key returns the Redis key of id under the namespace's current version, or
// an error wrapping a keys error for an invalid id.
func (g *Group[V]) Key(ctx context.Context, id string) (string, error) {
	p, err := g.prefix(ctx)
	if err != nil {
		return "", err
	}
	return p.ns.Key(g.entity, id)
}

// Get returns the value of id and the tier that answered: L1, else L2, else
// the Group's loader, as Store.Get does. A fresh L1 hit allocates nothing.
// The value is shared with other readers through L1: treat it as read-only.
// Every read is counted in the data type's TypeStats.
func (g *Group[V]) Get(ctx context.Context, id string) (V, Tier, error) {
	p, perr := g.prefix(ctx)
	if perr == nil && g.o.L1TTL >= 0 {
		if v, t, err, hit, _ := g.l1Hit(p, id); hit {
			return v, t, err
		}
	}
	start := g.s.mono()
	r, err := g.read(ctx, p, perr, id)
	g.tc.read(r.Tier, r.Stale, err, g.s.mono()-start)
	v, err := unbox[V](r.Value, err)
	return v, r.Tier, err
}

// read is Get past a Group's own L1 lookup. perr is the error of the
// lookup of p, the key prefix.
func (g *Group[V]) read(ctx context.Context, p *groupPrefix, perr error, id string) (Result, error) {
	if perr != nil {
		// Redis cannot say which version is current: the cache cannot be
		// trusted, the source can.
		return g.uncached(ctx, id)
	}
	key, err := p.ns.Key(g.entity, id)
	if err != nil {
		return Result{}, err
	}
	return g.s.get(ctx, key, id, &g.o, g.load)
}

// l1Hit answers a read from a fresh L1 entry, timed for Config.ObserveRead;
// hit is false when L1 has none (Get then counts the miss). past is the
// entry L1 holds past its check time (due for refresh-ahead, or expired),
// nil when it holds none or hit is true.
func (g *Group[V]) l1Hit(p *groupPrefix, id string) (v V, t Tier, err error, hit bool, past *l1Entry) {
	s := g.s
	observe := s.cfg.ObserveRead
	var start time.Duration
	if observe != nil {
		start = s.mono()
	}
	e, ok := s.l1.get(p.prefix, id)
	if !ok {
		return v, TierNone, nil, false, nil
	}
	if s.clock.nanos() >= e.checkAt {
		return v, TierNone, nil, false, e
	}
	g.tc.l1Hits.Add(1) // in Stats.L1Hits too
	if observe != nil {
		observe(TierL1, s.mono()-start)
	}
	if e.negative {
		s.stats.negativeHits.Add(1)
		g.tc.notFound.Add(1)
		return v, TierL1, ErrNotFound, true, nil
	}
	v, _ = e.value.(V) // a nil value (a nil pointer stored) is V's zero value
	return v, TierL1, nil, true, nil
}

// uncached loads id without the cache.
func (g *Group[V]) uncached(ctx context.Context, id string) (Result, error) {
	if _, err := g.ns.Key(g.entity, id); err != nil {
		return Result{}, err
	}
	if g.load == nil {
		return Result{}, ErrNoLoader
	}
	v, err := g.s.callLoader(ctx, g.load, id, id)
	if err != nil {
		return Result{}, err
	}
	return Result{Value: v, Tier: TierSource}, nil
}

// Set writes v as the value of id to L2 and L1 (see Store.Set).
func (g *Group[V]) Set(ctx context.Context, id string, v V) error {
	key, err := g.Key(ctx, id)
	if err != nil {
		return err
	}
	return g.s.Set(ctx, key, v, &g.o)
}

// Delete removes ids from L2 and L1 (see Store.Delete).
func (g *Group[V]) Delete(ctx context.Context, ids ...string) error {
	p, err := g.prefix(ctx)
	if err != nil {
		return err
	}
	ks := make([]string, len(ids))
	for i, id := range ids {
		if ks[i], err = p.ns.Key(g.entity, id); err != nil {
			return err
		}
	}
	return g.s.Delete(ctx, ks...)
}

// Store returns the Store the Group reads and writes.
func (g *Group[V]) Store() *Store { return g.s }

// unbox returns a cached value as a V.
func unbox[V any](boxed any, err error) (V, error) {
	if err != nil {
		var zero V
		return zero, err
	}
	v, _ := boxed.(V) // a nil value (a nil pointer stored) is V's zero value
	return v, nil
}
