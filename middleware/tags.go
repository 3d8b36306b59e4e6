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
// it. With Redis it is one set per tag, each written with single-key
// commands (so it works on a cluster) and expiring a little after the
// longest-lived response in it; without Redis it is a map in this process.
type tagIndex struct {
	mu    sync.Mutex
	local map[string]map[string]time.Time // nil with Redis
}

// localTagSweepAt is the size of a tag's local key set above which adding
// to it first drops the expired keys.
const localTagSweepAt = 1024

// tagKey returns the Redis key of a tag's set.
func (c *Cache) tagKey(tag string) string {
	return c.cfg.KeyPrefix + "tag:" + strconv.Itoa(len(tag)) + ":" + tag
}

// add records that the response under key, kept for ttl, carries tags.
func (t *tagIndex) add(ctx context.Context, c *Cache, tags []string, key string, ttl time.Duration) error {
	ttl += tagTTLSlack
	if t.local != nil {
		now := time.Now()
		until := now.Add(ttl)
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, tag := range tags {
			keys := t.local[tag]
			if keys == nil {
				keys = make(map[string]time.Time)
				t.local[tag] = keys
			}
			if len(keys) >= localTagSweepAt {
				for k, until := range keys {
					if until.Before(now) {
						delete(keys, k)
					}
				}
			}
			if until.After(keys[key]) {
				keys[key] = until
			}
		}
		return nil
	}
	rdb := c.store.Redis()
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, tag := range tags {
			tk := c.tagKey(tag)
			p.SAdd(ctx, tk, key)
			p.ExpireNX(ctx, tk, ttl) // a new set: give it a TTL
			p.ExpireGT(ctx, tk, ttl) // an older set: extend it
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("middleware: tag %q: %w", key, err)
	}
	return nil
}

// take removes and returns up to n keys of tag's set.
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
	keys, err := c.store.Redis().SPopN(ctx, c.tagKey(tag), int64(n)).Result()
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
