package strategy_test

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// An example needs no Redis: a Store without one is an L1 cache in front of
// the source. In a service, pass your go-redis client as tier.Config.Redis.
func ExampleNewCacheAside() {
	ctx := context.Background()
	store, err := tier.New(tier.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	src := newMemSource() // your database: Load, Store, Remove
	src.put(Profile{ID: "7", Name: "grace", Version: 1})

	profiles, err := strategy.NewCacheAside[Profile](store, src, strategy.Options{
		Namespace: "app",
		Entity:    "profile",
	})
	if err != nil {
		panic(err)
	}
	p, _ := profiles.Get(ctx, "7")
	fmt.Println(p.Name, p.Version)

	_ = profiles.Set(ctx, "7", Profile{ID: "7", Name: "grace", Version: 2})
	p, _ = profiles.Get(ctx, "7")
	fmt.Println(p.Name, p.Version)

	_, err = profiles.Get(ctx, "8")
	fmt.Println(err == strategy.ErrNotFound)
	// Output:
	// grace 1
	// grace 2
	// true
}
