package tier

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/redistest"
)

func TestNamespaceOf(t *testing.T) {
	cases := []struct{ key, want string }{
		{"shop:user:42", "shop"},
		{"shop@v7:user:42", "shop"},
		{"shop@v7:user#q:abc", "shop"},
		{"plain", ""},
		{":x", ""},
		{"a:b:c:d", "a"},
	}
	for _, c := range cases {
		if got := namespaceOf(c.key); got != c.want {
			t.Errorf("namespaceOf(%q) = %q; want %q", c.key, got, c.want)
		}
	}
}

func TestBusMessageRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		msg  busMessage
	}{
		{"one key", busMessage{kind: busKeys, sender: "a1", keys: []string{"shop:user:1"}}},
		{"shared prefixes", busMessage{kind: busKeys, sender: "b", keys: []string{"shop:user:1", "shop:user:10", "shop:user:2", "x"}}},
		{"empty key and sender", busMessage{kind: busKeys, keys: []string{""}}},
		{"clear", busMessage{kind: busClear, sender: "c"}},
		{"version", busMessage{kind: busVersion, sender: "d", namespace: "shop", version: 1 << 40}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := appendBusMessage(nil, c.msg)
			got, err := decodeBusMessage(string(b))
			if err != nil {
				t.Fatalf("decode(encode(%+v)) error %v", c.msg, err)
			}
			if got.kind != c.msg.kind || got.sender != c.msg.sender || !slices.Equal(got.keys, c.msg.keys) ||
				got.namespace != c.msg.namespace || got.version != c.msg.version {
				t.Errorf("decode(encode(m)) = %+v; want %+v", got, c.msg)
			}
		})
	}
	// Front coding keeps a batch compact.
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("shop:user:%d", 1000+i)
	}
	sort.Strings(keys)
	if n := len(appendBusMessage(nil, busMessage{kind: busKeys, sender: "0123456789abcdef", keys: keys})); n > 100*5+40 {
		t.Errorf("100 keys take %d bytes; want at most %d", n, 100*5+40)
	}
}

func TestBusMessageMalformed(t *testing.T) {
	valid := appendBusMessage(nil, busMessage{kind: busKeys, sender: "s", keys: []string{"a:b", "a:c"}})
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"one byte", []byte{1}},
		{"unknown version", append([]byte{9}, valid[1:]...)},
		{"unknown kind", []byte{1, 7, 0}},
		{"truncated", valid[:len(valid)-1]},
		{"trailing bytes", append(append([]byte{}, valid...), 0)},
		{"huge count", []byte{1, byte(busKeys), 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}},
		{"zero keys", []byte{1, byte(busKeys), 0, 0}},
		{"shared beyond previous", []byte{1, byte(busKeys), 0, 1, 5, 1, 'a'}},
		{"overlong varint", []byte{1, byte(busKeys), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"version missing", []byte{1, byte(busVersion), 0, 1, 'n'}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if m, err := decodeBusMessage(string(c.b)); err == nil {
				t.Errorf("decode(%x) = %+v, nil; want an error", c.b, m)
			}
		})
	}
}

func FuzzDecodeBusMessage(f *testing.F) {
	f.Add(appendBusMessage(nil, busMessage{kind: busKeys, sender: "s", keys: []string{"a:b", "a:bc", "z"}}))
	f.Add(appendBusMessage(nil, busMessage{kind: busClear, sender: "s"}))
	f.Add(appendBusMessage(nil, busMessage{kind: busVersion, sender: "s", namespace: "n", version: 3}))
	f.Add([]byte{1, 1, 0, 2, 0, 1, 'a', 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeBusMessage(string(b))
		if err != nil {
			return
		}
		// What decodes re-encodes to a message that decodes the same.
		again, err := decodeBusMessage(string(appendBusMessage(nil, m)))
		if err != nil || again.kind != m.kind || again.sender != m.sender || !slices.Equal(again.keys, m.keys) ||
			again.namespace != m.namespace || again.version != m.version {
			t.Errorf("re-decode of %+v = %+v, %v", m, again, err)
		}
	})
}

