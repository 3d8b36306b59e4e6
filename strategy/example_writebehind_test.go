package strategy_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// Session is the cached type.
type Session struct {
	ID    string
	Views int
}

// sessionTable is the system of record. The write-behind flusher writes it
// from its own goroutine, hence the mutex; it counts the writes it gets.
type sessionTable struct {
	mu     sync.Mutex
	rows   map[string]Session
	writes int
}

func (t *sessionTable) Load(_ context.Context, id string) (Session, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.rows[id]
	if !ok {
		return Session{}, strategy.ErrNotFound
	}
	return s, nil
}

func (t *sessionTable) Store(_ context.Context, id string, s Session) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows[id] = s
	t.writes++
	return nil
}

func (t *sessionTable) Remove(_ context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.rows, id)
	return nil
}

// state returns a row and the number of writes so far.
func (t *sessionTable) state(id string) (Session, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows[id], t.writes
}

// WriteBehind answers Set from the cache and writes the source later, once
// per id per flush. Close the strategy before its Store: Close flushes.
func ExampleNewWriteBehind() {
	ctx := context.Background()
	store, err := tier.New(nil) // in a service: &tier.Config{Redis: rdb}
	if err != nil {
		panic(err)
	}
	defer store.Close() // after sessions.Close below

	db := &sessionTable{rows: map[string]Session{}}
	sessions, err := strategy.NewWriteBehind[Session](store, db, strategy.Options{
		Namespace: "web",
		Entity:    "session",
		Options:   tier.Options{TTL: time.Hour},
	}, &strategy.WriteBehindConfig[Session]{
		FlushInterval: time.Second,
		// With Redis, Durable: true journals each write before Set returns.
		DeadLetter: func(f strategy.FailedWrite[Session]) {
			fmt.Println("gave up on", f.ID, f.Err)
		},
	})
	if err != nil {
		panic(err)
	}
	for v := 1; v <= 100; v++ {
		_ = sessions.Set(ctx, "s1", Session{ID: "s1", Views: v})
	}
	store.WaitL1()
	s, _ := sessions.Get(ctx, "s1") // the cache has the last write at once
	_, writes := db.state("s1")
	fmt.Println("read:", s.Views, "source writes so far:", writes)

	if err := sessions.Shutdown(ctx); err != nil { // flushes, then stops
		panic(err)
	}
	stored, writes := db.state("s1")
	fmt.Println("source:", stored.Views, "source writes:", writes)
	// Output:
	// read: 100 source writes so far: 0
	// source: 100 source writes: 1
}
