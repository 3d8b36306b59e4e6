package tier

import (
	"context"
	"sync"
	"testing"
	"time"
)

// softSlack is what a reader may take beyond its soft timeout: generous,
// as the machine may be busy with other tests under -race.
const softSlack = 400 * time.Millisecond

// heldLoader is a loader that blocks until released, then returns v; it
// counts its calls.
type heldLoader struct {
	loader
	started  chan struct{} // closed at the first call
	release  chan struct{}
	once     sync.Once
	released sync.Once
}

// unblock releases the loader's calls, now and to come (once).
func (h *heldLoader) unblock() { h.released.Do(func() { close(h.release) }) }

func newHeldLoader(v any) *heldLoader {
	h := &heldLoader{started: make(chan struct{}), release: make(chan struct{})}
	h.fn = func(ctx context.Context, _ string) (any, error) {
		h.once.Do(func() { close(h.started) })
		select {
		case <-h.release:
			return v, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h
}

// expiredOld returns a Store and a key whose value "old", written with o,
// is past its fresh time and held where t says: in the Store's own L1
// (TierL1), or only in L2, written by another Store (TierL2).
func expiredOld(t *testing.T, where Tier, o *Options) (*Store, string) {
	t.Helper()
	reader := newStore(t, Config{})
	writer := reader
	if where == TierL2 {
		writer = newStore(t, Config{})
	}
	key := testKey(t)
	if err := writer.Set(ctxT(t), key, "old", o); err != nil {
		t.Fatal(err)
	}
	writer.WaitL1()
	pastCheckAt(t, key, writer, reader) // past its fresh time
	return reader, key
}

// withTTL returns a copy of o with the given TTL. An entry's fresh time is
// the one it was written with, whatever the Options of later reads.
func withTTL(o *Options, ttl time.Duration) *Options {
	c := *o
	c.TTL = ttl
	return &c
}

// started waits until h has been called.
func started(t *testing.T, h *heldLoader) {
	t.Helper()
	select {
	case <-h.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the loader was not called within 5s")
	}
}

// getWithin runs s.Get with context.Background and returns its outcome, or
// fails the test if it takes longer than limit (then it waits for the Get,
// which ends once the loader is released).
func getWithin(t *testing.T, s *Store, key string, o *Options, load Loader, limit time.Duration, unblock func()) (Result, error) {
	t.Helper()
	type outcome struct {
		r   Result
		err error
		d   time.Duration
	}
	ch := make(chan outcome, 1)
	start := time.Now()
	go func() {
		r, err := s.Get(context.Background(), key, o, load)
		ch <- outcome{r, err, time.Since(start)}
	}()
	select {
	case out := <-ch:
		return out.r, out.err
	case <-time.After(limit):
		unblock()
		out := <-ch
		t.Fatalf("Get took %v (it waited for the load); want at most %v, the soft timeout and slack", out.d, limit)
		return out.r, out.err
	}
}

// TestSoftTimeoutServesStale: a reader that can wait forever
// (context.Background) for the reload of an expired entry gets the entry,
// marked stale, once SoftTimeout has passed, whether the entry is in its
// own L1 or only in L2; the reload goes on, fills both tiers, and later
// reads get its value; the loader ran once.
func TestSoftTimeoutServesStale(t *testing.T) {
	const soft = 50 * time.Millisecond
	o := &Options{TTL: 30 * time.Millisecond, TTLJitter: -1, StaleIfError: time.Minute, SoftTimeout: soft}
	for _, tier := range []Tier{TierL1, TierL2} {
		t.Run(tier.String(), func(t *testing.T) {
			reader, key := expiredOld(t, tier, o)
			// The reload's value lives a minute: with the old entry's
			// 30 ms, it could expire again before a busy machine's next
			// read, and be reloaded again.
			o := withTTL(o, time.Minute)
			ctx := ctxT(t)
			h := newHeldLoader("new")
			defer h.unblock()

			r, err := getWithin(t, reader, key, o, h.load, soft+softSlack, h.unblock)
			if err != nil || r.Value != "old" || !r.Stale || r.Tier != tier {
				t.Fatalf("Get = %+v, %v; want \"old\" from %v, marked stale", r, err, tier)
			}
			started(t, h) // the reload runs on
			if got := reader.Stats().StaleServed; got != 1 {
				t.Errorf("StaleServed = %d; want 1", got)
			}
			h.unblock()
			waitFor(t, func() bool {
				r, err := reader.Get(ctx, key, o, h.load)
				return err == nil && r.Value == "new" && !r.Stale
			})
			// Another Store serves the stale entry while the reload's fill
			// is landing (it sees the reload lock), then reads the fill.
			other := newStore(t, Config{})
			waitFor(t, func() bool {
				r, err := other.Get(ctx, key, o, h.load)
				return err == nil && r.Value == "new" && r.Tier == TierL2 && !r.Stale
			})
			if n := h.calls.Load(); n != 1 {
				t.Errorf("loader called %d times; want 1", n)
			}
		})
	}
}

// TestSoftTimeoutOneLoadFleetWide: two Stores read an expired entry while
// its reload is slow. Both readers get the stale entry within the soft
// timeout, only one of them calls the loader (the other sees the reload
// lock and serves stale at once), and both read the new value once the
// reload has filled L2.
func TestSoftTimeoutOneLoadFleetWide(t *testing.T) {
	const soft = 50 * time.Millisecond
	// "old" is fresh for a second: b reads it after a wrote it, within
	// Redis calls a loaded machine may make slow (at 30 ms it expired
	// before b's read, which found no fresh entry).
	o := &Options{TTL: time.Second, TTLJitter: -1, StaleIfError: time.Minute, SoftTimeout: soft}
	a, b := newStore(t, Config{}), newStore(t, Config{})
	ctx := ctxT(t)
	key := testKey(t)
	if err := a.Set(ctx, key, "old", o); err != nil {
		t.Fatal(err)
	}
	// b's L1 holds it too.
	if r, err := b.Get(ctx, key, o, nil); err != nil || r.Value != "old" {
		t.Fatalf("b.Get = %+v, %v; want \"old\"", r, err)
	}
	a.WaitL1()
	b.WaitL1()
	pastCheckAt(t, key, a, b)   // past its fresh time
	o = withTTL(o, time.Minute) // the reload's value: see TestSoftTimeoutServesStale
	h := newHeldLoader("new")
	defer h.unblock()

	r, err := getWithin(t, a, key, o, h.load, soft+softSlack, h.unblock)
	if err != nil || r.Value != "old" || !r.Stale {
		t.Fatalf("a.Get = %+v, %v; want \"old\", marked stale", r, err)
	}
	started(t, h)
	r, err = getWithin(t, b, key, o, h.load, soft+softSlack, h.unblock)
	if err != nil || r.Value != "old" || !r.Stale {
		t.Fatalf("b.Get = %+v, %v; want \"old\", marked stale", r, err)
	}
	h.unblock()
	for _, s := range []*Store{a, b} {
		waitFor(t, func() bool {
			r, err := s.Get(ctx, key, o, h.load)
			return err == nil && r.Value == "new" && !r.Stale
		})
	}
	if n := h.calls.Load(); n != 1 {
		t.Errorf("loader called %d times across both Stores; want 1", n)
	}
}
