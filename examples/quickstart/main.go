// Command quickstart caches one data type with tiercache and prints which
// tier answered each read. It uses the Redis at REDIS_URL, or starts its own
// redis-server (which must be on PATH) when REDIS_URL is unset.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
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
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	rdb, stop, err := connect()
	if err != nil {
		return err
	}
	defer stop()

	store, err := tier.New(&tier.Config{Redis: rdb})
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

	read := func(what string) error {
		p, err := products.Get(ctx, "42")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-28s %s costs %d\n", what+":", p.Name, p.Price)
		return nil
	}
	before := store.Stats()
	if err := read("first read (source)"); err != nil {
		return err
	}
	store.WaitL1() // L1 sets are asynchronous; make this one visible
	if err := read("second read (L1)"); err != nil {
		return err
	}
	store.ClearLocal() // as if another instance read it: only L2 has it
	if err := read("after L1 cleared (L2)"); err != nil {
		return err
	}
	if err := products.Set(ctx, "42", Product{ID: "42", Name: "teapot", Price: 1500}); err != nil {
		return err
	}
	if err := read("after a price change"); err != nil {
		return err
	}
	if _, err := products.Get(ctx, "nope"); err != strategy.ErrNotFound {
		return fmt.Errorf("Get(nope) = %v; want ErrNotFound", err)
	}
	fmt.Fprintln(out, "missing product:             not found (cached as a negative entry)")

	st := store.Stats()
	fmt.Fprintf(out, "answered by L1 %d, L2 %d, source %d\n",
		st.L1Hits-before.L1Hits, st.L2Hits-before.L2Hits, st.Loads-before.Loads)
	return nil
}

// connect returns a client for REDIS_URL, or starts a redis-server.
func connect() (redis.UniversalClient, func(), error) {
	if url := os.Getenv("REDIS_URL"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		opt.ContextTimeoutEnabled = true // tier.New requires it
		rdb := redis.NewClient(opt)
		return rdb, func() { rdb.Close() }, nil
	}
	srv, err := redistest.StartServer()
	if err != nil {
		return nil, nil, err
	}
	rdb := srv.NewClient()
	return rdb, func() { rdb.Close(); srv.Close() }, nil
}
