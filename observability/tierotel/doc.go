// Package tierotel exports tiercache's figures as OpenTelemetry metrics:
// observable counters read from every registered Store's Stats at collection
// time (see metrics.Counters), with strategy, tier and result attributes; a
// read-latency histogram per strategy and tier, fed by the Store itself
// through the hook ReadHook returns (tier.Config.ObserveRead); and gauges of
// the depth and oldest write age of every registered write-behind queue
// (AddQueue). It also traces them: a Tracer (NewTracer), set as
// tier.Config.Tracer, records every read that leaves L1, every write and
// every write-behind flush as OpenTelemetry spans, children of the span in
// the caller's context (see ExampleNewTracer).
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
//
// # Tracing
//
// A read that misses L1 is a span tiercache.get, under which its Redis read
// (tiercache.l2.read, which also takes the fill lease of a missing key), a
// wait for another process's fill (tiercache.fill.wait), the load
// (tiercache.load, whose context the loader gets, so that the source's own
// spans nest under it) and the L2 fill (tiercache.l2.fill, which may end
// after the read has answered) are spans of their own; a Redis client
// instrumented for tracing records its commands under them (but for a read
// that left in one pipeline with other flights' reads). Writes are
// tiercache.set, tiercache.delete, tiercache.set_many and
// tiercache.delete_pattern, a Group's batch read tiercache.get_many (one
// span for the ids L1 did not answer), and each batch a write-behind
// strategy writes to its source tiercache.writebehind.flush (a root span:
// the flusher has no caller). Every span carries the key's namespace and
// entity (AttrNamespace, AttrEntity; never the key or the id), the tier it
// worked on or that answered (AttrTier), its outcome (AttrOutcome) and,
// where it applies, whether the value was stale (AttrStale) and how many
// keys it covered (AttrCount); a failed operation records its error and
// sets the span's status to Error. An L1 hit starts no span: tracing costs
// it nothing, on or off.
package tierotel
