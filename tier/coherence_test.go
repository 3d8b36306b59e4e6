package tier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/keys"
)

// heldDecoder decodes users, but holds the first decode until release is
// closed, signalling started when it begins: it holds a flight between its
// L2 read and its L1 fill.
func heldDecoder(started, release chan struct{}) Decoder {
	var once sync.Once
	decode := decodeAs[user]()
	return func(c codec.Codec, payload []byte) (any, error) {
		once.Do(func() {
			close(started)
			<-release
		})
		return decode(c, payload)
	}
}

// TestNoStaleFillAcrossStores holds a read of Store A (in its loader, or
// between its L2 read and its L1 fill) while Store B writes or deletes the
// key, then lets it finish: A's older value must not land in A's L1, B's L1
// or L2.
func TestNoStaleFillAcrossStores(t *testing.T) {
	writes := []struct {
		name string
		do   func(ctx context.Context, s *Store, key string) error
		want int64 // the ID a read finds after the write; 0: none
	}{
		{"set", func(ctx context.Context, s *Store, key string) error {
			return s.Set(ctx, key, sampleUser(20), &userOptions)
		}, 20},
		{"delete", func(ctx context.Context, s *Store, key string) error { return s.Delete(ctx, key) }, 0},
	}
	paths := []string{"load", "l2 hit"}
	for _, top := range topologies() {
		for _, w := range writes {
			for _, path := range paths {
				t.Run(top.name+"/"+w.name+"/"+path, func(t *testing.T) {
					ctx := ctxT(t)
					rdb := top.client(t)
					a := newStore(t, Config{Redis: top.client(t)})
					b := newStore(t, Config{Redis: top.client(t)})
					key := testKey(t)
					subscribe(t, key, a, b)
					started, release := make(chan struct{}), make(chan struct{})
					o := userOptions
					var load Loader
					switch path {
					case "load":
						load = (&loader{fn: func(context.Context, string) (any, error) {
							close(started)
							<-release
							return sampleUser(10), nil // read before the write
						}}).load
					case "l2 hit":
						if err := b.Set(ctx, key, sampleUser(10), &userOptions); err != nil {
							t.Fatal(err)
						}
						settled(t, b, a)
						o.Decode = heldDecoder(started, release)
					}
					done := make(chan error, 1)
					go func() {
						r, err := a.Get(ctx, key, &o, load)
						if err == nil && r.Value.(user).ID != 10 {
							err = fmt.Errorf("reader got %+v; want the value it read, user 10", r.Value)
						}
						done <- err
					}()
					<-started
					before := a.Stats().InvalidationsReceived
					if err := w.do(ctx, b, key); err != nil {
						t.Fatal(err)
					}
					// The invalidation reaches A while its read is held.
					waitFor(t, func() bool { return a.Stats().InvalidationsReceived > before })
					close(release)
					if err := <-done; err != nil {
						t.Fatalf("Get: %v", err)
					}
					for name, s := range map[string]*Store{"A": a, "B": b} {
						if v, hit := inL1(s, key); hit && v.(user).ID == 10 {
							t.Errorf("L1 of %s holds the stale value after a %s elsewhere", name, w.name)
						}
					}
					if raw := rawGet(t, rdb, key); raw != nil {
						if _, e, err := a.decodeL2(key, raw, &userOptions); err == nil && e != nil && !e.negative && e.value.(user).ID == 10 {
							t.Errorf("L2 holds the stale value after a %s elsewhere", w.name)
						}
					}
					if got := a.Stats().StaleFills; got == 0 {
						t.Errorf("A's StaleFills = 0; want the refused fill counted")
					}
					// And the next reads, anywhere, see the write.
					for name, s := range map[string]*Store{"A": a, "B": b} {
						r, err := s.Get(ctx, key, &userOptions, constLoader(sampleUser(30)).load)
						want := w.want
						if want == 0 {
							want = 30 // deleted: loaded again from the source
						}
						if err != nil || r.Value.(user).ID != want {
							t.Errorf("%s: Get after the %s = %+v, %v; want user %d", name, w.name, r.Value, err, want)
						}
					}
				})
			}
		}
	}
}

// TestStampedeAcrossStores: 1000 concurrent readers of a missing key on four
// Stores (each with its own client, as four processes would have), a source
// that takes 50 ms: exactly one load.
func TestStampedeAcrossStores(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			stores := make([]*Store, 4)
			for i := range stores {
				stores[i] = newStore(t, Config{Redis: top.client(t)})
			}
			key := testKey(t)
			subscribe(t, key, stores...) // a first subscription is not what this measures
			l := &loader{fn: func(context.Context, string) (any, error) {
				time.Sleep(50 * time.Millisecond) // a slow source
				return sampleUser(11), nil
			}}
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for i := 0; i < 1000; i++ {
				wg.Add(1)
				go func(s *Store) {
					defer wg.Done()
					<-start
					r, err := s.Get(ctx, key, &userOptions, l.load)
					if err == nil && r.Value.(user).ID != 11 {
						err = fmt.Errorf("got %+v", r.Value)
					}
					if err != nil {
						errs <- err
					}
				}(stores[i%len(stores)])
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("Get: %v", err)
			}
			if got := l.calls.Load(); got != 1 {
				t.Errorf("source loads across 4 stores = %d; want 1", got)
				for _, s := range stores {
					t.Logf("%+v", s.Stats())
				}
			}
		})
	}
}

