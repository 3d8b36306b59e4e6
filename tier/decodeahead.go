package tier

import (
	"runtime"
	"sync"
)

// A batch's first round brings back up to a pipeline of values at once, and
// decoding them is most of the CPU time a batch of L2 hits costs (about as
// much as the round trip itself for a hundred values of a few hundred
// bytes). When the process may run more than one goroutine at a time, the
// round's values are decoded on several, so that a large batch's answer
// does not wait for one core to decode it all.

// decodeAheadMin is the fewest values a round decodes on more than one
// goroutine, and decodeShare the fewest each goroutine decodes: below them,
// starting a goroutine costs more than it saves.
const (
	decodeAheadMin = 32
	decodeShare    = 16
)

// decodedL2 is an L2 value decoded ahead of its use (see decodeL2): its
// entry, or whether it is a fill lease, or why it cannot be decoded.
type decodedL2 struct {
	e     *l1Entry
	lease bool
	err   error
}

// decodeAhead decodes the values of rds (read from keys, with o) on up to
// GOMAXPROCS goroutines, the caller's among them. It returns one decodedL2
// per read, set for every read that brought a value, or nil when the round
// is too small to share (the caller then decodes each value itself).
func (s *Store) decodeAhead(keys []string, rds []l2Read, o *Options) []decodedL2 {
	if len(rds) < decodeAheadMin {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), len(rds)/decodeShare)
	if workers < 2 {
		return nil
	}
	vals := make([]int, 0, len(rds))
	for j := range rds {
		if rds[j].err == nil && rds[j].raw != nil {
			vals = append(vals, j)
		}
	}
	workers = min(workers, len(vals)/decodeShare)
	if workers < 2 {
		return nil
	}
	out := make([]decodedL2, len(rds))
	per := (len(vals) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := per; lo < len(vals); lo += per {
		part := vals[lo:min(lo+per, len(vals))]
		wg.Go(func() { s.decodeInto(out, part, keys, rds, o) })
	}
	s.decodeInto(out, vals[:per], keys, rds, o)
	wg.Wait()
	return out
}

// decodeInto decodes the values of rds[part] into out[part].
func (s *Store) decodeInto(out []decodedL2, part []int, keys []string, rds []l2Read, o *Options) {
	for _, j := range part {
		out[j] = s.decodeOne(keys[j], rds[j].raw, o)
	}
}

// decodeOne is decodeL2 for a batch.
func (s *Store) decodeOne(key string, raw []byte, o *Options) decodedL2 {
	env, e, err := s.decodeL2(key, raw, o)
	return decodedL2{e: e, lease: err == nil && env.lease(), err: err}
}
