package tier

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// localDouble is the Store side of a bus (busLocal) for tests of the bus
// alone: it records what the bus asked of it.
type localDouble struct {
	mu       sync.Mutex
	dropped  []string
	clears   int
	versions []uint64
}

func (d *localDouble) dropLocal(keys []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropped = append(d.dropped, keys...)
}

func (d *localDouble) clearLocal(string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clears++
}

func (d *localDouble) versionChanged(_ context.Context, _ string, version uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if version > 0 {
		d.versions = append(d.versions, version)
	}
}

func (d *localDouble) snapshot() (dropped []string, clears int, versions []uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dropped), d.clears, slices.Clone(d.versions)
}

// testBus starts a bus on its own client of the shared redis-server, acting
// on local. It is closed at cleanup (closing twice is harmless).
func testBus(t *testing.T, self string, local busLocal) *bus {
	t.Helper()
	cfg, err := (&Config{Redis: shared.Client(t), L2Timeout: time.Second}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	var stats counters
	b := startBus(busConfig{
		l2:      &l2{rdb: cfg.Redis, timeout: cfg.L2Timeout, br: newBreaker(cfg, clk, &stats)},
		local:   local,
		stats:   &stats,
		report:  func(what, key string, err error) { t.Logf("bus %s: %s %s: %v", self, what, key, err) },
		prefix:  cfg.BusChannelPrefix,
		self:    self,
		ping:    cfg.BusPingInterval,
		timeout: cfg.L2Timeout,
	})
	t.Cleanup(func() {
		b.close()
		clk.close()
	})
	return b
}

// TestBusWithoutStore runs two buses over a real redis-server, each acting
// on a double of its Store: keys, clears and versions one publishes reach
// the other, never the sender itself, and what is queued when a bus closes
// is published before close returns.
func TestBusWithoutStore(t *testing.T) {
	ctx := ctxT(t)
	ns := fmt.Sprintf("busunit%d", time.Now().UnixNano()) // this run's: Redis outlives -count
	var la, lb localDouble
	a, b := testBus(t, "a", &la), testBus(t, "b", &lb)
	for _, x := range []*bus{a, b} {
		x.ensureNS(ctx, ns)
		sub := x.subscription(ns)
		waitFor(t, sub.up.Load)
	}

	a.publish(ns+":user:1", ns+":user:2", ns+":user:1")
	waitFor(t, func() bool { d, _, _ := lb.snapshot(); return len(d) >= 2 })
	// b answers after it has seen a's message; a reads its own echo before
	// b's message, so once a has b's key it has dropped its own echo.
	b.publish(ns + ":user:3")
	waitFor(t, func() bool { d, _, _ := la.snapshot(); return len(d) >= 1 })
	if d, _, _ := lb.snapshot(); !slices.Equal(d, []string{ns + ":user:1", ns + ":user:2"}) {
		t.Errorf("b dropped %q; want a's keys, deduplicated: %q", d, []string{ns + ":user:1", ns + ":user:2"})
	}
	if d, _, _ := la.snapshot(); !slices.Equal(d, []string{ns + ":user:3"}) {
		t.Errorf("a dropped %q; want only b's key %q (never its own)", d, ns+":user:3")
	}

	a.publishClear(ns)
	a.publishVersion(ns, 7)
	waitFor(t, func() bool { _, c, v := lb.snapshot(); return c >= 1 && len(v) >= 1 })
	if _, c, v := lb.snapshot(); c != 1 || !slices.Equal(v, []uint64{7}) {
		t.Errorf("b: %d clears, versions %v; want 1 clear and version 7", c, v)
	}
	if _, c, v := la.snapshot(); c != 0 || len(v) != 0 {
		t.Errorf("a: %d clears, versions %v from its own messages; want none", c, v)
	}

	// Queued, then closed at once: close publishes it first.
	a.publish(ns + ":user:4")
	a.close()
	waitFor(t, func() bool { d, _, _ := lb.snapshot(); return slices.Contains(d, ns+":user:4") })
}

// TestBusOwnEchoNotDecoded checks that a bus drops its own messages from
// the header alone: receiving one allocates nothing, however many keys it
// carries.
func TestBusOwnEchoNotDecoded(t *testing.T) {
	var local localDouble
	b := testBus(t, "self", &local)
	keys := []string{"shop:user:1", "shop:user:2", "shop:user:30"}
	own := string(appendBusMessage(nil, busMessage{kind: busKeys, sender: "self", keys: keys}))
	if n := testing.AllocsPerRun(100, func() { b.receive("ns", own) }); n != 0 {
		t.Errorf("receiving its own message: %v allocs; want 0", n)
	}
	other := string(appendBusMessage(nil, busMessage{kind: busKeys, sender: "other", keys: keys}))
	b.receive("ns", other)
	if d, _, _ := local.snapshot(); !slices.Equal(d, keys) {
		t.Errorf("after another's message, dropped %q; want %q", d, keys)
	}
}

// TestStoreCloseSendsQueuedInvalidations checks that an invalidation a Set
// queued is published even if the Store is closed right after the Set
// returns: another instance drops the key.
func TestStoreCloseSendsQueuedInvalidations(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	reader := newStore(t, Config{Redis: rdb})
	for range 20 {
		writer, err := New(&Config{Redis: rdb, L2Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		key := testKey(t)
		if _, err := reader.Get(ctx, key, &userOptions, constLoader(sampleUser(1)).load); err != nil {
			t.Fatal(err)
		}
		subscribe(t, key, reader, writer)
		if _, ok := inL1(reader, key); !ok {
			t.Fatalf("%q not in the reader's L1 after a Get", key)
		}
		if err := writer.Set(ctx, key, sampleUser(2), &userOptions); err != nil {
			t.Fatal(err)
		}
		writer.Close()
		waitDropped(t, reader, key, time.Now())
	}
}
