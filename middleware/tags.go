package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// surrogateKeys returns the tags a response's Surrogate-Key field lists
// (space-separated).
func surrogateKeys(h http.Header) []string {
	var tags []string
	for _, line := range h["Surrogate-Key"] {
		tags = append(tags, strings.Fields(line)...)
	}
	return tags
}

// tagIndex maps each tag to the primary keys of the responses that carry
// it, each with the time its response leaves the Store. With Redis it is
// one sorted set per tag (member: primary key, score: that time in unix
// milliseconds), written with single-key commands (so it works on a
// cluster); every addition first drops the members whose responses have
// expired, and the set itself expires a little after its longest-lived
// member. So members leave with the entries they name, and a tag costs
// memory in proportion to what is cached under it. Without Redis it is a
// map in this process, swept the same way.
type tagIndex struct {
	mu        sync.Mutex
	local     map[string]map[string]time.Time // nil with Redis
	adds      int                             // additions to local, counted for sweeps
	nextSweep int                             // when adds reaches it, sweep every tag of local
}

// localTagSweepAt is the fewest additions between two sweeps of the local
// index.
const localTagSweepAt = 1024

// tagKey returns the Redis key of a tag's sorted set.
func (c *Cache) tagKey(tag string) string {
	return c.cfg.KeyPrefix + "tagz:" + strconv.Itoa(len(tag)) + ":" + tag
}

// legacyTagKey returns the Redis key of a tag's set as earlier versions
// wrote it (a plain set that only grew). Purges still empty it, so that
// responses tagged before an upgrade are purged too; nothing adds to it,
// and it expires with its TTL.
func (c *Cache) legacyTagKey(tag string) string {
	return c.cfg.KeyPrefix + "tag:" + strconv.Itoa(len(tag)) + ":" + tag
}

// add records that the response under key, kept for ttl, carries tags.
func (t *tagIndex) add(ctx context.Context, c *Cache, tags []string, key string, ttl time.Duration) error {
	now := time.Now()
	until := now.Add(ttl)
	if t.local != nil {
		t.addLocal(tags, key, now, until)
		return nil
	}
	rdb := c.store.Redis()
	setTTL := ttl + tagTTLSlack
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, tag := range tags {
			tk := c.tagKey(tag)
			p.ZRemRangeByScore(ctx, tk, "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
			p.ZAddGT(ctx, tk, redis.Z{Score: float64(until.UnixMilli()), Member: key})
			p.ExpireNX(ctx, tk, setTTL) // a new set: give it a TTL
			p.ExpireGT(ctx, tk, setTTL) // an older set: extend it
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("middleware: tag %q: %w", key, err)
	}
	return nil
}

// addLocal is add without Redis.
func (t *tagIndex) addLocal(tags []string, key string, now, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tag := range tags {
		keys := t.local[tag]
		if keys == nil {
			keys = make(map[string]time.Time)
			t.local[tag] = keys
		}
		if until.After(keys[key]) {
			keys[key] = until
		}
	}
	t.adds++
	if t.adds < t.nextSweep {
		return
	}
	live := 0
	for tag, keys := range t.local {
		for k, until := range keys {
			if !until.After(now) {
				delete(keys, k)
			}
		}
		if len(keys) == 0 {
			delete(t.local, tag)
		}
		live += len(keys)
	}
	t.nextSweep = t.adds + max(localTagSweepAt, live) // amortised: O(1) per addition
}

// remove drops key from the sets of tags: its response was deleted.
func (t *tagIndex) remove(ctx context.Context, c *Cache, tags []string, key string) error {
	if t.local != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, tag := range tags {
			delete(t.local[tag], key)
			if len(t.local[tag]) == 0 {
				delete(t.local, tag)
			}
		}
		return nil
	}
	_, err := c.store.Redis().Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, tag := range tags {
			p.ZRem(ctx, c.tagKey(tag), key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("middleware: untag %q: %w", key, err)
	}
	return nil
}

// take removes and returns up to n keys of tag's set (members whose
// responses have expired may be among them: deleting them is harmless).
func (t *tagIndex) take(ctx context.Context, c *Cache, tag string, n int) ([]string, error) {
	if t.local != nil {
		now := time.Now()
		t.mu.Lock()
		defer t.mu.Unlock()
		var keys []string
		for k, until := range t.local[tag] {
			if len(keys) == n {
				break
			}
			delete(t.local[tag], k)
			if until.After(now) {
				keys = append(keys, k)
			}
		}
		if len(t.local[tag]) == 0 {
			delete(t.local, tag)
		}
		return keys, nil
	}
	rdb := c.store.Redis()
	zs, err := rdb.ZPopMin(ctx, c.tagKey(tag), int64(n)).Result()
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("middleware: purge tag %q: %w", tag, err)
	}
	if len(zs) > 0 {
		keys := make([]string, len(zs))
		for i, z := range zs {
			keys[i], _ = z.Member.(string) // go-redis returns members as strings
		}
		return keys, nil
	}
	keys, err := rdb.SPopN(ctx, c.legacyTagKey(tag), int64(n)).Result()
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("middleware: purge tag %q: %w", tag, err)
	}
	return keys, nil
}

// newNonce returns a random variant generation.
func newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
