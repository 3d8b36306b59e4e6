// Package tierotel exports tiercache's figures as OpenTelemetry metrics:
// observable counters read from every registered Store's Stats at collection
// time (see metrics.Counters), with strategy, tier and result attributes; a
// read-latency histogram per strategy and tier, fed by the Store itself
// through the hook ReadHook returns (tier.Config.ObserveRead); and gauges of
// the depth and oldest write age of every registered write-behind queue
// (AddQueue).
//
// Each registered Store's per data type counters (tier.Store.TypeStats, see
// metrics.TypeCounters) are observable counters too, attributed strategy,
// namespace and entity ("tiercache.type_reads", "tiercache.type_loads",
// ...); their latency histograms (TypeLatencyName) come from a Producer
// given to the SDK's reader, since the metric API cannot observe a
// histogram. A Store counts at most tier.Config.MaxTypeStats data types
// apart; the rest share the namespace tier.OtherNamespace ("_other").
//
// It is a module of its own (github.com/tiercache/tiercache/observability/tierotel)
// so that the library's go.mod never requires the OpenTelemetry API: a
// service that uses tiercache without OpenTelemetry builds none of it, and
// OpenTelemetry's frequent releases never force a tiercache release. Package
// metrics, in the library, holds the description this package and the
// Prometheus adapter both export, so the two always agree.
//
// Instrument names follow OpenTelemetry's conventions: a Counters row named
// "reads_total" becomes the counter "tiercache.reads", and the Prometheus
// gauge "tiercache_writebehind_oldest_age_seconds" becomes
// "tiercache.writebehind_oldest_age" with unit "s".
package tierotel
