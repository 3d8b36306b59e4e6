package metrics

import "github.com/tiercache/tiercache/tier"

// Counter is one exported counter: a metric family and the label values of
// one of its series, read from a Stats snapshot.
type Counter struct {
	// Name is the family's name without a namespace prefix, in the snake
	// case both Prometheus and OpenTelemetry use: "reads_total".
	Name string
	// Help describes the family; rows of one family share it.
	Help string
	// Tier and Result are the series' label values; empty means the family
	// has no such label.
	Tier, Result string
	// Value reads the series' value from a snapshot.
	Value func(*tier.Stats) uint64
	// Gauge marks a current value (the breaker's state) rather than a
	// count that only grows.
	Gauge bool
}

func counter(name, help, tierLabel, result string, v func(*tier.Stats) uint64) Counter {
	return Counter{Name: name, Help: help, Tier: tierLabel, Result: result, Value: v}
}

// breakerIs is the gauge row of one breaker state: 1 while the breaker is
// in it, else 0 (the Prometheus convention for an enumeration).
func breakerIs(state tier.BreakerState) Counter {
	return Counter{
		Name: "breaker_state", Help: helpBreaker, Result: state.String(), Gauge: true,
		Value: func(s *tier.Stats) uint64 {
			if s.Breaker == state {
				return 1
			}
			return 0
		},
	}
}

// Label names the adapters use.
const (
	LabelStrategy = "strategy" // the name a Store was registered under
	LabelTier     = "tier"     // l1, l2, source
	LabelResult   = "result"   // hit, miss, error, ok, ...
)

// Namespace prefixes every exported family ("tiercache_reads_total").
const Namespace = "tiercache"

// Help strings shared by the rows of a family.
const (
	helpReads     = "Reads by the tier that looked and what it found."
	helpLoads     = "Calls of the loader (the source of truth) by outcome."
	helpRefreshes = "Background reloads (refresh-ahead, stale-while-revalidate) by outcome."
	helpL1Sets    = "L1 sets that ristretto did not keep: dropped on contention or rejected by admission."
	helpInval     = "Keys invalidated through the bus: sent for this Store's writes, received for other instances' writes."
	helpMessages  = "Bus messages (a batch of keys is one) by direction."
	helpBreaker   = "The circuit breaker around Redis: 1 for its current state, 0 for the others."
)

