package strategy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tiercache/tiercache/keys"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// implementation builds one Strategy over a store and a source. flush, when
// not nil, makes every acknowledged write reach the source (write-behind).
type implementation struct {
	name string
	make func(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options) (s strategy.Strategy[Profile], flush func(context.Context) error)
}

// implementations lists every Strategy; the conformance test runs against
// each. Strategy files add themselves here.
var implementations = []implementation{
	{"CacheAside", func(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options) (strategy.Strategy[Profile], func(context.Context) error) {
		s, err := strategy.NewCacheAside[Profile](store, src, o)
		if err != nil {
			t.Fatal(err)
		}
		return s, nil
	}},
	{"WriteThrough", func(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options) (strategy.Strategy[Profile], func(context.Context) error) {
		s, err := strategy.NewWriteThrough[Profile](store, src, o)
		if err != nil {
			t.Fatal(err)
		}
		return s, nil
	}},
	{"WriteBehind", func(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options) (strategy.Strategy[Profile], func(context.Context) error) {
		s := newWriteBehind(t, store, src, o, &strategy.WriteBehindConfig[Profile]{})
		return s, s.Flush
	}},
	{"WriteBehind/durable", func(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options) (strategy.Strategy[Profile], func(context.Context) error) {
		s := newWriteBehind(t, store, src, o, &strategy.WriteBehindConfig[Profile]{Durable: true})
		return s, s.Flush
	}},
	{"RefreshAhead", func(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options) (strategy.Strategy[Profile], func(context.Context) error) {
		s, err := strategy.NewRefreshAhead[Profile](store, src, o)
		if err != nil {
			t.Fatal(err)
		}
		return s, nil
	}},
}

// TestConformance checks what every strategy promises: reads see the
// source's values and the strategy's own writes, deletes are misses, and
// bad ids are errors, never cache traffic.
func TestConformance(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			ctx := ctxT(t)
			store := newStore(t)
			src := newMemSource()
			src.put(Profile{ID: "1", Name: "ada", Version: 1})
			s, flush := impl.make(t, store, src, testOptions(t))
			sync := func() {
				if flush != nil {
					if err := flush(ctx); err != nil {
						t.Fatalf("flush: %v", err)
					}
				}
				store.WaitL1()
			}

			steps := []struct {
				name    string
				do      func() error
				id      string
				want    Profile
				wantErr error
			}{
				{"reads the source", nil, "1", Profile{ID: "1", Name: "ada", Version: 1}, nil},
				{"reads again from the cache", nil, "1", Profile{ID: "1", Name: "ada", Version: 1}, nil},
				{"missing is ErrNotFound", nil, "2", Profile{}, strategy.ErrNotFound},
				{"sees its own write", func() error { return s.Set(ctx, "1", Profile{ID: "1", Name: "ada", Version: 2}) }, "1", Profile{ID: "1", Name: "ada", Version: 2}, nil},
				{"sees a write of a cached miss", func() error { return s.Set(ctx, "2", Profile{ID: "2", Name: "bob", Version: 1}) }, "2", Profile{ID: "2", Name: "bob", Version: 1}, nil},
				{"delete is a miss", func() error { return s.Delete(ctx, "1") }, "1", Profile{}, strategy.ErrNotFound},
				{"ids with glob and separator characters", func() error { return s.Set(ctx, "a:*?[]\\{x}", Profile{ID: "odd", Version: 3}) }, "a:*?[]\\{x}", Profile{ID: "odd", Version: 3}, nil},
			}
			for _, st := range steps {
				if st.do != nil {
					if err := st.do(); err != nil {
						t.Fatalf("%s: %v", st.name, err)
					}
				}
				sync()
				got, err := s.Get(ctx, st.id)
				if !errors.Is(err, st.wantErr) || got != st.want {
					t.Errorf("%s: Get(%q) = %+v, %v; want %+v, %v", st.name, st.id, got, err, st.want, st.wantErr)
				}
			}
			sync()
			if p, ok := src.get("2"); !ok || p.Name != "bob" {
				t.Errorf("source holds %+v, %v for id 2; want bob", p, ok)
			}
			if _, ok := src.get("1"); ok {
				t.Errorf("source still holds id 1 after Delete")
			}

			for _, bad := range []string{"", "a\nb", "\x00", string(make([]byte, keys.MaxKeyBytes+1))} {
				if _, err := s.Get(ctx, bad); err == nil || errors.Is(err, strategy.ErrNotFound) {
					t.Errorf("Get(%q) error = %v; want a key error", bad, err)
				}
				if err := s.Set(ctx, bad, Profile{}); err == nil {
					t.Errorf("Set(%q) = nil; want a key error", bad)
				}
			}
		})
	}
}

// TestL1HitAllocatesNothing checks every strategy's hot path: an L1 hit
// through Get allocates nothing.
func TestL1HitAllocatesNothing(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			ctx := context.Background()
			store := newStore(t)
			src := newMemSource()
			src.put(Profile{ID: "1", Name: "ada"})
			s, _ := impl.make(t, store, src, testOptions(t))
			if _, err := s.Get(ctx, "1"); err != nil {
				t.Fatal(err)
			}
			store.WaitL1()
			allocs := testing.AllocsPerRun(1000, func() {
				if _, err := s.Get(ctx, "1"); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("L1 hit allocates %.1f times per Get; want 0", allocs)
			}
		})
	}
}

// TestVersionedNamespaces runs every strategy with Options.Versioned: keys
// are built under the namespace's current version, and writes, reads and
// deletes behave as without it.
func TestVersionedNamespaces(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			ctx := ctxT(t)
			store := newStore(t)
			src := newMemSource()
			o := testOptions(t)
			o.Versioned = true
			s, flush := impl.make(t, store, src, o)
			sync := func() {
				if flush != nil {
					if err := flush(ctx); err != nil {
						t.Fatalf("flush: %v", err)
					}
				}
				store.WaitL1()
			}
			want := Profile{ID: "1", Name: "ada", Version: 1}
			if err := s.Set(ctx, "1", want); err != nil {
				t.Fatal(err)
			}
			sync()
			if got, err := s.Get(ctx, "1"); err != nil || got != want {
				t.Errorf("Get = %+v, %v; want %+v", got, err, want)
			}
			if got, ok := src.get("1"); !ok || got != want {
				t.Errorf("source holds %+v, %v; want %+v", got, ok, want)
			}
			if _, err := store.NamespaceVersion(o.Namespace).Bump(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "1"); err != nil {
				t.Fatal(err)
			}
			sync()
			if got, err := s.Get(ctx, "1"); !errors.Is(err, strategy.ErrNotFound) {
				t.Errorf("Get after Delete = %+v, %v; want ErrNotFound", got, err)
			}
			if _, ok := src.get("1"); ok {
				t.Errorf("source still holds 1 after Delete")
			}
		})
	}
}
