package middleware

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/tiercache/tiercache/internal/background"
	"github.com/tiercache/tiercache/tier"
)

// Cache is an RFC 9111 HTTP cache kept in a tier.Store: responses live in
// the Store's L1 and in Redis, shared by every instance that uses the same
// Redis. Wrap handlers with Handler, mount PurgeHandler behind your own
// authentication, and use Transport for outgoing requests. It is safe for
// concurrent use; Close waits for the background revalidations it started.
type Cache struct {
	store    *tier.Store
	cfg      Config
	readOpts tier.Options
	flights  flights
	tags     tagIndex
	stats    counters

	revalidating sync.Map // keys with a background revalidation running

	bg background.Group // background revalidations and transport handlers
}

// New returns a Cache that keeps responses in store. A nil cfg means the
// defaults documented on Config. The Store is the caller's: Close does not
// close it.
func New(store *tier.Store, cfg *Config) (*Cache, error) {
	if store == nil {
		return nil, ErrNoStore
	}
	c := &Cache{store: store, cfg: cfg.withDefaults()}
	c.readOpts = tier.Options{Decode: c.decode, TTLJitter: -1}
	if store.Redis() == nil {
		c.tags.local = make(map[string]map[string]time.Time)
	}
	return c, nil
}

// Close stops the background revalidations and waits for them. Handlers
// keep serving after Close, without starting background work.
func (c *Cache) Close() error {
	c.bg.Close()
	return nil
}

// goBackground runs f in a goroutine the Cache owns (Close waits for it),
// unless the Cache is closed.
func (c *Cache) goBackground(f func()) bool { return c.bg.Go(f) }

// Handler returns next wrapped by the cache.
func (c *Cache) Handler(next http.Handler) http.Handler {
	return &handler{c: c, next: next}
}

// Middleware returns Handler as a func(http.Handler) http.Handler, for
// routers that chain middleware.
func (c *Cache) Middleware() func(http.Handler) http.Handler { return c.Handler }

// writeOptions returns the Store options of an entry kept for ttl.
func (c *Cache) writeOptions(ttl time.Duration) *tier.Options {
	return &tier.Options{Decode: c.decode, TTL: ttl, TTLJitter: -1}
}

// lookupResult is what a lookup found for a request.
type lookupResult struct {
	e      *entry    // the stored response, or nil
	tier   tier.Tier // where e came from
	key    string    // the key of e (the primary key or a variant key)
	marker *entry    // the URL's variant marker, if any
	// markerUntil is when the marker expires.
	markerUntil time.Time
}

// lookup finds the stored response that r selects: the entry under the
// primary key, or, when that is a variant marker, the variant selected by
// r's values of the marker's fields.
func (c *Cache) lookup(ctx context.Context, r *http.Request, key string) lookupResult {
	var lk lookupResult
	e, t, until := c.get(ctx, key)
	if e == nil {
		return lk
	}
	if e.Nonce == "" {
		lk.e, lk.tier, lk.key = e, t, key
		return lk
	}
	lk.marker, lk.markerUntil = e, until
	vk := variantKey(key, e.Nonce, varySelector(r.Header, e.Vary))
	if v, t, _ := c.get(ctx, vk); v != nil && v.Nonce == "" {
		lk.e, lk.tier, lk.key = v, t, vk
	}
	return lk
}

// get reads one entry; a miss or a Store error is nil.
func (c *Cache) get(ctx context.Context, key string) (*entry, tier.Tier, time.Time) {
	res, err := c.store.Get(ctx, key, &c.readOpts, nil)
	if err != nil {
		return nil, tier.TierNone, time.Time{}
	}
	e, ok := res.Value.(*entry)
	if !ok || e == nil {
		return nil, tier.TierNone, time.Time{}
	}
	return e, res.Tier, res.FreshUntil
}
