package strategy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// Account is the cached type.
type Account struct {
	ID      string
	Balance int
}

// accountTable is the system of record; it counts its loads to show that
// reads after a write-through come from the cache.
type accountTable struct {
	rows  map[string]Account
	loads int
}

func (t *accountTable) Load(_ context.Context, id string) (Account, error) {
	t.loads++
	a, ok := t.rows[id]
	if !ok {
		return Account{}, strategy.ErrNotFound
	}
	return a, nil
}

func (t *accountTable) Store(_ context.Context, id string, a Account) error {
	t.rows[id] = a
	return nil
}

func (t *accountTable) Remove(_ context.Context, id string) error {
	delete(t.rows, id)
	return nil
}

// WriteThrough writes the source first, then the cache, so the next read
// needs no load.
func ExampleNewWriteThrough() {
	ctx := context.Background()
	store, err := tier.New(nil) // in a service: &tier.Config{Redis: rdb}
	if err != nil {
		panic(err)
	}
	defer store.Close()

	db := &accountTable{rows: map[string]Account{}}
	accounts, err := strategy.NewWriteThrough[Account](store, db, strategy.Options{
		Namespace: "bank",
		Entity:    "account",
		Options:   tier.Options{TTL: time.Hour},
	})
	if err != nil {
		panic(err)
	}
	_ = accounts.Set(ctx, "a1", Account{ID: "a1", Balance: 100})
	fmt.Println("source:", db.rows["a1"].Balance)

	store.WaitL1() // L1 applies sets asynchronously
	a, _ := accounts.Get(ctx, "a1")
	fmt.Println("cache:", a.Balance, "loads:", db.loads)
	// Output:
	// source: 100
	// cache: 100 loads: 0
}
