package tier

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// readLog records what Config.ObserveRead reports.
type readLog struct {
	mu    sync.Mutex
	tiers []Tier
	bad   []time.Duration // durations that are not positive
}

func (l *readLog) observe(t Tier, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tiers = append(l.tiers, t)
	if d <= 0 {
		l.bad = append(l.bad, d)
	}
}

func (l *readLog) take() ([]Tier, []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tiers, bad := l.tiers, l.bad
	l.tiers, l.bad = nil, nil
	return tiers, bad
}

func TestObserveRead(t *testing.T) {
	ctx := ctxT(t)
	var log readLog
	s := newStore(t, Config{ObserveRead: log.observe})
	g, err := NewGroup(s, GroupConfig[string]{Namespace: "test", Entity: "observe", Load: func(context.Context, string) (string, error) { return "v", nil }})
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(testKey(t), "test:")
	key, err := g.Key(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	gone, broken := testKey(t), testKey(t)
	load := constLoader("v").load
	missing := func(context.Context, string) (any, error) { return nil, ErrNotFound }
	failing := func(context.Context, string) (any, error) { return nil, errors.New("source down") }
	get := func(key string, load Loader) func() {
		return func() { _, _ = s.Get(ctx, key, nil, load) }
	}

	steps := []struct {
		name string
		read func()
		want []Tier
	}{
		{"miss loads", get(key, load), []Tier{TierSource}},
		{"L1 hit", get(key, load), []Tier{TierL1}},
		{"Group L1 hit", func() {
			if _, tr, err := g.Get(ctx, id); tr != TierL1 || err != nil {
				t.Errorf("Group.Get(%q) = %v, %v; want an L1 hit", id, tr, err)
			}
		}, []Tier{TierL1}},
		{"L1 cleared: L2", func() { s.ClearLocal(); get(key, load)() }, []Tier{TierL2}},
		{"Group L1 cleared: L2, reported once", func() {
			s.ClearLocal()
			if _, tr, err := g.Get(ctx, id); tr != TierL2 || err != nil {
				t.Errorf("Group.Get(%q) after ClearLocal = %v, %v; want an L2 hit", id, tr, err)
			}
		}, []Tier{TierL2}},
		{"not found from the source", get(gone, missing), []Tier{TierSource}},
		{"cached not found from L1", get(gone, missing), []Tier{TierL1}},
		{"load error", get(broken, failing), []Tier{TierNone}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.read()
			s.WaitL1()
			tiers, bad := log.take()
			if !slices.Equal(tiers, st.want) {
				t.Errorf("observed tiers %v; want %v", tiers, st.want)
			}
			if len(bad) > 0 {
				t.Errorf("observed durations %v; want positive", bad)
			}
		})
	}
}

// TestObserveReadL1HitAllocatesNothing: the hook adds a clock read, never an
// allocation.
func TestObserveReadL1HitAllocatesNothing(t *testing.T) {
	ctx := ctxT(t)
	for _, hooked := range []bool{false, true} {
		var cfg Config
		if hooked {
			cfg.ObserveRead = func(Tier, time.Duration) {}
		}
		s := newStore(t, cfg)
		g, err := NewGroup(s, GroupConfig[string]{Namespace: "test", Entity: "observe", Load: func(context.Context, string) (string, error) { return "v", nil }})
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(testKey(t), "test:")
		key, err := g.Key(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, key, nil, constLoader("v").load); err != nil {
			t.Fatal(err)
		}
		s.WaitL1()
		if allocs := testing.AllocsPerRun(1000, func() { _, _ = s.Get(ctx, key, nil, nil) }); allocs != 0 {
			t.Errorf("hook set %v: Get L1 hit allocates %v; want 0", hooked, allocs)
		}
		if allocs := testing.AllocsPerRun(1000, func() { _, _, _ = g.Get(ctx, id) }); allocs != 0 {
			t.Errorf("hook set %v: Group.Get L1 hit allocates %v; want 0", hooked, allocs)
		}
		if r, err := s.Get(ctx, key, nil, nil); err != nil || r.Tier != TierL1 {
			t.Errorf("hook set %v: Get(%q) = %v, %v; want an L1 hit", hooked, key, r.Tier, err)
		}
	}
}
