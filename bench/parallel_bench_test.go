package bench

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/vmihailenco/msgpack/v5"
)

// parallelCallers is how many goroutines call a library at once in the
// parallel benchmarks, whatever GOMAXPROCS is.
const parallelCallers = 32

// runParallel runs op from parallelCallers goroutines; each is given its
// caller number (from 1), which seeds its random draws.
func runParallel(b *testing.B, op func(caller uint64, next func() bool)) {
	b.Helper()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((parallelCallers + procs - 1) / procs)
	var callers atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) { op(callers.Add(1), pb.Next) })
	b.StopTimer()
}

// fullestLayout is L1+L2 for a library that has an L1, L2 otherwise.
func fullestLayout(lib library) layers {
	if lib.has(l1AndL2) {
		return l1AndL2
	}
	return l2Only
}

// benchParallelL2Hit reads, from parallelCallers goroutines, uniformly drawn
// keys every library holds in Redis: each library with its L1 off (go-redis
// and rueidis are the floors, a GET and a decode), and tiercache with its L1
// on but cleared before each read.
func benchParallelL2Hit(b *testing.B) {
	ctx := context.Background()
	ks := newKeySpace(hitKeys)
	uniform := distributions[0]
	read := func(b *testing.B, s subject, before func()) {
		runParallel(b, func(caller uint64, next func() bool) {
			draw := uniform.next(caller, hitKeys)
			for next() {
				if before != nil {
					before()
				}
				k := draw()
				if _, err := s.Get(ctx, ks.ids[k], ks.keys[k]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for _, lib := range librariesWith(l2Only) {
		b.Run(lib.name, func(b *testing.B) {
			s, noLoads := newL2Filled(b, lib, ks)
			read(b, s, nil)
			noLoads()
		})
	}
	b.Run("tiercache-L1cleared", func(b *testing.B) {
		s := newTiercache(b, subjectConfig{layers: l1AndL2, rdb: redisClient(b), src: &source{}, l1Items: bigL1Items}).(*tiercacheSubject)
		defer s.Close()
		fill(b, s, ks)
		read(b, s, s.store.ClearLocal)
	})
}

// newL2Filled returns lib configured with L2 alone and every key of ks in
// Redis, closed at the end of b, and a check that no key was loaded since.
func newL2Filled(b *testing.B, lib library, ks *keySpace) (s subject, noLoads func()) {
	b.Helper()
	src := &source{}
	s = lib.new(b, subjectConfig{layers: l2Only, rdb: redisClient(b), src: src, l1Items: bigL1Items})
	b.Cleanup(s.Close)
	fill(b, s, ks)
	time.Sleep(10 * time.Millisecond) // gocache's loadable writes asynchronously
	loads := src.loads.Load()
	return s, func() {
		b.Helper()
		if n := src.loads.Load() - loads; n != 0 {
			b.Fatalf("%d loads during an L2-hit benchmark", n)
		}
	}
}

// benchParallelMissLoad reads, from parallelCallers goroutines, keys no
// tier holds: each library loads and caches them, tiercache with its
// fleet-wide lease on (the default).
func benchParallelMissLoad(b *testing.B) {
	ctx := context.Background()
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			src := &source{}
			s := lib.new(b, subjectConfig{layers: fullestLayout(lib), rdb: redisClient(b), src: src, l1Items: bigL1Items})
			defer s.Close()
			var n atomic.Int64
			runParallel(b, func(_ uint64, next func() bool) {
				for next() {
					id := "m" + strconv.FormatInt(n.Add(1), 10)
					if _, err := s.Get(ctx, id, keyPrefix+id); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(src.loads.Load())/float64(b.N), "loads/op")
		})
	}
}

// benchParallelSet writes, from parallelCallers goroutines, one value to
// hitKeys keys in turn through every library, next to the floors: a bare
// go-redis SET and a bare rueidis SET of the value's msgpack encoding, made
// once (go-redis and rueidis as libraries encode on every Set).
func benchParallelSet(b *testing.B) {
	ctx := context.Background()
	ks := newKeySpace(hitKeys)
	p := newProduct("p0", 1)
	set := func(b *testing.B, op func(key string) error) {
		var n atomic.Int64
		runParallel(b, func(_ uint64, next func() bool) {
			for next() {
				k := int(n.Add(1) % hitKeys)
				if err := op(ks.keys[k]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			s := lib.new(b, subjectConfig{layers: fullestLayout(lib), rdb: redisClient(b), src: &source{}, l1Items: bigL1Items})
			defer s.Close()
			set(b, func(key string) error { return s.Set(ctx, key[len(keyPrefix):], key, p) })
		})
	}
	raw := encodedProduct(b, p)
	b.Run("go-redis-raw", func(b *testing.B) {
		set(b, goRedisRawSet(redisClient(b), raw))
	})
	b.Run("rueidis-raw", func(b *testing.B) {
		set(b, rueidisRawSet(newRueidisClient(b, 0), raw))
	})
}

// encodedProduct returns p's msgpack encoding.
func encodedProduct(tb testing.TB, p Product) []byte {
	tb.Helper()
	raw, err := msgpack.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// goRedisRawSet returns a SET of raw with go-redis: the floor of Set.
func goRedisRawSet(rdb *redis.Client, raw []byte) func(key string) error {
	return func(key string) error {
		return rdb.Set(context.Background(), key, raw, ttl).Err()
	}
}

// rueidisRawSet returns a SET of raw with rueidis.
func rueidisRawSet(c rueidis.Client, raw []byte) func(key string) error {
	return func(key string) error {
		return c.Do(context.Background(), c.B().Set().Key(key).Value(rueidis.BinaryString(raw)).Ex(ttl).Build()).Error()
	}
}
