package tier

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/redistest"
)

// waitWithin polls cond every 20 ms until it holds or d passes; it reports
// whether it held. For state no signal announces (a failover seen from a
// client), bounded in time.
func waitWithin(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestSentinelFailoverUnderLoad stops the master of a Sentinel group while
// readers run through a Store on a failover client: every read is served
// (by the source while Redis fails over), the invalidation bus resubscribes
// to the new master and clears L1, and writes and invalidations work again
// against the new master.
func TestSentinelFailoverUnderLoad(t *testing.T) {
	g := redistest.StartSentinelT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := g.Servers()
	cfg := Config{L2Timeout: 200 * time.Millisecond, BusPingInterval: 200 * time.Millisecond}
	cfg.Redis = g.FailoverClient(t)
	reader := newStore(t, cfg)
	cfg.Redis = g.FailoverClient(t)
	writer := newStore(t, cfg)
	opts := &Options{Decode: decodeAs[string](), TTL: time.Minute}
	// The source of truth: "v:<key>" unless a write replaced it.
	var source sync.Map
	load := func(_ context.Context, key string) (any, error) {
		if v, ok := source.Load(key); ok {
			return v, nil
		}
		return "v:" + key, nil
	}
	write := func(key, v string) error {
		source.Store(key, v)
		return writer.Set(ctx, key, v, opts)
	}

	// Readers over 50 keys until stop; any error fails the test.
	var (
		reads   atomic.Int64
		readErr atomic.Value
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("load:%d", (i*7+w)%50)
				r, err := reader.Get(ctx, key, opts, load)
				if err != nil || r.Value != "v:"+key {
					readErr.CompareAndSwap(nil, fmt.Errorf("Get(%q) = %v, %v; want %q", key, r.Value, err, "v:"+key))
					return
				}
				reads.Add(1)
				reader.invalidateLocal(key) // the next read of it goes past L1
			}
		})
	}
	stopReaders := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopReaders()

	if !waitWithin(10*time.Second, func() bool { return reader.Stats().L2Hits > 0 }) {
		t.Fatalf("no L2 hit before the failover: %+v", reader.Stats())
	}
	// A key in L1 that the readers do not touch, to see L1 cleared.
	if _, err := reader.Get(ctx, "probe", opts, load); err != nil {
		t.Fatalf("Get(probe) = %v", err)
	}
	reader.WaitL1()
	if r, err := reader.Get(ctx, "probe", opts, load); err != nil || r.Tier != TierL1 {
		t.Fatalf("Get(probe) again = %+v, %v; want an L1 hit", r, err)
	}
	before := reader.Stats()
	readsBefore := reads.Load()

	master, err := g.Master(ctx)
	if err != nil || master != data[0] {
		t.Fatalf("Master() = %v, %v; want the first data node", master, err)
	}
	killed := time.Now()
	if err := master.Stop(); err != nil {
		t.Fatalf("stop the master: %v", err)
	}
	newMaster, err := g.Master(ctx)
	if err != nil || newMaster != data[1] {
		t.Fatalf("Master() after stopping the master = %v, %v; want the replica", newMaster, err)
	}
	failedOver := time.Since(killed)
	during := reader.Stats()
	if n := reads.Load() - readsBefore; n == 0 {
		t.Errorf("no read served while failing over (%v)", failedOver)
	}
	if during.Loads == before.Loads {
		t.Errorf("Loads while failing over = %d; want more than %d (the source answers while Redis cannot)", during.Loads, before.Loads)
	}

	if !waitWithin(20*time.Second, func() bool { return reader.Stats().Resubscribes > before.Resubscribes }) {
		t.Fatalf("Resubscribes = %d; want > %d within 20s of the failover", reader.Stats().Resubscribes, before.Resubscribes)
	}
	if got := reader.Stats().L1Clears; got <= before.L1Clears {
		t.Errorf("L1Clears = %d; want > %d (a resubscribe clears L1)", got, before.L1Clears)
	}
	if r, err := reader.Get(ctx, "probe", opts, load); err != nil || r.Tier == TierL1 {
		t.Errorf("Get(probe) after the resubscribe = %+v, %v; want it from beyond L1 (L1 cleared)", r, err)
	}

	stopReaders()
	if err, _ := readErr.Load().(error); err != nil {
		t.Errorf("a read failed during the failover: %v", err)
	}

	// Writes resume against the new master.
	var setErr error
	if !waitWithin(20*time.Second, func() bool { setErr = write("w", "after"); return setErr == nil }) {
		t.Fatalf("Set after the failover = %v; want nil within 20s", setErr)
	}
	if raw := rawGet(t, data[1].Client(t), "w"); raw == nil {
		t.Errorf("the new master has no value for the key just Set")
	}
	// And their invalidations reach the reader through the new master: a
	// value in the reader's L1 is dropped when the writer writes the key.
	if r, err := reader.Get(ctx, "w", opts, load); err != nil || r.Value != "after" {
		t.Fatalf("reader Get(w) = %v, %v; want after", r.Value, err)
	}
	// The write's own invalidation may reach the reader after its first
	// read and drop what it cached: read until L1 holds the value.
	var again Result
	if !waitWithin(10*time.Second, func() bool {
		reader.WaitL1()
		again, err = reader.Get(ctx, "w", opts, load)
		return err == nil && again.Tier == TierL1
	}) {
		t.Fatalf("reader Get(w) again = %+v, %v; want an L1 hit within 10s", again, err)
	}
	if err := write("w", "again"); err != nil {
		t.Fatalf("second Set after the failover = %v", err)
	}
	var got any
	if !waitWithin(10*time.Second, func() bool {
		r, err := reader.Get(ctx, "w", opts, load)
		got = r.Value
		return err == nil && r.Value == "again"
	}) {
		t.Errorf("reader Get(w) = %v; want again within 10s (the writer's invalidation through the new master)", got)
	}
	t.Logf("failover in %v; reads %d, loads %d, L2 errors %d, breaker opens %d", failedOver.Round(time.Millisecond),
		reads.Load(), reader.Stats().Loads, reader.Stats().L2Errors, reader.Stats().BreakerOpens)
}
