package tierotel_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/tier"
)

// The per data type latency histograms come from a Producer, given both to
// the SDK's reader and to New; the per data type counters are observable
// counters like the Store's.
func ExampleProducer() {
	ctx := context.Background()
	p := &tierotel.Producer{}
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	m, _ := tierotel.New(provider.Meter("tiercache"), tierotel.Config{Producer: p})
	defer m.Close()

	store, _ := tier.New(nil) // L1 only here
	defer store.Close()
	_ = m.Add("shop", store)
	products, _ := tier.NewGroup(store, tier.GroupConfig[string]{Namespace: "shop", Entity: "product",
		Load: func(ctx context.Context, id string) (string, error) { return "product " + id, nil }})
	_, _, _ = products.Get(ctx, "42")

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch md.Name {
			case "tiercache.type_reads":
				for _, dp := range md.Data.(metricdata.Sum[int64]).DataPoints {
					if t, _ := dp.Attributes.Value("tier"); dp.Value > 0 {
						fmt.Println(md.Name, t.AsString(), dp.Value)
					}
				}
			case tierotel.TypeLatencyName:
				for _, dp := range md.Data.(metricdata.Histogram[float64]).DataPoints {
					ns, _ := dp.Attributes.Value("namespace")
					fmt.Println(md.Name, ns.AsString(), dp.Count)
				}
			}
		}
	}
	// Output:
	// tiercache.type_reads source 1
	// tiercache.type_read_duration shop 1
}
