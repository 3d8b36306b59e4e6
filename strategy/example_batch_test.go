package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// Product is the cached type of the batch example.
type Product struct {
	SKU   string
	Price int
}

// catalogue is a source with a batch loader: one query answers many ids.
// One of its shards is down.
type catalogue struct {
	rows    map[string]Product
	queries int
}

var errShardDown = errors.New("catalogue: shard down")

func (c *catalogue) Load(ctx context.Context, sku string) (Product, error) {
	vals, err := c.LoadMany(ctx, []string{sku})
	if p, ok := vals[sku]; ok {
		return p, nil
	}
	if err != nil {
		return Product{}, err
	}
	return Product{}, strategy.ErrNotFound
}

// LoadMany answers the skus it has; the skus of the broken shard fail, by
// name, and the others are served.
func (c *catalogue) LoadMany(_ context.Context, skus []string) (map[string]Product, error) {
	c.queries++
	out := make(map[string]Product, len(skus))
	failed := map[string]error{}
	for _, sku := range skus {
		if sku[0] == 'z' {
			failed[sku] = errShardDown
			continue
		}
		if p, ok := c.rows[sku]; ok {
			out[sku] = p
		}
	}
	if len(failed) > 0 {
		return out, &strategy.BatchError{Errs: failed}
	}
	return out, nil
}

// GetMany reads a page of ids in one batch: the ids found are in the map,
// an id the source does not have is absent, and the ids that failed are
// named in a *strategy.BatchError while every other id is served.
func ExampleCacheAside_GetMany() {
	ctx := context.Background()
	store, err := tier.New(nil) // in a service: &tier.Config{Redis: rdb}
	if err != nil {
		panic(err)
	}
	defer store.Close()

	db := &catalogue{rows: map[string]Product{
		"a1": {SKU: "a1", Price: 10},
		"b2": {SKU: "b2", Price: 20},
	}}
	products, err := strategy.NewCacheAside[Product](store, db, strategy.Options{
		Namespace: "shop",
		Entity:    "product",
		Options:   tier.Options{TTL: time.Hour},
	})
	if err != nil {
		panic(err)
	}
	got, err := products.GetMany(ctx, []string{"a1", "b2", "c3", "z9"})
	skus := make([]string, 0, len(got))
	for sku := range got {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	for _, sku := range skus {
		fmt.Println(sku, got[sku].Price)
	}
	var be *strategy.BatchError
	if errors.As(err, &be) {
		fmt.Println("failed:", len(be.Errs), errors.Is(be.Errs["z9"], errShardDown))
	}
	fmt.Println("shard down:", errors.Is(err, errShardDown), "queries:", db.queries)
	// Output:
	// a1 10
	// b2 20
	// failed: 1 true
	// shard down: true queries: 1
}
