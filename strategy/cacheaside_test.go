package strategy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

func TestCacheAsideWritesSourceThenInvalidates(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newMemSource()
	o := testOptions(t)
	ca, err := strategy.NewCacheAside[Profile](store, src, o)
	if err != nil {
		t.Fatal(err)
	}
	src.put(Profile{ID: "1", Version: 1})
	if _, err := ca.Get(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	key, _ := o.Key("1")
	rdb := store.Redis()
	if n := rdb.Exists(ctx, key).Val(); n != 1 {
		t.Fatalf("L2 lacks %q after a read", key)
	}

	t.Run("source error leaves the cache", func(t *testing.T) {
		src.failStore = errors.New("db down")
		defer func() { src.failStore = nil }()
		if err := ca.Set(ctx, "1", Profile{ID: "1", Version: 2}); !errors.Is(err, src.failStore) {
			t.Errorf("Set error = %v; want the source's error", err)
		}
		if n := rdb.Exists(ctx, key).Val(); n != 1 {
			t.Errorf("L2 entry gone after a failed Set")
		}
	})
	t.Run("set invalidates L2 and the next read loads", func(t *testing.T) {
		loads := src.loads.Load()
		if err := ca.Set(ctx, "1", Profile{ID: "1", Version: 3}); err != nil {
			t.Fatal(err)
		}
		if n := rdb.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("L2 still holds %q after Set", key)
		}
		got, err := ca.Get(ctx, "1")
		if err != nil || got.Version != 3 {
			t.Errorf("Get = %+v, %v; want version 3", got, err)
		}
		if src.loads.Load() != loads+1 {
			t.Errorf("loads = %d; want %d", src.loads.Load(), loads+1)
		}
	})
}

func TestCacheAsideOneLoadPerKey(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newMemSource()
	src.put(Profile{ID: "hot", Version: 1})
	ca, err := strategy.NewCacheAside[Profile](store, src, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, err := ca.Get(ctx, "hot"); err != nil || p.Version != 1 {
				t.Errorf("Get = %+v, %v", p, err)
			}
		}()
	}
	wg.Wait()
	// Readers that arrive after the fill read L2 or L1; none loads again.
	if got := src.loads.Load(); got != 1 {
		t.Errorf("source loads = %d; want 1", got)
	}
}

func TestConstructorErrors(t *testing.T) {
	store := newStore(t)
	for _, c := range []struct {
		name string
		o    strategy.Options
		src  strategy.Source[Profile]
	}{
		{"no namespace", strategy.Options{Entity: "e"}, newMemSource()},
		{"bad entity", strategy.Options{Namespace: "n", Entity: "a:b"}, newMemSource()},
		{"nil source", strategy.Options{Namespace: "n", Entity: "e"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := strategy.NewCacheAside[Profile](store, c.src, c.o); !errors.Is(err, strategy.ErrConfig) {
				t.Errorf("NewCacheAside error = %v; want ErrConfig", err)
			}
		})
	}
	if _, err := strategy.NewCacheAside[Profile](nil, newMemSource(), strategy.Options{Namespace: "n", Entity: "e"}); !errors.Is(err, strategy.ErrConfig) {
		t.Errorf("NewCacheAside(nil store) error = %v; want ErrConfig", err)
	}
}

// allocsGet is checked in a test, not only in the benchmarks: an L1 hit must
// not allocate.
func TestCacheAsideL1HitAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	src := newMemSource()
	src.put(Profile{ID: "1", Name: "ada"})
	ca, err := strategy.NewCacheAside[Profile](store, src, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Get(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	store.WaitL1()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := ca.Get(ctx, "1"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("L1 hit allocates %.1f times per Get; want 0", allocs)
	}
}

// TestCacheAsideVersioned: one instance bumps the namespace's version, and
// every instance misses every key of the namespace from then on.
func TestCacheAsideVersioned(t *testing.T) {
	ctx := ctxT(t)
	src := newMemSource()
	src.put(Profile{ID: "1", Name: "ada", Version: 1})
	opts := testOptions(t)
	opts.Versioned = true
	stores := []*tier.Store{newStore(t), newStore(t)}
	cas := make([]*strategy.CacheAside[Profile], len(stores))
	for i, s := range stores {
		ca, err := strategy.NewCacheAside[Profile](s, src, opts)
		if err != nil {
			t.Fatal(err)
		}
		cas[i] = ca
		if got, err := ca.Get(ctx, "1"); err != nil || got.Version != 1 {
			t.Fatalf("Get = %+v, %v; want version 1", got, err)
		}
		s.WaitL1()
	}
	// The source changes behind the cache's back (a bulk import, say).
	src.put(Profile{ID: "1", Name: "ada", Version: 2})
	before, _ := stores[0].NamespaceVersion(opts.Namespace).Get(ctx)
	v, err := stores[0].NamespaceVersion(opts.Namespace).Bump(ctx)
	if err != nil || v <= before {
		t.Fatalf("Bump = %d, %v; want more than %d", v, err, before)
	}
	deadline := time.Now().Add(5 * time.Second)
	for i, ca := range cas {
		for {
			got, err := ca.Get(ctx, "1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Version == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still reads version %d after the bump", i, got.Version)
			}
			time.Sleep(time.Millisecond)
		}
	}
	key, err := opts.Key("1")
	if err != nil {
		t.Fatal(err)
	}
	if n := shared.Client(t).Exists(ctx, key).Val(); n != 0 {
		t.Errorf("unversioned key %q exists; want keys built under the version", key)
	}
	// A versioned L1 hit allocates nothing either.
	stores[1].WaitL1()
	if _, err := cas[1].Get(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	stores[1].WaitL1()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := cas[1].Get(ctx, "1"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("versioned L1 hit allocates %.1f times per Get; want 0", allocs)
	}
}
