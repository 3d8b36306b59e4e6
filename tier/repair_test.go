package tier

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestRepairAfterOutage: instance A, cut off from Redis, invalidates a key
// after writing its source (cache-aside). Its Delete reports the failure as
// pending repair; meanwhile A reads the key from the source, while B, which
// still reaches Redis, serves the old value. Within a second of A reaching
// Redis again, A has deleted the old L2 entry (before its breaker reports
// closed) and announced it on the bus, and B reads the new value, never the
// old one again.
func TestRepairAfterOutage(t *testing.T) {
	ctx := ctxT(t)
	proxy := startProxy(t, shared.Addr())
	a := newStore(t, Config{Redis: newClient(t, proxy.Addr()), L2Timeout: 200 * time.Millisecond, BreakerCooldown: 100 * time.Millisecond})
	b := newStore(t, Config{})
	key := testKey(t)
	var source atomic.Value
	source.Store("old")
	load := func(context.Context, string) (any, error) { return source.Load(), nil }
	o := &Options{TTL: time.Hour}
	for _, s := range []*Store{b, a} {
		if r, err := s.Get(ctx, key, o, load); err != nil || r.Value != "old" {
			t.Fatalf("Get = %+v, %v; want \"old\"", r, err)
		}
	}
	subscribe(t, key, a, b)

	proxy.SetRefuse(true)
	proxy.Cut()
	source.Store("new") // the source write of a cache-aside Set, then its invalidation:
	if err := a.Delete(ctx, key); !errors.Is(err, ErrRepairPending) {
		t.Fatalf("Delete while Redis is unreachable = %v; want an error wrapping ErrRepairPending", err)
	}
	if r, err := a.Get(ctx, key, o, load); err != nil || r.Value != "new" {
		t.Errorf("A's Get while its repair is pending = %+v, %v; want \"new\" from the source", r, err)
	}
	if r, err := b.Get(ctx, key, o, load); err != nil || r.Value != "old" {
		t.Fatalf("B's Get during A's outage = %+v, %v; want \"old\" (what L2 holds: the test sees the fault)", r, err)
	}
	waitFor(t, func() bool { return a.Stats().Breaker == BreakerOpen })

	proxy.SetRefuse(false)
	back := time.Now()
	var sawNew bool
	for time.Since(back) < time.Second {
		st := a.Stats()
		if st.Breaker == BreakerClosed && st.RepairsReplayed == 0 {
			t.Fatal("A's breaker closed before its repair was replayed")
		}
		r, err := b.Get(ctx, key, o, load)
		switch {
		case err != nil:
			t.Fatalf("B's Get = %v", err)
		case r.Value == "new":
			sawNew = true
		case sawNew:
			t.Fatalf("B read %q after it had read \"new\"", r.Value)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !sawNew {
		t.Fatalf("B still reads the old value 1s after Redis came back (A's stats: %+v)", a.Stats())
	}
	st := a.Stats()
	if st.RepairsQueued != 1 || st.RepairsReplayed != 1 || st.RepairsDropped != 0 {
		t.Errorf("repairs queued, replayed, dropped = %d, %d, %d; want 1, 1, 0", st.RepairsQueued, st.RepairsReplayed, st.RepairsDropped)
	}
	if st.Breaker != BreakerClosed {
		t.Errorf("A's breaker = %v after the repair; want closed", st.Breaker)
	}
}

// TestRepairDropped: with MaxRepairKeys reached, a failed write is not
// remembered: its error does not wrap ErrRepairPending, and it is counted.
func TestRepairDropped(t *testing.T) {
	ctx := ctxT(t)
	proxy := startProxy(t, shared.Addr())
	a := newStore(t, Config{Redis: newClient(t, proxy.Addr()), L2Timeout: 200 * time.Millisecond, MaxRepairKeys: 1})
	proxy.SetRefuse(true)
	proxy.Cut()
	if err := a.Delete(ctx, testKey(t)); !errors.Is(err, ErrRepairPending) {
		t.Fatalf("first Delete = %v; want ErrRepairPending", err)
	}
	err := a.Set(ctx, testKey(t), "v", nil)
	if err == nil || errors.Is(err, ErrRepairPending) {
		t.Fatalf("Set past MaxRepairKeys = %v; want the Redis error alone", err)
	}
	if st := a.Stats(); st.RepairsQueued != 1 || st.RepairsDropped != 1 {
		t.Errorf("repairs queued, dropped = %d, %d; want 1, 1", st.RepairsQueued, st.RepairsDropped)
	}
}

// TestBreakerWaitsForRepairs: with writes waiting for repair, a successful
// probe leaves the breaker half-open, refusing every call but the
// repairer's, until the repairer reports the repairs replayed; without
// any, the probe closes it at once.
func TestBreakerWaitsForRepairs(t *testing.T) {
	failure := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	bg := context.Background()
	for _, pending := range []bool{false, true} {
		t.Run(fmt.Sprintf("pending=%v", pending), func(t *testing.T) {
			clk := newClock()
			defer clk.close()
			var reps repairs
			reps.init(10)
			if pending {
				reps.keys["k"] = 1
				reps.n.Store(1)
			}
			b := newBreaker(Config{BreakerFailures: 1, BreakerCooldown: 20 * time.Millisecond}, clk, &counters{})
			b.repairs = &reps
			b.allow()
			b.record(bg, failure)
			waitFor(t, b.allow) // the cooldown passed: this call is the probe
			b.record(bg, nil)
			if !pending {
				if got := b.current(); got != BreakerClosed {
					t.Fatalf("state after the probe = %v; want closed", got)
				}
				return
			}
			if got := b.current(); got != BreakerHalfOpen {
				t.Fatalf("state after the probe = %v; want half-open while the repairs wait", got)
			}
			if b.allow() {
				t.Error("allow() = true while the repairs wait")
			}
			if !b.allowRepair() {
				t.Fatal("allowRepair() = false after a successful probe")
			}
			b.recordRepair(bg, nil)
			if got := b.current(); got != BreakerHalfOpen {
				t.Errorf("state after one replay = %v; want half-open until the repairer is done", got)
			}
			b.repaired()
			if got := b.current(); got != BreakerClosed || !b.allow() {
				t.Errorf("state after the repairs = %v; want closed", got)
			}
		})
	}
}