// inL1 reports whether s's L1 holds key (fresh).
func inL1(s *Store, key string) (any, bool) {
	s.WaitL1()
	v, hit, _ := l1Peek(s, key)
	return v, hit
}

// subscribe makes each store subscribe to key's namespace and waits until
// the subscriptions are confirmed.
func subscribe(t testing.TB, key string, stores ...*Store) {
	t.Helper()
	for _, s := range stores {
		s.bus.ensure(context.Background(), key)
		sub := s.bus.subscription(namespaceOf(key))
		waitFor(t, sub.up.Load)
	}
}

// settled waits until writer's invalidations so far are published and
// applied by every reader (subscribed to its namespaces), so that they do
// not race the reads that follow.
func settled(t testing.TB, writer *Store, readers ...*Store) {
	t.Helper()
	waitFor(t, func() bool {
		writer.bus.mu.Lock()
		defer writer.bus.mu.Unlock()
		return writer.bus.queued == 0 && !writer.bus.sending
	})
	sent := writer.Stats().MessagesSent
	for _, r := range readers {
		waitFor(t, func() bool { return r.Stats().MessagesReceived >= sent })
	}
}

// waitDropped waits until key leaves s's L1 and returns how long after
// since that took.
func waitDropped(t testing.TB, s *Store, key string, since time.Time) time.Duration {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, hit, _ := l1Peek(s, key); !hit {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still in L1 5s after a write elsewhere", key)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func TestBusPropagation(t *testing.T) {
	for _, top := range topologies() {
		for _, n := range []int{2, 4} {
			t.Run(fmt.Sprintf("%s/%d stores", top.name, n), func(t *testing.T) {
				ctx := ctxT(t)
				stores := make([]*Store, n)
				for i := range stores {
					stores[i] = newStore(t, Config{Redis: top.client(t)})
				}
				writer := stores[0]
				subscribe(t, testKey(t), stores...)
				var lat []time.Duration
				for round := 0; round < 20; round++ {
					key := testKey(t)
					if err := writer.Set(ctx, key, sampleUser(1), &userOptions); err != nil {
						t.Fatal(err)
					}
					settled(t, writer, stores[1:]...)
					for _, s := range stores[1:] {
						r, err := s.Get(ctx, key, &userOptions, nil)
						if err != nil || r.Value.(user).ID != 1 {
							t.Fatalf("Get = %+v, %v; want user 1", r, err)
						}
						if _, hit := inL1(s, key); !hit {
							t.Fatalf("%q not in L1 after a read: %+v", key, s.Stats())
						}
					}
					if err := writer.Set(ctx, key, sampleUser(2), &userOptions); err != nil {
						t.Fatal(err)
					}
					written := time.Now()
					for _, s := range stores[1:] {
						lat = append(lat, waitDropped(t, s, key, written))
						r, err := s.Get(ctx, key, &userOptions, nil)
						if err != nil || r.Value.(user).ID != 2 {
							t.Errorf("Get after a write elsewhere = %+v, %v; want user 2", r, err)
						}
					}
				}
				slices.Sort(lat)
				t.Logf("write returned -> other L1 dropped: p50 %v, max %v over %d", lat[len(lat)/2], lat[len(lat)-1], len(lat))
				if got := writer.Stats().InvalidationsReceived; got != 0 {
					t.Errorf("writer received %d invalidations of its own writes; want 0", got)
				}
			})
		}
	}
}

func TestBusIgnoresOwnMessages(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{})
	other := newStore(t, Config{})
	key := testKey(t)
	subscribe(t, key, s, other)
	if err := s.Set(ctx, key, sampleUser(3), &userOptions); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, key, sampleUser(4), &userOptions); err != nil {
		t.Fatal(err)
	}
	settled(t, s, other)
	if v, hit := inL1(s, key); !hit || v.(user).ID != 4 {
		t.Errorf("writer's L1 = %v, %v after its own write; want user 4", v, hit)
	}
	// (two writes of one key may travel as one)
	if st := s.Stats(); st.InvalidationsReceived != 0 || st.InvalidationsSent == 0 {
		t.Errorf("writer stats: received %d, sent %d; want 0 received, some sent", st.InvalidationsReceived, st.InvalidationsSent)
	}
}

