// Package strategy is the typed face of tiercache: a Strategy[V] caches
// values of one data type in a tier.Store, in front of a Source[V], the
// system of record.
//
// Each data type picks the strategy that fits how it is read and written:
//
//   - CacheAside: reads fill the cache lazily; writes go to the source and
//     invalidate the key. The default for most data.
//   - WriteThrough: writes go to the source, then to the cache; a source
//     error leaves the cache untouched. For data read right after it is
//     written (user profiles, settings).
//   - WriteBehind: writes go to the cache at once and reach the source later,
//     coalesced and batched by a flusher; optionally journaled in a Redis
//     Stream so that no acknowledged write is lost when a process dies. For
//     data written often (sessions, counters).
//   - RefreshAhead: hot keys are reloaded in the background before they
//     expire, so readers never wait for the source. For data read constantly
//     (a product catalogue).
//
// Every strategy accepts Options.StaleWhileRevalidate and
// Options.StaleIfError; docs/strategies.md compares the strategies.
//
// Values returned by Get are shared with other readers through the L1 cache:
// treat them as read-only (copy before modifying a map, slice or pointer).
package strategy
