package tier

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
)

func TestGetTiers(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{})
	key := testKey(t)
	want := sampleUser(1)
	l := constLoader(want)

	steps := []struct {
		name      string
		prepare   func()
		wantTier  Tier
		wantLoads int64
	}{
		{"miss loads", func() {}, TierSource, 1},
		{"L1 hit", s.WaitL1, TierL1, 1},
		{"L2 hit after L1 cleared", s.ClearLocal, TierL2, 1},
		{"L1 hit after L2 refill", s.WaitL1, TierL1, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.prepare()
			r, err := s.Get(ctx, key, &userOptions, l.load)
			if err != nil {
				t.Fatalf("Get(%q) error %v", key, err)
			}
			if got := r.Value.(user); got.Name != want.Name || !got.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("Get(%q) = %+v; want %+v", key, got, want)
			}
			if r.Tier != st.wantTier {
				t.Errorf("Get(%q) tier = %v; want %v", key, r.Tier, st.wantTier)
			}
			if got := l.calls.Load(); got != st.wantLoads {
				t.Errorf("loads = %d; want %d", got, st.wantLoads)
			}
		})
	}
	st := s.Stats()
	if st.L1Hits != 2 || st.L2Hits != 1 || st.L2Misses != 1 || st.Loads != 1 {
		t.Errorf("Stats = %+v; want 2 L1 hits, 1 L2 hit, 1 L2 miss, 1 load", st)
	}
}

func TestL2HitCapsL1TTL(t *testing.T) {
	ctx := ctxT(t)
	cases := []struct {
		name    string
		cap     time.Duration
		typeCap time.Duration
		ttl     time.Duration
		wantMax time.Duration
		wantMin time.Duration
	}{
		{"store cap", 2 * time.Second, 0, time.Hour, 2 * time.Second, 1 * time.Second},
		{"type cap", time.Minute, 3 * time.Second, time.Hour, 3 * time.Second, 2 * time.Second},
		{"remaining L2 TTL", time.Minute, 0, 5 * time.Second, 5 * time.Second, 3 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// (no bus: the writer's invalidation would race the read)
			writer := newStore(t, Config{DisableBus: true})
			reader := newStore(t, Config{L1TTLCap: c.cap, DisableBus: true})
			o := Options{Decode: decodeAs[user](), TTL: c.ttl, TTLJitter: -1, L1TTL: c.typeCap}
			key := testKey(t)
			if err := writer.Set(ctx, key, sampleUser(2), &o); err != nil {
				t.Fatalf("Set: %v", err)
			}
			r, err := reader.Get(ctx, key, &o, nil)
			if err != nil || r.Tier != TierL2 {
				t.Fatalf("Get = %v, %v; want an L2 hit", r.Tier, err)
			}
			reader.WaitL1()
			e, ok := reader.l1.getKey(key)
			if !ok {
				t.Fatalf("L1 has no entry for %q after an L2 hit", key)
			}
			ttl := time.Duration(e.expiresAt - time.Now().UnixNano())
			if ttl > c.wantMax || ttl < c.wantMin {
				t.Errorf("L1 TTL = %v; want between %v and %v", ttl, c.wantMin, c.wantMax)
			}
		})
	}
}

