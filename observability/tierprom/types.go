package tierprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// typeFamilies are the descriptors of the per data type series: the
// families of metrics.TypeCounters and the latency histogram, each
// labelled by strategy, namespace and entity (and tier or result where the
// row has one). Written once by newTypeFamilies, only read after.
type typeFamilies struct {
	rows    []metrics.TypeCounter
	descs   map[string]*prometheus.Desc // by family name
	latency *prometheus.Desc
	bounds  []float64 // the histogram's upper bounds, in seconds
}

func newTypeFamilies(constLabels prometheus.Labels) typeFamilies {
	f := typeFamilies{
		rows:   metrics.TypeCounters(),
		descs:  map[string]*prometheus.Desc{},
		bounds: metrics.LatencyBucketsSeconds(),
		latency: prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", metrics.TypeLatencyName),
			metrics.TypeLatencyHelp, []string{metrics.LabelStrategy, metrics.LabelNamespace, metrics.LabelEntity}, constLabels),
	}
	for _, r := range f.rows {
		if _, ok := f.descs[r.Name]; ok {
			continue
		}
		labels := []string{metrics.LabelStrategy, metrics.LabelNamespace, metrics.LabelEntity}
		if r.Tier != "" {
			labels = append(labels, metrics.LabelTier)
		}
		if r.Result != "" {
			labels = append(labels, metrics.LabelResult)
		}
		f.descs[r.Name] = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", r.Name), r.Help, labels, constLabels)
	}
	return f
}

func (f *typeFamilies) describe(ch chan<- *prometheus.Desc) {
	for _, d := range f.descs {
		ch <- d
	}
	ch <- f.latency
}

// collect sends the per data type series of the Store registered as name,
// if it counts per data type (metrics.TypeStatsReader).
func (f *typeFamilies) collect(ch chan<- prometheus.Metric, name string, store metrics.StatsReader) {
	tr, ok := store.(metrics.TypeStatsReader)
	if !ok {
		return
	}
	for _, ts := range tr.TypeStats() {
		for _, r := range f.rows {
			labels := []string{name, ts.Namespace, ts.Entity}
			if r.Tier != "" {
				labels = append(labels, r.Tier)
			}
			if r.Result != "" {
				labels = append(labels, r.Result)
			}
			m, err := prometheus.NewConstMetric(f.descs[r.Name], prometheus.CounterValue, float64(r.Value(&ts)), labels...)
			if err != nil {
				m = prometheus.NewInvalidMetric(f.descs[r.Name], err)
			}
			ch <- m
		}
		ch <- f.histogram(&ts.ReadLatency, name, ts.Namespace, ts.Entity)
	}
}

// histogram is a LatencyHistogram as a Prometheus histogram: cumulative
// counts by upper bound, the last bucket being +Inf's.
func (f *typeFamilies) histogram(h *tier.LatencyHistogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(f.bounds))
	var cum uint64
	for i, le := range f.bounds {
		cum += h.Counts[i]
		buckets[le] = cum
	}
	m, err := prometheus.NewConstHistogram(f.latency, h.Count(), h.Sum.Seconds(), buckets, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(f.latency, err)
	}
	return m
}
