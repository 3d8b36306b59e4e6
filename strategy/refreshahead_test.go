package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// refreshOptions gives entries an exact TTL (no jitter) and a refresh point
// at a tenth of it, so that a test can wait until they pass their refresh
// point and still have most of their life to read them in.
func refreshOptions(t *testing.T, ttl time.Duration) strategy.Options {
	o := testOptions(t)
	o.TTL = ttl
	o.TTLJitter = -1
	o.RefreshAfter = 0.1
	return o
}

// clockMark is a moment on Stores' clocks: a probe entry per Store, fresh
// for d from when the mark was made (in a namespace of its own).
type clockMark struct {
	t      *testing.T
	ctx    context.Context
	stores []*tier.Store
	keys   []string
	o      *tier.Options
	at     time.Time
	d      time.Duration
}

var markSeq atomic.Int64

// markClock makes a mark d long on stores' clocks. Made right after a test
// writes its entries, it is past once they are d old.
func markClock(t *testing.T, ctx context.Context, d time.Duration, stores ...*tier.Store) *clockMark {
	t.Helper()
	m := &clockMark{t: t, ctx: ctx, stores: stores, o: &tier.Options{TTL: d, TTLJitter: -1}, at: time.Now(), d: d}
	for i, s := range stores {
		key := fmt.Sprintf("clockmark%d:probe:%d", markSeq.Add(1), i)
		if err := s.Set(ctx, key, "probe", m.o); err != nil {
			t.Fatalf("clock mark: %v", err)
		}
		m.keys = append(m.keys, key)
	}
	for _, s := range stores {
		s.WaitL1()
	}
	return m
}

