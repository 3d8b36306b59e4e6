package tier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// batchSource is a source of strings ("v-{id}") counting the loads of each
// id; fail names ids whose load fails with errSource, absent ids the source
// does not have.
type batchSource struct {
	mu     sync.Mutex
	loads  map[string]int
	calls  atomic.Int64
	fail   map[string]bool
	absent map[string]bool
	// gate, when set, is called at the start of each LoadMany call.
	gate func(ids []string)
}

var errSource = errors.New("source down")

func newBatchSource() *batchSource { return &batchSource{loads: make(map[string]int)} }

func (b *batchSource) value(id string) string { return "v-" + id }

func (b *batchSource) loadMany(ctx context.Context, ids []string) (map[string]string, error) {
	b.calls.Add(1)
	if b.gate != nil {
		b.gate(ids)
	}
	out := make(map[string]string, len(ids))
	errs := map[string]error{}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		b.loads[id]++
		switch {
		case b.fail[id]:
			errs[id] = fmt.Errorf("load %s: %w", id, errSource)
		case b.absent[id]:
		default:
			out[id] = b.value(id)
		}
	}
	if len(errs) > 0 {
		return out, &BatchError{Errs: errs}
	}
	return out, nil
}

func (b *batchSource) load(ctx context.Context, id string) (string, error) {
	vals, err := b.loadMany(ctx, []string{id})
	if v, ok := vals[id]; ok {
		return v, nil
	}
	if err != nil {
		return "", err
	}
	return "", ErrNotFound
}

func (b *batchSource) loadCount(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loads[id]
}

var groupSeq atomic.Int64

// newBatchGroup returns a Group of strings in a namespace no other test
// uses, loading from src (with LoadMany unless single).
func newBatchGroup(t testing.TB, s *Store, ns string, src *batchSource, single bool) *Group[string] {
	t.Helper()
	cfg := GroupConfig[string]{Namespace: ns, Entity: "item", Load: src.load}
	if !single {
		cfg.LoadMany = src.loadMany
	}
	g, err := NewGroup(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func batchNamespace() string { return "batch" + strconv.FormatInt(groupSeq.Add(1), 10) }

// checkServed checks that got holds exactly the source's value of every id
// of want.
func checkServed(t testing.TB, src *batchSource, got map[string]string, want []string) {
	t.Helper()
	for _, id := range want {
		if v, ok := got[id]; !ok || v != src.value(id) {
			t.Errorf("GetMany: [%q] = %q, %v; want %q", id, v, ok, src.value(id))
		}
	}
}

// TestGetManyFleetLoadsOnce: 4 Stores x 50 concurrent GetMany of
// overlapping random id sets of a missing key space load every id exactly
// once across the fleet, and every caller gets the source's values.
//
// Its Stores and clients wait for Redis up to patientTimeout: a Store whose
// Redis call fails loads from the source without a lease, as it should, and
// under -race on a loaded machine the 200 concurrent batches' calls took
// longer than a second (the Stores logged "batch read: context deadline
// exceeded" and "i/o timeout", and ids were loaded 2 to 7 times).
func TestGetManyFleetLoadsOnce(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*patientTimeout)
			defer cancel()
			src := newBatchSource()
			ns := batchNamespace()
			const stores, callers, space, per = 4, 50, 300, 40
			groups := make([]*Group[string], stores)
			for i := range groups {
				s := newStore(t, Config{Redis: top.patientClient(t), L2Timeout: patientTimeout})
				groups[i] = newBatchGroup(t, s, ns, src, false)
			}
			var wg sync.WaitGroup
			asked := make([]bool, space)
			var askedMu sync.Mutex
			for i := range stores * callers {
				ids := make([]string, per)
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				askedMu.Lock()
				for j := range ids {
					n := rng.IntN(space)
					asked[n] = true
					ids[j] = strconv.Itoa(n)
				}
				askedMu.Unlock()
				wg.Go(func() {
					got, err := groups[i%stores].GetMany(ctx, ids)
					if err != nil {
						t.Errorf("GetMany: %v", err)
						return
					}
					checkServed(t, src, got, ids)
				})
			}
			wg.Wait()
			for n, a := range asked {
				id := strconv.Itoa(n)
				want := 0
				if a {
					want = 1
				}
				if got := src.loadCount(id); got != want {
					t.Errorf("id %q loaded %d times across the fleet; want %d", id, got, want)
				}
			}
		})
	}
}

