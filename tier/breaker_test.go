package tier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// redisAnswer is an error as Redis answers it (go-redis's redis.Error).
type redisAnswer string

func (e redisAnswer) Error() string { return string(e) }
func (redisAnswer) RedisError()     {}

func TestBreakerStates(t *testing.T) {
	failure := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	type step struct {
		ctx  context.Context
		err  error
		want BreakerState
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"failures below the threshold", []step{{bg, failure, BreakerClosed}, {bg, failure, BreakerClosed}}},
		{"threshold opens", []step{{bg, failure, BreakerClosed}, {bg, failure, BreakerClosed}, {bg, failure, BreakerOpen}}},
		{"success resets the count", []step{{bg, failure, BreakerClosed}, {bg, failure, BreakerClosed}, {bg, nil, BreakerClosed}, {bg, failure, BreakerClosed}, {bg, failure, BreakerClosed}}},
		{"an answer is a success", []step{{bg, failure, BreakerClosed}, {bg, failure, BreakerClosed}, {bg, redisAnswer("WRONGTYPE Operation against a key"), BreakerClosed}, {bg, failure, BreakerClosed}}},
		{"a busy answer is a failure", []step{{bg, redisAnswer("LOADING Redis is loading"), BreakerClosed}, {bg, redisAnswer("CLUSTERDOWN"), BreakerClosed}, {bg, failure, BreakerOpen}}},
		{"the caller giving up is not counted", []step{{bg, failure, BreakerClosed}, {bg, failure, BreakerClosed}, {cancelled, context.Canceled, BreakerClosed}, {cancelled, context.Canceled, BreakerClosed}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			defer clk.close()
			b := newBreaker(Config{BreakerFailures: 3, BreakerCooldown: time.Hour}, clk, &counters{})
			for i, s := range c.steps {
				if !b.allow() {
					t.Fatalf("step %d: allow() = false; want true", i)
				}
				b.record(s.ctx, s.err)
				if got := b.current(); got != s.want {
					t.Errorf("step %d (%v): state %v; want %v", i, s.err, got, s.want)
				}
			}
		})
	}
	t.Run("open, probe, close", func(t *testing.T) {
		clk := newClock()
		defer clk.close()
		st := &counters{}
		b := newBreaker(Config{BreakerFailures: 1, BreakerCooldown: 20 * time.Millisecond}, clk, st)
		b.allow()
		b.record(bg, failure)
		if b.allow() {
			t.Fatal("allow() = true right after opening")
		}
		waitFor(t, b.allow) // the cooldown passed: this call is the probe
		if got := b.current(); got != BreakerHalfOpen {
			t.Fatalf("state %v; want half-open", got)
		}
		if b.allow() {
			t.Error("a second call allowed while the probe runs")
		}
		b.record(bg, failure) // the probe fails: open again
		if got := b.current(); got != BreakerOpen {
			t.Fatalf("state after a failed probe %v; want open", got)
		}
		waitFor(t, b.allow)
		b.record(bg, nil)
		if got := b.current(); got != BreakerClosed {
			t.Errorf("state after a good probe %v; want closed", got)
		}
		if got := st.breakerOpens.Load(); got != 2 {
			t.Errorf("breakerOpens = %d; want 2", got)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		clk := newClock()
		defer clk.close()
		b := newBreaker(Config{BreakerFailures: -1}, clk, &counters{})
		for range 10 {
			b.allow()
			b.record(bg, failure)
		}
		if !b.allow() || b.current() != BreakerDisabled {
			t.Errorf("disabled breaker: allow %v, state %v", b.allow(), b.current())
		}
	})
}

