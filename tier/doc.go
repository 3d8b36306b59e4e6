// Package tier is tiercache's engine: a Store joins a local L1 (ristretto,
// holding decoded values) and a Redis L2 (holding binary envelopes) in front
// of a loader that reads the source of truth.
//
// # Reads
//
// A read tries L1 first: a fresh hit is a map lookup and a type assertion,
// with no decoding and no allocation. On an L1 miss, concurrent readers of a
// key share one flight (singleflight): one Redis GET, and on an L2 miss one
// load. Across processes, the first to miss writes a lease into the key
// itself (SET NX PX with a random token); the others wait for the fill,
// bounded by Config.FillWait, and a holder that dies leaves a lease that
// expires after Config.FillLockTTL. The fill replaces the lease only if it is
// still there (a token-checked Lua script), so a write or delete of the key
// during a slow load wins over the load's older result. Within a process,
// fences do the same for L1. A "not found" answer (ErrNotFound) is cached as
// a negative entry with its own TTL.
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
// # Entries
//
// L2 stores an envelope: a 19-byte header (format version, flags, codec ID,
// created-at, fresh-until) and the payload. Every entry has a Redis TTL: its
// fresh lifetime (Options.TTL, shortened by 10-20 % jitter by default) plus
// the stale-while-revalidate / stale-if-error window. L1 keeps an entry for
// the shortest of its remaining L2 life, Options.L1TTL and Config.L1TTLCap.
//
// Values returned by a Store are shared with other readers through L1: treat
// them as read-only.
package tier