// TestGetManyJoinsFlights: a Get of an id a batch is loading joins the
// batch's flight, and a batch joins a Get's.
func TestGetManyJoinsFlights(t *testing.T) {
	ctx := ctxT(t)
	src := newBatchSource()
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	src.gate = func([]string) {
		once.Do(func() { close(started); <-release })
	}
	s := newStore(t, Config{})
	g := newBatchGroup(t, s, batchNamespace(), src, false)
	done := make(chan map[string]string)
	go func() {
		got, err := g.GetMany(ctx, []string{"a", "b"})
		if err != nil {
			t.Errorf("GetMany: %v", err)
		}
		done <- got
	}()
	<-started
	var joined sync.WaitGroup
	joined.Go(func() {
		if v, _, err := g.Get(ctx, "a"); err != nil || v != "v-a" {
			t.Errorf("Get(a) = %q, %v; want v-a", v, err)
		}
	})
	joined.Go(func() {
		got, err := g.GetMany(ctx, []string{"b", "a"})
		if err != nil {
			t.Errorf("second GetMany: %v", err)
		}
		checkServed(t, src, got, []string{"a", "b"})
	})
	waitFor(t, func() bool { return s.Stats().L1Misses >= 5 })
	close(release)
	checkServed(t, src, <-done, []string{"a", "b"})
	joined.Wait()
	for _, id := range []string{"a", "b"} {
		if n := src.loadCount(id); n != 1 {
			t.Errorf("id %q loaded %d times; want 1", id, n)
		}
	}
}

// TestGetManyWriteDuringLoad: a write of one id while a batch loads it
// keeps the batch's older value out of every cache (L1, L2 and the other
// instance); the other ids are cached.
func TestGetManyWriteDuringLoad(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			src := newBatchSource()
			ns := batchNamespace()
			started, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			src.gate = func([]string) {
				once.Do(func() { close(started); <-release })
			}
			a := newStore(t, Config{Redis: top.client(t)})
			b := newStore(t, Config{Redis: top.client(t)})
			ga := newBatchGroup(t, a, ns, src, false)
			gb := newBatchGroup(t, b, ns, src, false)
			wkey, _ := ga.Key(ctx, "w")
			subscribe(t, wkey, a, b)
			done := make(chan map[string]string)
			go func() {
				got, err := ga.GetMany(ctx, []string{"x", "w", "y"})
				if err != nil {
					t.Errorf("GetMany: %v", err)
				}
				done <- got
			}()
			<-started
			if err := gb.Set(ctx, "w", "new"); err != nil {
				t.Fatal(err)
			}
			close(release)
			<-done
			a.fills.Wait()
			a.WaitL1()
			if v, _, err := ga.Get(ctx, "w"); err != nil || v != "new" {
				t.Errorf("a: Get(w) = %q, %v; want new", v, err)
			}
			b.ClearLocal()
			if v, _, err := gb.Get(ctx, "w"); err != nil || v != "new" {
				t.Errorf("b: Get(w) after clearing its L1 = %q, %v; want new (from L2)", v, err)
			}
			for _, id := range []string{"x", "y"} {
				key, _ := ga.Key(ctx, id)
				if rawGet(t, top.client(t), key) == nil {
					t.Errorf("L2 has no entry for %q; want the loaded value", id)
				}
				if v, ok, err := l1Peek(a, key); !ok || err != nil || v != src.value(id) {
					t.Errorf("a's L1[%q] = %v, %v, %v; want %q", id, v, ok, err, src.value(id))
				}
			}
			if n := src.loadCount("w"); n != 1 {
				t.Errorf("w loaded %d times; want 1 (then written)", n)
			}
		})
	}
}

