package tier

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var errSourceDown = errors.New("source down")

// typeLoader answers ids by their name: "missing" is not found, "bad" and
// "stale" fail, anything else is "v-" + id.
func typeLoader(_ context.Context, id string) (string, error) {
	switch id {
	case "missing":
		return "", ErrNotFound
	case "bad", "stale":
		return "", errSourceDown
	}
	return "v-" + id, nil
}

// plantExpired writes id's entry to L2 with its fresh time a second past,
// as an entry that outlived its TTL within a stale window looks.
func plantExpired(t *testing.T, s *Store, g *Group[string], id, v string) {
	t.Helper()
	ctx := ctxT(t)
	key, err := g.Key(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, _, err := s.encode(key, v, false, &g.o)
	if err != nil {
		t.Fatal(err)
	}
	env, err := decodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	env.createdAt, env.freshUntil = time.UnixMilli(now.Add(-2*time.Second).UnixMilli()), time.UnixMilli(now.Add(-time.Second).UnixMilli())
	if err := s.cfg.Redis.Set(ctx, key, appendEnvelope(nil, env), time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
}

// typeStatsOf returns the TypeStats of namespace ns, failing if there is
// none.
func typeStatsOf(t *testing.T, s *Store, ns string) TypeStats {
	t.Helper()
	for _, ts := range s.TypeStats() {
		if ts.Namespace == ns {
			return ts
		}
	}
	t.Fatalf("TypeStats has no namespace %q: %+v", ns, s.TypeStats())
	return TypeStats{}
}

// counts is the counters of a TypeStats, without its histogram.
func counts(ts TypeStats) TypeStats {
	ts.ReadLatency = LatencyHistogram{}
	return ts
}

// TestTypeStatsScripted reads two data types through a scripted sequence
// (L1 hits, L2 hits, loads, not found, load errors, a stale value served)
// and checks that each type's counters say exactly what was done to it,
// that their L1 hits add up to Stats.L1Hits, and that every read is in the
// latency histogram.
func TestTypeStatsScripted(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(fmt.Sprintf("observed=%v", observed), func(t *testing.T) {
			ctx := ctxT(t)
			cfg := Config{}
			if observed {
				cfg.ObserveRead = func(Tier, time.Duration) {}
			}
			s := newStore(t, cfg)
			nsA, nsB := fmt.Sprintf("tsa%d", keySeq.Add(1)), fmt.Sprintf("tsb%d", keySeq.Add(1))
			a, err := NewGroup(s, GroupConfig[string]{Namespace: nsA, Entity: "item", Load: typeLoader,
				Options: Options{StaleIfError: time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewGroup(s, GroupConfig[string]{Namespace: nsB, Entity: "thing", Load: typeLoader})
			if err != nil {
				t.Fatal(err)
			}
			get := func(g *Group[string], id string, wantTier Tier, wantErr error) {
				t.Helper()
				_, tr, err := g.Get(ctx, id)
				if tr != wantTier || !errors.Is(err, wantErr) {
					t.Fatalf("Get(%q) = tier %v, %v; want %v, %v", id, tr, err, wantTier, wantErr)
				}
				s.WaitL1()
			}
			get(a, "1", TierSource, nil) // load
			get(a, "1", TierL1, nil)
			get(a, "1", TierL1, nil)
			get(a, "missing", TierSource, ErrNotFound) // load, not found
			get(a, "missing", TierL1, ErrNotFound)     // negative entry
			get(a, "bad", TierNone, errSourceDown)     // load error
			get(b, "x", TierSource, nil)               // load
			get(b, "x", TierL1, nil)
			s.ClearLocal()
			get(a, "1", TierL2, nil)
			get(b, "x", TierL2, nil)
			get(b, "x", TierL1, nil)
			plantExpired(t, s, a, "stale", "old")
			get(a, "stale", TierL2, nil) // load error, stale-if-error serves the expired entry

			gotA, gotB := typeStatsOf(t, s, nsA), typeStatsOf(t, s, nsB)
			wantA := TypeStats{Namespace: nsA, Entity: "item", L1Hits: 3, L2Hits: 2, SourceHits: 2, Failed: 1,
				NotFound: 2, StaleServed: 1, Loads: 4, LoadErrors: 2}
			wantB := TypeStats{Namespace: nsB, Entity: "thing", L1Hits: 2, L2Hits: 1, SourceHits: 1, Loads: 1}
			if counts(gotA) != wantA {
				t.Errorf("TypeStats of %s = %+v; want %+v", nsA, counts(gotA), wantA)
			}
			if counts(gotB) != wantB {
				t.Errorf("TypeStats of %s = %+v; want %+v", nsB, counts(gotB), wantB)
			}
			if got, want := s.Stats().L1Hits, gotA.L1Hits+gotB.L1Hits; got != want {
				t.Errorf("Stats().L1Hits = %d; want %d, the data types' sum", got, want)
			}
			for _, ts := range []TypeStats{gotA, gotB} {
				if got := ts.ReadLatency.Count(); got != ts.Reads() {
					t.Errorf("%s: ReadLatency.Count() = %d; want %d (every read)", ts.Namespace, got, ts.Reads())
				}
				// Reads that left L1 took at least a Redis round trip.
				if slow := ts.Reads() - ts.L1Hits; ts.ReadLatency.Sum < time.Duration(slow)*time.Microsecond {
					t.Errorf("%s: ReadLatency.Sum = %v for %d reads past L1; want at least a µs each", ts.Namespace, ts.ReadLatency.Sum, slow)
				}
			}
			if gotA.ReadLatency.Counts[0] < gotA.L1Hits {
				t.Errorf("first bucket holds %d reads; want at least the %d L1 hits (not timed)", gotA.ReadLatency.Counts[0], gotA.L1Hits)
			}
		})
	}
}

// TestTypeStatsGetMany checks that each id of a batch counts as a read of
// its tier, and that LoadMany counts each id as a load and each id it
// failed as a load error.
func TestTypeStatsGetMany(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{})
	ns := fmt.Sprintf("tsm%d", keySeq.Add(1))
	g, err := NewGroup(s, GroupConfig[string]{Namespace: ns, Entity: "item",
		LoadMany: func(_ context.Context, ids []string) (map[string]string, error) {
			out := map[string]string{}
			be := &BatchError{Errs: map[string]error{}}
			for _, id := range ids {
				switch id {
				case "bad":
					be.Errs[id] = errSourceDown
				case "missing":
				default:
					out[id] = "v-" + id
				}
			}
			return out, be
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.GetMany(ctx, []string{"1", "2", "missing", "bad"}); !errors.Is(err, errSourceDown) {
		t.Fatalf("GetMany = %v; want an error wrapping %v", err, errSourceDown)
	}
	s.WaitL1()
	if _, err := g.GetMany(ctx, []string{"1", "2", "missing"}); err != nil {
		t.Fatalf("GetMany = %v", err)
	}
	got := typeStatsOf(t, s, ns)
	want := TypeStats{Namespace: ns, Entity: "item", L1Hits: 3, SourceHits: 3, Failed: 1, NotFound: 2, Loads: 4, LoadErrors: 1}
	if counts(got) != want {
		t.Errorf("TypeStats = %+v; want %+v", counts(got), want)
	}
	if got.ReadLatency.Count() != got.Reads() {
		t.Errorf("ReadLatency.Count() = %d; want %d", got.ReadLatency.Count(), got.Reads())
	}
}

// TestTypeStatsBound checks that past Config.MaxTypeStats data types the
// rest share one OtherNamespace entry, that Groups of one data type share
// its counters, and that a versioned namespace stays one data type across
// versions.
func TestTypeStatsBound(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t, Config{MaxTypeStats: 2})
	base := fmt.Sprintf("tsc%d", keySeq.Add(1))
	group := func(ns string, versioned bool) *Group[string] {
		t.Helper()
		g, err := NewGroup(s, GroupConfig[string]{Namespace: ns, Entity: "e", Versioned: versioned, Load: typeLoader})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	v := group(base+"v", true)
	plain := group(base+"p", false)
	again := group(base+"p", false) // the same data type
	over1 := group(base+"x", false)
	over2 := group(base+"y", false)
	read := func(g *Group[string], id string) {
		t.Helper()
		if _, _, err := g.Get(ctx, id); err != nil {
			t.Fatalf("Get(%q): %v", id, err)
		}
	}
	read(v, "1")
	if _, err := s.NamespaceVersion(base + "v").Bump(ctx); err != nil {
		t.Fatal(err)
	}
	read(v, "1") // a new version's key: loaded again
	read(plain, "1")
	read(again, "2")
	read(over1, "1")
	read(over2, "1")
	read(over2, "2")

	all := s.TypeStats()
	type row struct {
		ns, entity string
		loads      uint64
	}
	var got []row
	for _, ts := range all {
		got = append(got, row{ts.Namespace, ts.Entity, ts.Loads})
	}
	want := []row{{base + "v", "e", 2}, {base + "p", "e", 2}, {OtherNamespace, "", 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("TypeStats = %v; want %v", got, want)
	}

	none := newStore(t, Config{MaxTypeStats: -1})
	g, err := NewGroup(none, GroupConfig[string]{Namespace: base + "n", Entity: "e", Load: typeLoader})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Get(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if got := none.TypeStats(); len(got) != 1 || got[0].Namespace != OtherNamespace || got[0].Loads != 1 {
		t.Errorf("MaxTypeStats -1: TypeStats = %+v; want one %s entry with 1 load", got, OtherNamespace)
	}
}

// TestTypeStatsLoadPanic checks that a loader's panic is counted as a load
// error of its data type.
func TestTypeStatsLoadPanic(t *testing.T) {
	s := newStore(t, Config{})
	ns := fmt.Sprintf("tsp%d", keySeq.Add(1))
	g, err := NewGroup(s, GroupConfig[string]{Namespace: ns, Entity: "e",
		Load: func(context.Context, string) (string, error) { panic("boom") }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Get(ctxT(t), "1"); !errors.Is(err, ErrPanic) {
		t.Fatalf("Get = %v; want ErrPanic", err)
	}
	got := counts(typeStatsOf(t, s, ns))
	want := TypeStats{Namespace: ns, Entity: "e", Failed: 1, Loads: 1, LoadErrors: 1}
	if got != want {
		t.Errorf("TypeStats = %+v; want %+v", got, want)
	}
}

// TestLatencyHistogram checks the bucket bounds, the bucket a latency
// falls in, and quantile estimates.
func TestLatencyHistogram(t *testing.T) {
	if got := LatencyBound(0); got != time.Microsecond {
		t.Errorf("LatencyBound(0) = %v; want 1µs", got)
	}
	if got := LatencyBound(LatencyBuckets - 2); got != 10*time.Second {
		t.Errorf("LatencyBound(%d) = %v; want 10s", LatencyBuckets-2, got)
	}
	for i := 1; i < LatencyBuckets; i++ {
		if LatencyBound(i) <= LatencyBound(i-1) {
			t.Errorf("LatencyBound(%d) = %v <= LatencyBound(%d) = %v", i, LatencyBound(i), i-1, LatencyBound(i-1))
		}
	}
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {time.Microsecond, 0}, {time.Microsecond + 1, 1}, {3 * time.Microsecond, 2},
		{time.Millisecond, 9}, {10 * time.Second, LatencyBuckets - 2}, {time.Hour, LatencyBuckets - 1},
	} {
		if got := latencyBucket(c.d); got != c.want {
			t.Errorf("latencyBucket(%v) = %d; want %d", c.d, got, c.want)
		}
	}
	var l latencyCounters
	for range 90 {
		l.observe(500 * time.Nanosecond) // bucket 0: [0, 1µs]
	}
	for range 10 {
		l.observe(3 * time.Millisecond) // bucket 11: (2ms, 5ms]
	}
	h := l.snapshot()
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 555 * time.Nanosecond}, {0.9, time.Microsecond}, {0.95, 3500 * time.Microsecond}, {1, 5 * time.Millisecond},
	} {
		if got := h.Quantile(c.q); got < c.want-time.Nanosecond || got > c.want+time.Nanosecond {
			t.Errorf("Quantile(%v) = %v; want %v", c.q, got, c.want)
		}
	}
	if want := 90*500*time.Nanosecond + 10*3*time.Millisecond; h.Sum != want {
		t.Errorf("Sum = %v; want %v", h.Sum, want)
	}
	var empty LatencyHistogram
	if got := empty.Quantile(0.99); got != 0 {
		t.Errorf("empty Quantile = %v; want 0", got)
	}
}
