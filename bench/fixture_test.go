package bench

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
)

// Product is the value every benchmark caches: ten fields, about 300 bytes
// as msgpack (TestProductSize checks it).
type Product struct {
	ID          string
	SKU         string
	Name        string
	Description string
	Category    string
	PriceCents  int64
	Stock       int32
	Rating      float64
	Tags        []string
	UpdatedAt   time.Time
}

// newProduct returns the deterministic value of id at version v.
func newProduct(id string, v int) Product {
	return Product{
		ID:          id,
		SKU:         "SKU-" + id,
		Name:        "Stainless steel teapot, 1.2 litres",
		Description: "A double-walled stainless steel teapot with a removable infuser basket, a drip-free spout and a heat-proof handle. Dishwasher safe.",
		Category:    "kitchen/tea",
		PriceCents:  4599 + int64(v),
		Stock:       120,
		Rating:      4.6,
		Tags:        []string{"tea", "kitchen", "steel"},
		UpdatedAt:   time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC),
	}
}

// ttl is the TTL every library is configured with.
const ttl = 10 * time.Minute

// keyPrefix is what each id is prefixed with to make a Redis key, by every
// library (tiercache builds it from its namespace and entity).
const keyPrefix = "bench:product:"

// keySpace is the ids a benchmark draws from, with their full keys built
// once so that building them is not measured.
type keySpace struct {
	ids  []string
	keys []string
}

func newKeySpace(n int) *keySpace {
	ks := &keySpace{ids: make([]string, n), keys: make([]string, n)}
	for i := range n {
		ks.ids[i] = "p" + strconv.Itoa(i)
		ks.keys[i] = keyPrefix + ks.ids[i]
	}
	return ks
}

// distribution draws indexes into a key space.
type distribution struct {
	name string
	// next returns a function drawing indexes in [0, n), for one goroutine.
	next func(seed uint64, n int) func() int
}

// zipfS is the skew of the Zipf distribution: a few keys take most reads,
// as catalogue and session traffic does.
const zipfS = 1.1

var distributions = []distribution{
	{"uniform", func(seed uint64, n int) func() int {
		r := rand.New(rand.NewPCG(seed, 1))
		return func() int { return r.IntN(n) }
	}},
	{"zipf", func(seed uint64, n int) func() int {
		z := rand.NewZipf(rand.New(rand.NewPCG(seed, 2)), zipfS, 1, uint64(n-1))
		return func() int { return int(z.Uint64()) }
	}},
}

// sequence precomputes 64Ki draws of d over n keys, so that a serial
// benchmark's loop does not time the random number generator.
func sequence(d distribution, n int) []int {
	next := d.next(42, n)
	seq := make([]int, 1<<16)
	for i := range seq {
		seq[i] = next()
	}
	return seq
}

// source is the system of record behind every library: it counts loads and
// can take time, as a database does.
type source struct {
	loads atomic.Int64
	delay time.Duration
	// firstDone is when (Unix ns) the first load since it was zeroed
	// returned.
	firstDone atomic.Int64
}

func (s *source) Load(ctx context.Context, id string) (Product, error) {
	s.loads.Add(1)
	if s.delay > 0 {
		t := time.NewTimer(s.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return Product{}, ctx.Err()
		}
	}
	s.firstDone.CompareAndSwap(0, time.Now().UnixNano())
	return newProduct(id, 0), nil
}

func (s *source) Store(context.Context, string, Product) error { return nil }
func (s *source) Remove(context.Context, string) error         { return nil }

// redisClient returns a client of the shared server, flushed, closed at the
// end of tb. Its pool is large enough for the stampede and parallel
// benchmarks.
func redisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	opts := redisOptions()
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		tb.Fatalf("FLUSHALL: %v", err)
	}
	return rdb
}

func redisOptions() *redis.Options {
	opts := redistest.ClientOptions(redisServer.Addr())
	opts.PoolSize = 64
	opts.PoolTimeout = 5 * time.Second
	return opts
}
