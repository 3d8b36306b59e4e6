package bench

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	ristrettov1 "github.com/dgraph-io/ristretto"
	gocache "github.com/eko/gocache/lib/v4/cache"
	"github.com/eko/gocache/lib/v4/marshaler"
	gostore "github.com/eko/gocache/lib/v4/store"
	goredisstore "github.com/eko/gocache/store/redis/v4"
	goristrettostore "github.com/eko/gocache/store/ristretto/v4"
	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// layers says which tiers a library is configured with.
type layers int

const (
	l1Only layers = iota
	l2Only
	l1AndL2
)

func (l layers) String() string {
	switch l {
	case l1Only:
		return "L1"
	case l2Only:
		return "L2"
	}
	return "L1+L2"
}

var allLayers = []layers{l1Only, l2Only, l1AndL2}

// subject is one library under test, configured as its documentation
// recommends, reading through to a source on a miss.
type subject interface {
	// Get returns the value of id (whose Redis key is key), loading it from
	// the source on a miss.
	Get(ctx context.Context, id, key string) (Product, error)
	// Set caches p as the value of id.
	Set(ctx context.Context, id, key string, p Product) error
	// Delete drops id from the cache, as a cache-aside write does once it
	// has written the source.
	Delete(ctx context.Context, id, key string) error
	// Close releases what the library started.
	Close()
}

// subjectConfig is what a benchmark asks of a library.
type subjectConfig struct {
	layers layers
	rdb    *redis.Client // nil for l1Only
	src    *source
	// l1Items is how many entries the L1 should hold; each library states
	// its bound in its own unit (bytes, items, cost).
	l1Items int
}

// library builds a subject.
type library struct {
	name string
	new  func(tb testing.TB, c subjectConfig) subject
	// only lists the layouts the library has, nil meaning all of them: a
	// Redis client is L2 alone, or L1+L2 with its client-side cache.
	// go-redis and rueidis (L2) are the floors of the L2 paths.
	only []layers
}

// has reports whether the library can be configured with l.
func (lib library) has(l layers) bool {
	return lib.only == nil || slices.Contains(lib.only, l)
}

// librariesWith returns the libraries that can be configured with l.
func librariesWith(l layers) []library {
	var libs []library
	for _, lib := range libraries {
		if lib.has(l) {
			libs = append(libs, lib)
		}
	}
	return libs
}

var libraries = []library{
	{name: "tiercache", new: newTiercache},
	{name: "go-redis-cache", new: newGoRedisCache},
	{name: "gocache", new: newGocache},
	{name: "go-redis", new: newGoRedis, only: []layers{l2Only}},
	{name: "rueidis", new: newRueidis, only: []layers{l2Only}},
	{name: "rueidis-csc", new: newRueidisCSC, only: []layers{l1AndL2}},
	{name: "go-redis-csc", new: newGoRedisCSC, only: []layers{l1AndL2}},
}

// l1EntryBytes approximates what one Product costs in tiercache's L1: its
// envelope (about 320 bytes), its key and the entry overhead tier counts.
const l1EntryBytes = 520

// --- tiercache ---

type tiercacheSubject struct {
	store *tier.Store
	s     *strategy.CacheAside[Product]
	opts  tier.Options
}

func newTiercache(tb testing.TB, c subjectConfig) subject {
	tb.Helper()
	// L2Timeout matches the Redis client's ReadTimeout (1 s), which is all
	// the peers have: the default 100 ms fails writes when the parallel
	// workload saturates this small machine.
	cfg := tier.Config{L1MaxCostBytes: int64(c.l1Items) * l1EntryBytes, L2Timeout: time.Second}
	if c.layers != l1Only {
		cfg.Redis = c.rdb
	}
	cfg.DisableL1 = c.layers == l2Only
	store, err := tier.New(&cfg)
	if err != nil {
		tb.Fatalf("tier.New: %v", err)
	}
	s, err := strategy.NewCacheAside[Product](store, c.src, strategy.Options{
		Namespace: "bench",
		Entity:    "product",
		Options:   tier.Options{TTL: ttl},
	})
	if err != nil {
		tb.Fatalf("NewCacheAside: %v", err)
	}
	return &tiercacheSubject{store: store, s: s, opts: tier.Options{TTL: ttl}}
}

func (t *tiercacheSubject) Get(ctx context.Context, id, _ string) (Product, error) {
	return t.s.Get(ctx, id)
}

// Set writes the cache itself (tier.Store.Set), as the peers' Set does;
// CacheAside.Set would write the source and invalidate instead.
func (t *tiercacheSubject) Set(ctx context.Context, _, key string, p Product) error {
	return t.store.Set(ctx, key, p, &t.opts)
}

func (t *tiercacheSubject) Delete(ctx context.Context, _, key string) error {
	return t.store.Delete(ctx, key)
}

func (t *tiercacheSubject) Close() { _ = t.store.Close() }

// --- go-redis/cache v9 ---

// goRedisCacheSubject follows go-redis/cache's README: a cache.Cache with a
// TinyLFU local cache in front of Redis, read through with Once.
type goRedisCacheSubject struct {
	c   *rediscache.Cache
	src *source
}

func newGoRedisCache(_ testing.TB, c subjectConfig) subject {
	opts := &rediscache.Options{}
	if c.layers != l1Only {
		opts.Redis = c.rdb
	}
	if c.layers != l2Only {
		opts.LocalCache = rediscache.NewTinyLFU(c.l1Items, time.Minute)
	}
	return &goRedisCacheSubject{c: rediscache.New(opts), src: c.src}
}