// Counters returns the counters (and the breaker's state gauge) of a Store,
// in a stable order. Families have either no labels or the same labels on
// every row. Exporting a new tier.Stats figure is adding one row here.
func Counters() []Counter {
	return []Counter{
		counter("reads_total", helpReads, "l1", "hit", func(s *tier.Stats) uint64 { return s.L1Hits }),
		counter("reads_total", helpReads, "l1", "miss", func(s *tier.Stats) uint64 { return s.L1Misses }),
		counter("reads_total", helpReads, "l2", "hit", func(s *tier.Stats) uint64 { return s.L2Hits }),
		counter("reads_total", helpReads, "l2", "miss", func(s *tier.Stats) uint64 { return s.L2Misses }),
		counter("negative_hits_total", "Reads answered by a cached not-found.", "", "", func(s *tier.Stats) uint64 { return s.NegativeHits }),
		counter("stale_served_total", "Stale values served (stale-while-revalidate, stale-if-error).", "", "", func(s *tier.Stats) uint64 { return s.StaleServed }),
		counter("redis_errors_total", "Failed or timed-out Redis calls.", "", "", func(s *tier.Stats) uint64 { return s.L2Errors }),
		counter("corrupt_entries_total", "L2 entries that failed to decode (deleted).", "", "", func(s *tier.Stats) uint64 { return s.Corrupt }),
		counter("loads_total", helpLoads, "", "ok", func(s *tier.Stats) uint64 { return s.Loads - min(s.LoadErrors, s.Loads) }),
		counter("loads_total", helpLoads, "", "error", func(s *tier.Stats) uint64 { return s.LoadErrors }),
		counter("coalesced_waits_total", "Readers that shared another reader's Redis read or load.", "", "", func(s *tier.Stats) uint64 { return s.CoalescedWait }),
		counter("fill_waits_total", "Times a reader waited for another process's fill.", "", "", func(s *tier.Stats) uint64 { return s.FillWaits }),
		counter("stale_fills_total", "Loaded values not cached because the key changed meanwhile.", "", "", func(s *tier.Stats) uint64 { return s.StaleFills }),
		counter("refreshes_total", helpRefreshes, "", "ok", func(s *tier.Stats) uint64 { return s.Refreshes - min(s.RefreshErrors, s.Refreshes) }),
		counter("refreshes_total", helpRefreshes, "", "error", func(s *tier.Stats) uint64 { return s.RefreshErrors }),
		counter("refreshes_total", helpRefreshes, "", "denied", func(s *tier.Stats) uint64 { return s.RefreshesDenied }),
		counter("l1_sets_lost_total", helpL1Sets, "", "dropped", func(s *tier.Stats) uint64 { return s.L1SetsDropped }),
		counter("l1_sets_lost_total", helpL1Sets, "", "rejected", func(s *tier.Stats) uint64 { return s.L1SetsRejected }),
		counter("sets_total", "Values written through Set.", "", "", func(s *tier.Stats) uint64 { return s.Sets }),
		counter("deletes_total", "Keys deleted through Delete.", "", "", func(s *tier.Stats) uint64 { return s.Deletes }),
		counter("encode_errors_total", "Values the codec could not encode.", "", "", func(s *tier.Stats) uint64 { return s.EncodeErrors }),
		counter("invalidations_total", helpInval, "", "sent", func(s *tier.Stats) uint64 { return s.InvalidationsSent }),
		counter("invalidations_total", helpInval, "", "received", func(s *tier.Stats) uint64 { return s.InvalidationsReceived }),
		counter("bus_messages_total", helpMessages, "", "sent", func(s *tier.Stats) uint64 { return s.MessagesSent }),
		counter("bus_messages_total", helpMessages, "", "received", func(s *tier.Stats) uint64 { return s.MessagesReceived }),
		counter("bus_malformed_total", "Bus messages that failed to decode (ignored).", "", "", func(s *tier.Stats) uint64 { return s.BusMalformed }),
		counter("bus_errors_total", "Failed publishes and subscription errors.", "", "", func(s *tier.Stats) uint64 { return s.BusErrors }),
		counter("bus_dropped_total", "Queued invalidations replaced by a clear because the queue was full.", "", "", func(s *tier.Stats) uint64 { return s.BusDropped }),
		counter("resubscribes_total", "Bus subscriptions lost and restored (each cleared L1).", "", "", func(s *tier.Stats) uint64 { return s.Resubscribes }),
		counter("l1_clears_total", "L1 clears: resubscribes, pattern deletes, namespace version bumps.", "", "", func(s *tier.Stats) uint64 { return s.L1Clears }),
		counter("pattern_deleted_total", "Keys removed from Redis by DeletePattern.", "", "", func(s *tier.Stats) uint64 { return s.PatternDeleted }),
		counter("namespace_bumps_total", "Namespace versions this Store incremented.", "", "", func(s *tier.Stats) uint64 { return s.NamespaceBumps }),
		counter("breaker_opens_total", "Times the circuit breaker around Redis opened.", "", "", func(s *tier.Stats) uint64 { return s.BreakerOpens }),
		counter("breaker_rejected_total", "Redis calls skipped because the breaker was open.", "", "", func(s *tier.Stats) uint64 { return s.BreakerRejected }),
		breakerIs(tier.BreakerClosed),
		breakerIs(tier.BreakerOpen),
		breakerIs(tier.BreakerHalfOpen),
		breakerIs(tier.BreakerDisabled),
	}
}

// StatsReader is what the adapters read counters from; *tier.Store is one.
type StatsReader interface {
	Stats() tier.Stats
}

var _ StatsReader = (*tier.Store)(nil)
