package tierprom

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// ErrDuplicate is returned by Add for a strategy name already registered.
var ErrDuplicate = errors.New("tierprom: strategy already registered")

// Config configures a Collector. The zero value works.
type Config struct {
	// ConstLabels are added to every series (for example the service's
	// instance).
	ConstLabels prometheus.Labels
	// Buckets are the read-latency histograms' upper bounds in seconds. Nil
	// means DefaultBuckets.
	Buckets []float64
}

// DefaultBuckets returns the default latency buckets, in seconds: 1 µs to
// about 4 s, doubling.
func DefaultBuckets() []float64 { return prometheus.ExponentialBuckets(1e-6, 4, 12) }

// Collector is a prometheus.Collector of the counters of named Stores and
// the gauges of named write-behind queues, and the owner of the read-latency
// histograms. Register it once; Add Stores and AddQueue queues to it at any
// time. It is safe for concurrent use.
type Collector struct {
	descs       map[string]*prometheus.Desc // by family name
	rows        []metrics.Counter
	latency     *prometheus.HistogramVec
	queueDepth  *prometheus.Desc
	queueOldest *prometheus.Desc

	mu         sync.RWMutex
	readers    map[string]metrics.StatsReader
	ordering   []string
	queues     map[string]metrics.QueueReader
	queueOrder []string
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector with no Stores.
func NewCollector(cfg Config) *Collector {
	buckets := cfg.Buckets
	if buckets == nil {
		buckets = DefaultBuckets()
	}
	c := &Collector{
		descs:   map[string]*prometheus.Desc{},
		rows:    metrics.Counters(),
		readers: map[string]metrics.StatsReader{},
		queues:  map[string]metrics.QueueReader{},
		queueDepth: prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", metrics.QueueDepthName),
			metrics.QueueDepthHelp, []string{metrics.LabelStrategy}, cfg.ConstLabels),
		queueOldest: prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", metrics.QueueOldestName),
			metrics.QueueOldestHelp, []string{metrics.LabelStrategy}, cfg.ConstLabels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:   metrics.Namespace,
			Name:        "read_duration_seconds",
			Help:        "Latency of reads by the tier that answered (l1, l2, source, none for failures).",
			ConstLabels: cfg.ConstLabels,
			Buckets:     buckets,
		}, []string{metrics.LabelStrategy, metrics.LabelTier}),
	}
	for _, r := range c.rows {
		if _, ok := c.descs[r.Name]; ok {
			continue
		}
		labels := []string{metrics.LabelStrategy}
		if r.Tier != "" {
			labels = append(labels, metrics.LabelTier)
		}
		if r.Result != "" {
			labels = append(labels, metrics.LabelResult)
		}
		c.descs[r.Name] = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", r.Name), r.Help, labels, cfg.ConstLabels)
	}
	return c
}

// Add exports the counters of store under the strategy label name.
func (c *Collector) Add(name string, store metrics.StatsReader) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.readers[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	c.readers[name] = store
	c.ordering = append(c.ordering, name)
	return nil
}

// Remove stops exporting the counters registered under name.
func (c *Collector) Remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.readers, name)
	c.ordering = without(c.ordering, name)
}

// AddQueue exports the depth and oldest write age of a write-behind queue
// (a *strategy.WriteBehind[V]) under the strategy label name, as the gauges
// tiercache_writebehind_queue_depth and
// tiercache_writebehind_oldest_age_seconds. Its names are apart from Add's:
// a strategy's Store and its queue may share one.
func (c *Collector) AddQueue(name string, q metrics.QueueReader) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.queues[name]; ok {
		return fmt.Errorf("%w: queue %q", ErrDuplicate, name)
	}
	c.queues[name] = q
	c.queueOrder = append(c.queueOrder, name)
	return nil
}

// RemoveQueue stops exporting the queue registered under name.
func (c *Collector) RemoveQueue(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.queues, name)
	c.queueOrder = without(c.queueOrder, name)
}

func without(names []string, name string) []string {
	for i, n := range names {
		if n == name {
			return append(names[:i], names[i+1:]...)
		}
	}
	return names
}

// ReadHook returns the tier.Config.ObserveRead hook that records read
// latencies under the strategy label name, in the histogram
// tiercache_read_duration_seconds:
//
//	store, err := tier.New(&tier.Config{Redis: rdb, ObserveRead: c.ReadHook("products")})
//
// Its histograms are looked up once, here: a read costs one Observe.
func (c *Collector) ReadHook(name string) func(tier.Tier, time.Duration) {
	var hs [tier.TierSource + 1]prometheus.Observer
	for t := range hs {
		hs[t] = c.latency.WithLabelValues(name, tier.Tier(t).String())
	}
	return func(t tier.Tier, d time.Duration) {
		if int(t) >= len(hs) {
			t = tier.TierNone
		}
		hs[t].Observe(d.Seconds())
	}
}

// Observer returns the metrics.Observer that records read latencies under
// the strategy label name, for metrics.TimeGet; prefer ReadHook.
func (c *Collector) Observer(name string) metrics.Observer {
	return observer{c: c, name: name}
}

type observer struct {
	c    *Collector
	name string
}

func (o observer) ObserveRead(tier string, d time.Duration) {
	o.c.latency.WithLabelValues(o.name, tier).Observe(d.Seconds())
}

// Describe sends the descriptors of every family.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	ch <- c.queueDepth
	ch <- c.queueOldest
	c.latency.Describe(ch)
}

// Collect reads every Store's Stats once and sends its series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	names := append([]string(nil), c.ordering...)
	readers := make([]metrics.StatsReader, len(names))
	for i, n := range names {
		readers[i] = c.readers[n]
	}
	queueNames := append([]string(nil), c.queueOrder...)
	queues := make([]metrics.QueueReader, len(queueNames))
	for i, n := range queueNames {
		queues[i] = c.queues[n]
	}
	c.mu.RUnlock()
	for i, name := range queueNames {
		depth, oldest := queues[i].QueueStats()
		ch <- gauge(c.queueDepth, float64(depth), name)
		ch <- gauge(c.queueOldest, oldest.Seconds(), name)
	}
	for i, name := range names {
		st := readers[i].Stats()
		for _, r := range c.rows {
			labels := []string{name}
			if r.Tier != "" {
				labels = append(labels, r.Tier)
			}
			if r.Result != "" {
				labels = append(labels, r.Result)
			}
			kind := prometheus.CounterValue
			if r.Gauge {
				kind = prometheus.GaugeValue
			}
			m, err := prometheus.NewConstMetric(c.descs[r.Name], kind, float64(r.Value(&st)), labels...)
			if err != nil {
				m = prometheus.NewInvalidMetric(c.descs[r.Name], err)
			}
			ch <- m
		}
	}
	c.latency.Collect(ch)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