// TestGetManyRedisFaults: with Redis slow, silent or down, a batch is served
// from L1 and the source within the caller's deadline.
func TestGetManyRedisFaults(t *testing.T) {
	const l2Timeout = 30 * time.Millisecond
	cases := []struct {
		name  string
		fault func(e *faultEnv)
	}{
		{"latency", func(e *faultEnv) { e.proxy.SetLatency(300 * time.Millisecond) }},
		{"blackhole", func(e *faultEnv) { e.proxy.SetBlackhole(true) }},
		{"cut and refused", func(e *faultEnv) { e.proxy.SetRefuse(true); e.proxy.Cut() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxT(t)
			srv := startServer(t)
			env := &faultEnv{proxy: startProxy(t, srv.Addr())}
			s := newStore(t, Config{Redis: newClient(t, env.proxy.Addr()), L2Timeout: l2Timeout})
			src := newBatchSource()
			g := newBatchGroup(t, s, batchNamespace(), src, false)
			key, _ := g.Key(ctx, "warm")
			subscribe(t, key, s)
			if _, err := g.GetMany(ctx, []string{"warm"}); err != nil {
				t.Fatal(err)
			}
			s.fills.Wait()
			s.WaitL1()
			c.fault(env)
			for round := range 3 {
				ids := []string{"warm"}
				for i := range 20 {
					ids = append(ids, fmt.Sprintf("r%d-%d", round, i))
				}
				rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				start := time.Now()
				got, err := g.GetMany(rctx, ids)
				elapsed := time.Since(start)
				cancel()
				if err != nil {
					t.Fatalf("GetMany: %v", err)
				}
				if want := 3*l2Timeout + 200*time.Millisecond; elapsed > want {
					t.Errorf("GetMany took %v; want at most %v", elapsed, want)
				}
				checkServed(t, src, got, ids)
			}
			if src.loadCount("warm") != 1 {
				t.Errorf("warm loaded %d times; want 1 (then served from L1)", src.loadCount("warm"))
			}
		})
	}
}

// TestGetManyPartialFailure: the ids the source serves are returned and
// cached, the failed ids are named with their errors, the ids the source
// does not have are absent and cached as negative entries; with LoadMany
// and with the single Load.
func TestGetManyPartialFailure(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single=%v", single), func(t *testing.T) {
			ctx := ctxT(t)
			src := newBatchSource()
			src.fail = map[string]bool{"bad1": true, "bad2": true}
			src.absent = map[string]bool{"gone": true}
			s := newStore(t, Config{})
			g := newBatchGroup(t, s, batchNamespace(), src, single)
			ids := []string{"ok1", "bad1", "gone", "ok2", "bad2"}
			got, err := g.GetMany(ctx, ids)
			var be *BatchError
			if !errors.As(err, &be) {
				t.Fatalf("GetMany error = %v; want a *BatchError", err)
			}
			if !errors.Is(err, errSource) {
				t.Errorf("errors.Is(%v, errSource) = false; want true", err)
			}
			if len(be.Errs) != 2 || be.Errs["bad1"] == nil || be.Errs["bad2"] == nil {
				t.Errorf("BatchError.Errs = %v; want bad1 and bad2", be.Errs)
			}
			if !strings.Contains(err.Error(), `"bad1"`) {
				t.Errorf("error %q does not name bad1", err)
			}
			checkServed(t, src, got, []string{"ok1", "ok2"})
			if len(got) != 2 {
				t.Errorf("GetMany returned %v; want only ok1 and ok2", got)
			}
			s.fills.Wait()
			s.ClearLocal() // L2 answers the second read
			got, err = g.GetMany(ctx, []string{"ok1", "ok2", "gone"})
			if err != nil || len(got) != 2 {
				t.Errorf("second GetMany = %v, %v; want ok1 and ok2, nil", got, err)
			}
			for _, id := range []string{"ok1", "ok2", "gone"} {
				if n := src.loadCount(id); n != 1 {
					t.Errorf("%q loaded %d times; want 1 (then cached)", id, n)
				}
			}
			for _, id := range []string{"bad1", "bad2"} {
				key, _ := g.Key(ctx, id)
				if raw := rawGet(t, shared.Client(t), key); raw != nil {
					t.Errorf("L2 holds %q for failed id %q; want nothing (lease released)", raw, id)
				}
			}
		})
	}
}