// wait returns once the mark is past by real time and by every Store's
// clock, including the coarse one an L1 hit is judged by, which a loaded
// machine may advance late (see tier/clock.go): then no Store serves its
// probe as a fresh L1 hit. Nothing signals it: wait sleeps, then polls.
func (m *clockMark) wait() {
	m.t.Helper()
	time.Sleep(time.Until(m.at.Add(m.d)))
	for i, s := range m.stores {
		eventually(m.t, fmt.Sprintf("Store %d's clock passes the mark", i), func() bool {
			r, _ := s.Get(m.ctx, m.keys[i], m.o, nil)
			return r.Tier != tier.TierL1 || r.Stale
		})
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRefreshAheadReloadsInBackground(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newCtlSource()
	const ttl = 3 * time.Second
	ra, err := strategy.NewRefreshAhead[Profile](store, src, refreshOptions(t, ttl))
	if err != nil {
		t.Fatal(err)
	}
	src.put(Profile{ID: "1", Version: 1})
	if _, err := ra.Get(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	mark := markClock(t, ctx, ttl/10, store)
	src.put(Profile{ID: "1", Version: 2})
	mark.wait() // past the refresh point, still fresh

	// The reload is held: the read must not wait for it.
	release := src.hold()
	defer release()
	got, err := ra.Get(ctx, "1")
	if err != nil || got.Version != 1 {
		t.Fatalf("Get past the refresh point = %+v, %v; want version 1 at once", got, err)
	}
	release()
	eventually(t, "the reload finished", func() bool { return store.Stats().Refreshes == 1 })
	store.WaitL1()
	got, err = ra.Get(ctx, "1")
	if err != nil || got.Version != 2 {
		t.Errorf("Get after the reload = %+v, %v; want version 2", got, err)
	}
	if n := src.loads.Load(); n != 2 {
		t.Errorf("source loads = %d; want 2 (the fill and one reload)", n)
	}
}

func TestRefreshAheadOneReloadForConcurrentReads(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newCtlSource()
	const ttl = 3 * time.Second
	ra, err := strategy.NewRefreshAhead[Profile](store, src, refreshOptions(t, ttl))
	if err != nil {
		t.Fatal(err)
	}
	src.put(Profile{ID: "hot", Version: 1})
	if _, err := ra.Get(ctx, "hot"); err != nil {
		t.Fatal(err)
	}
	store.WaitL1()
	mark := markClock(t, ctx, ttl/10, store)
	src.put(Profile{ID: "hot", Version: 2})
	mark.wait() // past the refresh point, still fresh

	release := src.hold()
	defer release()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, err := ra.Get(ctx, "hot"); err != nil || p.Version != 1 {
				t.Errorf("Get = %+v, %v; want version 1", p, err)
			}
		}()
	}
	wg.Wait() // every read returned while the reload is held
	release()
	eventually(t, "the reload finished", func() bool { return store.Stats().Refreshes >= 1 })
	store.WaitL1()
	if p, err := ra.Get(ctx, "hot"); err != nil || p.Version != 2 {
		t.Errorf("Get after the reload = %+v, %v; want version 2", p, err)
	}
	if n := src.loads.Load(); n != 2 {
		t.Errorf("source loads = %d; want 2 (the fill and one reload)", n)
	}
}

func TestRefreshAheadSkipsKeysNotRead(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newCtlSource()
	const ttl = time.Second
	ra, err := strategy.NewRefreshAhead[Profile](store, src, refreshOptions(t, ttl))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"read", "idle"} {
		src.put(Profile{ID: id, Version: 1})
		if _, err := ra.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	markClock(t, ctx, ttl/10, store).wait() // past the refresh point, still fresh
	if _, err := ra.Get(ctx, "read"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reload of the read key finished", func() bool { return store.Stats().Refreshes == 1 })
	time.Sleep(ttl) // "idle" is now past its TTL without having been read
	if n := store.Stats().Refreshes; n != 1 {
		t.Errorf("refreshes = %d; want 1 (only the key that was read)", n)
	}
	if n := src.loads.Load(); n != 3 {
		t.Errorf("source loads = %d; want 3 (two fills, one reload)", n)
	}
}

func TestRefreshAheadCountsReloadErrors(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newCtlSource()
	const ttl = 3 * time.Second
	o := refreshOptions(t, ttl)
	o.StaleIfError = time.Minute // a failed reload keeps serving the entry
	ra, err := strategy.NewRefreshAhead[Profile](store, src, o)
	if err != nil {
		t.Fatal(err)
	}
	src.put(Profile{ID: "1", Version: 1})
	if _, err := ra.Get(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	markClock(t, ctx, ttl/10, store).wait() // past the refresh point, still fresh
	src.setFailLoad(errors.New("db down"))
	if p, err := ra.Get(ctx, "1"); err != nil || p.Version != 1 {
		t.Fatalf("Get = %+v, %v; want version 1", p, err)
	}
	eventually(t, "the failed reload is counted", func() bool {
		s := store.Stats()
		return s.RefreshErrors == 1 && s.LoadErrors == 1
	})
	if p, err := ra.Get(ctx, "1"); err != nil || p.Version != 1 {
		t.Errorf("Get after a failed reload = %+v, %v; want version 1", p, err)
	}
}

func TestNewRefreshAheadRejectsBadRefreshAfter(t *testing.T) {
	store := newStore(t)
	for _, f := range []float64{-0.1, 1, 2} {
		o := testOptions(t)
		o.RefreshAfter = f
		if _, err := strategy.NewRefreshAhead[Profile](store, newMemSource(), o); !errors.Is(err, strategy.ErrConfig) {
			t.Errorf("NewRefreshAhead(RefreshAfter %v) error = %v; want ErrConfig", f, err)
		}
	}
}

// TestStaleWindows checks stale-while-revalidate and stale-if-error through
// every strategy: they are tier options every strategy exposes.
func TestStaleWindows(t *testing.T) {
	const ttl = 200 * time.Millisecond
	for _, impl := range implementations {
		t.Run(impl.name+"/stale-while-revalidate", func(t *testing.T) {
			ctx := ctxT(t)
			store := newStore(t)
			src := newCtlSource()
			o := testOptions(t)
			o.TTL, o.TTLJitter, o.StaleWhileRevalidate = ttl, -1, time.Minute
			s, _ := impl.make(t, store, src, o)
			src.put(Profile{ID: "1", Version: 1})
			if _, err := s.Get(ctx, "1"); err != nil {
				t.Fatal(err)
			}
			mark := markClock(t, ctx, ttl, store)
			src.put(Profile{ID: "1", Version: 2})
			mark.wait() // past fresh, inside the window
			release := src.hold()
			defer release()
			if p, err := s.Get(ctx, "1"); err != nil || p.Version != 1 {
				t.Fatalf("Get of a stale entry = %+v, %v; want version 1 at once", p, err)
			}
			release()
			eventually(t, "the revalidation finished", func() bool { return store.Stats().Refreshes == 1 })
			store.WaitL1()
			if p, err := s.Get(ctx, "1"); err != nil || p.Version != 2 {
				t.Errorf("Get after revalidation = %+v, %v; want version 2", p, err)
			}
			if st := store.Stats(); st.StaleServed == 0 {
				t.Errorf("StaleServed = 0; want at least 1")
			}
		})
		t.Run(impl.name+"/stale-if-error", func(t *testing.T) {
			ctx := ctxT(t)
			store := newStore(t)
			src := newCtlSource()
			// A second, so that the read after the mark is within it with
			// room for a loaded machine's polls of the mark and stalls.
			const window = time.Second
			o := testOptions(t)
			o.TTL, o.TTLJitter, o.StaleIfError = ttl, -1, window
			s, _ := impl.make(t, store, src, o)
			src.put(Profile{ID: "1", Version: 1})
			if _, err := s.Get(ctx, "1"); err != nil {
				t.Fatal(err)
			}
			mark := markClock(t, ctx, ttl, store)
			dbDown := errors.New("db down")
			src.setFailLoad(dbDown)
			mark.wait() // past fresh, inside the window
			if p, err := s.Get(ctx, "1"); err != nil || p.Version != 1 {
				t.Errorf("Get inside the stale-if-error window = %+v, %v; want version 1", p, err)
			}
			time.Sleep(window) // past the window
			if p, err := s.Get(ctx, "1"); !errors.Is(err, dbDown) {
				t.Errorf("Get past the stale-if-error window = %+v, %v; want %v", p, err, dbDown)
			}
			src.setFailLoad(nil)
			if p, err := s.Get(ctx, "1"); err != nil || p.Version != 1 {
				t.Errorf("Get after the source recovered = %+v, %v; want version 1", p, err)
			}
		})
	}
}

// TestRefreshAheadOneReloadAcrossInstances reads a key past its refresh
// point through four Stores (four instances) at once: one of them reloads it.
func TestRefreshAheadOneReloadAcrossInstances(t *testing.T) {
	ctx := ctxT(t)
	src := newCtlSource()
	const ttl = 3 * time.Second
	o := refreshOptions(t, ttl)
	var (
		stores []*tier.Store
		ras    []*strategy.RefreshAhead[Profile]
	)
	for range 4 {
		store := newStore(t)
		ra, err := strategy.NewRefreshAhead[Profile](store, src, o)
		if err != nil {
			t.Fatal(err)
		}
		stores, ras = append(stores, store), append(ras, ra)
	}
	src.put(Profile{ID: "hot", Version: 1})
	for _, ra := range ras { // the first fills L2, the others read it
		if _, err := ra.Get(ctx, "hot"); err != nil {
			t.Fatal(err)
		}
	}
	mark := markClock(t, ctx, ttl/10, stores...)
	src.put(Profile{ID: "hot", Version: 2})
	mark.wait() // past the refresh point, still fresh

	release := src.hold()
	defer release()
	var wg sync.WaitGroup
	for _, ra := range ras {
		for range 25 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p, err := ra.Get(ctx, "hot"); err != nil || p.Version != 1 {
					t.Errorf("Get = %+v, %v; want version 1 at once", p, err)
				}
			}()
		}
	}
	wg.Wait()
	release()
	refreshed := func() bool {
		var n uint64
		for _, s := range stores {
			n += s.Stats().Refreshes
		}
		return n >= 1
	}
	eventually(t, "one instance reloaded the key", refreshed)
	for i, ra := range ras {
		eventually(t, fmt.Sprintf("instance %d sees the reloaded value", i), func() bool {
			p, err := ra.Get(ctx, "hot")
			return err == nil && p.Version == 2
		})
	}
	if n := src.loads.Load(); n != 2 {
		t.Errorf("source loads = %d; want 2 (the fill and one reload for the fleet)", n)
	}
}
