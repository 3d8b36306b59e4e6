package bench

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Sizes of the peer benchmarks.
const (
	// hitKeys is the key space of the L1 and L2 hit paths: every key is
	// cached before the timer starts.
	hitKeys = 1000
	// mixedKeys is the key space of the mixed workload, and mixedL1Items the
	// L1 bound each library gets for it (a tenth of the keys), so that the
	// key distribution decides the L1 hit ratio.
	mixedKeys    = 10000
	mixedL1Items = mixedKeys / 10
	// mixedWritePercent of the mixed workload's operations are Sets.
	mixedWritePercent = 10
	// stampedeReaders read one missing key at once, spread over
	// stampedeInstances instances of the library sharing one Redis.
	stampedeReaders   = 1000
	stampedeInstances = 4
	// stampedeLoadDelay is how long the source takes to answer a load.
	stampedeLoadDelay = 50 * time.Millisecond
	// bigL1Items bounds the L1 where nothing should be evicted.
	bigL1Items = 100000
)

// BenchmarkPeers compares tiercache (a CacheAside strategy) with
// go-redis/cache v9 and eko/gocache v4 (its chain of ristretto and Redis
// stores, with its loadable cache and msgpack marshaler), rueidis (plain GET,
// and DoCache, its client-side cache) and go-redis's own client-side cache,
// each configured as its README recommends, on the same Product, the same
// Redis and the same key distributions, with a bare ristretto Get and a bare
// go-redis or rueidis GET (plus msgpack decode) as floors. Names are
// Path/Variant/Library.
func BenchmarkPeers(b *testing.B) {
	b.Run("L1Hit", benchPeerL1Hit)
	b.Run("L2Hit", benchPeerL2Hit)
	b.Run("MissLoad", benchPeerMissLoad)
	b.Run("Set", benchPeerSet)
	b.Run("Mixed", benchPeerMixed)
	b.Run("Workload", benchPeerWorkload)
	b.Run("Stampede", benchPeerStampede)
	b.Run("Invalidation", benchPeerInvalidation)
}