func TestNegativeCaching(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	s := newStore(t, Config{Redis: rdb})
	notFound := &loader{fn: func(context.Context, string) (any, error) { return nil, ErrNotFound }}
	cases := []struct {
		name      string
		opts      Options
		wantPTTL  time.Duration // upper bound; lower bound is half of it
		wantLoads int64
	}{
		{"explicit negative TTL", Options{NegativeTTL: 4 * time.Second}, 4 * time.Second, 1},
		{"default is TTL/10", Options{TTL: 20 * time.Second}, 2 * time.Second, 1},
		{"disabled", Options{NegativeTTL: -1}, 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			notFound.calls.Store(0)
			key := testKey(t)
			for i := 0; i < 3; i++ {
				if i == 1 {
					s.ClearLocal() // the second read must come from L2
				}
				_, err := s.Get(ctx, key, &c.opts, notFound.load)
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get #%d error = %v; want ErrNotFound", i, err)
				}
				s.WaitL1()
			}
			if got := notFound.calls.Load(); got != c.wantLoads {
				t.Errorf("loads = %d; want %d", got, c.wantLoads)
			}
			pttl := rdb.PTTL(ctx, key).Val()
			if c.wantPTTL == 0 {
				if pttl != -2*time.Nanosecond && pttl != -2*time.Millisecond {
					if n := rdb.Exists(ctx, key).Val(); n != 0 {
						t.Errorf("negative entry stored with NegativeTTL < 0 (PTTL %v)", pttl)
					}
				}
				return
			}
			if pttl > c.wantPTTL || pttl < c.wantPTTL/2 {
				t.Errorf("PTTL(%q) = %v; want at most %v", key, pttl, c.wantPTTL)
			}
		})
	}
	if s.Stats().NegativeHits == 0 {
		t.Errorf("Stats().NegativeHits = 0; want > 0")
	}
}

func TestTTLJitter(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	s := newStore(t, Config{Redis: rdb})
	cases := []struct {
		name     string
		opts     Options
		min, max float64 // PTTL as a fraction of TTL
	}{
		{"default 10-20%", Options{TTL: 100 * time.Second}, 0.80, 0.90},
		{"jitter 0.4", Options{TTL: 100 * time.Second, TTLJitter: 0.4}, 0.60, 0.80},
		{"no jitter", Options{TTL: 100 * time.Second, TTLJitter: -1}, 0.99, 1.0},
		{"stale window extends the hard TTL", Options{TTL: 100 * time.Second, TTLJitter: -1, StaleIfError: 50 * time.Second}, 1.49, 1.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for i := 0; i < 50; i++ {
				key := testKey(t)
				if err := s.Set(ctx, key, i, &c.opts); err != nil {
					t.Fatalf("Set: %v", err)
				}
				pttl := rdb.PTTL(ctx, key).Val()
				frac := float64(pttl) / float64(c.opts.TTL)
				if frac < c.min-0.001 || frac > c.max+0.001 {
					t.Fatalf("PTTL = %v (%.3f of TTL); want between %.2f and %.2f", pttl, frac, c.min, c.max)
				}
				seen[pttl.Truncate(100*time.Millisecond)] = true
			}
			if c.min < 0.95 && len(seen) < 5 {
				t.Errorf("50 TTLs took %d distinct values; want jitter to spread them", len(seen))
			}
		})
	}
}

func TestStampedeOneLoadOneGet(t *testing.T) {
	srv := startServer(t)
	ctx := ctxT(t)
	s := newStore(t, Config{Redis: srv.Client(t)})
	key := testKey(t)
	const readers = 100
	release := make(chan struct{})
	l := &loader{fn: func(ctx context.Context, _ string) (any, error) {
		<-release
		return sampleUser(3), nil
	}}
	// Warm Redis's script cache, so the fill below is one EVALSHA.
	if _, err := s.Get(ctx, testKey(t), nil, constLoader(0).load); err != nil {
		t.Fatal(err)
	}
	s.fills.Wait()
	base := s.Stats().L1Misses
	if err := srv.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Get(ctx, key, &userOptions, l.load)
			if err == nil && r.Value.(user).ID != 3 {
				err = errors.New("wrong value")
			}
			errs <- err
		}()
	}
	// Every reader has joined the flight once it has counted its L1 miss.
	waitFor(t, func() bool { return s.Stats().L1Misses == base+readers })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Get: %v", err)
		}
	}
	if got := l.calls.Load(); got != 1 {
		t.Errorf("source loads = %d; want 1", got)
	}
	s.fills.Wait() // the fill lands after the readers have their value
	// The flight reads the key and takes its fill lease in one command
	// (SET NX GET) and fills it once, with a script (whose own GET and SET
	// Redis counts as GET and SET calls): one round trip before the load.
	calls := map[string]int64{}
	for _, cmd := range []string{"get", "set", "evalsha", "eval"} {
		n, err := srv.CommandCalls(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		calls[cmd] = n
	}
	scripts := calls["evalsha"] + calls["eval"]
	if scripts != 1 {
		t.Errorf("script calls = %d; want 1 (the fill)", scripts)
	}
	if gets := calls["get"] - scripts; gets != 0 {
		t.Errorf("Redis GET calls = %d; want 0 (calls %v, stats %+v)", gets, calls, s.Stats())
	}
	if leases := calls["set"] - scripts; leases != 1 {
		t.Errorf("Redis SET calls = %d; want 1, the read that took the lease (calls %v)", leases, calls)
	}
	if got := s.Stats().CoalescedWait; got != readers-1 {
		t.Errorf("CoalescedWait = %d; want %d", got, readers-1)
	}
}

