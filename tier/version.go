package tier

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// versionKeyPrefix starts the Redis key that holds a namespace's version.
// The unit separator cannot appear in keys built by package keys, so it
// never collides with a cached key, and no pattern DeletePattern accepts
// (which must start with a literal namespace) matches it.
const versionKeyPrefix = "\x1ftiercache\x1fversion\x1f"

// versionTTL is the life of a version key, renewed by every read (each
// instance reads it at least once every L1TTLCap while it uses the
// namespace) and every bump: the key of a namespace nobody uses goes away.
const versionTTL = 7 * 24 * time.Hour

// Versions never repeat, so that no version key lost to eviction or expiry
// can bring back entries written under an older version: a version is
// never less than Redis's clock in microseconds when it was made, and a
// bump makes it at least one more than the one it replaces. A missing key
// is made anew with the clock's reading, which is past every version made
// before (unless Redis's clock goes back, or a namespace is bumped more
// than once per microsecond for long). Microseconds, not milliseconds: a
// bump and a loss of the key within one millisecond gave the new key the
// bumped version again. (A double holds them exactly until the year 2255.)
var (
	// readVersion returns the version, making it if it is missing, and
	// renews its TTL (ARGV[1], milliseconds).
	readVersion = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  local t = redis.call('TIME')
  v = string.format('%.0f', t[1] * 1000000 + t[2])
  redis.call('SET', KEYS[1], v, 'PX', ARGV[1])
  return v
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return v`)
	// bumpVersion moves the version to the later of one more than it and
	// the clock, and returns it.
	bumpVersion = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = redis.call('TIME')
local n = math.max(cur + 1, t[1] * 1000000 + t[2])
local v = string.format('%.0f', n)
redis.call('SET', KEYS[1], v, 'PX', ARGV[1])
return v`)
)

// NamespaceVersion is the current version of one namespace, shared by the
// fleet through a counter in Redis. Building keys under the current version
// (keys.Namespace.Versioned) makes Bump an O(1) invalidation of every key of
// the namespace: from then on, every instance builds keys of the new
// version, which are misses; the old entries expire by their TTL (or go with
// DeletePattern on the old version's pattern).
//
// Get answers from memory once the version is known: two atomic loads and
// a read of the Store's coarse clock. Bumps by other instances arrive on the
// namespace's invalidation channel; after a lost subscription the version is
// read again from Redis, and so it is once every L1TTLCap, so that a bump
// whose message was lost (its sender died before publishing it) reaches
// every instance within L1TTLCap, like any other lost invalidation.
type NamespaceVersion struct {
	s     *Store
	name  string
	v     atomic.Uint64
	known atomic.Bool
	// recheckAt is the coarse time (unix nanoseconds) from which Get reads
	// the version from Redis again.
	recheckAt atomic.Int64
}

// NamespaceVersion returns the version tracker of the namespace called name
// (as in keys.NewNamespace; without any "@v" suffix). Hold on to it: Get is
// cheapest on a tracker kept by the caller.
func (s *Store) NamespaceVersion(name string) *NamespaceVersion {
	if v, ok := s.versions.Load(name); ok {
		return v.(*NamespaceVersion)
	}
	v, _ := s.versions.LoadOrStore(name, &NamespaceVersion{s: s, name: name})
	return v.(*NamespaceVersion)
}

// loadedVersion returns name's tracker if one was asked for, else nil.
func (s *Store) loadedVersion(name string) *NamespaceVersion {
	if v, ok := s.versions.Load(name); ok {
		return v.(*NamespaceVersion)
	}
	return nil
}

// Name returns the namespace's name.
func (v *NamespaceVersion) Name() string { return v.name }

// Get returns the namespace's current version. With Redis, the first use
// of a namespace makes its version (Redis's clock in microseconds); without
// Redis it is 0 until first bumped. Once known it is answered from memory, except that the first call at
// least L1TTLCap after the last read from Redis reads it again (a failure
// there keeps the version known and is tried again L1TTLCap later). Until
// the version is known it is read from Redis; if that fails, Get returns 0
// (or the last version seen) with the error, and tries Redis again on the
// next call.
func (v *NamespaceVersion) Get(ctx context.Context) (uint64, error) {
	if v.known.Load() {
		if at := v.recheckAt.Load(); v.s.clock.nanos() >= at {
			v.recheck(ctx, at)
		}
		return v.v.Load(), nil
	}
	if v.s.bus != nil {
		v.s.bus.ensureNS(ctx, v.name) // so that bumps reach this instance
	}
	err := v.reload(ctx)
	return v.v.Load(), err
}

// Bump moves the namespace's version in Redis to a new one (greater than
// every version it had; see readVersion), tells every instance, and returns
// the new version.
func (v *NamespaceVersion) Bump(ctx context.Context) (uint64, error) {
	if v.s.l2 == nil {
		n := v.v.Add(1)
		v.known.Store(true)
		return n, nil
	}
	var n uint64
	err := v.s.l2.call(ctx, func(ctx context.Context) (err error) {
		n, err = bumpVersion.Run(ctx, v.s.cfg.Redis, []string{versionKeyPrefix + v.name}, versionTTL.Milliseconds()).Uint64()
		return err
	})
	if err != nil {
		v.s.l2Error(err)
		return 0, fmt.Errorf("tier: bump version of namespace %q: %w", v.name, err)
	}
	v.observe(n)
	v.s.stats.namespaceBumps.Add(1)
	if v.s.bus != nil {
		v.s.bus.publishVersion(v.name, n)
	}
	return n, nil
}

// recheck reads the version from Redis again if this caller is the first
// to find it due at at; the others go on with the version in memory.
func (v *NamespaceVersion) recheck(ctx context.Context, at int64) {
	if v.recheckAt.CompareAndSwap(at, v.nextCheck()) {
		_ = v.reload(ctx) // counted and reported; the known version stands
	}
}

// nextCheck returns when the version is due to be read again.
func (v *NamespaceVersion) nextCheck() int64 {
	if v.s.l2 == nil {
		return math.MaxInt64 // no Redis: this Store's version is the only one
	}
	return v.s.clock.nanos() + int64(v.s.cfg.L1TTLCap)
}

// reload reads the version from Redis.
func (v *NamespaceVersion) reload(ctx context.Context) error {
	if v.s.l2 == nil {
		v.recheckAt.Store(v.nextCheck())
		v.known.Store(true)
		return nil
	}
	next := v.nextCheck()
	var n uint64
	err := v.s.l2.call(ctx, func(ctx context.Context) (err error) {
		n, err = readVersion.Run(ctx, v.s.cfg.Redis, []string{versionKeyPrefix + v.name}, versionTTL.Milliseconds()).Uint64()
		return err
	})
	if err != nil {
		v.s.l2Error(err) // not for ErrBreakerOpen
		return fmt.Errorf("tier: read version of namespace %q: %w", v.name, err)
	}
	v.recheckAt.Store(next)
	v.observe(n)
	return nil
}

// observe records a version read or announced; versions only grow.
func (v *NamespaceVersion) observe(n uint64) {
	for {
		cur := v.v.Load()
		if n <= cur || v.v.CompareAndSwap(cur, n) {
			break
		}
	}
	v.known.Store(true)
}
