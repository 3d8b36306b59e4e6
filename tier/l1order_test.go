package tier

import (
	"context"
	"testing"
)

// After Set returns, L1 holds that value or nothing: never an older one that
// ristretto still had buffered.
func TestL1NeverServesAnOlderWrite(t *testing.T) {
	s, err := New(&Config{}) // L1 only: every read that is not an L1 hit loads
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	o := &Options{Decode: decodeAs[int]()}
	stale := &loader{fn: func(context.Context, string) (any, error) { return -1, nil }}
	for i := 0; i < 2000; i++ {
		if err := s.Set(ctx, "k", i, o); err != nil {
			t.Fatal(err)
		}
		v, hit, err := l1Peek(s, "k")
		if hit && (err != nil || v.(int) != i) {
			t.Fatalf("after Set(%d): L1 = %v, %v", i, v, err)
		}
		if i%3 == 0 {
			s.invalidateLocal("k")
			if v, hit, _ := l1Peek(s, "k"); hit {
				t.Fatalf("after Set(%d) and an invalidation: L1 = %v; want nothing", i, v)
			}
			r, err := s.Get(ctx, "k", o, stale.load)
			if err != nil || r.Value.(int) != -1 {
				t.Fatalf("Get after invalidation = %v, %v; want a load", r.Value, err)
			}
		}
	}
}