// waitFor polls cond for state that has no signal of its own (counters).
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// pastCheckAt waits until key's entry is past its checkAt (its fresh time,
// or its refresh point with RefreshAfter), the latest of those in the L1s
// of stores that hold it, by the clocks of all of stores: real time (nothing
// signals it, so it sleeps) and each Store's coarse clock, which an L1 hit is
// judged by and which a loaded machine may advance late (polled).
func pastCheckAt(t testing.TB, key string, stores ...*Store) {
	t.Helper()
	var at int64
	for _, s := range stores {
		s.WaitL1()
		if e, ok := s.l1.getKey(key); ok {
			at = max(at, e.checkAt)
		}
	}
	if at == 0 {
		t.Fatalf("no Store's L1 holds %q", key)
	}
	time.Sleep(time.Until(time.Unix(0, at)) + time.Millisecond)
	waitFor(t, func() bool {
		for _, s := range stores {
			if s.clock.nanos() <= at {
				return false
			}
		}
		return true
	})
}

func TestCodecs(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	s := newStore(t, Config{Redis: rdb})
	big := sampleUser(4)
	big.Bio = strings.Repeat("compressible text ", 200)
	cases := []struct {
		name           string
		codec          codec.Codec
		value          user
		wantCompressed bool
	}{
		{"msgpack", codec.MsgPack{}, sampleUser(4), false},
		{"json", codec.JSON{}, sampleUser(4), false},
		{"compressed small stays raw", codec.Compressed{}, sampleUser(4), false},
		{"compressed large", codec.Compressed{MinBytes: 512}, big, true},
		{"compressed json large", codec.Compressed{Codec: codec.JSON{}, MinBytes: 512}, big, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Codec: c.codec, Decode: decodeAs[user]()}
			key := testKey(t)
			if err := s.Set(ctx, key, c.value, &o); err != nil {
				t.Fatalf("Set: %v", err)
			}
			env, err := decodeEnvelope(rawGet(t, rdb, key))
			if err != nil {
				t.Fatalf("stored envelope: %v", err)
			}
			if env.codecID != c.codec.ID() || env.compressed() != c.wantCompressed {
				t.Errorf("envelope codec %d compressed %v; want %d, %v", env.codecID, env.compressed(), c.codec.ID(), c.wantCompressed)
			}
			s.ClearLocal()
			r, err := s.Get(ctx, key, &o, nil)
			if err != nil || r.Tier != TierL2 {
				t.Fatalf("Get = %v, %v; want an L2 hit", r.Tier, err)
			}
			got := r.Value.(user)
			if got.Bio != c.value.Bio || got.Email != c.value.Email || !got.CreatedAt.Equal(c.value.CreatedAt) || len(got.Tags) != 3 {
				t.Errorf("Get = %+v; want %+v", got, c.value)
			}
		})
	}
}

