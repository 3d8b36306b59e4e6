package strategy_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// Price is the cached type.
type Price struct {
	SKU   string
	Cents int
}

// priceList is the system of record. Background reloads read it from
// their own goroutines, hence the mutex.
type priceList struct {
	mu   sync.Mutex
	rows map[string]Price
}

func (l *priceList) Load(_ context.Context, sku string) (Price, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.rows[sku]
	if !ok {
		return Price{}, strategy.ErrNotFound
	}
	return p, nil
}

func (l *priceList) Store(_ context.Context, sku string, p Price) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rows[sku] = p
	return nil
}

func (l *priceList) Remove(_ context.Context, sku string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.rows, sku)
	return nil
}

// RefreshAhead reloads a value in the background before it expires, so a
// reader never waits for the source once the value is cached.
func ExampleNewRefreshAhead() {
	ctx := context.Background()
	store, err := tier.New(nil) // in a service: &tier.Config{Redis: rdb}
	if err != nil {
		panic(err)
	}
	defer store.Close()

	db := &priceList{rows: map[string]Price{"kettle": {SKU: "kettle", Cents: 2500}}}
	prices, err := strategy.NewRefreshAhead[Price](store, db, strategy.Options{
		Namespace: "shop",
		Entity:    "price",
		Options: tier.Options{
			TTL: 10 * time.Minute,
			// A read in the last quarter of the TTL returns the cached value
			// at once and reloads the key in the background.
			RefreshAfter: 0.75,
			// If the price list is down, serve the last value for another hour.
			StaleIfError: time.Hour,
		},
	})
	if err != nil {
		panic(err)
	}
	p, _ := prices.Get(ctx, "kettle")
	fmt.Println(p.SKU, p.Cents)
	// Output:
	// kettle 2500
}
