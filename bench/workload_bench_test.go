package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The workload of issue 9's targets table.
const (
	// workloadKeys is the key space, drawn with Zipf zipfS.
	workloadKeys = 100000
	// workloadL1Items bounds each library's L1 to a tenth of the keys.
	workloadL1Items = workloadKeys / 10
	// workloadWritePercent of the operations are Sets, the others reads.
	workloadWritePercent = 5
	// workloadLoadDelay is the source's latency.
	workloadLoadDelay = 200 * time.Microsecond
)

// benchPeerWorkload runs, on every library in its fullest layout, the
// parallel mixed workload: parallelCallers callers, each with its own fixed
// seed, 95 % reads (read-through) and 5 % writes of Zipf-drawn keys among
// workloadKeys, the source answering in workloadLoadDelay. A write is what a
// cache-aside write does once the source has the new value: it deletes the
// key from the cache, whose next read loads it. Every key is written once
// through the library before the rounds. It reports ops/s (of
// the run's wall time), p99-µs (of every operation's latency, as its caller
// saw it) and hit% (reads not loaded from the source).
func benchPeerWorkload(b *testing.B) {
	ks := newKeySpace(workloadKeys)
	zipf := distributions[1]
	for _, lib := range libraries {
		workloadOne(b, lib, zipf, ks)
	}
}

func workloadOne(b *testing.B, lib library, d distribution, ks *keySpace) {
	ctx := context.Background()
	src := &source{delay: workloadLoadDelay}
	s := lib.new(b, subjectConfig{layers: fullestLayout(lib), rdb: redisClient(b), src: src, l1Items: workloadL1Items})
	defer s.Close()
	preset(b, s, ks)
	b.Run(lib.name, func(b *testing.B) {
		loads := src.loads.Load()
		var reads atomic.Int64
		var mu sync.Mutex
		var lat []time.Duration
		start := time.Now()
		runParallel(b, func(caller uint64, next func() bool) {
			draw := d.next(caller, workloadKeys)
			mine := make([]time.Duration, 0, 1024)
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			n := 0
			for next() {
				k := draw()
				n++
				t := time.Now()
				if n%100 < workloadWritePercent {
					if err := s.Delete(ctx, ks.ids[k], ks.keys[k]); err != nil {
						b.Error(err)
						return
					}
				} else {
					reads.Add(1)
					if _, err := s.Get(ctx, ks.ids[k], ks.keys[k]); err != nil {
						b.Error(err)
						return
					}
				}
				mine = append(mine, time.Since(t))
			}
		})
		elapsed := time.Since(start)
		if len(lat) == 0 {
			return
		}
		slices.Sort(lat)
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "ops/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		if r := float64(reads.Load()); r > 0 {
			b.ReportMetric(100*(1-float64(src.loads.Load()-loads)/r), "hit%")
		}
	})
}

// preset writes every key of ks once through s, from parallelCallers
// goroutines.
func preset(b *testing.B, s subject, ks *keySpace) {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range parallelCallers {
		wg.Go(func() {
			for i := w; i < len(ks.ids); i += parallelCallers {
				if err := s.Set(context.Background(), ks.ids[i], ks.keys[i], newProduct(ks.ids[i], 0)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("preset: %d writes failed", n)
	}
	waitSettled(s)
}