func TestSetUnencodable(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	s := newStore(t, Config{Redis: rdb})
	key := testKey(t)
	for _, c := range []struct {
		name  string
		codec codec.Codec
		value any
	}{
		{"msgpack channel", codec.MsgPack{}, make(chan int)},
		{"json func", codec.JSON{}, func() {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.Set(ctx, key, c.value, &Options{Codec: c.codec})
			if !errors.Is(err, codec.ErrEncode) || !strings.Contains(err.Error(), key) {
				t.Errorf("Set(%T) error = %v; want codec.ErrEncode naming the key", c.value, err)
			}
			if raw := rawGet(t, rdb, key); raw != nil {
				t.Errorf("Redis holds %q after a failed Set; want nothing", raw)
			}
			s.WaitL1()
			if _, hit, _ := l1Peek(s, key); hit {
				t.Errorf("L1 holds %q after a failed Set", key)
			}
		})
	}
}

func TestCorruptEntries(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	s := newStore(t, Config{Redis: rdb})
	valid := func(mutate func([]byte) []byte) []byte {
		payload, _ := codec.MsgPack{}.Marshal(sampleUser(5))
		raw := appendEnvelope(nil, envelope{codecID: codec.IDMsgPack, createdAt: time.Now(), freshUntil: time.Now().Add(time.Hour), payload: payload})
		return mutate(raw)
	}
	cases := []struct {
		name string
		raw  []byte
	}{
		{"empty", []byte{}},
		{"short header", []byte{1, 0, 1, 0, 0}},
		{"unknown version", valid(func(b []byte) []byte { b[0] = 9; return b })},
		{"unknown flags", valid(func(b []byte) []byte { b[1] = 0x80; return b })},
		{"unknown codec", valid(func(b []byte) []byte { b[2] = 200; return b })},
		{"truncated payload", valid(func(b []byte) []byte { return b[:len(b)-40] })},
		{"payload of another type", appendEnvelope(nil, envelope{codecID: codec.IDMsgPack, createdAt: time.Now(), freshUntil: time.Now().Add(time.Hour), payload: []byte{0xa3, 'a', 'b', 'c'}})},
		{"compressed garbage", valid(func(b []byte) []byte { b[1] = flagCompressed; return b })},
		{"negative with payload", valid(func(b []byte) []byte { b[1] = flagNegative; return b })},
		{"plain text", []byte("hello, not an envelope at all")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := testKey(t)
			if err := rdb.Set(ctx, key, c.raw, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			before := s.Stats().Corrupt
			l := constLoader(sampleUser(6))
			r, err := s.Get(ctx, key, &userOptions, l.load)
			if err != nil || r.Value.(user).ID != 6 || r.Tier != TierSource {
				t.Fatalf("Get = %+v, %v; want the source's value", r, err)
			}
			if got := s.Stats().Corrupt - before; got != 1 {
				t.Errorf("Corrupt counted %d; want 1", got)
			}
			if raw := rawGet(t, rdb, key); raw != nil {
				t.Errorf("corrupt entry still in Redis: %q", raw)
			}
		})
	}
}

func TestSchemaEvolution(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{})
	type v1 struct {
		ID   int
		Name string
		Old  string
	}
	type v2 struct {
		ID   int
		Name string
		New  float64
	}
	key := testKey(t)
	if err := s.Set(ctx, key, v1{ID: 1, Name: "a", Old: "x"}, &Options{}); err != nil {
		t.Fatal(err)
	}
	s.ClearLocal()
	r, err := s.Get(ctx, key, &Options{Decode: decodeAs[v2]()}, nil)
	if err != nil || r.Tier != TierL2 {
		t.Fatalf("Get = %v, %v; want an L2 hit", r.Tier, err)
	}
	if got := r.Value.(v2); got.ID != 1 || got.Name != "a" {
		t.Errorf("Get = %+v; want ID 1, Name a", got)
	}
	// A payload that no longer decodes is a miss and is reloaded.
	if err := s.Set(ctx, key, "just a string", &Options{}); err != nil {
		t.Fatal(err)
	}
	s.ClearLocal()
	r, err = s.Get(ctx, key, &Options{Decode: decodeAs[v2]()}, constLoader(v2{ID: 2}).load)
	if err != nil || r.Tier != TierSource || r.Value.(v2).ID != 2 {
		t.Errorf("Get of an incompatible payload = %+v, %v; want a reload from the source", r, err)
	}
}

