package bench

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func TestProductSize(t *testing.T) {
	b, err := msgpack.Marshal(newProduct("p1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b); n < 250 || n > 350 {
		t.Errorf("msgpack size of Product = %d bytes; want about 300", n)
	}
}

// TestSubjects checks that every library, in every layout, reads through to
// the source once, serves the value it loaded, loads it again after Delete,
// and serves what Set wrote:
// the benchmarks compare libraries doing the same work.
func TestSubjects(t *testing.T) {
	ctx := context.Background()
	ks := newKeySpace(2)
	for _, lib := range libraries {
		for _, l := range allLayers {
			if !lib.has(l) {
				continue
			}
			t.Run(lib.name+"/"+l.String(), func(t *testing.T) {
				src := &source{}
				s := lib.new(t, subjectConfig{layers: l, rdb: redisClient(t), src: src, l1Items: 100})
				defer s.Close()
				want := newProduct(ks.ids[0], 0)
				for i := range 3 {
					got, err := s.Get(ctx, ks.ids[0], ks.keys[0])
					waitStored(t, s, ks.keys[0])
					if err != nil || !sameProduct(got, want) {
						t.Fatalf("Get #%d = %+v, %v; want %+v, nil", i, got, err, want)
					}
				}
				if n := src.loads.Load(); n != 1 {
					t.Errorf("source loads = %d; want 1", n)
				}
				// After a Delete the next read loads the value again (go-redis's
				// client-side cache serves the deleted value until it applies
				// the invalidation, hence the bounded retries).
				if err := s.Delete(ctx, ks.ids[0], ks.keys[0]); err != nil {
					t.Fatalf("Delete: %v", err)
				}
				for deadline := time.Now().Add(2 * time.Second); src.loads.Load() < 2; time.Sleep(time.Millisecond) {
					if got, err := s.Get(ctx, ks.ids[0], ks.keys[0]); err != nil || !sameProduct(got, want) {
						t.Fatalf("Get after Delete = %+v, %v; want %+v, nil", got, err, want)
					}
					if time.Now().After(deadline) {
						t.Fatalf("source loads = %d 2s after Delete; want 2", src.loads.Load())
					}
				}
				set := newProduct(ks.ids[1], 7)
				if err := s.Set(ctx, ks.ids[1], ks.keys[1], set); err != nil {
					t.Fatalf("Set: %v", err)
				}
				waitStored(t, s, ks.keys[1])
				got, err := s.Get(ctx, ks.ids[1], ks.keys[1])
				if err != nil || !sameProduct(got, set) {
					t.Errorf("Get after Set = %+v, %v; want %+v, nil", got, err, set)
				}
			})
		}
	}
}

// sameProduct compares products, their times as instants (msgpack decodes
// times in the local zone).
func sameProduct(a, b Product) bool {
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return false
	}
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}
