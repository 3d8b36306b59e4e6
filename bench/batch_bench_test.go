package bench

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tiercache/tiercache/tier"
)

// batchSize is how many ids one batch read asks for: a list page.
const batchSize = 100

// batchFixture is a Store and a Group of Products on the shared server,
// whose loader reads the source in one batch call.
type batchFixture struct {
	store *tier.Store
	g     *tier.Group[Product]
	src   *source
	rt    *roundTrips
	ids   []string
}

func newBatchFixture(b *testing.B) *batchFixture {
	b.Helper()
	rdb := redisClient(b)
	f := &batchFixture{src: &source{}, rt: &roundTrips{}}
	rdb.AddHook(f.rt)
	store, err := tier.New(&tier.Config{Redis: rdb, L2Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	f.store = store
	f.g, err = tier.NewGroup(store, tier.GroupConfig[Product]{
		Namespace: "bench",
		Entity:    "product",
		Options:   tier.Options{TTL: ttl},
		Load:      f.src.Load,
		LoadMany: func(ctx context.Context, ids []string) (map[string]Product, error) {
			f.src.loads.Add(int64(len(ids)))
			out := make(map[string]Product, len(ids))
			for _, id := range ids {
				out[id] = newProduct(id, 0)
			}
			return out, nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	f.ids = newKeySpace(batchSize).ids
	return f
}

// warm reads every id once, so that L2 (and L1) hold them.
func (f *batchFixture) warm(b *testing.B) {
	got, err := f.g.GetMany(context.Background(), f.ids)
	if err != nil || len(got) != len(f.ids) {
		b.Fatalf("GetMany: %d served, %v", len(got), err)
	}
	f.store.WaitL1()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok := true
		for _, k := range newKeySpace(batchSize).keys {
			if n, _ := f.store.Redis().Exists(context.Background(), k).Result(); n != 1 {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("fills did not land")
		}
		time.Sleep(time.Millisecond)
	}
}

// commands returns the calls of the commands a read may send, from INFO
// commandstats.
func commands(b *testing.B) int64 {
	var n int64
	for _, c := range []string{"get", "set", "evalsha", "eval"} {
		calls, err := redisServer.CommandCalls(context.Background(), c)
		if err != nil {
			b.Fatal(err)
		}
		n += calls
	}
	return n
}

// reportRedis reports round trips and Redis commands per operation.
func (f *batchFixture) reportRedis(b *testing.B, rt0, cmd0 int64) {
	b.ReportMetric(float64(f.rt.n.Load()-rt0)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(commands(b)-cmd0)/float64(b.N), "rediscmds/op")
}

// reportCPU reports the CPU time this process used per operation since
// cpu0: what the client side of a read costs (the Redis server runs in
// another process), which other load on a shared machine disturbs far less
// than the time per operation.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
}

// runL2 times read of the fixture's ids, all in L2, clearing L1 before
// each, and reports its Redis round trips and commands.
func runL2(b *testing.B, read func(f *batchFixture)) {
	f := newBatchFixture(b)
	f.warm(b)
	rt0, cmd0 := f.rt.n.Load(), commands(b)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		f.store.ClearLocal()
		read(f)
	}
	reportCPU(b, cpu0)
	f.reportRedis(b, rt0, cmd0)
}

// BenchmarkBatch compares a batch read of 100 ids with what it replaces and
// with peers: all in L2 (L1 cleared), all missing (loaded with one batch
// load), all in L1.
func BenchmarkBatch(b *testing.B) {
	ctx := context.Background()
	b.Run("l2/tiercache-getmany", func(b *testing.B) {
		runL2(b, func(f *batchFixture) {
			if got, err := f.g.GetMany(ctx, f.ids); err != nil || len(got) != batchSize {
				b.Fatalf("GetMany: %d, %v", len(got), err)
			}
		})
	})
	b.Run("l2/tiercache-get-x100", func(b *testing.B) {
		runL2(b, func(f *batchFixture) {
			for _, id := range f.ids {
				if _, _, err := f.g.Get(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("l2/go-redis-pipeline-get-x100", func(b *testing.B) {
		rdb := redisClient(b)
		ks := newKeySpace(batchSize)
		for _, k := range ks.keys {
			raw, _ := msgpack.Marshal(newProduct(k, 0))
			if err := rdb.Set(ctx, k, raw, ttl).Err(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		cmds := make([]*redis.StringCmd, batchSize)
		cpu0 := processCPU(b)
		for b.Loop() {
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range ks.keys {
					cmds[i] = p.Get(ctx, k)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			out := make(map[string]Product, batchSize)
			for i, c := range cmds {
				raw, _ := c.Bytes()
				var p Product
				if err := msgpack.Unmarshal(raw, &p); err != nil {
					b.Fatal(err)
				}
				out[ks.ids[i]] = p
			}
		}
		reportCPU(b, cpu0)
	})
	b.Run("l2/rueidis-mget", func(b *testing.B) {
		redisClient(b) // flushed
		c := newRueidisClient(b, 0)
		ks := newKeySpace(batchSize)
		for _, k := range ks.keys {
			raw, _ := msgpack.Marshal(newProduct(k, 0))
			if err := c.Do(ctx, c.B().Set().Key(k).Value(rueidis.BinaryString(raw)).Ex(ttl).Build()).Error(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		cpu0 := processCPU(b)
		for b.Loop() {
			msgs, err := rueidis.MGet(c, ctx, ks.keys)
			if err != nil {
				b.Fatal(err)
			}
			decodeRueidis(b, msgs, ks)
		}
		reportCPU(b, cpu0)
	})
	b.Run("miss/tiercache-getmany-batchloader", func(b *testing.B) {
		f := newBatchFixture(b)
		rt0, cmd0 := f.rt.n.Load(), commands(b)
		ids := make([]string, batchSize)
		round := 0
		b.ReportAllocs()
		for b.Loop() {
			round++
			for i := range ids {
				ids[i] = "m" + strconv.Itoa(round) + "-" + strconv.Itoa(i)
			}
			if got, err := f.g.GetMany(ctx, ids); err != nil || len(got) != batchSize {
				b.Fatalf("GetMany: %d, %v", len(got), err)
			}
		}
		f.store.Close() // the last fills land before the count
		f.reportRedis(b, rt0, cmd0)
	})
	b.Run("l1/tiercache-getmany", func(b *testing.B) {
		f := newBatchFixture(b)
		f.warm(b)
		b.ReportAllocs()
		for b.Loop() {
			if got, err := f.g.GetMany(ctx, f.ids); err != nil || len(got) != batchSize {
				b.Fatalf("GetMany: %d, %v", len(got), err)
			}
		}
	})
	b.Run("l1/tiercache-get-x100", func(b *testing.B) {
		f := newBatchFixture(b)
		f.warm(b)
		b.ReportAllocs()
		for b.Loop() {
			for _, id := range f.ids {
				if _, t, err := f.g.Get(ctx, id); err != nil || t != tier.TierL1 {
					b.Fatalf("Get: %v, %v", t, err)
				}
			}
		}
	})
	b.Run("l1/result-map-only", func(b *testing.B) {
		// What GetMany's answer costs by itself: a map of 100 Products,
		// built from values already at hand (a Product is over 128 bytes,
		// so the map stores each value in an allocation of its own).
		ks := newKeySpace(batchSize)
		vals := make([]Product, batchSize)
		for i, id := range ks.ids {
			vals[i] = newProduct(id, 0)
		}
		b.ReportAllocs()
		for b.Loop() {
			out := make(map[string]Product, batchSize)
			for i, id := range ks.ids {
				out[id] = vals[i]
			}
			if len(out) != batchSize {
				b.Fatal("short map")
			}
		}
	})
	b.Run("l1/rueidis-mgetcache", func(b *testing.B) {
		redisClient(b) // flushed
		c := newRueidisClient(b, 64<<20)
		ks := newKeySpace(batchSize)
		for _, k := range ks.keys {
			raw, _ := msgpack.Marshal(newProduct(k, 0))
			if err := c.Do(ctx, c.B().Set().Key(k).Value(rueidis.BinaryString(raw)).Ex(ttl).Build()).Error(); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := rueidis.MGetCache(c, ctx, clientLocalTTL, ks.keys); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := rueidis.MGetCache(c, ctx, clientLocalTTL, ks.keys)
			if err != nil {
				b.Fatal(err)
			}
			decodeRueidis(b, msgs, ks)
		}
	})
}

// decodeRueidis decodes a rueidis batch reply into Products by id.
func decodeRueidis(b *testing.B, msgs map[string]rueidis.RedisMessage, ks *keySpace) map[string]Product {
	out := make(map[string]Product, len(msgs))
	for i, k := range ks.keys {
		m := msgs[k]
		raw, err := m.AsBytes()
		if err != nil {
			b.Fatal(err)
		}
		var p Product
		if err := msgpack.Unmarshal(raw, &p); err != nil {
			b.Fatal(err)
		}
		out[ks.ids[i]] = p
	}
	return out
}
