// Command quickstart caches one data type with tiercache and prints which
// tier answered each read. Its L2 is the Redis at REDIS_URL; without
// REDIS_URL it starts a redis-server of its own when one is on the PATH,
// and with neither it runs with L1 only and says so.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tiercache/tiercache/examples/localredis"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// Product is the cached data type.
type Product struct {
	ID    string
	Name  string
	Price int
}

// catalogue is the system of record; here a map, in a service a database.
type catalogue struct{ rows map[string]Product }

func (c *catalogue) Load(_ context.Context, id string) (Product, error) {
	p, ok := c.rows[id]
	if !ok {
		return Product{}, strategy.ErrNotFound
	}
	return p, nil
}

func (c *catalogue) Store(_ context.Context, id string, p Product) error {
	c.rows[id] = p
	return nil
}

func (c *catalogue) Remove(_ context.Context, id string) error {
	delete(c.rows, id)
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run prints the walk-through to out, and notices and cache errors (such as
// why Redis cannot be reached) to logs.
func run(ctx context.Context, out, logs io.Writer) error {
	rdb, release, err := localredis.Connect("", logs)
	if err != nil {
		return err
	}
	defer release() // closed last: the Store and the strategy use it

	store, err := tier.New(&tier.Config{
		Redis:  rdb, // nil: L1 only
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		return err
	}
	defer store.Close()

	src := &catalogue{rows: map[string]Product{"42": {ID: "42", Name: "teapot", Price: 1800}}}
	products, err := strategy.NewCacheAside[Product](store, src, strategy.Options{
		Namespace: "shop",
		Entity:    "product",
		Options:   tier.Options{TTL: 10 * time.Minute},
	})
	if err != nil {
		return err
	}

	// read reads product 42 and prints which tier answered, from the
	// Store's counters: the one that moved during the read.
	read := func(what string) error {
		before := store.Stats()
		p, err := products.Get(ctx, "42")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-24s %s costs %d, answered by %s\n", what+":", p.Name, p.Price, answeredBy(before, store.Stats()))
		return nil
	}
	first := store.Stats()
	if err := read("first read"); err != nil {
		return err
	}
	store.WaitL1() // L1 sets are asynchronous; make this one visible
	if err := read("second read"); err != nil {
		return err
	}
	store.ClearLocal() // as if another instance read it: only L2 can have it
	if err := read("after L1 cleared"); err != nil {
		return err
	}
	if err := products.Set(ctx, "42", Product{ID: "42", Name: "teapot", Price: 1500}); err != nil {
		fmt.Fprintf(logs, "price change not saved: %v\n", err)
	} else if n := store.Stats().RepairsQueued; n > 0 {
		// The source has the new price; Redis did not get the
		// invalidation. The Store replays it as soon as Redis answers, and
		// reads the key from the source until then.
		fmt.Fprintf(logs, "price change saved; its cache invalidation waits for Redis (%d repair queued)\n", n)
	}
	if err := read("after a price change"); err != nil {
		return err
	}
	before := store.Stats()
	if _, err := products.Get(ctx, "nope"); err != strategy.ErrNotFound {
		return fmt.Errorf("Get(nope) = %v; want ErrNotFound", err)
	}
	fmt.Fprintf(out, "%-24s not found, answered by %s\n", "missing product:", answeredBy(before, store.Stats()))

	st := store.Stats()
	fmt.Fprintf(out, "answered by L1 %d, L2 %d, source %d\n",
		st.L1Hits-first.L1Hits, st.L2Hits-first.L2Hits, st.Loads-first.Loads)
	return nil
}

// answeredBy names the tier whose counter moved between two snapshots of
// one read: the source (a load), L2 (Redis) or L1.
func answeredBy(before, after tier.Stats) string {
	switch {
	case after.Loads > before.Loads:
		return "the source"
	case after.NegativeHits > before.NegativeHits:
		return "a cached not-found"
	case after.L2Hits > before.L2Hits:
		return "L2 (Redis)"
	case after.L1Hits > before.L1Hits:
		return "L1"
	}
	return "nothing counted"
}
