package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/vmihailenco/msgpack/v5"
)

// The subjects of this file are Redis clients used as caches directly, as a
// user who already has one would: a GET (or a cached GET) and a msgpack
// decode on a hit; on a miss, a load from the source and a SET of its
// encoding; Set is a SET. None of them coalesces concurrent misses.

// clientLocalTTL is how long the client-side caches keep an entry at most
// (the peers' L1 TTL); invalidations drop it earlier.
const clientLocalTTL = time.Minute

// readThrough ends a client's read of id: raw and err are its GET's answer,
// missing says err means no such key. A hit is decoded; a miss, or an entry
// that does not decode, is loaded from src and written back with set.
func readThrough(ctx context.Context, raw []byte, err error, missing bool, src *source, id string, set func(Product) error) (Product, error) {
	if err == nil {
		var p Product
		if err := msgpack.Unmarshal(raw, &p); err == nil {
			return p, nil
		}
	} else if !missing {
		return Product{}, err
	}
	p, err := src.Load(ctx, id)
	if err != nil {
		return Product{}, err
	}
	return p, set(p)
}

// --- rueidis, plain GET ---

// rueidisSubject follows rueidis's README: one auto-pipelining client, GET
// and SET built with its command builder.
type rueidisSubject struct {
	c     rueidis.Client
	src   *source
	cache bool // read with DoCache (client-side caching)
}

// rueidisConns is how many connections a standalone rueidis client opens
// by default (PipelineMultiplex 2), each with a client-side cache of its own.
const rueidisConns = 4

// newRueidisClient returns a rueidis client of the shared server, closed at
// the end of tb, with client-side caches bounded to cacheBytes in all (zero
// means none). Redis 7.0 does not know CLIENT SETINFO.
func newRueidisClient(tb testing.TB, cacheBytes int) rueidis.Client {
	tb.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{redisServer.Addr()},
		ClientSetInfo:     rueidis.DisableClientSetInfo,
		DisableCache:      cacheBytes == 0,
		CacheSizeEachConn: max(cacheBytes/rueidisConns, 1),
	})
	if err != nil {
		tb.Fatalf("rueidis.NewClient: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

func newRueidis(tb testing.TB, c subjectConfig) subject {
	return &rueidisSubject{c: newRueidisClient(tb, 0), src: c.src}
}

// newRueidisCSC reads with DoCache: rueidis's client-side cache, kept
// coherent by RESP3 invalidations (opt-in tracking). Its caches, one per
// connection, are bounded in bytes to l1Items Products in all, as tiercache's
// L1 is.
func newRueidisCSC(tb testing.TB, c subjectConfig) subject {
	return &rueidisSubject{c: newRueidisClient(tb, c.l1Items*l1EntryBytes), src: c.src, cache: true}
}

func (r *rueidisSubject) Get(ctx context.Context, id, key string) (Product, error) {
	var res rueidis.RedisResult
	if r.cache {
		res = r.c.DoCache(ctx, r.c.B().Get().Key(key).Cache(), clientLocalTTL)
	} else {
		res = r.c.Do(ctx, r.c.B().Get().Key(key).Build())
	}
	raw, err := res.AsBytes()
	return readThrough(ctx, raw, err, rueidis.IsRedisNil(err), r.src, id, func(p Product) error {
		return r.Set(ctx, id, key, p)
	})
}

func (r *rueidisSubject) Set(ctx context.Context, _, key string, p Product) error {
	raw, err := msgpack.Marshal(p)
	if err != nil {
		return err
	}
	return r.c.Do(ctx, r.c.B().Set().Key(key).Value(rueidis.BinaryString(raw)).Ex(ttl).Build()).Error()
}

func (r *rueidisSubject) Delete(ctx context.Context, _, key string) error {
	return r.c.Do(ctx, r.c.B().Del().Key(key).Build()).Error()
}

func (r *rueidisSubject) Close() {}

// --- go-redis, plain GET, and with its client-side cache ---

// goRedisSubject is a go-redis client used as a cache. Without its
// client-side cache it is the floor of the L2 paths: a GET and a decode.
// With it, it follows go-redis's README on client-side caching: a
// standalone RESP3 client with ClientSideCacheConfig set, whose GETs are
// answered from memory while Redis has not invalidated the key.
type goRedisSubject struct {
	rdb *redis.Client
	src *source
}

func newGoRedis(_ testing.TB, c subjectConfig) subject {
	return &goRedisSubject{rdb: c.rdb, src: c.src}
}

// newGoRedisCSCClient returns a RESP3 client of the shared server with its
// client-side cache bounded to maxEntries, closed at the end of tb.
func newGoRedisCSCClient(tb testing.TB, maxEntries int) *redis.Client {
	opts := redisOptions()
	opts.Protocol = 3
	opts.ClientSideCacheConfig = &redis.ClientSideCacheConfig{MaxEntries: maxEntries}
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func newGoRedisCSC(tb testing.TB, c subjectConfig) subject {
	return &goRedisSubject{rdb: newGoRedisCSCClient(tb, c.l1Items), src: c.src}
}

func (g *goRedisSubject) Get(ctx context.Context, id, key string) (Product, error) {
	raw, err := g.rdb.Get(ctx, key).Bytes()
	return readThrough(ctx, raw, err, errors.Is(err, redis.Nil), g.src, id, func(p Product) error {
		return g.Set(ctx, id, key, p)
	})
}

func (g *goRedisSubject) Set(ctx context.Context, _, key string, p Product) error {
	raw, err := msgpack.Marshal(p)
	if err != nil {
		return err
	}
	return g.rdb.Set(ctx, key, raw, ttl).Err()
}

func (g *goRedisSubject) Delete(ctx context.Context, _, key string) error {
	return g.rdb.Del(ctx, key).Err()
}

func (g *goRedisSubject) Close() {}
