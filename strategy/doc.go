// Package strategy is the typed face of tiercache: a Strategy[V] caches
// values of one data type in a tier.Store, in front of a Source[V], the
// system of record.
//
// Each data type picks the strategy that fits how it is read and written:
//
//   - CacheAside: reads fill the cache lazily; writes go to the source and
//     invalidate the key. The default for most data.
//
// Values returned by Get are shared with other readers through the L1 cache:
// treat them as read-only (copy before modifying a map, slice or pointer).
package strategy
