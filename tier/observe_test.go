package tier

import (
	"context"
	"errors"
	"slices"
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
	key, gone, broken := testKey(t), testKey(t), testKey(t)
	head, id := splitKey(key)
	prefix := s.KeyPrefix(head)
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
		{"LookupL1 hit", func() {
			if _, hit, err := s.LookupL1(prefix, id, nil); !hit || err != nil {
				t.Errorf("LookupL1(%q) = hit %v, %v; want a hit", key, hit, err)
			}
		}, []Tier{TierL1}},
		{"L1 cleared: L2", func() { s.ClearLocal(); get(key, load)() }, []Tier{TierL2}},
		{"LookupL1 miss is not reported", func() {
			s.ClearLocal()
			if _, hit, _ := s.LookupL1(prefix, id, nil); hit {
				t.Errorf("LookupL1(%q) hit after ClearLocal", key)
			}
		}, nil},
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
		key := testKey(t)
		head, id := splitKey(key)
		prefix := s.KeyPrefix(head)
		if _, err := s.Get(ctx, key, nil, constLoader("v").load); err != nil {
			t.Fatal(err)
		}
		s.WaitL1()
		if allocs := testing.AllocsPerRun(1000, func() { _, _ = s.Get(ctx, key, nil, nil) }); allocs != 0 {
			t.Errorf("hook set %v: Get L1 hit allocates %v; want 0", hooked, allocs)
		}
		if allocs := testing.AllocsPerRun(1000, func() { _, _, _ = s.LookupL1(prefix, id, nil) }); allocs != 0 {
			t.Errorf("hook set %v: LookupL1 hit allocates %v; want 0", hooked, allocs)
		}
		if r, err := s.Get(ctx, key, nil, nil); err != nil || r.Tier != TierL1 {
			t.Errorf("hook set %v: Get(%q) = %v, %v; want an L1 hit", hooked, key, r.Tier, err)
		}
	}
}
