package strategy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// TestDurableRefusesEvictingRedis runs a real redis-server under each
// eviction policy: a durable WriteBehind refuses to start where the policy
// may evict its journal (allkeys-*), unless told to accept the risk, and
// starts where it cannot.
func TestDurableRefusesEvictingRedis(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	store, err := tier.New(&tier.Config{Redis: rdb, L2Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cases := []struct {
		policy  string
		allow   bool
		refused bool
	}{
		{"allkeys-lru", false, true},
		{"allkeys-lfu", false, true},
		{"allkeys-random", false, true},
		{"allkeys-lru", true, false},
		{"volatile-lru", false, false},
		{"noeviction", false, false},
	}
	for _, c := range cases {
		name := c.policy
		if c.allow {
			name += "/allowed"
		}
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			if err := rdb.ConfigSet(ctx, "maxmemory-policy", c.policy).Err(); err != nil {
				t.Fatal(err)
			}
			w, err := strategy.NewWriteBehind(store, newMemSource(), testOptions(t), &strategy.WriteBehindConfig[Profile]{
				Durable: true, AllowJournalEviction: c.allow,
			})
			if c.refused {
				if !errors.Is(err, strategy.ErrJournalEviction) {
					t.Errorf("NewWriteBehind under %s = %v; want ErrJournalEviction", c.policy, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewWriteBehind under %s (allowed %v) = %v; want nil", c.policy, c.allow, err)
			}
			if err := w.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}
