package tier_test

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/tier"
)

// Store.TypeStats counts each data type (a Group's namespace and entity)
// apart: its reads by the tier that answered, its loads and its read
// latency histogram.
func ExampleStore_TypeStats() {
	ctx := context.Background()
	store, err := tier.New(nil) // L1 only; set Config.Redis for L2
	if err != nil {
		panic(err)
	}
	defer store.Close()
	users, err := tier.NewGroup(store, tier.GroupConfig[string]{
		Namespace: "shop",
		Entity:    "user",
		Load: func(ctx context.Context, id string) (string, error) {
			if id == "0" {
				return "", tier.ErrNotFound
			}
			return "user " + id, nil // read the database here
		},
	})
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"1", "1", "2", "0"} {
		_, _, _ = users.Get(ctx, id)
		store.WaitL1() // L1 sets are asynchronous
	}
	for _, ts := range store.TypeStats() {
		fmt.Printf("%s/%s: %d reads: %d L1, %d source (%d not found); %d loads\n",
			ts.Namespace, ts.Entity, ts.Reads(), ts.L1Hits, ts.SourceHits, ts.NotFound, ts.Loads)
		fmt.Println("latencies counted:", ts.ReadLatency.Count())
	}
	// Output:
	// shop/user: 4 reads: 1 L1, 3 source (1 not found); 3 loads
	// latencies counted: 4
}
