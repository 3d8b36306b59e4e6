package tierprom_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiercache/tiercache/observability/tierprom"
	"github.com/tiercache/tiercache/tier"
)

func Example() {
	c := tierprom.NewCollector(tierprom.Config{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	// L1 only here (no Redis needed); the Store times its reads into c.
	store, _ := tier.New(&tier.Config{ObserveRead: c.ReadHook("products")})
	defer store.Close()
	_ = c.Add("products", store)

	load := func(context.Context, string) (any, error) { return "teapot", nil }
	_, _ = store.Get(context.Background(), "shop:product:42", nil, load)

	fams, _ := reg.Gather()
	for _, f := range fams {
		switch f.GetName() {
		case "tiercache_loads_total":
			for _, m := range f.GetMetric() {
				fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetLabel()[1].GetValue(), m.GetCounter().GetValue())
			}
		case "tiercache_read_duration_seconds":
			for _, m := range f.GetMetric() {
				fmt.Println(f.GetName(), m.GetLabel()[1].GetValue(), m.GetHistogram().GetSampleCount())
			}
		}
	}
	// Output:
	// tiercache_loads_total error products 0
	// tiercache_loads_total ok products 1
	// tiercache_read_duration_seconds l1 0
	// tiercache_read_duration_seconds l2 0
	// tiercache_read_duration_seconds none 0
	// tiercache_read_duration_seconds source 1
}