// TestBreakerFaults injects faults between a Store and Redis: reads keep
// being served within their deadline with the right values, the breaker
// opens, writes fail fast while it is open, and it closes once Redis is back.
func TestBreakerFaults(t *testing.T) {
	const l2Timeout = 30 * time.Millisecond
	cases := []struct {
		name           string
		fault, restore func(e *faultEnv)
	}{
		{"latency", func(e *faultEnv) { e.proxy.SetLatency(300 * time.Millisecond) }, func(e *faultEnv) { e.proxy.SetLatency(0) }},
		{"blackhole", func(e *faultEnv) { e.proxy.SetBlackhole(true) }, func(e *faultEnv) { e.proxy.SetBlackhole(false) }},
		{"cut and refused", func(e *faultEnv) { e.proxy.SetRefuse(true); e.proxy.Cut() }, func(e *faultEnv) { e.proxy.SetRefuse(false) }},
		{"server paused", func(e *faultEnv) { e.pause() }, func(e *faultEnv) { e.resume() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxT(t)
			srv := startServer(t)
			env := &faultEnv{proxy: startProxy(t, srv.Addr())}
			env.pause = func() {
				if err := srv.Pause(); err != nil {
					t.Fatal(err)
				}
			}
			env.resume = func() {
				if err := srv.Resume(); err != nil {
					t.Fatal(err)
				}
			}
			s := newStore(t, Config{
				Redis:           newClient(t, env.proxy.Addr()),
				L2Timeout:       l2Timeout,
				BreakerFailures: 3,
				BreakerCooldown: 100 * time.Millisecond,
			})
			cached := testKey(t)
			// Subscribed first: a confirmation after the read would clear L1.
			subscribe(t, cached, s)
			if _, err := s.Get(ctx, cached, &userOptions, constLoader(sampleUser(1)).load); err != nil {
				t.Fatal(err)
			}
			s.WaitL1()
			c.fault(env)

			// read checks a Get of a new key: the source's value, in time.
			read := func(id int64, within time.Duration) Result {
				t.Helper()
				key := fmt.Sprintf("%s:%d", testKey(t), id)
				rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				start := time.Now()
				r, err := s.Get(rctx, key, &userOptions, constLoader(sampleUser(id)).load)
				if elapsed := time.Since(start); elapsed > within {
					t.Errorf("Get took %v; want at most %v", elapsed, within)
				}
				if err != nil || r.Value.(user).ID != id {
					t.Fatalf("Get(%q) = %+v, %v; want user %d", key, r.Value, err, id)
				}
				return r
			}
			// Each read costs at most an L2 timeout or two (GET, then the
			// lease) before the source answers.
			for i := int64(0); s.Stats().Breaker != BreakerOpen; i++ {
				if i == 10 {
					t.Fatalf("breaker still %v after 10 reads against a %s Redis", s.Stats().Breaker, c.name)
				}
				read(100+i, 3*l2Timeout+100*time.Millisecond)
			}
			// Open: no Redis on the read path, and writes fail at once.
			if r := read(200, 20*time.Millisecond); r.Tier != TierSource {
				t.Errorf("tier = %v; want source", r.Tier)
			}
			if r, err := s.Get(ctx, cached, &userOptions, nil); err != nil || r.Tier != TierL1 || r.Value.(user).ID != 1 {
				t.Errorf("Get(cached) = %+v, %v; want an L1 hit of user 1", r, err)
			}
			start := time.Now()
			if err := s.Set(ctx, testKey(t), sampleUser(3), &userOptions); !errors.Is(err, ErrBreakerOpen) {
				t.Errorf("Set with the breaker open: %v; want ErrBreakerOpen", err)
			}
			if err := s.Delete(ctx, testKey(t)); !errors.Is(err, ErrBreakerOpen) {
				t.Errorf("Delete with the breaker open: %v; want ErrBreakerOpen", err)
			}
			if elapsed := time.Since(start); elapsed > 10*time.Millisecond {
				t.Errorf("Set and Delete with the breaker open took %v; want no wait", elapsed)
			}

			c.restore(env)
			// Reads probe Redis once the cooldown has passed.
			i := int64(300)
			waitFor(t, func() bool {
				i++
				read(i, 3*l2Timeout+100*time.Millisecond)
				return s.Stats().Breaker == BreakerClosed
			})
			key := testKey(t)
			waitFor(t, func() bool { return s.Set(ctx, key, sampleUser(4), &userOptions) == nil })
			s.ClearLocal()
			if r, err := s.Get(ctx, key, &userOptions, nil); err != nil || r.Tier != TierL2 || r.Value.(user).ID != 4 {
				t.Errorf("Get after recovery = %+v, %v; want an L2 hit of user 4", r, err)
			}
			if st := s.Stats(); st.BreakerOpens == 0 || st.BreakerRejected == 0 {
				t.Errorf("stats: %d opens, %d rejected; want both counted", st.BreakerOpens, st.BreakerRejected)
			}
		})
	}
}

