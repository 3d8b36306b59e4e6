package metrics

import (
	"reflect"

	"github.com/tiercache/tiercache/tier"
)

// Row is one exported series of a snapshot S (tier.Stats or
// tier.TypeStats): a metric family and the label values of one of its
// series, read from the snapshot.
type Row[S any] struct {
	// Name is the family's name without a namespace prefix, in the snake
	// case both Prometheus and OpenTelemetry use: "reads_total".
	Name string
	// Help describes the family; rows of one family share it.
	Help string
	// Tier and Result are the series' label values; empty means the family
	// has no such label.
	Tier, Result string
	// Value reads the series' value from a snapshot.
	Value func(*S) uint64
	// Gauge marks a current value (the breaker's state) rather than a
	// count that only grows.
	Gauge bool
}

// Counter is one exported counter of a Store's tier.Stats.
type Counter = Row[tier.Stats]

// TypeCounter is one exported counter of a data type's tier.TypeStats;
// its series also have the labels LabelNamespace and LabelEntity.
type TypeCounter = Row[tier.TypeStats]

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
	// LabelNamespace and LabelEntity name a data type (tier.TypeStats);
	// the data types past tier.Config.MaxTypeStats have the namespace
	// tier.OtherNamespace and an empty entity.
	LabelNamespace = "namespace"
	LabelEntity    = "entity"
)

// Namespace prefixes every exported family ("tiercache_reads_total").
const Namespace = "tiercache"

const helpBreaker = "The circuit breaker around Redis: 1 for its current state, 0 for the others."

// Counters returns the counters (and the breaker's state gauge) of a Store,
// in a stable order: one row per uint64 field of tier.Stats, in field
// order, named and labelled by the field's tags (see tier.Stats), then one
// breaker_state row per breaker state. Families have either no labels or
// the same labels on every row. Exporting a new tier.Stats figure is
// declaring its field there.
func Counters() []Counter {
	rows := rowsOf[tier.Stats]()
	for _, state := range []tier.BreakerState{tier.BreakerClosed, tier.BreakerOpen, tier.BreakerHalfOpen, tier.BreakerDisabled} {
		rows = append(rows, breakerIs(state))
	}
	return rows
}

// TypeCounters returns the counters of a data type, in a stable order: one
// row per uint64 field of tier.TypeStats, in field order, named and
// labelled by the field's tags, as Counters does for tier.Stats. Every
// family starts with "type_"; the latency histogram is TypeLatencyName.
func TypeCounters() []TypeCounter { return rowsOf[tier.TypeStats]() }

// rowsOf returns a row per uint64 field of S with a metric tag.
func rowsOf[S any]() []Row[S] {
	typ := reflect.TypeFor[S]()
	help := map[string]string{} // by family
	for i := range typ.NumField() {
		f := typ.Field(i)
		if h := f.Tag.Get("help"); h != "" {
			help[f.Tag.Get("metric")] = h
		}
	}
	var rows []Row[S]
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("metric")
		if name == "" || f.Type.Kind() != reflect.Uint64 {
			continue
		}
		minus := -1
		if m, ok := typ.FieldByName(f.Tag.Get("minus")); ok {
			minus = m.Index[0]
		}
		rows = append(rows, Row[S]{
			Name: name, Help: help[name], Tier: f.Tag.Get("tier"), Result: f.Tag.Get("result"),
			Value: field[S](i, minus),
		})
	}
	return rows
}

// field reads field i of an S, less field minus (unless it is -1).
func field[S any](i, minus int) func(*S) uint64 {
	return func(s *S) uint64 {
		v := reflect.ValueOf(s).Elem()
		n := v.Field(i).Uint()
		if minus >= 0 {
			n -= min(v.Field(minus).Uint(), n)
		}
		return n
	}
}

// StatsReader is what the adapters read counters from; *tier.Store is one.
type StatsReader interface {
	Stats() tier.Stats
}

var _ StatsReader = (*tier.Store)(nil)

// TypeStatsReader is a StatsReader that also counts per data type; the
// adapters find it by a type assertion, and *tier.Store is one.
type TypeStatsReader interface {
	StatsReader
	TypeStats() []tier.TypeStats
}

var _ TypeStatsReader = (*tier.Store)(nil)

// Name and help of the per data type read-latency histogram, labelled by
// strategy, namespace and entity; its buckets are tier.LatencyBound's.
const (
	TypeLatencyName = "type_read_duration_seconds"
	TypeLatencyHelp = "Latency of a data type's reads; L1 hits are not timed and count in the first bucket."
)

// LatencyBucketsSeconds returns the upper bounds of a tier.LatencyHistogram's
// buckets in seconds, without the last, unbounded one: the bounds an
// exporter declares.
func LatencyBucketsSeconds() []float64 {
	b := make([]float64, tier.LatencyBuckets-1)
	for i := range b {
		b[i] = tier.LatencyBound(i).Seconds()
	}
	return b
}
