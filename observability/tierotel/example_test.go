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
	store, _ := tier.New(tier.Config{}) // L1 only: no Redis needed here
	defer store.Close()

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	m, _ := tierotel.New(provider.Meter("tiercache"), tierotel.Config{})
	defer m.Close()
	_ = m.Add("products", store)

	_ = store.Set(ctx, "shop:product:42", "teapot", nil)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if md.Name == "tiercache.sets" {
				fmt.Println(md.Name, md.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
			}
		}
	}
	// Output:
	// tiercache.sets 1
}
