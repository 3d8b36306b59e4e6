package tierotel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/metrics"
)

// Errors returned by New and Add.
var (
	ErrDuplicate = errors.New("tierotel: strategy already registered")
	ErrNoMeter   = errors.New("tierotel: nil meter")
)

// Config configures Metrics. The zero value works.
type Config struct {
	// Buckets are the read-latency histogram's bucket boundaries in seconds.
	// Nil means DefaultBuckets.
	Buckets []float64
}

// DefaultBuckets returns the default latency bucket boundaries, in seconds:
// 1 µs to about 4 s, in steps of four.
func DefaultBuckets() []float64 {
	b := make([]float64, 12)
	v := 1e-6
	for i := range b {
		b[i] = v
		v *= 4
	}
	return b
}

// Metrics owns tiercache's instruments on one Meter: the counters of every
// Store added to it and the read-latency histogram. Close unregisters its
// callback. It is safe for concurrent use.
type Metrics struct {
	rows     []metrics.Counter
	counters map[string]metric.Int64Observable // by row name: counters, and gauges for Gauge rows
	latency  metric.Float64Histogram
	reg      metric.Registration

	mu      sync.RWMutex
	readers map[string]metrics.StatsReader
}

// InstrumentName returns the OpenTelemetry name of a Counters row:
// "reads_total" is "tiercache.reads".
func InstrumentName(row string) string {
	return metrics.Namespace + "." + strings.TrimSuffix(row, "_total")
}

// New creates the instruments on meter and registers the callback that reads
// the Stores' counters.
func New(meter metric.Meter, cfg Config) (*Metrics, error) {
	if meter == nil {
		return nil, ErrNoMeter
	}
	buckets := cfg.Buckets
	if buckets == nil {
		buckets = DefaultBuckets()
	}
	m := &Metrics{
		rows:     metrics.Counters(),
		counters: map[string]metric.Int64Observable{},
		readers:  map[string]metrics.StatsReader{},
	}
	var observables []metric.Observable
	for _, r := range m.rows {
		if _, ok := m.counters[r.Name]; ok {
			continue
		}
		var c metric.Int64Observable
		var err error
		if r.Gauge {
			c, err = meter.Int64ObservableGauge(InstrumentName(r.Name), metric.WithDescription(r.Help))
		} else {
			c, err = meter.Int64ObservableCounter(InstrumentName(r.Name), metric.WithDescription(r.Help))
		}
		if err != nil {
			return nil, fmt.Errorf("tierotel: counter %s: %w", r.Name, err)
		}
		m.counters[r.Name] = c
		observables = append(observables, c)
	}
	var err error
	m.latency, err = meter.Float64Histogram(metrics.Namespace+".read.duration",
		metric.WithDescription("Latency of reads by the tier that answered (l1, l2, source, none for failures)."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(buckets...))
	if err != nil {
		return nil, fmt.Errorf("tierotel: histogram: %w", err)
	}
	m.reg, err = meter.RegisterCallback(m.observe, observables...)
	if err != nil {
		return nil, fmt.Errorf("tierotel: callback: %w", err)
	}
	return m, nil
}

// Close unregisters the counters' callback.
func (m *Metrics) Close() error { return m.reg.Unregister() }

// Add reports the counters of store under the strategy attribute name.
func (m *Metrics) Add(name string, store metrics.StatsReader) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.readers[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	m.readers[name] = store
	return nil
}

// Remove stops reporting the counters registered under name.
func (m *Metrics) Remove(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.readers, name)
}

func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	m.mu.RLock()
	readers := make(map[string]metrics.StatsReader, len(m.readers))
	for n, r := range m.readers {
		readers[n] = r
	}
	m.mu.RUnlock()
	for name, r := range readers {
		st := r.Stats()
		for _, row := range m.rows {
			attrs := make([]attribute.KeyValue, 1, 3)
			attrs[0] = attribute.String(metrics.LabelStrategy, name)
			if row.Tier != "" {
				attrs = append(attrs, attribute.String(metrics.LabelTier, row.Tier))
			}
			if row.Result != "" {
				attrs = append(attrs, attribute.String(metrics.LabelResult, row.Result))
			}
			o.ObserveInt64(m.counters[row.Name], int64(row.Value(&st)), metric.WithAttributes(attrs...))
		}
	}
	return nil
}

// Observer returns the metrics.Observer that records read latencies under
// the strategy attribute name (see metrics.TimeGet).
func (m *Metrics) Observer(name string) metrics.Observer {
	return observer{h: m.latency, strategy: attribute.String(metrics.LabelStrategy, name)}
}

type observer struct {
	h        metric.Float64Histogram
	strategy attribute.KeyValue
}

func (o observer) ObserveRead(tier string, d time.Duration) {
	o.h.Record(context.Background(), d.Seconds(), metric.WithAttributes(o.strategy, attribute.String(metrics.LabelTier, tier)))
}