func TestBusBatching(t *testing.T) {
	ctx := ctxT(t)
	// No breaker: every Set publishes, even one that times out on a loaded
	// machine, so the counts below are exact.
	writer := newStore(t, Config{BreakerFailures: -1})
	reader := newStore(t, Config{})
	prefix := testKey(t)
	// The reader subscribes to the namespace.
	if _, err := reader.Get(ctx, prefix, &userOptions, constLoader(sampleUser(1)).load); err != nil {
		t.Fatal(err)
	}
	t.Run("one Delete of many keys", func(t *testing.T) {
		before, beforeRecv := writer.Stats().MessagesSent, reader.Stats().InvalidationsReceived
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = fmt.Sprintf("%s:many:%d", prefix, i)
		}
		if err := writer.Delete(ctx, keys...); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return reader.Stats().InvalidationsReceived-beforeRecv == 1000 })
		if got := writer.Stats().MessagesSent - before; got > 2 {
			t.Errorf("1000 keys took %d messages; want at most 2 (512 keys each)", got)
		}
	})
	t.Run("concurrent burst", func(t *testing.T) {
		settled(t, writer) // the last subtest's messages counted as sent
		st0 := writer.Stats()
		var wg sync.WaitGroup
		for g := 0; g < 50; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					_ = writer.Set(ctx, fmt.Sprintf("%s:burst:%d:%d", prefix, g, i), i, nil)
				}
			}()
		}
		wg.Wait()
		settled(t, writer)
		if got := writer.Stats().InvalidationsSent - st0.InvalidationsSent; got != 1000 {
			t.Fatalf("InvalidationsSent grew by %d; want 1000 (stats %+v)", got, writer.Stats())
		}
		msgs := writer.Stats().MessagesSent - st0.MessagesSent
		t.Logf("1000 writes from 50 goroutines: %d messages", msgs)
		if msgs >= 1000 {
			t.Errorf("1000 concurrent writes took %d messages; want fewer (batched)", msgs)
		}
	})
	t.Run("overflow becomes a clear", func(t *testing.T) {
		before := reader.Stats().L1Clears
		keys := make([]string, busMaxPendingKeys+10)
		for i := range keys {
			keys[i] = fmt.Sprintf("%s:overflow:%d", prefix, i)
		}
		writer.bus.publish(keys...)
		waitFor(t, func() bool { return reader.Stats().L1Clears > before })
		if writer.Stats().BusDropped == 0 {
			t.Errorf("BusDropped = 0; want the replaced keys counted")
		}
	})
}

func TestBusMalformedIgnored(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	s := newStore(t, Config{Redis: rdb})
	writer := newStore(t, Config{Redis: rdb})
	key := testKey(t)
	if _, err := s.Get(ctx, key, &userOptions, constLoader(sampleUser(1)).load); err != nil {
		t.Fatal(err)
	}
	channel := DefaultBusChannelPrefix + namespaceOf(key)
	for _, garbage := range []string{"", "\x01", "\x01\x01\xff\xff\xff\xff\x0f", "hello", "\x01\x07\x00"} {
		if err := rdb.Publish(ctx, channel, garbage).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return s.Stats().BusMalformed == 5 })
	// The subscription still works.
	if err := writer.Set(ctx, key, sampleUser(2), &userOptions); err != nil {
		t.Fatal(err)
	}
	waitDropped(t, s, key, time.Now())
}

