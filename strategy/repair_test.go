package strategy_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// TestWriteRepairedAfterOutage: a cache-aside or write-through Set (and a
// Delete) whose source write succeeded but whose cache write cannot reach
// Redis returns nil: the Store remembers the key and deletes its old L2
// entry once Redis answers again, and the next read anywhere loads the new
// value.
func TestWriteRepairedAfterOutage(t *testing.T) {
	kinds := []struct {
		name string
		make func(*tier.Store, *memSource, strategy.Options) (strategy.Strategy[Profile], error)
	}{
		{"cache-aside", func(s *tier.Store, src *memSource, o strategy.Options) (strategy.Strategy[Profile], error) {
			return strategy.NewCacheAside[Profile](s, src, o)
		}},
		{"write-through", func(s *tier.Store, src *memSource, o strategy.Options) (strategy.Strategy[Profile], error) {
			return strategy.NewWriteThrough[Profile](s, src, o)
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			ctx := ctxT(t)
			proxy := redistest.StartProxy(t, shared.Addr())
			rdb := redis.NewClient(redistest.ClientOptions(proxy.Addr()))
			t.Cleanup(func() { rdb.Close() })
			cut, err := tier.New(&tier.Config{Redis: rdb, L2Timeout: 500 * time.Millisecond, BreakerCooldown: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cut.Close() })
			src := newMemSource()
			src.put(Profile{ID: "1", Version: 1})
			o := testOptions(t)
			writer, err := k.make(cut, src, o)
			if err != nil {
				t.Fatal(err)
			}
			reader, err := k.make(newStore(t), src, o)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := reader.Get(ctx, "1"); err != nil || p.Version != 1 {
				t.Fatalf("Get = %+v, %v; want version 1", p, err)
			}

			proxy.SetRefuse(true)
			proxy.Cut()
			if err := writer.Set(ctx, "1", Profile{ID: "1", Version: 2}); err != nil {
				t.Fatalf("Set with the source written and Redis unreachable = %v; want nil (repaired later)", err)
			}
			if st := cut.Stats(); st.RepairsQueued != 1 {
				t.Errorf("RepairsQueued = %d; want 1", st.RepairsQueued)
			}
			proxy.SetRefuse(false)
			deadline := time.Now().Add(5 * time.Second)
			for {
				p, err := reader.Get(ctx, "1")
				if err == nil && p.Version == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("another instance's Get = %+v, %v 5s after Redis came back; want version 2", p, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if st := cut.Stats(); st.RepairsReplayed != 1 {
				t.Errorf("RepairsReplayed = %d; want 1", st.RepairsReplayed)
			}
		})
	}
}
