package tierotel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// Errors returned by New, and wrapped by Add and AddQueue.
var (
	// ErrDuplicate is wrapped for a name already registered; it is
	// metrics.ErrDuplicate.
	ErrDuplicate = metrics.ErrDuplicate
	ErrNoMeter   = errors.New("tierotel: nil meter")
)

// Config configures Metrics. The zero value works.
type Config struct {
	// Buckets are the read-latency histogram's bucket boundaries in seconds.
	// Nil means DefaultBuckets.
	Buckets []float64
	// Producer, when set, produces the per data type latency histograms of
	// the Stores added to these Metrics (see Producer). Nil: they are not
	// exported (the per data type counters are).
	Producer *Producer
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
// Store added to it (with their per data type counters, attributed
// namespace and entity: see tier.Store.TypeStats), the gauges of every
// write-behind queue added to it, and the read-latency histogram; the per
// data type latency histograms come from Config.Producer. Close unregisters its callback. It is safe for
// concurrent use.
type Metrics struct {
	// Add, Remove, AddQueue and RemoveQueue: the names are the series'
	// strategy attribute; the queue gauges are QueueDepthName and
	// QueueOldestName.
	metrics.Registry

	// Written once by New, only read after.
	rows        []metrics.Counter
	counters    map[string]metric.Int64Observable // by row name: counters, and gauges for Gauge rows
	latency     metric.Float64Histogram
	queueDepth  metric.Int64ObservableGauge
	queueOldest metric.Float64ObservableGauge
	types       typeInstruments
	start       time.Time // when New made them
	reg         metric.Registration
}

// Names of the write-behind queue gauges: the depth, and the oldest write's
// age in seconds.
var (
	QueueDepthName  = metrics.Namespace + "." + metrics.QueueDepthName
	QueueOldestName = metrics.Namespace + "." + strings.TrimSuffix(metrics.QueueOldestName, "_seconds")
)

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
		start:    time.Now(),
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
	m.queueDepth, err = meter.Int64ObservableGauge(QueueDepthName,
		metric.WithDescription(metrics.QueueDepthHelp), metric.WithUnit("{write}"))
	if err != nil {
		return nil, fmt.Errorf("tierotel: gauge %s: %w", QueueDepthName, err)
	}
	m.queueOldest, err = meter.Float64ObservableGauge(QueueOldestName,
		metric.WithDescription(metrics.QueueOldestHelp), metric.WithUnit("s"))
	if err != nil {
		return nil, fmt.Errorf("tierotel: gauge %s: %w", QueueOldestName, err)
	}
	observables = append(observables, m.queueDepth, m.queueOldest)
	types, typeObservables, err := newTypeInstruments(meter)
	if err != nil {
		return nil, err
	}
	m.types = types
	observables = append(observables, typeObservables...)
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
	if cfg.Producer != nil {
		cfg.Producer.m.Store(m)
	}
	return m, nil
}

// Close unregisters the counters' callback.
func (m *Metrics) Close() error { return m.reg.Unregister() }

func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	for _, q := range m.Queues() {
		depth, oldest := q.Reader.QueueStats()
		attrs := metric.WithAttributes(attribute.String(metrics.LabelStrategy, q.Name))
		o.ObserveInt64(m.queueDepth, int64(depth), attrs)
		o.ObserveFloat64(m.queueOldest, oldest.Seconds(), attrs)
	}
	for _, r := range m.Stores() {
		st := r.Reader.Stats()
		for _, row := range m.rows {
			attrs := make([]attribute.KeyValue, 1, 3)
			attrs[0] = attribute.String(metrics.LabelStrategy, r.Name)
			if row.Tier != "" {
				attrs = append(attrs, attribute.String(metrics.LabelTier, row.Tier))
			}
			if row.Result != "" {
				attrs = append(attrs, attribute.String(metrics.LabelResult, row.Result))
			}
			o.ObserveInt64(m.counters[row.Name], int64(row.Value(&st)), metric.WithAttributes(attrs...))
		}
		m.types.observe(o, r.Name, r.Reader)
	}
	return nil
}

// ReadHook returns the tier.Config.ObserveRead hook that records read
// latencies under the strategy attribute name, in the histogram
// tiercache.read.duration:
//
//	store, err := tier.New(&tier.Config{Redis: rdb, ObserveRead: m.ReadHook("products")})
//
// Its attribute sets are built once, here.
func (m *Metrics) ReadHook(name string) func(tier.Tier, time.Duration) {
	var opts [tier.TierSource + 1]metric.RecordOption
	for t := range opts {
		opts[t] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String(metrics.LabelStrategy, name),
			attribute.String(metrics.LabelTier, tier.Tier(t).String())))
	}
	h := m.latency
	return func(t tier.Tier, d time.Duration) {
		if int(t) >= len(opts) {
			t = tier.TierNone
		}
		h.Record(context.Background(), d.Seconds(), opts[t])
	}
}

// Observer returns the metrics.Observer that records read latencies under
// the strategy attribute name, for metrics.TimeGet; prefer ReadHook.
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
