package tierotel_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/tier"
)

func Example() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	m, _ := tierotel.New(provider.Meter("tiercache"), tierotel.Config{})
	defer m.Close()

	// L1 only here (no Redis needed); the Store times its reads into m.
	store, _ := tier.New(&tier.Config{ObserveRead: m.ReadHook("products")})
	defer store.Close()
	_ = m.Add("products", store)

	_ = store.Set(ctx, "shop:product:42", "teapot", nil)
	store.WaitL1() // ristretto applies sets asynchronously
	_, _ = store.Get(ctx, "shop:product:42", nil, nil)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch md.Name {
			case "tiercache.sets":
				fmt.Println(md.Name, md.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
			case "tiercache.read.duration":
				for _, p := range md.Data.(metricdata.Histogram[float64]).DataPoints {
					tier, _ := p.Attributes.Value("tier")
					fmt.Println(md.Name, tier.AsString(), p.Count)
				}
			}
		}
	}
	// Output:
	// tiercache.sets 1
	// tiercache.read.duration l1 1
}
