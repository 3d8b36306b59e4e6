package metrics_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

func ExampleTimeGet() {
	store, _ := tier.New(&tier.Config{}) // L1 only: no Redis needed here
	defer store.Close()
	obs := metrics.ObserverFunc(func(tier string, d time.Duration) {
		fmt.Println("answered by", tier)
	})
	load := func(context.Context, string) (any, error) { return "teapot", nil }
	_, _ = metrics.TimeGet(context.Background(), obs, store, "shop:product:42", nil, load)
	// Output: answered by source
}

func ExampleCounters() {
	st := tier.Stats{L1Hits: 90, L1Misses: 10}
	for _, c := range metrics.Counters()[:2] {
		fmt.Printf("%s_%s{tier=%q,result=%q} %d\n", metrics.Namespace, c.Name, c.Tier, c.Result, c.Value(&st))
	}
	// Output:
	// tiercache_reads_total{tier="l1",result="hit"} 90
	// tiercache_reads_total{tier="l1",result="miss"} 10
}

func ExampleHook() {
	obs := metrics.ObserverFunc(func(tier string, d time.Duration) {
		fmt.Println("answered by", tier)
	})
	store, _ := tier.New(&tier.Config{ObserveRead: metrics.Hook(obs)}) // L1 only: no Redis needed here
	defer store.Close()
	load := func(context.Context, string) (any, error) { return "teapot", nil }
	_, _ = store.Get(context.Background(), "shop:product:42", nil, load)
	store.WaitL1()
	_, _ = store.Get(context.Background(), "shop:product:42", nil, load)
	// Output:
	// answered by source
	// answered by l1
}
