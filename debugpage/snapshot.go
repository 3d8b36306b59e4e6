package debugpage

import (
	"time"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// Snapshot is what the page shows at one moment. Its JSON form has the Go
// names of its fields (and of tier.Stats's and tier.TypeStats's) as keys,
// and durations in nanoseconds.
type Snapshot struct {
	// Time is when the snapshot was taken.
	Time time.Time
	// Stores are the registered Stores, in the order they were added.
	Stores []StoreSnapshot
	// Queues are the registered write-behind queues, in the order they
	// were added.
	Queues []QueueSnapshot
}

// StoreSnapshot is the state of one registered Store.
type StoreSnapshot struct {
	// Name is the name the Store was registered under.
	Name string
	// Stats are the Store's counters.
	Stats tier.Stats
	// Closed reports that the Store was closed: its counters are final,
	// and L1 and Bus are not shown.
	Closed bool
	// Breaker is the circuit breaker's state: "closed", "open",
	// "half-open" or "disabled".
	Breaker string
	// L1 is the L1's fill; nil when the Store does not tell it.
	L1 *L1Snapshot
	// Bus is the invalidation bus's state; nil when the Store does not tell
	// it.
	Bus *tier.BusStatus
	// Types are the Store's data types (tier.Store.TypeStats).
	Types []TypeSnapshot
}

// L1Snapshot is an L1's fill (see tier.Store.L1Cost).
type L1Snapshot struct {
	UsedBytes int64
	MaxBytes  int64
}

// TypeSnapshot is one data type's counters and latency percentiles.
type TypeSnapshot struct {
	tier.TypeStats
	// Reads is TypeStats.Reads().
	Reads uint64
	// P50, P90 and P99 are read latency quantiles estimated from
	// TypeStats.ReadLatency (see tier.LatencyHistogram.Quantile).
	P50 time.Duration
	P90 time.Duration
	P99 time.Duration
}

// QueueSnapshot is the state of one registered write-behind queue.
type QueueSnapshot struct {
	// Name is the name the queue was registered under.
	Name string
	// Depth is the number of writes waiting for the source or being
	// written to it.
	Depth int
	// Oldest is the age of the oldest of them (zero when there is none).
	Oldest time.Duration
}

// What the page reads from a registered Store beyond metrics.StatsReader,
// found by type assertion (*tier.Store has all of it).
type (
	l1Coster interface {
		L1Cost() (usedBytes, maxBytes int64)
	}
	busReporter interface {
		BusStatus() tier.BusStatus
	}
	closer interface {
		Closed() bool
	}
)

// Take reads every Store and queue of reg now.
func Take(reg *metrics.Registry) Snapshot {
	snap := Snapshot{Time: time.Now(), Stores: []StoreSnapshot{}, Queues: []QueueSnapshot{}}
	if reg == nil {
		return snap
	}
	for _, n := range reg.Stores() {
		st := n.Reader.Stats()
		ss := StoreSnapshot{Name: n.Name, Stats: st, Breaker: st.Breaker.String(), Types: []TypeSnapshot{}}
		if c, ok := n.Reader.(closer); ok {
			ss.Closed = c.Closed()
		}
		if c, ok := n.Reader.(l1Coster); ok && !ss.Closed {
			used, maxBytes := c.L1Cost()
			ss.L1 = &L1Snapshot{UsedBytes: used, MaxBytes: maxBytes}
		}
		if b, ok := n.Reader.(busReporter); ok && !ss.Closed {
			bus := b.BusStatus()
			ss.Bus = &bus
		}
		if tr, ok := n.Reader.(metrics.TypeStatsReader); ok {
			for _, ts := range tr.TypeStats() {
				ss.Types = append(ss.Types, TypeSnapshot{
					TypeStats: ts, Reads: ts.Reads(),
					P50: ts.ReadLatency.Quantile(0.50), P90: ts.ReadLatency.Quantile(0.90), P99: ts.ReadLatency.Quantile(0.99),
				})
			}
		}
		snap.Stores = append(snap.Stores, ss)
	}
	for _, n := range reg.Queues() {
		depth, oldest := n.Reader.QueueStats()
		snap.Queues = append(snap.Queues, QueueSnapshot{Name: n.Name, Depth: depth, Oldest: oldest})
	}
	return snap
}
