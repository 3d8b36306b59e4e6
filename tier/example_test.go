package tier_test

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/tier"
)

// A Store caches values of many types, each with its own Options. Without
// Config.Redis it is an L1 cache in front of the loader; in a service, pass
// your go-redis client (with ContextTimeoutEnabled) as Config.Redis.
func ExampleStore_Get() {
	ctx := context.Background()
	store, err := tier.New(tier.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	opts := &tier.Options{Decode: tier.DecodeAs[string]()}
	load := func(ctx context.Context, key string) (any, error) {
		return "value of " + key, nil // read the source of truth here
	}
	r, _ := store.Get(ctx, "greeting", opts, load)
	fmt.Println(r.Value, "from", r.Tier)

	store.WaitL1() // L1 sets are asynchronous
	r, _ = store.Get(ctx, "greeting", opts, load)
	fmt.Println(r.Value, "from", r.Tier)
	// Output:
	// value of greeting from source
	// value of greeting from l1
}