// TestRedisStoppedMidway: with Redis stopped, L1 serves what it holds, the
// source the rest (counted as Redis errors), and writes fail; once Redis is
// back, the Store writes and reads it again. The Store has newStore's
// generous L2Timeout: with 50 ms, a loaded machine's read after the restart
// ran out of time and missed the entry just written.
func TestRedisStoppedMidway(t *testing.T) {
	srv := startServer(t)
	ctx := ctxT(t)
	rdb := srv.Client(t)
	s := newStore(t, Config{Redis: rdb})
	cached, fresh := testKey(t), testKey(t)
	l := constLoader(sampleUser(7))
	if _, err := s.Get(ctx, cached, &userOptions, l.load); err != nil {
		t.Fatal(err)
	}
	s.WaitL1()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Run("L1 serves cached keys", func(t *testing.T) {
		r, err := s.Get(ctx, cached, &userOptions, l.load)
		if err != nil || r.Tier != TierL1 {
			t.Errorf("Get(cached) = %v, %v; want an L1 hit", r.Tier, err)
		}
	})
	t.Run("source serves the rest", func(t *testing.T) {
		before := s.Stats().L2Errors
		r, err := s.Get(ctx, fresh, &userOptions, l.load)
		if err != nil || r.Tier != TierSource || r.Value.(user).ID != 7 {
			t.Errorf("Get(uncached) = %+v, %v; want the source's value", r, err)
		}
		if s.Stats().L2Errors == before {
			t.Errorf("L2Errors did not grow with Redis down")
		}
	})
	t.Run("writes report the failure", func(t *testing.T) {
		if err := s.Set(ctx, testKey(t), 1, nil); err == nil {
			t.Errorf("Set with Redis down returned nil; want an error")
		}
	})
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Run("recovers when Redis is back", func(t *testing.T) {
		key := testKey(t)
		var err error
		waitFor(t, func() bool { err = s.Set(ctx, key, sampleUser(8), &userOptions); return err == nil })
		s.ClearLocal()
		r, err := s.Get(ctx, key, &userOptions, nil)
		if err != nil || r.Tier != TierL2 || r.Value.(user).ID != 8 {
			t.Errorf("Get after restart = %+v, %v; want an L2 hit", r, err)
		}
	})
}

// TestDeadlines: a caller's deadline shorter than Redis's answer ends a Get
// with context.DeadlineExceeded, and L2Timeout cuts a slow Redis call short
// so the Get falls through to the source; neither waits for Redis. Redis
// answers after a second, so that "did not wait for it" leaves room for a
// loaded machine's scheduling (at 200 ms, a Get cut at 50 ms was measured at
// 250 ms under -race).
func TestDeadlines(t *testing.T) {
	const latency = time.Second
	srv := startServer(t)
	proxy := startProxy(t, srv.Addr())
	rdb := newClient(t, proxy.Addr())
	ctx := ctxT(t)
	s := newStore(t, Config{Redis: rdb, L2Timeout: 50 * time.Millisecond})
	l := constLoader(sampleUser(9))
	proxy.SetLatency(latency)

	t.Run("caller deadline shorter than Redis", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 25*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Get(cctx, testKey(t), &userOptions, l.load)
		if elapsed := time.Since(start); elapsed > latency/2 {
			t.Errorf("Get with a 25ms deadline took %v against a %v Redis", elapsed, latency)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get error = %v; want context.DeadlineExceeded", err)
		}
	})
	t.Run("L2 timeout falls through to the source", func(t *testing.T) {
		start := time.Now()
		r, err := s.Get(ctx, testKey(t), &userOptions, l.load)
		if err != nil || r.Value.(user).ID != 9 {
			t.Errorf("Get = %+v, %v; want the source's value", r, err)
		}
		if elapsed := time.Since(start); elapsed > latency/2 {
			t.Errorf("Get took %v; want the 50ms L2 timeout to cut the %v Redis", elapsed, latency)
		}
	})
}

