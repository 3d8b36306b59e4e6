package tier

import (
	"context"
	"testing"
)

// BenchmarkStoreSetBus measures a Store.Set with the invalidation bus on
// and off: the difference is what the bus costs a write (the enqueue on the
// caller's path, plus the publisher's and the subscription's work, which
// -benchmem counts too, since allocations are counted process-wide).
func BenchmarkStoreSetBus(b *testing.B) {
	for _, c := range []struct {
		name string
		off  bool
	}{{"bus", false}, {"nobus", true}} {
		b.Run(c.name, func(b *testing.B) {
			s := newStore(b, Config{Redis: shared.Client(b), DisableBus: c.off})
			key := testKey(b)
			v := sampleUser(1)
			ctx := context.Background()
			if err := s.Set(ctx, key, v, nil); err != nil { // subscribed from here on
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.Set(ctx, key, v, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
