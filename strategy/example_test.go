package strategy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// An example needs no Redis: a Store without one is an L1 cache in front of
// the source. In a service, pass your go-redis client as tier.Config.Redis.
func ExampleNewCacheAside() {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{})
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

func ExampleNewWriteThrough() {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{}) // pass your Redis client as Config.Redis
	if err != nil {
		panic(err)
	}
	defer store.Close()

	db := newMemSource()
	profiles, err := strategy.NewWriteThrough[Profile](store, db, strategy.Options{
		Namespace: "app",
		Entity:    "profile",
	})
	if err != nil {
		panic(err)
	}
	// The source takes the value first, then the cache.
	_ = profiles.Set(ctx, "7", Profile{ID: "7", Name: "grace", Version: 1})
	stored, _ := db.get("7")
	fmt.Println("source:", stored.Name, stored.Version)

	store.WaitL1()
	p, _ := profiles.Get(ctx, "7") // from the cache: no load
	fmt.Println("cache:", p.Name, p.Version, "loads:", db.loads.Load())
	// Output:
	// source: grace 1
	// cache: grace 1 loads: 0
}

func ExampleNewWriteBehind() {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	db := newMemSource()
	sessions, err := strategy.NewWriteBehind[Profile](store, db, strategy.Options{
		Namespace: "app",
		Entity:    "session",
	}, strategy.WriteBehindConfig[Profile]{
		FlushInterval: time.Second,
		// With Redis, Durable: true journals each write before Set returns.
		DeadLetter: func(f strategy.FailedWrite[Profile]) {
			fmt.Println("gave up on", f.ID, f.Err)
		},
	})
	if err != nil {
		panic(err)
	}
	for v := 1; v <= 100; v++ {
		_ = sessions.Set(ctx, "s1", Profile{ID: "s1", Version: v})
	}
	store.WaitL1()                  // (L1 applies writes asynchronously)
	p, _ := sessions.Get(ctx, "s1") // the cache has the write at once
	fmt.Println("read:", p.Version, "source writes so far:", db.stores.Load())

	// Shutdown flushes: the 100 Sets reach the source as one write.
	if err := sessions.Shutdown(ctx); err != nil {
		panic(err)
	}
	stored, _ := db.get("s1")
	fmt.Println("source:", stored.Version, "source writes:", db.stores.Load())
	// Output:
	// read: 100 source writes so far: 0
	// source: 100 source writes: 1
}

func ExampleNewRefreshAhead() {
	ctx := context.Background()
	store, err := tier.New(&tier.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	catalogue := newMemSource()
	catalogue.put(Profile{ID: "sku-1", Name: "kettle", Version: 1})
	products, err := strategy.NewRefreshAhead[Profile](store, catalogue, strategy.Options{
		Namespace: "shop",
		Entity:    "product",
		Options: tier.Options{
			TTL: 10 * time.Minute,
			// A read in the last quarter of the TTL returns the cached value
			// at once and reloads the key in the background.
			RefreshAfter: 0.75,
			// If the catalogue is down, serve the last value for another hour.
			StaleIfError: time.Hour,
		},
	})
	if err != nil {
		panic(err)
	}
	p, _ := products.Get(ctx, "sku-1")
	fmt.Println(p.Name, p.Version)
	// Output:
	// kettle 1
}
