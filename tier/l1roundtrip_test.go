package tier

import (
	"context"
	"reflect"
	"testing"
)

// withSecret has an unexported field, which the codec does not encode.
type withSecret struct {
	Name   string
	secret int
}

// TestL1HoldsWhatL2Holds: a value written with Set, or loaded, reads the
// same from the writer's L1 as from another instance's L2 (the codec's
// round trip: an unexported field is lost in both), and the caller's value
// is not shared with readers (changing it afterwards changes no read).
func TestL1HoldsWhatL2Holds(t *testing.T) {
	ctx := ctxT(t)
	o := &Options{Decode: decodeAs[withSecret]()}
	want := withSecret{Name: "a"} // as the codec round-trips it
	t.Run("Set", func(t *testing.T) {
		writer, other := newStore(t, Config{}), newStore(t, Config{})
		key := testKey(t)
		if err := writer.Set(ctx, key, withSecret{Name: "a", secret: 42}, o); err != nil {
			t.Fatal(err)
		}
		writer.WaitL1()
		fromL1, err := writer.Get(ctx, key, o, nil)
		if err != nil || fromL1.Tier != TierL1 {
			t.Fatalf("writer's Get = %+v, %v; want an L1 hit", fromL1, err)
		}
		fromL2, err := other.Get(ctx, key, o, nil)
		if err != nil || fromL2.Tier != TierL2 {
			t.Fatalf("other's Get = %+v, %v; want an L2 hit", fromL2, err)
		}
		if !reflect.DeepEqual(fromL1.Value, fromL2.Value) || fromL1.Value != want {
			t.Errorf("from L1 %#v, from L2 %#v; want both %#v", fromL1.Value, fromL2.Value, want)
		}
	})
	t.Run("load", func(t *testing.T) {
		reader, other := newStore(t, Config{}), newStore(t, Config{})
		key := testKey(t)
		load := func(context.Context, string) (any, error) { return withSecret{Name: "a", secret: 42}, nil }
		first, err := reader.Get(ctx, key, o, load)
		if err != nil || first.Tier != TierSource || first.Value != want {
			t.Fatalf("first Get = %+v, %v; want %#v from the source", first, err, want)
		}
		reader.fills.Wait()
		reader.WaitL1()
		fromL1, err := reader.Get(ctx, key, o, load)
		if err != nil || fromL1.Tier != TierL1 || fromL1.Value != want {
			t.Errorf("reader's Get = %+v, %v; want %#v from L1", fromL1, err, want)
		}
		fromL2, err := other.Get(ctx, key, o, load)
		if err != nil || fromL2.Tier != TierL2 || fromL2.Value != want {
			t.Errorf("other's Get = %+v, %v; want %#v from L2", fromL2, err, want)
		}
	})
	t.Run("not aliased", func(t *testing.T) {
		s := newStore(t, Config{})
		key := testKey(t)
		so := &Options{Decode: decodeAs[[]string]()}
		v := []string{"a"}
		if err := s.Set(ctx, key, v, so); err != nil {
			t.Fatal(err)
		}
		v[0] = "changed by the writer"
		s.WaitL1()
		r, err := s.Get(ctx, key, so, nil)
		if err != nil || r.Tier != TierL1 || !reflect.DeepEqual(r.Value, []string{"a"}) {
			t.Errorf("Get after the writer changed its value = %+v, %v; want [a] from L1", r, err)
		}
	})
}

// BenchmarkRoundTrip measures what holding the codec's round trip in L1
// adds to each write and loaded miss that fills L2 (decode), beside the
// encoding every such write already paid (encode), for a ten-field value of
// about 300 bytes of msgpack.
func BenchmarkRoundTrip(b *testing.B) {
	c := userOptions.codec()
	v := sampleUser(1)
	payload, err := c.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, o := range []struct {
		name string
		o    *Options
	}{{"decode-typed", &userOptions}, {"decode-untyped", &Options{}}} {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := roundTrip(c, payload, v, o.o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
