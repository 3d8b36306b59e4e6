package strategy_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tiercache/tiercache/strategy"
)

// TestWriteThroughWritesSourceFirst: Set writes the source while the cache
// still holds the old entry, then replaces the entry, so that the next Get
// is a cache hit of the new value.
func TestWriteThroughWritesSourceFirst(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	rdb := store.Redis()
	src := newCtlSource()
	o := testOptions(t)
	wt, err := strategy.NewWriteThrough[Profile](store, src, o)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := o.Key("1")
	src.put(Profile{ID: "1", Version: 1})
	if _, err := wt.Get(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	before := landedL2(t, ctx, rdb, key) // the Get's fill, landed

	// When the source is written, the cache must still hold the old value.
	var l2AtStore string
	src.beforeStore = func(string) { l2AtStore = rdb.Get(ctx, key).Val() }
	if err := wt.Set(ctx, "1", Profile{ID: "1", Version: 2}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	src.beforeStore = nil
	if l2AtStore != before {
		t.Errorf("L2 changed before the source was written")
	}
	if got := rdb.Get(ctx, key).Val(); got == before {
		t.Errorf("L2 still holds the old entry after Set")
	}
	store.WaitL1()
	loads := src.loads.Load()
	got, err := wt.Get(ctx, "1")
	if err != nil || got.Version != 2 {
		t.Errorf("Get = %+v, %v; want version 2", got, err)
	}
	if src.loads.Load() != loads {
		t.Errorf("Get after Set loaded from the source; want a cache hit")
	}
	if p, _ := src.get("1"); p.Version != 2 {
		t.Errorf("source holds %+v; want version 2", p)
	}
}

// TestWriteThroughSourceErrorLeavesCache: a Set or Delete the source fails
// leaves L2 as it was (the cached entry, or none) and the cached value served
// from L1; a Delete removes the source's row before the cache's entry.
func TestWriteThroughSourceErrorLeavesCache(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	rdb := store.Redis()
	src := newCtlSource()
	o := testOptions(t)
	wt, err := strategy.NewWriteThrough[Profile](store, src, o)
	if err != nil {
		t.Fatal(err)
	}
	src.put(Profile{ID: "cached", Version: 1})
	if _, err := wt.Get(ctx, "cached"); err != nil {
		t.Fatal(err)
	}
	store.WaitL1()
	cachedKey, _ := o.Key("cached")
	landedL2(t, ctx, rdb, cachedKey) // the entry the failed Set must leave as it is
	dbDown := errors.New("db down")
	src.failStore = dbDown

	for _, c := range []struct {
		name   string
		id     string
		inL2   bool
		wantV  int
		wantGE error
	}{
		{"cached key", "cached", true, 1, nil},
		{"uncached key", "new", false, 0, strategy.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			key, _ := o.Key(c.id)
			before, _ := rdb.Get(ctx, key).Bytes()
			if err := wt.Set(ctx, c.id, Profile{ID: c.id, Version: 9}); !errors.Is(err, dbDown) {
				t.Fatalf("Set error = %v; want %v", err, dbDown)
			}
			after, aerr := rdb.Get(ctx, key).Bytes()
			if (aerr == nil) != c.inL2 || !bytes.Equal(before, after) {
				t.Errorf("L2 entry changed by a failed Set: before %q, after %q (%v)", before, after, aerr)
			}
			loads := src.loads.Load()
			store.WaitL1()
			got, err := wt.Get(ctx, c.id)
			if got.Version != c.wantV || !errors.Is(err, c.wantGE) {
				t.Errorf("Get = %+v, %v; want version %d, %v", got, err, c.wantV, c.wantGE)
			}
			if c.inL2 && src.loads.Load() != loads {
				t.Errorf("Get after a failed Set reloaded; want the cached value from L1")
			}
		})
	}
	src.failStore = nil

	t.Run("delete with a source error leaves the cache", func(t *testing.T) {
		key, _ := o.Key("cached")
		src.failRemove = dbDown
		defer func() { src.failRemove = nil }()
		if err := wt.Delete(ctx, "cached"); !errors.Is(err, dbDown) {
			t.Fatalf("Delete error = %v; want %v", err, dbDown)
		}
		if n := rdb.Exists(ctx, key).Val(); n != 1 {
			t.Errorf("L2 entry gone after a failed Delete")
		}
	})
	t.Run("delete removes source then cache", func(t *testing.T) {
		key, _ := o.Key("cached")
		var l2AtRemove int64
		src.beforeStore = func(string) { l2AtRemove = rdb.Exists(ctx, key).Val() }
		defer func() { src.beforeStore = nil }()
		if err := wt.Delete(ctx, "cached"); err != nil {
			t.Fatal(err)
		}
		if l2AtRemove != 1 {
			t.Errorf("L2 entry deleted before the source")
		}
		if n := rdb.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("L2 entry left after Delete")
		}
	})
}
