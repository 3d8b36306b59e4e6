package tierprom

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// ErrDuplicate is wrapped by the error of Add and AddQueue for a name
// already registered; it is metrics.ErrDuplicate.
var ErrDuplicate = metrics.ErrDuplicate

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

// Collector is a prometheus.Collector of the counters of named Stores
// (with their per data type counters and latency histograms, labelled
// namespace and entity: see tier.Store.TypeStats) and the gauges of named
// write-behind queues, and the owner of the read-latency histograms. Register it once; Add Stores and AddQueue queues to it at any
// time (the names are the series' strategy label; the queue gauges are
// tiercache_writebehind_queue_depth and
// tiercache_writebehind_oldest_age_seconds). It is safe for concurrent use.
type Collector struct {
	metrics.Registry // Add, Remove, AddQueue, RemoveQueue

	// Written once by NewCollector, only read after.
	descs       map[string]*prometheus.Desc // by family name
	rows        []metrics.Counter
	latency     *prometheus.HistogramVec
	queueDepth  *prometheus.Desc
	queueOldest *prometheus.Desc
	types       typeFamilies
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector with no Stores.
func NewCollector(cfg Config) *Collector {
	buckets := cfg.Buckets
	if buckets == nil {
		buckets = DefaultBuckets()
	}
	c := &Collector{
		descs: map[string]*prometheus.Desc{},
		rows:  metrics.Counters(),
		types: newTypeFamilies(cfg.ConstLabels),
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
	c.types.describe(ch)
	c.latency.Describe(ch)
}

// Collect reads every Store's Stats once and sends its series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.Queues() {
		depth, oldest := q.Reader.QueueStats()
		ch <- gauge(c.queueDepth, float64(depth), q.Name)
		ch <- gauge(c.queueOldest, oldest.Seconds(), q.Name)
	}
	for _, s := range c.Stores() {
		st := s.Reader.Stats()
		for _, r := range c.rows {
			labels := []string{s.Name}
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
		c.types.collect(ch, s.Name, s.Reader)
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