// TestBreakerOpenL1Cap: while the breaker is open, L1 entries still live at
// most L1TTLCap.
func TestBreakerOpenL1Cap(t *testing.T) {
	ctx := ctxT(t)
	srv := startServer(t)
	proxy := startProxy(t, srv.Addr())
	const capTTL = 200 * time.Millisecond
	s := newStore(t, Config{Redis: newClient(t, proxy.Addr()), L2Timeout: 30 * time.Millisecond, BreakerFailures: 1, BreakerCooldown: time.Hour, L1TTLCap: capTTL})
	proxy.SetRefuse(true)
	proxy.Cut()
	key := testKey(t)
	l := constLoader(sampleUser(5))
	loaded := time.Now()
	if _, err := s.Get(ctx, key, &userOptions, l.load); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Breaker; got != BreakerOpen {
		t.Fatalf("breaker %v; want open", got)
	}
	s.WaitL1()
	if r, err := s.Get(ctx, key, &userOptions, l.load); err != nil || r.Tier != TierL1 {
		t.Fatalf("Get = %v, %v; want an L1 hit", r.Tier, err)
	}
	waitFor(t, func() bool {
		r, err := s.Get(ctx, key, &userOptions, l.load)
		return err == nil && r.Tier == TierSource
	})
	if elapsed := time.Since(loaded); elapsed < capTTL-5*time.Millisecond {
		t.Errorf("L1 entry expired after %v; want it kept for the %v cap", elapsed, capTTL)
	}
	if got := l.calls.Load(); got != 2 {
		t.Errorf("loads = %d; want 2", got)
	}
}

// TestConvergesAfterFaults runs writers (source first, then Delete, retried
// until it succeeds, as a careful cache-aside caller does) and readers on
// three Stores, each behind its own proxy, while faults come and go. Every
// read is served within its deadline; once the faults end, every Store
// serves the source's latest values again, well before L1TTLCap could have
// helped.
func TestConvergesAfterFaults(t *testing.T) {
	ctx := ctxT(t)
	srv := startServer(t)
	const nStores, nKeys = 3, 20
	proxies := make([]*faultEnv, nStores)
	stores := make([]*Store, nStores)
	for i := range stores {
		proxies[i] = &faultEnv{proxy: startProxy(t, srv.Addr())}
		stores[i] = newStore(t, Config{
			Redis:           newClient(t, proxies[i].proxy.Addr()),
			L2Timeout:       30 * time.Millisecond,
			BreakerFailures: 3,
			BreakerCooldown: 50 * time.Millisecond,
			BusPingInterval: 50 * time.Millisecond,
			L1TTLCap:        time.Minute,
		})
	}
	prefix := testKey(t)
	keyOf := func(i int) string { return fmt.Sprintf("%s:%d", prefix, i) }
	subscribe(t, keyOf(0), stores...)

	var mu sync.Mutex
	source := make([]int64, nKeys)
	load := func(_ context.Context, key string) (any, error) {
		var i int
		if _, err := fmt.Sscanf(key[len(prefix)+1:], "%d", &i); err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		return sampleUser(source[i]), nil
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				i := (n*7 + w) % nKeys
				mu.Lock()
				source[i]++
				mu.Unlock()
				s := stores[(n+w)%nStores]
				for s.Delete(ctx, keyOf(i)) != nil {
					if ctx.Err() != nil {
						return
					}
					time.Sleep(5 * time.Millisecond) // retry with backoff, as a caller would
				}
			}
		}()
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				_, err := stores[(n+r)%nStores].Get(rctx, keyOf((n*3+r)%nKeys), &userOptions, load)
				cancel()
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	faults := []struct{ on, off func(*faultEnv) }{
		{func(e *faultEnv) { e.proxy.SetLatency(100 * time.Millisecond) }, func(e *faultEnv) { e.proxy.SetLatency(0) }},
		{func(e *faultEnv) { e.proxy.SetBlackhole(true) }, func(e *faultEnv) { e.proxy.SetBlackhole(false) }},
		{func(e *faultEnv) { e.proxy.SetRefuse(true); e.proxy.Cut() }, func(e *faultEnv) { e.proxy.SetRefuse(false) }},
	}
	for round := 0; round < 6; round++ {
		f, env := faults[round%len(faults)], proxies[round%nStores]
		f.on(env)
		time.Sleep(150 * time.Millisecond) // the fault's duration: this is the scenario, not a synchronisation
		f.off(env)
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Get during faults: %v", err)
	}
	// Converged: every Store serves the latest value of every key.
	waitFor(t, func() bool {
		for _, s := range stores {
			for i := 0; i < nKeys; i++ {
				r, err := s.Get(ctx, keyOf(i), &userOptions, load)
				mu.Lock()
				want := source[i]
				mu.Unlock()
				if err != nil || r.Value.(user).ID != want {
					return false
				}
			}
		}
		return true
	})
	for i, s := range stores {
		st := s.Stats()
		t.Logf("store %d: breaker %v, opens %d, resubscribes %d, L1 clears %d, bus errors %d, invalidations received %d",
			i, st.Breaker, st.BreakerOpens, st.Resubscribes, st.L1Clears, st.BusErrors, st.InvalidationsReceived)
	}
}