// TestFillLockHolderKilled: the Store holding a key's fill lease dies
// mid-load (its lease left in Redis to expire). Readers on three other Stores
// get the value with exactly one more load, none waiting longer than the
// lease TTL plus the load and a poll.
func TestFillLockHolderKilled(t *testing.T) {
	// Long enough that the lease outlives the holder's death (its load
	// starting, its Close) on a loaded machine: at 300 ms it expired
	// before the test could see it.
	const lockTTL = time.Second
	const loadTime = 20 * time.Millisecond
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			rdb := top.client(t)
			cfg := func() Config { return Config{Redis: top.client(t), FillLockTTL: lockTTL} }
			holder := newStore(t, cfg())
			key := testKey(t)
			started := make(chan struct{})
			hung := &loader{fn: func(ctx context.Context, _ string) (any, error) {
				close(started)
				<-ctx.Done() // the holder's load never finishes
				return nil, ctx.Err()
			}}
			hctx, cancel := context.WithCancel(ctx)
			holderDone := make(chan struct{})
			go func() {
				defer close(holderDone)
				_, _ = holder.Get(hctx, key, &userOptions, hung.load)
			}()
			<-started
			cancel()
			holder.Close() // its process goes away: the lease stays
			<-holderDone
			raw := rawGet(t, rdb, key)
			if env, err := decodeEnvelope(raw); err != nil || !env.lease() {
				t.Fatalf("key holds %q after the holder died; want its lease", raw)
			}
			others := make([]*Store, 3)
			for i := range others {
				others[i] = newStore(t, cfg())
			}
			subscribe(t, key, others...)
			l := &loader{fn: func(context.Context, string) (any, error) {
				time.Sleep(loadTime)
				return sampleUser(12), nil
			}}
			const readers = 300
			var wg sync.WaitGroup
			waits := make(chan time.Duration, readers)
			errs := make(chan error, readers)
			for i := 0; i < readers; i++ {
				wg.Add(1)
				go func(s *Store) {
					defer wg.Done()
					begin := time.Now()
					r, err := s.Get(ctx, key, &userOptions, l.load)
					waits <- time.Since(begin)
					if err == nil && r.Value.(user).ID != 12 {
						err = fmt.Errorf("got %+v", r.Value)
					}
					if err != nil {
						errs <- err
					}
				}(others[i%len(others)])
			}
			wg.Wait()
			close(waits)
			close(errs)
			for err := range errs {
				t.Errorf("Get: %v", err)
			}
			if got := l.calls.Load(); got != 1 {
				t.Errorf("loads after the holder died = %d; want 1", got)
			}
			var longest time.Duration
			for w := range waits {
				longest = max(longest, w)
			}
			// The lease TTL, the load, a poll interval, and slack for -race.
			if bound := lockTTL + loadTime + 250*time.Millisecond; longest > bound {
				t.Errorf("a reader waited %v; want at most %v", longest, bound)
			}
			t.Logf("longest wait %v (lease TTL %v)", longest, lockTTL)
		})
	}
}