// TestBusResubscribeClearsL1 loses a Store's subscription while another
// Store writes (so the invalidation is lost), and checks that the restored
// subscription clears L1: no stale value is served after it.
func TestBusResubscribeClearsL1(t *testing.T) {
	cases := []struct {
		name    string
		fault   func(t *testing.T, env *faultEnv)
		restore func(t *testing.T, env *faultEnv)
	}{
		{"connections cut and refused",
			func(t *testing.T, e *faultEnv) { e.proxy.SetRefuse(true); e.proxy.Cut() },
			func(t *testing.T, e *faultEnv) { e.proxy.SetRefuse(false) }},
		{"blackhole",
			func(t *testing.T, e *faultEnv) { e.proxy.SetBlackhole(true) },
			func(t *testing.T, e *faultEnv) { e.proxy.SetBlackhole(false) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxT(t)
			srv := startServer(t)
			env := &faultEnv{proxy: startProxy(t, srv.Addr())}
			cfg := Config{L2Timeout: 50 * time.Millisecond, BusPingInterval: 50 * time.Millisecond, BreakerFailures: -1}
			cfg.Redis = newClient(t, env.proxy.Addr())
			a := newStore(t, cfg)
			b := newStore(t, Config{Redis: srv.Client(t)})
			key := testKey(t)
			subscribe(t, key, a, b)
			if err := b.Set(ctx, key, sampleUser(1), &userOptions); err != nil {
				t.Fatal(err)
			}
			settled(t, b, a)
			if r, err := a.Get(ctx, key, &userOptions, nil); err != nil || r.Value.(user).ID != 1 {
				t.Fatalf("Get = %+v, %v", r, err)
			}
			if _, hit := inL1(a, key); !hit {
				t.Fatal("not in L1")
			}
			c.fault(t, env)
			waitFor(t, func() bool { return a.Stats().BusErrors > 0 }) // a noticed
			if err := b.Set(ctx, key, sampleUser(2), &userOptions); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return b.Stats().MessagesSent >= 2 }) // sent, and lost for a
			if _, hit := inL1(a, key); !hit {
				t.Fatal("the lost invalidation reached a")
			}
			c.restore(t, env)
			waitFor(t, func() bool { return a.Stats().Resubscribes >= 1 })
			r, err := a.Get(ctx, key, &userOptions, nil)
			if err != nil || r.Value.(user).ID != 2 {
				t.Errorf("Get after resubscribe = %+v, %v; want user 2 (L1 cleared)", r, err)
			}
		})
	}
}

// TestBusRedisRestarted restarts Redis (empty) under running Stores.
func TestBusRedisRestarted(t *testing.T) {
	ctx := ctxT(t)
	srv := startServer(t)
	cfg := Config{L2Timeout: 50 * time.Millisecond, BusPingInterval: 50 * time.Millisecond}
	cfg.Redis = srv.Client(t)
	a := newStore(t, cfg)
	key := testKey(t)
	version := 1
	var mu sync.Mutex
	src := &loader{fn: func(context.Context, string) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		return sampleUser(int64(version)), nil
	}}
	// Subscribed first: a confirmation after the read would clear L1.
	subscribe(t, key, a)
	if r, err := a.Get(ctx, key, &userOptions, src.load); err != nil || r.Value.(user).ID != 1 {
		t.Fatalf("Get = %+v, %v", r, err)
	}
	if _, hit := inL1(a, key); !hit {
		t.Fatal("not in L1")
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	version = 2 // changed at the source while Redis is down
	mu.Unlock()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.Stats().Resubscribes >= 1 })
	r, err := a.Get(ctx, key, &userOptions, src.load)
	if err != nil || r.Value.(user).ID != 2 {
		t.Errorf("Get after Redis restarted = %+v, %v; want user 2 from the source", r, err)
	}
}

// faultEnv is what a fault-injection case acts on.
type faultEnv struct {
	proxy         *redistest.Proxy
	pause, resume func()
}