func (g *goRedisCacheSubject) Get(ctx context.Context, id, key string) (Product, error) {
	var p Product
	err := g.c.Once(&rediscache.Item{
		Ctx:   ctx,
		Key:   key,
		Value: &p,
		TTL:   ttl,
		Do: func(*rediscache.Item) (any, error) {
			return g.src.Load(ctx, id)
		},
	})
	return p, err
}

func (g *goRedisCacheSubject) Set(ctx context.Context, _, key string, p Product) error {
	return g.c.Set(&rediscache.Item{Ctx: ctx, Key: key, Value: p, TTL: ttl})
}

func (g *goRedisCacheSubject) Delete(ctx context.Context, _, key string) error {
	return g.c.Delete(ctx, key)
}

func (g *goRedisCacheSubject) Close() {}

// --- eko/gocache v4 ---

// gocacheSubject follows gocache's README: a chain of a ristretto store and
// a Redis store, a loadable cache over it for read-through, and the msgpack
// marshaler over that for typed values.
type gocacheSubject struct {
	m        *marshaler.Marshaler
	loadable *gocache.LoadableCache[any]
	inner    gocache.CacheInterface[any] // the stores, without read-through
	local    *ristrettov1.Cache
	rdb      *redis.Client // nil without the Redis store
}

func newGocache(tb testing.TB, c subjectConfig) subject {
	tb.Helper()
	var stores []gocache.SetterCacheInterface[any]
	var local *ristrettov1.Cache
	if c.layers != l2Only {
		var err error
		local, err = ristrettov1.NewCache(&ristrettov1.Config{
			NumCounters:        int64(10 * c.l1Items),
			MaxCost:            int64(c.l1Items),
			BufferItems:        64,
			IgnoreInternalCost: true,
			Cost:               func(any) int64 { return 1 }, // bound in items, as the others
		})
		if err != nil {
			tb.Fatalf("ristretto.NewCache: %v", err)
		}
		stores = append(stores, gocache.New[any](goristrettostore.NewRistretto(local, gostore.WithExpiration(time.Minute))))
	}
	if c.layers != l1Only {
		stores = append(stores, gocache.New[any](goredisstore.NewRedis(c.rdb, gostore.WithExpiration(ttl))))
	}
	var inner gocache.CacheInterface[any] = stores[0]
	if len(stores) > 1 {
		inner = gocache.NewChain[any](stores...)
	}
	src := c.src
	load := func(ctx context.Context, key any) (any, []gostore.Option, error) {
		p, err := src.Load(ctx, key.(string)[len(keyPrefix):])
		if err != nil {
			return nil, nil, err
		}
		b, err := msgpack.Marshal(p)
		return b, nil, err
	}
	loadable := gocache.NewLoadable[any](load, inner)
	g := &gocacheSubject{m: marshaler.New(loadable), loadable: loadable, inner: inner, local: local}
	if c.layers != l1Only {
		g.rdb = c.rdb
	}
	return g
}

func (g *gocacheSubject) Get(ctx context.Context, _, key string) (Product, error) {
	v, err := g.m.Get(ctx, key, new(Product))
	if err != nil {
		return Product{}, err
	}
	p, ok := v.(*Product)
	if !ok {
		return Product{}, errors.New("gocache: unexpected value type")
	}
	return *p, nil
}

func (g *gocacheSubject) Set(ctx context.Context, _, key string, p Product) error {
	return g.m.Set(ctx, key, p)
}

func (g *gocacheSubject) Delete(ctx context.Context, _, key string) error {
	return g.m.Delete(ctx, key)
}

func (g *gocacheSubject) Close() {
	_ = g.loadable.Close()
	if g.local != nil {
		g.local.Close()
	}
}

// waitStored waits until key, just read or written through s, is in s's
// stores: gocache's loadable cache writes a loaded value from a goroutine
// of its own and offers no signal, and go-redis's client-side cache serves
// a cached miss until it applies the invalidation, so they are polled
// (bounded).
func waitStored(tb testing.TB, s subject, key string) {
	tb.Helper()
	// stored reports whether key is in s's stores, for the libraries that
	// write them in the background.
	var stored func() bool
	switch s := s.(type) {
	case *gocacheSubject:
		// Every store of the chain, not just the first that answers: a
		// Delete between the writes to two stores would leave the second.
		stored = func() bool {
			if s.local != nil {
				s.local.Wait()
				if _, ok := s.local.Get(key); !ok {
					return false
				}
			}
			return s.rdb == nil || s.rdb.Exists(context.Background(), key).Val() == 1
		}
	case *rueidisSubject:
		// rueidis's client-side cache keeps a GET's nil reply until the
		// invalidation of the SET that followed reaches it.
		if s.cache {
			stored = func() bool {
				return s.c.DoCache(context.Background(), s.c.B().Get().Key(key).Cache(), clientLocalTTL).Error() == nil
			}
		}
	case *goRedisSubject:
		// go-redis caches a GET's nil reply too, and applies the
		// invalidation of the SET that followed only when it next reads
		// the connection that carries it (at most DrainInterval later).
		stored = func() bool {
			return s.rdb.Get(context.Background(), key).Err() == nil
		}
	}
	if stored != nil {
		deadline := time.Now().Add(2 * time.Second)
		for !stored() {
			if time.Now().After(deadline) {
				tb.Fatalf("%T never stored %q", s, key)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitSettled(s)
}

// waitSettled waits until the library's asynchronous L1 writes are visible.
func waitSettled(s subject) {
	switch s := s.(type) {
	case *tiercacheSubject:
		s.store.WaitL1()
	case *gocacheSubject:
		if s.local != nil {
			s.local.Wait()
		}
	}
}
