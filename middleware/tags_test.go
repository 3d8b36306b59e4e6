package middleware

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/tiercache/tiercache/tier"
)

// TestTagMembersLeave: under steady traffic to new URLs, a long-lived tag
// holds only the responses still cached: members leave with the entries
// they name (real Redis).
func TestTagMembersLeave(t *testing.T) {
	// The responses live between 2 and 3 seconds: the Date net/http sets
	// has a resolution of a second, and their age counts from it (with
	// max-age=1 a response stored just before a second's end lived a few
	// milliseconds, and left the tag before the last was added).
	const maxAge = 3 * time.Second
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(maxAge/time.Second)))
		w.Header().Set("Surrogate-Key", "hot")
		io.WriteString(w, r.URL.Path)
	})
	rdb := e.store.Redis()
	ctx := context.Background()
	const n = 40
	var keys []string
	for i := range n {
		p := "/n/" + strconv.Itoa(i)
		e.get(p)
		u, _ := url.Parse(e.srv.URL + p)
		keys = append(keys, e.cache.keyFor("http", u.Host, u))
	}
	filled := time.Now()
	if got, err := rdb.ZCard(ctx, e.cache.tagKey("hot")).Result(); err != nil || got != n {
		t.Fatalf("ZCARD after %d responses = %d, %v; want %d (Redis errors: %d)", n, got, err, n, e.store.Stats().L2Errors)
	}
	// Nothing signals an expiry: wait out the responses' life.
	time.Sleep(time.Until(filled.Add(maxAge + 100*time.Millisecond)))
	if left, err := rdb.Exists(ctx, keys...).Result(); err != nil || left != 0 {
		t.Fatalf("%d of the responses still in Redis (%v); want them expired", left, err)
	}
	e.get("/n/new")
	if got, err := rdb.ZRange(ctx, e.cache.tagKey("hot"), 0, -1).Result(); err != nil || len(got) != 1 {
		t.Errorf("tag members after the others expired = %d %v, %v; want only the new one", len(got), got, err)
	}
	if purged, err := e.cache.PurgeTag(ctx, "hot"); err != nil || purged != 1 {
		t.Errorf("PurgeTag = %d, %v; want 1", purged, err)
	}
}

// TestTagMemberRemovedWithEntry: when the origin stops letting a tagged
// response be stored, the cache deletes it and its tag no longer names it.
func TestTagMemberRemovedWithEntry(t *testing.T) {
	e := newEnv(t, nil, respond(200, "v1", "Cache-Control: max-age=60", "Surrogate-Key: gone"))
	e.get("/g")
	ctx := context.Background()
	tk := e.cache.tagKey("gone")
	if got, _ := e.store.Redis().ZCard(ctx, tk).Result(); got != 1 {
		t.Fatalf("ZCARD = %d; want 1", got)
	}
	e.setOrigin(respond(200, "v2", "Cache-Control: no-store"))
	e.get("/g", "Cache-Control: no-cache")
	if got, err := e.store.Redis().ZCard(ctx, tk).Result(); err != nil || got != 0 {
		t.Errorf("ZCARD after the response was dropped = %d, %v; want 0", got, err)
	}
}

// TestLegacyTagSetPurged: responses tagged in the plain sets earlier
// versions wrote are still purged by tag.
func TestLegacyTagSetPurged(t *testing.T) {
	e := newEnv(t, nil, respond(200, "v1", "Cache-Control: max-age=60"))
	e.get("/old")
	u, _ := url.Parse(e.srv.URL + "/old")
	key := e.cache.keyFor("http", u.Host, u)
	ctx := context.Background()
	if err := e.store.Redis().SAdd(ctx, e.cache.legacyTagKey("old"), key).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := e.cache.PurgeTag(ctx, "old"); err != nil || n != 1 {
		t.Errorf("PurgeTag = %d, %v; want 1", n, err)
	}
	if got := e.get("/old"); got.hit() {
		t.Errorf("after purge: %q; want a miss", got.cacheStatus)
	}
}

// TestLocalTagIndexBounded: without Redis, tags whose responses have all
// expired leave the index, so it stays proportional to what is cached.
func TestLocalTagIndexBounded(t *testing.T) {
	store, err := tier.New(&tier.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c, err := New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	past := time.Now().Add(-time.Second)
	for i := range 5000 {
		c.tags.addLocal([]string{"t" + strconv.Itoa(i)}, "k"+strconv.Itoa(i), time.Now(), past)
	}
	now := time.Now()
	c.tags.addLocal([]string{"live"}, "k", now, now.Add(time.Hour))
	c.tags.mu.Lock()
	tags := len(c.tags.local)
	c.tags.mu.Unlock()
	if tags > localTagSweepAt+1 {
		t.Errorf("%d tags held after 5000 expired ones; want at most %d", tags, localTagSweepAt+1)
	}
	if keys, _ := c.tags.take(context.Background(), c, "live", 10); len(keys) != 1 {
		t.Errorf("take(live) = %q; want the live key", keys)
	}
}
