package tier

import (
	"math"
	"sync/atomic"
	"time"
)

// LatencyBuckets is the number of buckets of a LatencyHistogram: upper
// bounds from 1 µs to 10 s in steps of 1, 2 and 5 of each power of ten
// (1 µs, 2 µs, 5 µs, 10 µs, ..., 5 s, 10 s), and a last bucket for what
// takes longer.
const LatencyBuckets = 23

// LatencyBound returns the upper bound (inclusive) of bucket i of a
// LatencyHistogram; the last bucket's bound is the largest Duration.
func LatencyBound(i int) time.Duration {
	if i >= LatencyBuckets-1 {
		return math.MaxInt64
	}
	bound := time.Microsecond
	for range i / 3 {
		bound *= 10
	}
	return bound * [3]time.Duration{1, 2, 5}[i%3]
}

// LatencyHistogram is a snapshot of read latencies in fixed buckets (see
// LatencyBound), from which quantiles are estimated.
type LatencyHistogram struct {
	// Counts holds the reads in each bucket (not cumulative).
	Counts [LatencyBuckets]uint64
	// Sum is the total latency of the reads counted.
	Sum time.Duration
}

// Count returns the number of reads in the histogram.
func (h *LatencyHistogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile estimates the latency under which a fraction q (between 0 and
// 1) of the reads fell, interpolating linearly within the bucket that holds
// it (from 0 in the first bucket); a quantile in the last, unbounded bucket
// is its lower bound, 10 s. It returns 0 for an empty histogram.
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(total)
	var below uint64
	for i, c := range h.Counts {
		if c == 0 || float64(below+c) < rank {
			below += c
			continue
		}
		var lower time.Duration
		if i > 0 {
			lower = LatencyBound(i - 1)
		}
		if i == LatencyBuckets-1 {
			return lower
		}
		frac := (rank - float64(below)) / float64(c)
		return lower + time.Duration(frac*float64(LatencyBound(i)-lower))
	}
	return LatencyBound(LatencyBuckets - 2)
}

// latencyCounters is the live form of a LatencyHistogram.
type latencyCounters struct {
	counts [LatencyBuckets]atomic.Uint64
	sumNs  atomic.Int64
}

// observe counts one read that took d.
func (l *latencyCounters) observe(d time.Duration) {
	l.counts[latencyBucket(d)].Add(1)
	l.sumNs.Add(int64(d))
}

// snapshot reads the histogram.
func (l *latencyCounters) snapshot() LatencyHistogram {
	var h LatencyHistogram
	for i := range l.counts {
		h.Counts[i] = l.counts[i].Load()
	}
	h.Sum = time.Duration(l.sumNs.Load())
	return h
}

// latencyBucket returns the bucket of a latency d.
func latencyBucket(d time.Duration) int {
	decade := time.Microsecond
	for i := 0; i < LatencyBuckets-1; i += 3 {
		for j, m := range [3]time.Duration{1, 2, 5} {
			if i+j < LatencyBuckets-1 && d <= decade*m {
				return i + j
			}
		}
		decade *= 10
	}
	return LatencyBuckets - 1
}
