package bench

import (
	"context"
	"slices"
	"testing"
	"time"
)

// benchPeerInvalidation measures, for the libraries whose L1 another
// instance's write invalidates (tiercache over its bus, rueidis and go-redis
// over RESP3 client-side caching), the time from a write returning on one
// instance to a read on another, which had the old value in its L1, seeing
// the new value. The reader polls every 10 µs. It reports the p50 and p99
// of that latency. go-redis/cache and gocache are left out: another
// instance's write never reaches their L1, which serves the old value until
// its TTL.
func benchPeerInvalidation(b *testing.B) {
	ctx := context.Background()
	const id = "inv"
	key := keyPrefix + id
	for _, name := range []string{"tiercache", "rueidis-csc", "go-redis-csc"} {
		i := slices.IndexFunc(libraries, func(lib library) bool { return lib.name == name })
		lib := libraries[i]
		b.Run(name, func(b *testing.B) {
			newInstance := func() subject {
				s := lib.new(b, subjectConfig{layers: l1AndL2, rdb: redisClient(b), src: &source{}, l1Items: hitKeys})
				b.Cleanup(s.Close)
				return s
			}
			writer, reader := newInstance(), newInstance()
			version := 0
			if err := writer.Set(ctx, id, key, newProduct(id, version)); err != nil {
				b.Fatal(err)
			}
			// sees reports whether reader reads version (of a price).
			sees := func(version int) bool {
				p, err := reader.Get(ctx, id, key)
				if err != nil {
					b.Fatal(err)
				}
				return p.PriceCents == newProduct(id, version).PriceCents
			}
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				// The reader caches the current version: its first read may
				// reach Redis, its second is an L1 hit.
				for !sees(version) {
					time.Sleep(10 * time.Microsecond)
				}
				waitSettled(reader)
				if !sees(version) {
					b.Fatal("the reader lost the current version")
				}
				version++
				b.StartTimer()
				if err := writer.Set(ctx, id, key, newProduct(id, version)); err != nil {
					b.Fatal(err)
				}
				written := time.Now()
				deadline := written.Add(5 * time.Second)
				for !sees(version) {
					if time.Now().After(deadline) {
						b.Fatal("the write did not reach the reader within 5s")
					}
					time.Sleep(10 * time.Microsecond)
				}
				lat = append(lat, time.Since(written))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
