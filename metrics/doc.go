// Package metrics describes a tier.Store's counters for metrics systems, and
// the hooks through which read latencies and write-behind queues reach them.
//
// It depends on nothing but package tier: the adapters that export these
// descriptions live in modules of their own
// (github.com/tiercache/tiercache/observability/tierprom for Prometheus,
// github.com/tiercache/tiercache/observability/tierotel for OpenTelemetry), so
// that the library's go.mod never requires either client.
//
// Counters returns the table both adapters export: one row per
// (metric, labels) pair, read from a tier.Stats snapshot and named by the
// tags of tier.Stats's fields: a figure added to tier.Stats, with its tags,
// is exported without a change here. TypeCounters is the same table for a
// data type's counters (tier.Store.TypeStats, found on a registered Store
// through TypeStatsReader), which the adapters export with the labels
// LabelNamespace and LabelEntity, with its latency histogram
// (TypeLatencyName, in the buckets LatencyBucketsSeconds gives).
//
// Latency histograms are fed by tier.Config.ObserveRead, which the Store
// calls after every read with the tier that answered: Hook turns an Observer
// into one. TimeGet times single Store.Get calls instead, for a Store whose
// Config is not yours.
//
// A write-behind queue's depth and oldest write are read through
// QueueReader, which strategy.WriteBehind implements for every value type,
// so that the adapters need not know the type.
//
// Registry is the set of named Stores and queues an adapter exports; both
// adapters embed it, so that registering works the same in each.
package metrics
