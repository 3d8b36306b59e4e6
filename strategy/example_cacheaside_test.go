package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// Customer is the cached type.
type Customer struct {
	ID   string
	Name string
}

// customerTable is the system of record (a database in a service). The
// example reads it from one goroutine, so a plain map does.
type customerTable map[string]Customer

func (t customerTable) Load(_ context.Context, id string) (Customer, error) {
	c, ok := t[id]
	if !ok {
		return Customer{}, strategy.ErrNotFound // cached as a "not found"
	}
	return c, nil
}

func (t customerTable) Store(_ context.Context, id string, c Customer) error {
	t[id] = c
	return nil
}

func (t customerTable) Remove(_ context.Context, id string) error {
	delete(t, id)
	return nil
}

// CacheAside loads on a miss and drops the cached value on a write. The
// example needs no Redis: a Store without one is an L1 cache in front of
// the source. In a service, pass your go-redis client as tier.Config.Redis.
func ExampleNewCacheAside() {
	ctx := context.Background()
	store, err := tier.New(nil) // nil: L1 only, bounded at 64 MiB
	if err != nil {
		panic(err)
	}
	defer store.Close()

	db := customerTable{"7": {ID: "7", Name: "Grace"}}
	customers, err := strategy.NewCacheAside[Customer](store, db, strategy.Options{
		Namespace: "app",
		Entity:    "customer",
		Options:   tier.Options{TTL: 10 * time.Minute},
	})
	if err != nil {
		panic(err)
	}
	c, _ := customers.Get(ctx, "7")
	fmt.Println(c.Name)

	_ = customers.Set(ctx, "7", Customer{ID: "7", Name: "Grace Hopper"})
	c, _ = customers.Get(ctx, "7") // the write dropped the old value
	fmt.Println(c.Name)

	_, err = customers.Get(ctx, "8")
	fmt.Println(errors.Is(err, strategy.ErrNotFound))
	// Output:
	// Grace
	// Grace Hopper
	// true
}