func TestNoStaleFillLocal(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	for _, write := range []struct {
		name string
		do   func(s *Store, key string) error
	}{
		{"delete", func(s *Store, key string) error { return s.Delete(ctx, key) }},
		{"set", func(s *Store, key string) error { return s.Set(ctx, key, sampleUser(20), &userOptions) }},
		{"invalidate local", func(s *Store, key string) error { s.invalidateLocal(key); return nil }},
	} {
		t.Run(write.name, func(t *testing.T) {
			s := newStore(t, Config{Redis: rdb})
			key := testKey(t)
			started, release := make(chan struct{}), make(chan struct{})
			l := &loader{fn: func(context.Context, string) (any, error) {
				close(started)
				<-release
				return sampleUser(10), nil // read from the source before the write
			}}
			done := make(chan error, 1)
			go func() {
				r, err := s.Get(ctx, key, &userOptions, l.load)
				if err == nil && r.Value.(user).ID != 10 {
					err = errors.New("loader's value not returned to its reader")
				}
				done <- err
			}()
			<-started
			if err := write.do(s, key); err != nil {
				t.Fatal(err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatalf("Get: %v", err)
			}
			s.WaitL1()
			if v, hit, _ := l1Peek(s, key); hit && v.(user).ID == 10 {
				t.Errorf("L1 holds the stale load after a %s", write.name)
			}
			if raw := rawGet(t, rdb, key); raw != nil && write.name != "invalidate local" {
				// (a local invalidation leaves L2 to its writer, which
				// replaces the lease; here nobody wrote L2)
				if _, e, err := s.decodeL2(key, raw, &userOptions); err == nil && e != nil && e.value.(user).ID == 10 {
					t.Errorf("L2 holds the stale load after a %s", write.name)
				}
			}
			if s.Stats().StaleFills == 0 {
				t.Errorf("StaleFills = 0; want the refused fill counted")
			}
		})
	}
}

func TestClientWithoutContextTimeout(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: shared.Addr()})
	defer rdb.Close()
	if _, err := New(&Config{Redis: rdb}); !errors.Is(err, ErrNoContextTimeout) {
		t.Errorf("New with ContextTimeoutEnabled unset: error %v; want ErrNoContextTimeout", err)
	}
}

func TestClosed(t *testing.T) {
	s := newStore(t, Config{})
	s.Close()
	ctx := ctxT(t)
	if _, err := s.Get(ctx, testKey(t), nil, constLoader(1).load); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v; want ErrClosed", err)
	}
	if err := s.Set(ctx, testKey(t), 1, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close: %v; want ErrClosed", err)
	}
}

func TestL1Only(t *testing.T) {
	s, err := New(&Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := ctxT(t)
	l := constLoader(42)
	for i, want := range []Tier{TierSource, TierL1} {
		r, err := s.Get(ctx, "k", nil, l.load)
		if err != nil || r.Tier != want {
			t.Errorf("Get #%d = %v, %v; want %v", i, r.Tier, err, want)
		}
		s.WaitL1()
	}
}

// A read without a loader is a peek: on an L2 miss it takes no fill lease
// (one Redis call, nothing written).
func TestPeekTakesNoLease(t *testing.T) {
	srv := startServer(t)
	ctx := ctxT(t)
	rdb := srv.Client(t)
	s := newStore(t, Config{Redis: rdb, DisableBus: true})
	key := testKey(t)
	if err := srv.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key, nil, nil); !errors.Is(err, ErrNoLoader) {
		t.Fatalf("Get without a loader on a miss: %v; want ErrNoLoader", err)
	}
	for cmd, want := range map[string]int64{"get": 1, "set": 0, "evalsha": 0, "eval": 0} {
		got, err := srv.CommandCalls(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Redis %s calls = %d; want %d", cmd, got, want)
		}
	}
}
