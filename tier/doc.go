// Package tier is tiercache's engine: a Store joins a local L1 (ristretto,
// holding decoded values) and a Redis L2 (holding binary envelopes) in front
// of a loader that reads the source of truth.
//
// # Reads
//
// A read tries L1 first: a fresh hit is a map lookup and a type assertion,
// with no decoding and no allocation. A Group is one data type's view of a
// Store (namespace, entity, Options, loader): its reads take ids, return
// typed values and the Tier that answered, and hash only the id on an L1
// hit. On an L1 miss, concurrent readers of a key share one flight, and its
// first Redis command both reads the key and, when the key is missing,
// writes a fill lease into it (SET NX GET PX, a token unique across the
// fleet): a miss costs one round trip before the load. The process whose
// lease is in the key loads once, answers its readers, and then replaces
// the lease with the value only if the lease is still there (a token-checked
// Lua script), so a write or delete of the key during a slow load wins over
// the load's older result; readers of this process that arrive before the
// fill has landed take the loaded value. Other processes that find the
// lease mark it as waited for and wait (bounded by Config.FillWait and by
// half the reader's remaining time) until the fill is announced on the
// invalidation bus; a holder that dies leaves a lease that expires after
// Config.FillLockTTL. Within a process, fences do the same for L1. A "not
// found" answer (ErrNotFound) is cached as a negative entry with its own TTL.
// Past Options.RefreshAfter of its TTL, a read answered by L1 or L2 starts
// one background reload (refresh-ahead), also with L1 disabled.
//
// # Failures
//
// Every Redis call is bounded by Config.L2Timeout and by the caller's
// deadline. The go-redis client must set ContextTimeoutEnabled, or a
// deadline does not bound a read from a slow server; New checks go-redis's
// client types. Redis down, slow or returning garbage never fails a read the
// loader can serve: the error is counted in Stats, reported through
// Config.Logger (rate-limited; nil is silent), and the read goes on. A
// corrupt entry, or one that no longer decodes into the current type, is a
// miss; it is deleted and counted.
//
// # Coherence across instances
//
// Every Set and Delete publishes the keys it changed on the invalidation
// channel of their namespace, Config.BusChannelPrefix followed by the
// namespace: the part of the key before the first ':', without a version
// suffix (keys "shop:user:42" and "shop@v3:user:42" are both in namespace
// "shop"; a key without ':' is in namespace ""). Messages are compact binary
// (front-coded keys) tagged with the sender's Config.InstanceID; every other
// Store drops the keys from its L1, and a Store ignores its own. One
// publisher goroutine per Store sends what is queued as soon as it can: no
// batching window, so an idle bus adds no latency, and the writes made while
// a publish is in flight travel together in the next one. On a
// *redis.ClusterClient the bus uses sharded pub/sub (SPUBLISH, SSUBSCRIBE):
// a namespace's messages go to the one shard its channel hashes to.
//
// A Store subscribes to a namespace's channel the first time it reads or
// writes a key of it, and that first read or write waits (at most
// L2Timeout) for the subscription's confirmation. Each subscription has its
// own connection (from go-redis's pub/sub pool, not the command pool) and
// goroutine. A lost subscription (a connection error, or a PING unanswered
// within L2Timeout after Config.BusPingInterval of silence) is made again
// with a fresh connection, and its confirmation clears L1, in O(1): the
// invalidations sent in between are lost. Config.L1TTLCap bounds how stale
// an L1 entry can be in any case. Stats count what the bus sent and
// received, malformed messages (ignored), and resubscriptions.
//
// A read that began before a write of the same key, anywhere in the fleet,
// never caches its older result: in L2 the write replaced the fill's lease
// (or the entry the fill started from) and the fill is refused; in the
// writer's L1, fences refuse it; in another instance's L1, the invalidation
// either reaches the fence before the fill (refused) or drops the filled
// entry after it.
//
// # Bulk invalidation
//
// DeletePattern deletes by Redis glob pattern with SCAN and UNLINK on every
// master, and clears every instance's L1. NamespaceVersion keeps a
// namespace's version in Redis (versions never repeat, even if the key is
// lost; the key's TTL is renewed by use): building keys under the current
// version (strategy.Options.Versioned, or keys.Namespace.Versioned) makes a
// Bump an O(1) invalidation of the whole namespace on every instance. Each
// Store also reads the version from Redis again once every L1TTLCap (on a
// read), so a bump whose message was lost is bounded like any other lost
// invalidation.
//
// # Circuit breaker
//
// After Config.BreakerFailures consecutive failed or timed-out Redis calls
// the breaker opens: reads go to L1 and the loader without touching Redis,
// and Set and Delete fail at once with ErrBreakerOpen. After
// Config.BreakerCooldown one call probes Redis; its success closes the
// breaker, once the writes that failed meanwhile are repaired. Its state is
// Stats().Breaker.
//
// # Repair
//
// A Set, SetMany or Delete whose Redis write fails (Redis down, slow, or
// the breaker open) leaves L2 with what it held, older than the source a
// strategy wrote first. The Store remembers the key (up to
// Config.MaxRepairKeys), reads it from the source meanwhile, and as soon as
// Redis answers again deletes it from L2 and announces that on the bus,
// before the breaker closes; the next read anywhere loads it. The write's
// error wraps ErrRepairPending; strategies whose source took the write
// return nil.
//
// # Stale values and soft timeouts
//
// Options.StaleIfError lets a read answer with an expired entry when its
// reload fails or its deadline comes first. Options.SoftTimeout bounds how
// long a reader waits for that reload before it takes the stale entry (the
// reload goes on and fills when done), and Options.FailSafeThrottle stops
// every process from calling a failing source for a key more than once per
// period; both take the key's reload lock in Redis, so that one process in
// the fleet reloads it while the others serve the stale entry.
//
// # Entries
//
// L2 stores an envelope: a 19-byte header (format version, flags, codec ID,
// created-at, fresh-until) and the payload. Every entry has a Redis TTL: its
// fresh lifetime (Options.TTL, shortened by 10-20 % jitter by default) plus
// the stale-while-revalidate / stale-if-error window. L1 keeps an entry for
// the shortest of its remaining L2 life, Options.L1TTL and Config.L1TTLCap.
//
// Values returned by a Store are shared with other readers through L1: treat
// them as read-only. What L1 holds of a value written to L2 (a load's fill,
// Set, SetMany) is the codec's round trip of it, decoded from the encoded
// bytes: it reads the same from L1 as from L2, and is never the caller's own
// value. A value loaded while L2 is not written (no Redis, Redis failing,
// the breaker open) is held as the loader returned it.
package tier
