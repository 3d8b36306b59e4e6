package metrics

import (
	"reflect"

	"github.com/tiercache/tiercache/tier"
)

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

const helpBreaker = "The circuit breaker around Redis: 1 for its current state, 0 for the others."

// Counters returns the counters (and the breaker's state gauge) of a Store,
// in a stable order: one row per uint64 field of tier.Stats, in field
// order, named and labelled by the field's tags (see tier.Stats), then one
// breaker_state row per breaker state. Families have either no labels or
// the same labels on every row. Exporting a new tier.Stats figure is
// declaring its field there.
func Counters() []Counter {
	typ := reflect.TypeFor[tier.Stats]()
	help := map[string]string{} // by family
	for i := range typ.NumField() {
		f := typ.Field(i)
		if h := f.Tag.Get("help"); h != "" {
			help[f.Tag.Get("metric")] = h
		}
	}
	var rows []Counter
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("metric")
		if name == "" {
			continue
		}
		minus := -1
		if m, ok := typ.FieldByName(f.Tag.Get("minus")); ok {
			minus = m.Index[0]
		}
		rows = append(rows, Counter{
			Name: name, Help: help[name], Tier: f.Tag.Get("tier"), Result: f.Tag.Get("result"),
			Value: statsField(i, minus),
		})
	}
	for _, state := range []tier.BreakerState{tier.BreakerClosed, tier.BreakerOpen, tier.BreakerHalfOpen, tier.BreakerDisabled} {
		rows = append(rows, breakerIs(state))
	}
	return rows
}

// statsField reads field i of a Stats, less field minus (unless it is -1).
func statsField(i, minus int) func(*tier.Stats) uint64 {
	return func(s *tier.Stats) uint64 {
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
