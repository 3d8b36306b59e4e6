package tierotel

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// TypeLatencyName is the name of the per data type read-latency histogram
// (in seconds), which a Producer produces.
var TypeLatencyName = metrics.Namespace + "." + strings.TrimSuffix(metrics.TypeLatencyName, "_seconds")

// scopeName is the instrumentation scope of what Producer produces.
const scopeName = "github.com/tiercache/tiercache/observability/tierotel"

// typeInstruments are the per data type counters (metrics.TypeCounters),
// attributed strategy, namespace and entity (and tier or result where the
// row has one). Written once by newTypeInstruments, only read after.
type typeInstruments struct {
	rows     []metrics.TypeCounter
	counters map[string]metric.Int64ObservableCounter // by row name
}

func newTypeInstruments(meter metric.Meter) (typeInstruments, []metric.Observable, error) {
	ti := typeInstruments{rows: metrics.TypeCounters(), counters: map[string]metric.Int64ObservableCounter{}}
	var observables []metric.Observable
	for _, r := range ti.rows {
		if _, ok := ti.counters[r.Name]; ok {
			continue
		}
		c, err := meter.Int64ObservableCounter(InstrumentName(r.Name), metric.WithDescription(r.Help))
		if err != nil {
			return ti, nil, fmt.Errorf("tierotel: counter %s: %w", r.Name, err)
		}
		ti.counters[r.Name] = c
		observables = append(observables, c)
	}
	return ti, observables, nil
}

// observe reports the per data type counters of the Store registered as
// name, if it counts per data type (metrics.TypeStatsReader).
func (ti *typeInstruments) observe(o metric.Observer, name string, store metrics.StatsReader) {
	tr, ok := store.(metrics.TypeStatsReader)
	if !ok {
		return
	}
	for _, ts := range tr.TypeStats() {
		for _, r := range ti.rows {
			attrs := typeAttrs(name, &ts)
			if r.Tier != "" {
				attrs = append(attrs, attribute.String(metrics.LabelTier, r.Tier))
			}
			if r.Result != "" {
				attrs = append(attrs, attribute.String(metrics.LabelResult, r.Result))
			}
			o.ObserveInt64(ti.counters[r.Name], int64(r.Value(&ts)), metric.WithAttributes(attrs...))
		}
	}
}

// typeAttrs returns the attributes of ts's series, with room for one more.
func typeAttrs(name string, ts *tier.TypeStats) []attribute.KeyValue {
	return append(make([]attribute.KeyValue, 0, 4),
		attribute.String(metrics.LabelStrategy, name),
		attribute.String(metrics.LabelNamespace, ts.Namespace),
		attribute.String(metrics.LabelEntity, ts.Entity))
}

// Producer is the SDK producer of the per data type read-latency
// histograms (TypeLatencyName, attributed strategy, namespace and entity)
// of the Stores added to one Metrics. The Stores keep these histograms
// themselves, in fixed buckets (see tier.LatencyBound), and OpenTelemetry's
// metric API has no instrument to observe a histogram with; so give a
// Producer to the SDK's reader, and the same Producer to New through
// Config.Producer:
//
//	p := &tierotel.Producer{}
//	reader := sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithProducer(p))
//	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
//	m, err := tierotel.New(provider.Meter("tiercache"), tierotel.Config{Producer: p})
//
// Its histograms are cumulative from when New bound it. The zero Producer
// is ready to use (it produces nothing until New binds it); it serves one
// Metrics.
type Producer struct {
	m atomic.Pointer[Metrics]
}

var _ sdkmetric.Producer = (*Producer)(nil)

// Produce reads every registered Store's TypeStats.
func (p *Producer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	m := p.m.Load()
	if m == nil {
		return nil, nil
	}
	bounds := metrics.LatencyBucketsSeconds()
	now := time.Now()
	var points []metricdata.HistogramDataPoint[float64]
	for _, r := range m.Stores() {
		tr, ok := r.Reader.(metrics.TypeStatsReader)
		if !ok {
			continue
		}
		for _, ts := range tr.TypeStats() {
			h := ts.ReadLatency
			points = append(points, metricdata.HistogramDataPoint[float64]{
				Attributes:   attribute.NewSet(typeAttrs(r.Name, &ts)...),
				StartTime:    m.start,
				Time:         now,
				Count:        h.Count(),
				Bounds:       bounds,
				BucketCounts: h.Counts[:],
				Sum:          h.Sum.Seconds(),
			})
		}
	}
	if len(points) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: scopeName},
		Metrics: []metricdata.Metrics{{
			Name:        TypeLatencyName,
			Description: metrics.TypeLatencyHelp,
			Unit:        "s",
			Data:        metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: points},
		}},
	}}, nil
}
