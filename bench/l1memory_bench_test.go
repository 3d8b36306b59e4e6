package bench

import (
	"context"
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// l1HeapProfile names a file to write a heap profile to while the L1 of
// BenchmarkTier/L1Memory is full (the last case run wins): `go test
// -memprofile` writes its profile after the Store is closed.
var l1HeapProfile = flag.String("l1heapprofile", "", "write a heap profile with the L1 of BenchmarkTier/L1Memory full to this file")

// l1MemoryMaxCost is the L1MaxCostBytes of the L1 memory benchmark.
const l1MemoryMaxCost = 4 << 20

// blob is the value of the L1 memory benchmark: an id and a body sized so
// that its msgpack encoding has a given length.
type blob struct {
	ID   string
	Body string
}

// blobSource loads blobs whose encoding is size bytes.
type blobSource struct{ size int }

func (s blobSource) Load(_ context.Context, id string) (blob, error) {
	b := blob{ID: id}
	// msgpack spends a fixed number of bytes on the field names and the
	// lengths: find the body that makes the total size.
	base, err := msgpack.Marshal(b)
	if err != nil {
		return blob{}, err
	}
	n := max(s.size-len(base), 0)
	for range 4 {
		b.Body = strings.Repeat("x", n)
		raw, err := msgpack.Marshal(b)
		if err != nil {
			return blob{}, err
		}
		if len(raw) == s.size {
			break
		}
		n += s.size - len(raw)
	}
	return b, nil
}

func (blobSource) Store(context.Context, string, blob) error { return nil }
func (blobSource) Remove(context.Context, string) error      { return nil }

// benchL1Memory measures the heap tiercache's L1 holds when full, as a ratio
// to Config.L1MaxCostBytes: the heap in use (after GC) with the Store and
// its L1 full, minus the heap in use once the Store is closed and
// collected. Values are blobs of 100 B and 10 KiB (msgpack), read through a
// CacheAside until the L1 is nine tenths full by its own account. It reports
// heap/maxcost (the target is at most 1.5), heap-MiB, l1-entries (the keys
// the full L1 answered), charged/maxcost (how full the L1 is by its own
// account) and heap/charged (the heap per byte the L1 charged). Its ns/op is the time to fill and measure
// (the timer runs, so that b.Loop stops after one pass).
func benchL1Memory(b *testing.B) {
	if *l1HeapProfile != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact profile
	}
	for _, c := range []struct {
		name string
		size int
	}{{"100B", 100}, {"10KiB", 10 << 10}} {
		b.Run(c.name, func(b *testing.B) {
			rdb := redisClient(b)
			var held, entries, charged int64
			for b.Loop() {
				h, e, c := l1Held(b, rdb, c.size)
				held += h
				entries += e
				charged += c
			}
			b.ReportMetric(float64(held)/float64(b.N)/l1MemoryMaxCost, "heap/maxcost")
			b.ReportMetric(float64(held)/float64(b.N)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(entries)/float64(b.N), "l1-entries")
			b.ReportMetric(float64(charged)/l1MemoryMaxCost/float64(b.N), "charged/maxcost")
			if charged > 0 {
				b.ReportMetric(float64(held)/float64(charged), "heap/charged")
			}
		})
	}
}

// l1Held fills an L1 of l1MemoryMaxCost bytes with values of size bytes
// and returns the heap it held, how many entries it answered and the cost
// it charged them.
func l1Held(b *testing.B, rdb *redis.Client, size int) (held, entries, charged int64) {
	b.Helper()
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	withStore, entries, charged := fillL1(b, rdb, size)
	without := heapInUse()
	return withStore - without, entries, entries * charged
}

// fillL1 builds a Store and a CacheAside of blobs, reads through them as
// many keys as fill nine tenths of the L1 (by the cost it charges: an
// entry's L2 encoding, its key and 160 bytes, measured on a first key), so
// that nothing is evicted, and returns the heap in use with them, the
// entries the L1 holds and the cost it charged each. Reads repeat until
// every key is an L1 hit (ristretto drops some sets under contention), four
// passes at most. It closes the Store: nothing it built stays reachable.
func fillL1(b *testing.B, rdb *redis.Client, size int) (heap, entries, charged int64) {
	store, err := tier.New(&tier.Config{Redis: rdb, L1MaxCostBytes: l1MemoryMaxCost})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	s, err := strategy.NewCacheAside[blob](store, blobSource{size: size}, strategy.Options{Namespace: "mem", Entity: "blob", Options: tier.Options{TTL: ttl}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Get(ctx, "b0"); err != nil {
		b.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*b0").Result()
	if err != nil || len(keys) != 1 {
		b.Fatalf("keys of b0 = %q, %v; want one", keys, err)
	}
	// The load answers before its fill lands: until then the key holds the
	// fill lease (envelope flag 4), not the value whose size is wanted.
	var n int64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		raw, err := rdb.Get(ctx, keys[0]).Bytes()
		if err == nil && len(raw) > 1 && raw[1]&4 == 0 {
			n = int64(len(raw))
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the fill of %q did not land within 5s", keys[0])
		}
	}
	charged = n + int64(len(keys[0])) + 240 // what tier's L1 charges an entry beyond key and payload
	count := int(l1MemoryMaxCost * 9 / 10 / charged)
	read := func(id string) {
		if _, err := s.Get(ctx, id); err != nil {
			b.Error(err)
		}
	}
	each := func(f func(id string)) {
		var wg sync.WaitGroup
		for w := range parallelCallers {
			wg.Go(func() {
				for i := w; i < count; i += parallelCallers {
					f("b" + strconv.Itoa(i))
				}
			})
		}
		wg.Wait()
	}
	each(read)
	for range 4 {
		store.WaitL1()
		before := store.Stats().L1Hits
		each(read)
		entries = int64(store.Stats().L1Hits - before)
		if entries == int64(count) {
			break
		}
	}
	store.WaitL1()
	heap = heapInUse()
	if *l1HeapProfile != "" {
		writeHeapProfile(b, *l1HeapProfile)
	}
	return heap, entries, charged
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
