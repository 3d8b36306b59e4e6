package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

var shared *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &shared) }

// TestCountersCoverStats checks that every field of tier.Stats is exported
// by at least one row, so that a figure added to Stats without a row fails
// here.
func TestCountersCoverStats(t *testing.T) {
	typ := reflect.TypeFor[tier.Stats]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			var zero, s tier.Stats
			reflect.ValueOf(&s).Elem().Field(i).SetUint(uint64(1) << (f.Type.Bits() - 2))
			for _, c := range metrics.Counters() {
				if c.Value(&s) != c.Value(&zero) {
					return
				}
			}
			t.Errorf("no counter reads tier.Stats.%s", f.Name)
		})
	}
}

func TestCountersFamiliesConsistent(t *testing.T) {
	type shape struct{ help, labels string }
	families := map[string]shape{}
	seen := map[string]bool{}
	for _, c := range metrics.Counters() {
		sh := shape{c.Help, fmt.Sprint(c.Tier != "", c.Result != "")}
		if prev, ok := families[c.Name]; ok && prev != sh {
			t.Errorf("family %s: rows differ in help or labels: %v vs %v", c.Name, prev, sh)
		}
		families[c.Name] = sh
		id := c.Name + "{" + c.Tier + "," + c.Result + "}"
		if seen[id] {
			t.Errorf("duplicate series %s", id)
		}
		seen[id] = true
		if !c.Gauge && !strings.HasSuffix(c.Name, "_total") {
			t.Errorf("counter %s does not end in _total", c.Name)
		}
	}
}

type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) ObserveRead(tier string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d <= 0 {
		tier += "(no time)"
	}
	r.seen = append(r.seen, tier)
}

// TestTimeGet checks that TimeGet reports each read under the tier that
// answered it: the source for a miss, L1, L2 once L1 is cleared, and none
// for a failed load.
func TestTimeGet(t *testing.T) {
	ctx := context.Background()
	// Generous, as in TestHook: the test is about tiers, not timeouts.
	store, err := tier.New(&tier.Config{Redis: shared.Client(t), L2Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	load := func(context.Context, string) (any, error) { return "v", nil }
	fail := func(context.Context, string) (any, error) { return nil, errors.New("source down") }
	// Keys of this run only: the shared Redis outlives a -count run.
	k1, k2 := fmt.Sprintf("metrics:%d:k1", time.Now().UnixNano()), fmt.Sprintf("metrics:%d:k2", time.Now().UnixNano())
	var rec recorder
	steps := []struct {
		name, key string
		load      tier.Loader
		clearL1   bool
		want      string
		wantErr   bool
	}{
		{"miss loads", k1, load, false, "source", false},
		{"then L1", k1, load, false, "l1", false},
		{"L1 cleared: L2", k1, load, true, "l2", false},
		{"source error", k2, fail, false, "none", true},
	}
	for _, st := range steps {
		if st.clearL1 {
			store.ClearLocal()
		}
		_, err := metrics.TimeGet(ctx, &rec, store, st.key, nil, st.load)
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: TimeGet error = %v; want error %v", st.name, err, st.wantErr)
		}
		store.WaitL1()
		rec.mu.Lock()
		got := rec.seen[len(rec.seen)-1]
		rec.mu.Unlock()
		if got != st.want {
			t.Errorf("%s: observed tier %q; want %q", st.name, got, st.want)
		}
	}
}

func TestObserverFunc(t *testing.T) {
	var got []string
	obs := metrics.ObserverFunc(func(tier string, d time.Duration) { got = append(got, fmt.Sprint(tier, d)) })
	obs.ObserveRead("l1", time.Millisecond)
	sort.Strings(got)
	if want := []string{"l11ms"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ObserverFunc saw %v; want %v", got, want)
	}
}
