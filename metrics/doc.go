// Package metrics describes a tier.Store's counters for metrics systems, and
// the hook through which read latencies reach them.
//
// It depends on nothing but package tier: the adapters that export these
// descriptions live in modules of their own
// (github.com/tiercache/tiercache/observability/tierprom for Prometheus,
// github.com/tiercache/tiercache/observability/tierotel for OpenTelemetry), so
// that the library's go.mod never requires either client.
//
// Counters returns the table both adapters export: one row per
// (metric, labels) pair, read from a tier.Stats snapshot. A figure added to
// tier.Stats is exported by adding one row.
//
// Latency histograms need a timer around each read. tier does not call an
// Observer yet: until it grows a hook for one, TimeGet wraps Store.Get and
// reports how long each read took to the Observer, under the tier that
// answered.
package metrics