// marshalCounter is a codec that counts its Marshal calls.
type marshalCounter struct {
	codec.MsgPack
	calls atomic.Int64
}

func (c *marshalCounter) Marshal(v any) ([]byte, error) {
	c.calls.Add(1)
	return c.MsgPack.Marshal(v)
}

// TestLoadWithoutL2SkipsEncoding: a load whose result is not written to L2
// (the breaker open, no Redis) is not encoded, and still fills L1.
func TestLoadWithoutL2SkipsEncoding(t *testing.T) {
	for _, c := range []struct {
		name      string
		store     func(t *testing.T) *Store
		wantCalls int64
	}{
		{"redis healthy", func(t *testing.T) *Store { return newStore(t, Config{}) }, 1},
		{"breaker open", func(t *testing.T) *Store {
			proxy := startProxy(t, shared.Addr())
			s := newStore(t, Config{Redis: newClient(t, proxy.Addr()), L2Timeout: 30 * time.Millisecond, BreakerFailures: 1, BreakerCooldown: time.Hour})
			proxy.SetRefuse(true)
			proxy.Cut()
			if _, err := s.Get(ctxT(t), testKey(t), nil, constLoader(1).load); err != nil {
				t.Fatal(err)
			}
			if got := s.Stats().Breaker; got != BreakerOpen {
				t.Fatalf("breaker %v; want open", got)
			}
			return s
		}, 0},
		{"no redis", func(t *testing.T) *Store {
			s, err := New(&Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxT(t)
			s := c.store(t)
			mc := &marshalCounter{}
			o := Options{Codec: mc, Decode: decodeAs[user]()}
			key := testKey(t)
			l := constLoader(sampleUser(6))
			if r, err := s.Get(ctx, key, &o, l.load); err != nil || r.Tier != TierSource || r.Value.(user).ID != 6 {
				t.Fatalf("Get = %+v, %v; want user 6 from the source", r, err)
			}
			s.WaitL1()
			if r, err := s.Get(ctx, key, &o, l.load); err != nil || r.Tier != TierL1 || r.Value.(user).ID != 6 {
				t.Errorf("second Get = %+v, %v; want an L1 hit of user 6", r, err)
			}
			if got := mc.calls.Load(); got != c.wantCalls {
				t.Errorf("Marshal calls = %d; want %d", got, c.wantCalls)
			}
		})
	}
}
