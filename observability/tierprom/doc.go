// Package tierprom exports tiercache's figures to Prometheus: a Collector of
// every registered Store's counters (see metrics.Counters), labelled by
// strategy, tier and result; read-latency histograms per strategy and tier,
// fed by the Store itself through the hook ReadHook returns
// (tier.Config.ObserveRead); and the depth and oldest write age of every
// registered write-behind queue (AddQueue).
//
// Each registered Store's per data type counters (tier.Store.TypeStats, see
// metrics.TypeCounters) and latency histograms are exported too, labelled
// strategy, namespace and entity: tiercache_type_reads_total{tier},
// tiercache_type_loads_total{result}, tiercache_type_not_found_total,
// tiercache_type_stale_served_total and
// tiercache_type_read_duration_seconds. A Store counts at most
// tier.Config.MaxTypeStats data types apart; the rest share the namespace
// tier.OtherNamespace ("_other"), which bounds the labels' cardinality.
//
// It is a module of its own (github.com/tiercache/tiercache/observability/tierprom)
// so that the library's go.mod never requires the Prometheus client: a
// service that uses tiercache without Prometheus builds, vets and vendors
// none of it, and a Prometheus upgrade never forces a tiercache release.
// Package metrics, in the library, holds the description both this package
// and the OpenTelemetry adapter export, so the two always agree.
//
// Counters and queue gauges are read at scrape time (no hot-path cost); a
// latency hook costs one clock read and one histogram Observe per read.
// Stats are per Store: strategies that share a Store share its counters and
// histograms, so register a Store under the name of the strategy (or group
// of strategies) it serves.
package tierprom
