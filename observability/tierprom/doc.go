// Package tierprom exports tiercache's figures to Prometheus: a Collector of
// every registered Store's counters (see metrics.Counters), labelled by
// strategy, tier and result, and read-latency histograms per strategy and
// tier fed through metrics.Observer.
//
// It is a module of its own (github.com/tiercache/tiercache/observability/tierprom)
// so that the library's go.mod never requires the Prometheus client: a
// service that uses tiercache without Prometheus builds, vets and vendors
// none of it, and a Prometheus upgrade never forces a tiercache release.
// Package metrics, in the library, holds the description both this package
// and the OpenTelemetry adapter export, so the two always agree.
//
// Counters are read from Store.Stats at scrape time (no hot-path cost).
// Stats are per Store: strategies that share a Store share its counters, so
// register a Store under the name of the strategy (or group of strategies)
// it serves.
package tierprom
