package tierprom_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/observability/tierprom"
	"github.com/tiercache/tiercache/tier"
)

func Example() {
	store, _ := tier.New(tier.Config{}) // L1 only: no Redis needed here
	defer store.Close()

	c := tierprom.NewCollector(tierprom.Config{})
	_ = c.Add("products", store)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	load := func(context.Context, string) (any, error) { return "teapot", nil }
	_, _ = metrics.TimeGet(context.Background(), c.Observer("products"), store, "shop:product:42", nil, load)

	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() == "tiercache_loads_total" {
			for _, m := range f.GetMetric() {
				fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetLabel()[1].GetValue(), m.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// tiercache_loads_total error products 0
	// tiercache_loads_total ok products 1
}