// TestDeletePattern removes exactly the matching keys on every master and
// clears every instance's L1.
func TestDeletePattern(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			rdb := top.client(t)
			a := newStore(t, Config{Redis: top.client(t)})
			b := newStore(t, Config{Redis: top.client(t)})
			ns, err := keys.NewNamespace(fmt.Sprintf("pd%d", keySeq.Add(1)))
			if err != nil {
				t.Fatal(err)
			}
			other, _ := keys.NewNamespace(ns.Name() + "x")
			var match, keep []string
			add := func(dst *[]string, n keys.Namespace, entity, id string) {
				k, err := n.Key(entity, id)
				if err != nil {
					t.Fatal(err)
				}
				*dst = append(*dst, k)
			}
			for i := 0; i < 300; i++ { // spread over every master
				add(&match, ns, "user", fmt.Sprintf("a%d", i))
				add(&keep, ns, "order", fmt.Sprintf("a%d", i))
				add(&keep, other, "user", fmt.Sprintf("a%d", i))
			}
			for _, id := range []string{"a*", "a?", "a[1]", `a\b`, "a{x}", "a:b"} {
				add(&match, ns, "user", id)
			}
			for _, id := range []string{"b*", "*", "[a]", "?"} {
				add(&keep, ns, "user", id)
			}
			subscribe(t, match[0], a, b)
			subscribe(t, keep[len(keep)-5], a, b) // the other namespace
			for _, k := range append(append([]string{}, match...), keep...) {
				if err := a.Set(ctx, k, sampleUser(1), &userOptions); err != nil {
					t.Fatal(err)
				}
			}
			settled(t, a, b)
			if _, err := b.Get(ctx, match[0], &userOptions, nil); err != nil {
				t.Fatal(err)
			}
			if _, hit := inL1(b, match[0]); !hit {
				t.Fatal("not in b's L1")
			}
			pattern, err := ns.IDPrefixPattern("user", "a")
			if err != nil {
				t.Fatal(err)
			}
			clears := b.Stats().L1Clears
			n, err := a.DeletePattern(ctx, pattern)
			if err != nil {
				t.Fatalf("DeletePattern(%q): %v", pattern, err)
			}
			if n != int64(len(match)) {
				t.Errorf("DeletePattern(%q) = %d; want %d", pattern, n, len(match))
			}
			for _, k := range match {
				if rdb.Exists(ctx, k).Val() != 0 {
					t.Errorf("%q survived DeletePattern(%q)", k, pattern)
				}
			}
			for _, k := range keep {
				if rdb.Exists(ctx, k).Val() != 1 {
					t.Errorf("%q deleted by DeletePattern(%q); want kept", k, pattern)
				}
			}
			if _, hit := inL1(a, match[0]); hit {
				t.Errorf("a's L1 still holds %q", match[0])
			}
			waitFor(t, func() bool { return b.Stats().L1Clears > clears })
			if _, hit := inL1(b, match[0]); hit {
				t.Errorf("b's L1 still holds %q", match[0])
			}
		})
	}
	t.Run("pattern without a literal namespace", func(t *testing.T) {
		s := newStore(t, Config{})
		for _, p := range []string{"*", "*:user:*", "shop", "sh?p:*", ":x"} {
			if _, err := s.DeletePattern(ctxT(t), p); !errors.Is(err, ErrPattern) {
				t.Errorf("DeletePattern(%q) error = %v; want ErrPattern", p, err)
			}
		}
	})
}

// TestNamespaceBump: one instance bumps a namespace's version and every
// instance builds keys of the new version from then on.
func TestNamespaceBump(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			stores := []*Store{
				newStore(t, Config{Redis: top.client(t)}),
				newStore(t, Config{Redis: top.client(t)}),
				newStore(t, Config{Redis: top.client(t)}),
			}
			name := fmt.Sprintf("nb%d", keySeq.Add(1))
			ns, _ := keys.NewNamespace(name)
			// read builds the key under the store's current version.
			read := func(s *Store, src int64) (int64, error) {
				v, err := s.NamespaceVersion(name).Get(ctx)
				if err != nil {
					return 0, err
				}
				k, _ := ns.Versioned(v).Key("user", "1")
				r, err := s.Get(ctx, k, &userOptions, constLoader(sampleUser(src)).load)
				if err != nil {
					return 0, err
				}
				return r.Value.(user).ID, nil
			}
			for _, s := range stores {
				if got, err := read(s, 1); err != nil || got != 1 {
					t.Fatalf("read = %d, %v; want 1", got, err)
				}
			}
			before, _ := stores[0].NamespaceVersion(name).Get(ctx)
			v, err := stores[0].NamespaceVersion(name).Bump(ctx)
			if err != nil || v <= before {
				t.Fatalf("Bump = %d, %v; want more than %d", v, err, before)
			}
			for i, s := range stores {
				waitFor(t, func() bool { got, _ := s.NamespaceVersion(name).Get(ctx); return got == v })
				if got, err := read(s, 2); err != nil || got != 2 {
					t.Errorf("store %d: read after the bump = %d, %v; want 2 (a miss under the new version)", i, got, err)
				}
			}
			// A Store started later reads the version from Redis.
			late := newStore(t, Config{Redis: top.client(t)})
			if got, err := late.NamespaceVersion(name).Get(ctx); err != nil || got != v {
				t.Errorf("late store's version = %d, %v; want %d", got, err, v)
			}
		})
	}
}