// TestGetManyEdges: 0 ids, duplicate ids, invalid ids and 10,000 ids.
func TestGetManyEdges(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			src := newBatchSource()
			s := newStore(t, Config{Redis: top.client(t)})
			g := newBatchGroup(t, s, batchNamespace(), src, false)

			if got, err := g.GetMany(ctx, nil); err != nil || len(got) != 0 {
				t.Errorf("GetMany(nil) = %v, %v; want empty, nil", got, err)
			}
			got, err := g.GetMany(ctx, []string{"d", "d", "e", "d"})
			if err != nil || len(got) != 2 {
				t.Errorf("GetMany(d, d, e, d) = %v, %v; want d and e", got, err)
			}
			checkServed(t, src, got, []string{"d", "e"})
			if n := src.loadCount("d"); n != 1 {
				t.Errorf("duplicate id loaded %d times; want 1", n)
			}

			bad := "bad\x00id"
			got, err = g.GetMany(ctx, []string{"f", bad, ""})
			var be *BatchError
			if !errors.As(err, &be) || len(be.Errs) != 2 || be.Errs[bad] == nil || be.Errs[""] == nil {
				t.Errorf("GetMany with invalid ids: error %v; want a BatchError naming both", err)
			} else if !strings.Contains(err.Error(), strconv.Quote(bad)) {
				t.Errorf("error %q does not name %q", err, bad)
			}
			checkServed(t, src, got, []string{"f"})

			const n = 10_000
			ids := make([]string, n)
			for i := range ids {
				ids[i] = "big" + strconv.Itoa(i)
			}
			calls := src.calls.Load()
			got, err = g.GetMany(ctx, ids)
			if err != nil || len(got) != n {
				t.Fatalf("GetMany of %d ids: %d served, %v; want all", n, len(got), err)
			}
			checkServed(t, src, got, ids)
			if c := src.calls.Load() - calls; c != 1 {
				t.Errorf("GetMany of %d missing ids called LoadMany %d times; want 1", n, c)
			}
			s.fills.Wait()
			s.ClearLocal()
			calls = src.calls.Load()
			if got, err = g.GetMany(ctx, ids); err != nil || len(got) != n {
				t.Fatalf("GetMany of %d ids from L2: %d served, %v; want all", n, len(got), err)
			}
			if c := src.calls.Load() - calls; c != 0 {
				t.Errorf("GetMany of %d ids in L2 called LoadMany %d times; want 0", n, c)
			}
		})
	}
}

