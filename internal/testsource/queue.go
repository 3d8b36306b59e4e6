package testsource

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// HeldQueue returns a write-behind strategy on a Store of its own over rdb,
// flushing every millisecond to a Strings source whose gate is shut: writes
// stay queued until the test closes src.Gate. Cleanup closes both, bounded
// in time (a test that fails before opening the gate leaves writes held).
func HeldQueue(tb testing.TB, rdb redis.UniversalClient, namespace string) (w *strategy.WriteBehind[string], src *Strings) {
	tb.Helper()
	store, err := tier.New(&tier.Config{Redis: rdb})
	if err != nil {
		tb.Fatal(err)
	}
	src = NewStrings(nil)
	src.Gate = make(chan struct{})
	w, err = strategy.NewWriteBehind[string](store, src, strategy.Options{Namespace: UniqueNamespace(namespace), Entity: "queue"},
		&strategy.WriteBehindConfig[string]{FlushInterval: time.Millisecond})
	if err != nil {
		store.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Shutdown(ctx)
		store.Close()
	})
	return w, src
}
