package tier_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/tier"
)

// A Store caches values of many types, each with its own Options. Without
// Config.Redis it is an L1 cache in front of the loader; in a service, pass
// your go-redis client (with ContextTimeoutEnabled) as Config.Redis.
func ExampleStore_Get() {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	opts := &tier.Options{} // values decoded from Redis as any; a Group decodes its own type
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

// A Group is one data type in a Store: reads take ids, values come back
// typed, and the tier that answered is reported. A fresh L1 hit allocates
// nothing.
func ExampleGroup() {
	ctx := context.Background()
	store, err := tier.New(nil) // L1 only; set Config.Redis for L2
	if err != nil {
		panic(err)
	}
	defer store.Close()

	type product struct{ Name string }
	products, err := tier.NewGroup(store, tier.GroupConfig[product]{
		Namespace: "shop",
		Entity:    "product",
		Options:   tier.Options{TTL: time.Minute},
		Load: func(ctx context.Context, id string) (product, error) {
			if id == "0" {
				return product{}, tier.ErrNotFound
			}
			return product{Name: "product " + id}, nil // read the database here
		},
	})
	if err != nil {
		panic(err)
	}
	p, from, _ := products.Get(ctx, "42")
	fmt.Println(p.Name, "from", from)
	store.WaitL1() // L1 sets are asynchronous
	p, from, _ = products.Get(ctx, "42")
	fmt.Println(p.Name, "from", from)
	_, _, err = products.Get(ctx, "0")
	fmt.Println(err)
	// Output:
	// product 42 from source
	// product 42 from l1
	// tiercache: not found
}

// DeletePattern removes the matching keys from Redis (SCAN and UNLINK on
// every master) and clears L1 on every instance of the fleet. Without Redis,
// as here, only L1 is cleared.
func ExampleStore_DeletePattern() {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	load := func(ctx context.Context, key string) (any, error) { return "row " + key, nil }
	store.Get(ctx, "shop:user:1", nil, load)
	store.WaitL1()

	n, err := store.DeletePattern(ctx, "shop:user:*")
	fmt.Println("deleted from Redis:", n, err)
	r, _ := store.Get(ctx, "shop:user:1", nil, load)
	fmt.Println("next read from", r.Tier)

	_, err = store.DeletePattern(ctx, "*")
	fmt.Println(err)
	// Output:
	// deleted from Redis: 0 <nil>
	// next read from source
	// tier: pattern must start with a literal namespace: "*"
}
