package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/tier"
)

// coherenceValue is the value the coherence benchmarks cache.
type coherenceValue struct {
	ID    int64
	Name  string
	Email string
	Tags  []string
}

var coherenceOptions = tier.Options{}

func newCoherenceStore(b *testing.B, rdb redis.UniversalClient, cfg tier.Config) *tier.Store {
	b.Helper()
	cfg.Redis = rdb
	s, err := tier.New(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func newCoherenceClient(b *testing.B, addr string) *redis.Client {
	rdb := redis.NewClient(redistest.ClientOptions(addr))
	b.Cleanup(func() { rdb.Close() })
	return rdb
}

// BenchmarkInvalidationPropagation measures the time from a Set returning on
// one Store to the key leaving another Store's L1, over the bus on loopback
// Redis. It reports the p50 and p99 of that latency.
func BenchmarkInvalidationPropagation(b *testing.B) {
	ctx := context.Background()
	// A generous L2 timeout: this measures the bus, not Redis's worst case.
	cfg := tier.Config{L2Timeout: time.Second}
	writer := newCoherenceStore(b, newCoherenceClient(b, redisServer.Addr()), cfg)
	reader := newCoherenceStore(b, newCoherenceClient(b, redisServer.Addr()), cfg)
	id := strconv.FormatInt(time.Now().UnixNano(), 10)
	key := "benchinv:item:" + id
	v := coherenceValue{ID: 1, Name: "n", Email: "e@example.com", Tags: []string{"a", "b"}}
	if err := writer.Set(ctx, key, v, &coherenceOptions); err != nil {
		b.Fatal(err)
	}
	// fill puts key in the reader's L1 once the writer's invalidations have
	// all arrived (a late one would empty it again).
	items, err := tier.NewGroup(reader, tier.GroupConfig[coherenceValue]{Namespace: "benchinv", Entity: "item"})
	if err != nil {
		b.Fatal(err)
	}
	fill := func() {
		for {
			if _, _, err := items.Get(ctx, id); err != nil {
				b.Fatal(err)
			}
			reader.WaitL1()
			if _, t, _ := items.Get(ctx, id); t == tier.TierL1 {
				return
			}
		}
	}
	fill()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fill()
		b.StartTimer()
		if err := writer.Set(ctx, key, v, &coherenceOptions); err != nil {
			b.Fatal(err)
		}
		written := time.Now()
		deadline := written.Add(5 * time.Second)
		for {
			// gone is when the read that found the key gone from L1 began (it
			// looked at L1 first): the read's own L2 round trip is not
			// counted.
			gone := time.Now()
			if _, t, _ := items.Get(ctx, id); t != tier.TierL1 {
				lat = append(lat, gone.Sub(written))
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("invalidation did not arrive within 5s")
			}
			time.Sleep(10 * time.Microsecond) // leave the CPU to the bus
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkReadBreaker compares reads that miss L1 with Redis healthy (an L2
// hit) and with the circuit breaker open (straight to the source, Redis not
// touched), and L1 hits in both states.
func BenchmarkReadBreaker(b *testing.B) {
	ctx := context.Background()
	v := coherenceValue{ID: 2, Name: "n", Email: "e@example.com", Tags: []string{"a", "b"}}
	load := func(context.Context, string) (any, error) { return v, nil }
	proxy := redistest.StartProxy(b, redisServer.Addr())
	cases := []struct {
		name   string
		open   bool
		l1Miss bool
	}{
		{"redis-healthy/l1-miss", false, true},
		{"breaker-open/l1-miss", true, true},
		{"redis-healthy/l1-hit", false, false},
		{"breaker-open/l1-hit", true, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			proxy.SetRefuse(false)
			s := newCoherenceStore(b, newCoherenceClient(b, proxy.Addr()), tier.Config{
				DisableL1: c.l1Miss,
				// One refused connection opens it; a healthy but busy
				// Redis must not.
				BreakerFailures: 1,
				BreakerCooldown: time.Hour,
				L2Timeout:       time.Second,
			})
			key := fmt.Sprintf("benchbrk:item:%d", time.Now().UnixNano())
			if _, err := s.Get(ctx, key, &coherenceOptions, load); err != nil {
				b.Fatal(err)
			}
			if c.open {
				proxy.SetRefuse(true)
				proxy.Cut()
				for s.Stats().Breaker != tier.BreakerOpen {
					if _, err := s.Get(ctx, fmt.Sprintf("%s:trip", key), &coherenceOptions, load); err != nil {
						b.Fatal(err)
					}
				}
			}
			s.WaitL1()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Get(ctx, key, &coherenceOptions, load); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got := s.Stats().Breaker; c.open != (got == tier.BreakerOpen) {
				b.Fatalf("breaker %v at the end", got)
			}
		})
	}
}
