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
)

// Counters returns the counters of a Store, in a stable order. Families have
// either no labels or the same labels on every row.
func Counters() []Counter {
	return []Counter{
		{"reads_total", helpReads, "l1", "hit", func(s *tier.Stats) uint64 { return s.L1Hits }},
		{"reads_total", helpReads, "l1", "miss", func(s *tier.Stats) uint64 { return s.L1Misses }},
		{"reads_total", helpReads, "l2", "hit", func(s *tier.Stats) uint64 { return s.L2Hits }},
		{"reads_total", helpReads, "l2", "miss", func(s *tier.Stats) uint64 { return s.L2Misses }},
		{"negative_hits_total", "Reads answered by a cached not-found.", "", "", func(s *tier.Stats) uint64 { return s.NegativeHits }},
		{"stale_served_total", "Stale values served (stale-while-revalidate, stale-if-error).", "", "", func(s *tier.Stats) uint64 { return s.StaleServed }},
		{"redis_errors_total", "Failed or timed-out Redis calls.", "", "", func(s *tier.Stats) uint64 { return s.L2Errors }},
		{"corrupt_entries_total", "L2 entries that failed to decode (deleted).", "", "", func(s *tier.Stats) uint64 { return s.Corrupt }},
		{"loads_total", helpLoads, "", "ok", func(s *tier.Stats) uint64 { return s.Loads - min(s.LoadErrors, s.Loads) }},
		{"loads_total", helpLoads, "", "error", func(s *tier.Stats) uint64 { return s.LoadErrors }},
		{"coalesced_waits_total", "Readers that shared another reader's Redis read or load.", "", "", func(s *tier.Stats) uint64 { return s.CoalescedWait }},
		{"fill_waits_total", "Times a reader waited for another process's fill.", "", "", func(s *tier.Stats) uint64 { return s.FillWaits }},
		{"stale_fills_total", "Loaded values not cached because the key changed meanwhile.", "", "", func(s *tier.Stats) uint64 { return s.StaleFills }},
		{"refreshes_total", helpRefreshes, "", "ok", func(s *tier.Stats) uint64 { return s.Refreshes - min(s.RefreshErrors, s.Refreshes) }},
		{"refreshes_total", helpRefreshes, "", "error", func(s *tier.Stats) uint64 { return s.RefreshErrors }},
		{"refreshes_total", helpRefreshes, "", "denied", func(s *tier.Stats) uint64 { return s.RefreshesDenied }},
		{"l1_sets_lost_total", helpL1Sets, "", "dropped", func(s *tier.Stats) uint64 { return s.L1SetsDropped }},
		{"l1_sets_lost_total", helpL1Sets, "", "rejected", func(s *tier.Stats) uint64 { return s.L1SetsRejected }},
		{"sets_total", "Values written through Set.", "", "", func(s *tier.Stats) uint64 { return s.Sets }},
		{"deletes_total", "Keys deleted through Delete.", "", "", func(s *tier.Stats) uint64 { return s.Deletes }},
		{"encode_errors_total", "Values the codec could not encode.", "", "", func(s *tier.Stats) uint64 { return s.EncodeErrors }},
	}
}

// StatsReader is what the adapters read counters from; *tier.Store is one.
type StatsReader interface {
	Stats() tier.Stats
}

var _ StatsReader = (*tier.Store)(nil)