// benchPeerL1Hit reads keys every library holds in its L1 (L1+L2 layout).
func benchPeerL1Hit(b *testing.B) {
	ctx := context.Background()
	ks := newKeySpace(hitKeys)
	for _, d := range distributions {
		seq := sequence(d, hitKeys)
		b.Run(d.name, func(b *testing.B) {
			for _, lib := range librariesWith(l1AndL2) {
				b.Run(lib.name, func(b *testing.B) {
					s := lib.new(b, subjectConfig{layers: l1AndL2, rdb: redisClient(b), src: &source{}, l1Items: bigL1Items})
					defer s.Close()
					fill(b, s, ks)
					fill(b, s, ks) // a second pass: L1 sets are asynchronous in some libraries
					b.ReportAllocs()
					b.ResetTimer()
					i := 0
					for b.Loop() {
						k := seq[i&(len(seq)-1)]
						i++
						if _, err := s.Get(ctx, ks.ids[k], ks.keys[k]); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("ristretto", func(b *testing.B) {
				c, err := ristretto.NewCache(&ristretto.Config[string, Product]{
					NumCounters: 10 * hitKeys, MaxCost: hitKeys * 2, BufferItems: 64, IgnoreInternalCost: true,
				})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				for i, key := range ks.keys {
					c.Set(key, newProduct(ks.ids[i], 0), 1)
				}
				c.Wait()
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					k := seq[i&(len(seq)-1)]
					i++
					if _, ok := c.Get(ks.keys[k]); !ok {
						b.Fatal("ristretto miss")
					}
				}
			})
		})
	}
}

// benchPeerL2Hit reads keys every library holds in Redis, with its L1 off.
func benchPeerL2Hit(b *testing.B) {
	ctx := context.Background()
	ks := newKeySpace(hitKeys)
	for _, d := range distributions {
		seq := sequence(d, hitKeys)
		b.Run(d.name, func(b *testing.B) {
			for _, lib := range librariesWith(l2Only) {
				b.Run(lib.name, func(b *testing.B) {
					s, noLoads := newL2Filled(b, lib, ks)
					b.ReportAllocs()
					b.ResetTimer()
					i := 0
					for b.Loop() {
						k := seq[i&(len(seq)-1)]
						i++
						if _, err := s.Get(ctx, ks.ids[k], ks.keys[k]); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					noLoads()
				})
			}
		})
	}
}

// benchPeerMissLoad reads a key no tier holds: the library loads it from the
// source and caches it.
func benchPeerMissLoad(b *testing.B) {
	ctx := context.Background()
	for _, l := range allLayers {
		b.Run(l.String(), func(b *testing.B) {
			for _, lib := range librariesWith(l) {
				b.Run(lib.name, func(b *testing.B) {
					src := &source{}
					s := lib.new(b, subjectConfig{layers: l, rdb: redisClient(b), src: src, l1Items: bigL1Items})
					defer s.Close()
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						i++
						id := "m" + strconv.Itoa(i)
						if _, err := s.Get(ctx, id, keyPrefix+id); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					b.ReportMetric(float64(src.loads.Load())/float64(b.N), "loads/op")
				})
			}
		})
	}
}

// benchPeerSet writes values into the cache.
func benchPeerSet(b *testing.B) {
	ctx := context.Background()
	ks := newKeySpace(hitKeys)
	p := newProduct("p0", 1)
	for _, l := range allLayers {
		b.Run(l.String(), func(b *testing.B) {
			for _, lib := range librariesWith(l) {
				b.Run(lib.name, func(b *testing.B) {
					s := lib.new(b, subjectConfig{layers: l, rdb: redisClient(b), src: &source{}, l1Items: bigL1Items})
					defer s.Close()
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						k := i % hitKeys
						i++
						if err := s.Set(ctx, ks.ids[k], ks.keys[k], p); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// benchPeerMixed runs a parallel workload of reads (read-through) and
// mixedWritePercent writes over mixedKeys keys with an L1 bound to a tenth of
// them. It reports hit% (reads not loaded from the source) and, with Redis,
// l1hit% (reads that did not reach Redis: 1 - Redis GETs / reads, counting
// the GETs clients sent, not those scripts ran).
func benchPeerMixed(b *testing.B) {
	ks := newKeySpace(mixedKeys)
	for _, d := range distributions {
		b.Run(d.name, func(b *testing.B) {
			for _, l := range allLayers {
				b.Run(l.String(), func(b *testing.B) {
					for _, lib := range librariesWith(l) {
						mixedOne(b, lib, l, d, ks)
					}
				})
			}
		})
	}
}

// mixedOne runs the mixed workload on one library. The library is built and
// every key read once (loaded into the tiers the library has) before the
// benchmark function, which b calls once per round, so that every round
// measures a warm cache and hit ratios do not depend on b.N.
func mixedOne(b *testing.B, lib library, l layers, d distribution, ks *keySpace) {
	ctx := context.Background()
	src := &source{}
	s := lib.new(b, subjectConfig{layers: l, rdb: redisClient(b), src: src, l1Items: mixedL1Items})
	defer s.Close()
	preload(b, s, ks)
	var seed atomic.Uint64
	b.Run(lib.name, func(b *testing.B) {
		if err := redisServer.ResetStats(ctx); err != nil {
			b.Fatal(err)
		}
		loads := src.loads.Load()
		var reads atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			next := d.next(seed.Add(1), mixedKeys)
			n, version := 0, 0
			for pb.Next() {
				k := next()
				n++
				if n%100 < mixedWritePercent {
					version++
					if err := s.Set(ctx, ks.ids[k], ks.keys[k], newProduct(ks.ids[k], version)); err != nil {
						b.Error(err)
						return
					}
					continue
				}
				reads.Add(1)
				if _, err := s.Get(ctx, ks.ids[k], ks.keys[k]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		r := float64(reads.Load())
		if r == 0 {
			return
		}
		b.ReportMetric(100*(1-float64(src.loads.Load()-loads)/r), "hit%")
		if l == l1AndL2 {
			b.ReportMetric(100*(1-float64(clientGets(b))/r), "l1hit%")
		}
	})
}

// preload reads every key of ks once through s, from 8 goroutines.
func preload(b *testing.B, s subject, ks *keySpace) {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(ks.ids); i += 8 {
				if _, err := s.Get(context.Background(), ks.ids[i], ks.keys[i]); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("preload: %d reads failed", n)
	}
	waitSettled(s)
	time.Sleep(10 * time.Millisecond) // asynchronous L2 writes (gocache's loadable)
}

// fill reads every key of ks once through s, loading what is missing.
func fill(b *testing.B, s subject, ks *keySpace) {
	b.Helper()
	ctx := context.Background()
	for i := range ks.ids {
		if _, err := s.Get(ctx, ks.ids[i], ks.keys[i]); err != nil {
			b.Fatal(err)
		}
	}
	waitSettled(s)
}

// clientGets returns the GET commands clients sent since the last
// ResetStats: Redis counts the GETs scripts run too, and each of
// tiercache's scripts runs exactly one.
func clientGets(b *testing.B) int64 {
	b.Helper()
	var n [3]int64
	for i, cmd := range []string{"get", "evalsha", "eval"} {
		c, err := redisServer.CommandCalls(context.Background(), cmd)
		if err != nil {
			b.Fatal(err)
		}
		n[i] = c
	}
	return n[0] - n[1] - n[2]
}