// TestNamespaceVersionLostBump: a bump whose message never reaches a Store
// (its sender died before publishing it, here a raw INCR of the version key;
// or a Store without the bus) reaches it within L1TTLCap, and the Store does
// not read the version from Redis on every Get meanwhile.
func TestNamespaceVersionLostBump(t *testing.T) {
	const (
		capTTL = 300 * time.Millisecond
		// slack covers the polling, the 1000 Gets between the bump and
		// the wait, and a busy machine under -race (732 ms seen at a load
		// average of 8 on 2 CPUs).
		slack = time.Second
	)
	for _, top := range topologies() {
		for _, c := range []struct {
			name       string
			disableBus bool
			bump       func(ctx context.Context, rdb redis.UniversalClient, name string) error
		}{
			{"raw INCR", false, func(ctx context.Context, rdb redis.UniversalClient, name string) error {
				return rdb.Incr(ctx, versionKeyPrefix+name).Err()
			}},
			{"receiver without bus", true, func(ctx context.Context, rdb redis.UniversalClient, name string) error {
				s, err := New(&Config{Redis: rdb, L2Timeout: time.Second})
				if err != nil {
					return err
				}
				defer s.Close()
				_, err = s.NamespaceVersion(name).Bump(ctx)
				return err
			}},
		} {
			t.Run(top.name+"/"+c.name, func(t *testing.T) {
				ctx := ctxT(t)
				rdb := top.client(t)
				name := fmt.Sprintf("lb%d", keySeq.Add(1))
				reads := &versionReads{key: versionKeyPrefix + name}
				own := top.client(t)
				own.AddHook(reads)
				s := newStore(t, Config{Redis: own, L1TTLCap: capTTL, DisableBus: c.disableBus})
				nv := s.NamespaceVersion(name)
				start := time.Now()
				first, err := nv.Get(ctx)
				if err != nil || first == 0 {
					t.Fatalf("Get = %d, %v; want a version made by the first use", first, err)
				}
				if err := c.bump(ctx, rdb, name); err != nil {
					t.Fatalf("bump: %v", err)
				}
				bumped := time.Now()
				for range 1000 {
					if _, err := nv.Get(ctx); err != nil {
						t.Fatalf("Get after the bump: %v", err)
					}
				}
				// The first Get's read, the subscription's, and one per
				// L1TTLCap since.
				if got, most := reads.n.Load(), 3+int64(time.Since(start)/capTTL); got > most {
					t.Errorf("1001 Gets over %v read the version from Redis %d times; want at most %d", time.Since(start), got, most)
				}
				waitFor(t, func() bool { got, _ := nv.Get(ctx); return got > first })
				if took := time.Since(bumped); took > capTTL+slack {
					t.Errorf("the bumped version reached the Store %v after the bump; want within L1TTLCap %v (+%v slack)", took, capTTL, slack)
				}
			})
		}
	}
}

// versionReads counts the GETs of one key through the client it hooks.
type versionReads struct {
	key string
	n   atomic.Int64
}

func (h *versionReads) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *versionReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		// A read of the version is the readVersion script (EVALSHA; an
		// EVAL follows only when Redis does not know the script yet).
		if args := cmd.Args(); cmd.Name() == "evalsha" && len(args) >= 4 && args[3] == h.key {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *versionReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestDeleteManyKeysAcrossSlots deletes keys of every slot in one call.
func TestDeleteManyKeysAcrossSlots(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			rdb := top.client(t)
			a := newStore(t, Config{Redis: top.client(t)})
			b := newStore(t, Config{Redis: top.client(t)})
			prefix := testKey(t)
			ks := make([]string, 200)
			for i := range ks {
				ks[i] = fmt.Sprintf("%s:%d", prefix, i)
			}
			subscribe(t, ks[0], a, b)
			for _, k := range ks {
				if err := a.Set(ctx, k, sampleUser(1), &userOptions); err != nil {
					t.Fatal(err)
				}
			}
			settled(t, a, b)
			for _, k := range ks {
				if _, err := b.Get(ctx, k, &userOptions, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Delete(ctx, ks...); err != nil {
				t.Fatalf("Delete(%d keys): %v", len(ks), err)
			}
			settled(t, a, b)
			for _, k := range ks {
				if rdb.Exists(ctx, k).Val() != 0 {
					t.Errorf("%q survived Delete", k)
				}
				if _, hit := inL1(b, k); hit {
					t.Errorf("%q still in the other Store's L1", k)
				}
			}
		})
	}
}

// TestL1HitAllocatesNothing: the bus and the breaker stay off the L1 hit
// path.
func TestL1HitAllocatesNothing(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{})
	key := testKey(t)
	if _, err := s.Get(ctx, key, &userOptions, constLoader(sampleUser(1)).load); err != nil {
		t.Fatal(err)
	}
	s.WaitL1()
	cases := []struct {
		name string
		read func() bool
	}{
		{"Get", func() bool { r, err := s.Get(ctx, key, &userOptions, nil); return err == nil && r.Tier == TierL1 }},
		{"LookupL1", func() bool { _, hit, err := l1Peek(s, key); return hit && err == nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.read() {
				t.Fatal("not an L1 hit")
			}
			if allocs := testing.AllocsPerRun(1000, func() { c.read() }); allocs != 0 {
				t.Errorf("%s L1 hit allocates %.1f times; want 0", c.name, allocs)
			}
		})
	}
}
