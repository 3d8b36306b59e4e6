// Package tierprom exports tiercache's figures to Prometheus: a Collector of
// every registered Store's counters (see metrics.Counters), labelled by
// strategy, tier and result; read-latency histograms per strategy and tier,
// fed by the Store itself through the hook ReadHook returns
// (tier.Config.ObserveRead); and the depth and oldest write age of every
// registered write-behind queue (AddQueue).
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
