package metrics_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

type statsOf uint64

func (s statsOf) Stats() tier.Stats { return tier.Stats{Sets: uint64(s)} }

type queueOf int

func (q queueOf) QueueStats() (int, time.Duration) { return int(q), 0 }

func names[T any](ns []metrics.Named[T]) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

// TestRegistry checks that names are unique per kind (a Store and a queue
// may share one), that order is kept, and that Remove forgets a name.
func TestRegistry(t *testing.T) {
	var r metrics.Registry
	for _, n := range []string{"b", "a", "c"} {
		if err := r.Add(n, statsOf(1)); err != nil {
			t.Fatalf("Add(%q) = %v; want nil", n, err)
		}
	}
	if err := r.Add("a", statsOf(2)); !errors.Is(err, metrics.ErrDuplicate) {
		t.Errorf("second Add(a) = %v; want ErrDuplicate", err)
	}
	if err := r.AddQueue("a", queueOf(3)); err != nil {
		t.Errorf("AddQueue(a) beside Store a = %v; want nil", err)
	}
	if err := r.AddQueue("a", queueOf(4)); !errors.Is(err, metrics.ErrDuplicate) {
		t.Errorf("second AddQueue(a) = %v; want ErrDuplicate", err)
	}
	r.Remove("a")
	if got, want := names(r.Stores()), []string{"b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Stores after Remove(a) = %v; want %v", got, want)
	}
	if q := r.Queues(); len(q) != 1 || q[0].Name != "a" {
		t.Errorf("Queues = %v; want queue a only", names(q))
	}
	r.RemoveQueue("a")
	if q := r.Queues(); len(q) != 0 {
		t.Errorf("Queues after RemoveQueue(a) = %v; want none", names(q))
	}
	if err := r.Add("a", statsOf(5)); err != nil {
		t.Errorf("Add(a) after Remove = %v; want nil", err)
	}
}