// TestGetManyCorruptEntries: L2 entries that cannot be decoded are misses:
// the batch serves the source's values for them, never the garbage, and
// the entries are replaced.
func TestGetManyCorruptEntries(t *testing.T) {
	for _, top := range topologies() {
		t.Run(top.name, func(t *testing.T) {
			ctx := ctxT(t)
			rdb := top.client(t)
			src := newBatchSource()
			s := newStore(t, Config{Redis: rdb})
			g := newBatchGroup(t, s, batchNamespace(), src, false)
			// g3 is an empty string: a value, not an absent key.
			garbage := map[string][]byte{"g1": []byte("not an envelope"), "g2": {0xff, 0x00, 0x01}, "g3": {}}
			for id, raw := range garbage {
				key, _ := g.Key(ctx, id)
				if err := rdb.Set(ctx, key, raw, time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}
			ids := []string{"g1", "ok", "g2", "g3"}
			got, err := g.GetMany(ctx, ids)
			if err != nil {
				t.Fatalf("GetMany: %v", err)
			}
			checkServed(t, src, got, ids)
			if n := s.Stats().Corrupt; n != 3 {
				t.Errorf("Stats.Corrupt = %d; want 3", n)
			}
			s.fills.Wait()
			s.ClearLocal()
			if got, err = g.GetMany(ctx, ids); err != nil {
				t.Fatalf("second GetMany: %v", err)
			}
			checkServed(t, src, got, ids)
			for id, raw := range garbage {
				key, _ := g.Key(ctx, id)
				if cur := rawGet(t, rdb, key); string(cur) == string(raw) {
					t.Errorf("L2[%q] still holds the garbage", id)
				}
			}
		})
	}
}

// idCodec is msgpack under panickyCodec's ID: what it writes, panickyCodec
// reads (and panics on).
type idCodec struct{ codec.MsgPack }

func (idCodec) ID() byte { return 200 }

// panickyCodec is msgpack, except that decoding a payload that holds
// "boom" panics, as a faulty codec of a user's might.
type panickyCodec struct{ idCodec }

func (c panickyCodec) Unmarshal(data []byte, v any) error {
	if bytes.Contains(data, []byte("boom")) {
		panic("boom in Unmarshal")
	}
	return c.MsgPack.Unmarshal(data, v)
}

// TestCodecPanic: a codec that panics decoding some L2 entries fails
// neither a read nor the process, whether the entries are read by Get or
// by a batch, small (decoded on the reader's goroutine) or large (decoded
// on several): those entries count as corrupt and are loaded from the
// source, and every id gets its value. A value whose encoding the codec
// panics on is refused by Set with an error wrapping codec.ErrEncode.
func TestCodecPanic(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // large batches decode on several goroutines
	}
	for _, n := range []int{4, 3 * decodeAheadMin} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			ctx := ctxT(t)
			src := newBatchSource()
			ns := batchNamespace()
			group := func(c codec.Codec) (*Store, *Group[string]) {
				s := newStore(t, Config{})
				g, err := NewGroup(s, GroupConfig[string]{
					Namespace: ns, Entity: "item", Options: Options{Codec: c},
					Load: src.load, LoadMany: src.loadMany,
				})
				if err != nil {
					t.Fatal(err)
				}
				return s, g
			}
			ws, writer := group(idCodec{})
			s, g := group(panickyCodec{})
			var ids []string
			booms := 0
			for i := range n {
				id := strconv.Itoa(i)
				if i%4 == 1 {
					id = "boom" + id // its value, "v-boom…", makes the codec panic
					booms++
				}
				ids = append(ids, id)
			}
			if _, err := writer.GetMany(ctx, append(ids, "boom-single")); err != nil {
				t.Fatalf("writer's GetMany: %v", err)
			}
			ws.fills.Wait()

			got, err := g.GetMany(context.Background(), ids)
			if err != nil {
				t.Fatalf("GetMany over entries the codec panics on: %v", err)
			}
			checkServed(t, src, got, ids)
			if c := s.Stats().Corrupt; c != uint64(booms) {
				t.Errorf("Stats.Corrupt = %d; want %d (the entries the codec panicked on)", c, booms)
			}
			for _, id := range ids {
				if want := 1 + strings.Count(id, "boom"); src.loadCount(id) != want {
					t.Errorf("%q loaded %d times; want %d", id, src.loadCount(id), want)
				}
			}
			if v, _, err := g.Get(context.Background(), "boom-single"); err != nil || v != src.value("boom-single") {
				t.Errorf("Get over an entry the codec panics on = %q, %v; want %q", v, err, src.value("boom-single"))
			}
			if err := g.Set(ctx, "boom-set", "boom"); !errors.Is(err, codec.ErrEncode) || !errors.Is(err, ErrPanic) {
				t.Errorf("Set of a value the codec panics on = %v; want an error wrapping codec.ErrEncode and ErrPanic", err)
			}
		})
	}
}
