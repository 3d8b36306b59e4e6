package tier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxRepairKeys is how many keys a Store remembers for repair when
// Config.MaxRepairKeys is zero.
const DefaultMaxRepairKeys = 10000

// A write (Set, SetMany, Delete) whose Redis call fails leaves L2 holding
// what it held before, older than the source (which a strategy wrote
// first). The Store remembers the key and, once Redis answers again,
// deletes it from L2 and announces the deletion on the bus: the next read
// loads the key from the source. A replay deletes rather than writes the
// value it failed to write, so that it never overwrites what another
// instance wrote meanwhile; it may delete that newer value, which then
// costs one load. Until its repair is replayed, this process reads the key
// from the source, never from L2.
//
// The breaker does not close before the repairs are replayed: a probe that
// finds Redis answering again leaves it half-open (other calls still
// refused) while the repairer replays, and the repairer closes it.

// repairs are the keys whose last write in this process did not reach
// Redis, waiting to be replayed as deletions.
type repairs struct {
	max int // how many keys it holds at most; < 0: repair is off

	mu      sync.Mutex
	keys    map[string]uint64 // key -> number of its latest failed write
	seq     uint64            // numbers failed writes
	running bool              // the repairer goroutine runs

	n    atomic.Int64  // len(keys), read without the lock
	wake chan struct{} // wakes the repairer at once (the breaker's probe succeeded)
}

// repairChunk bounds the keys one replay deletes in one pipeline.
const repairChunk = 256

// Repairer backoff while Redis does not answer: the first wait, and the
// most it grows to, doubling.
const (
	repairFirstWait = 10 * time.Millisecond
	repairMaxWait   = 100 * time.Millisecond
)

func (r *repairs) init(max int) {
	r.max = max
	r.keys = make(map[string]uint64)
	r.wake = make(chan struct{}, 1)
}

// pending reports whether any key waits for repair.
func (r *repairs) pending() bool { return r.n.Load() > 0 }

// has reports whether key waits for repair.
func (r *repairs) has(key string) bool {
	if r.n.Load() == 0 {
		return false
	}
	r.mu.Lock()
	_, ok := r.keys[key]
	r.mu.Unlock()
	return ok
}

// forget drops the repair of keys: a later write of theirs reached Redis.
func (r *repairs) forget(keys ...string) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.Lock()
	for _, k := range keys {
		if _, ok := r.keys[k]; ok {
			delete(r.keys, k)
			r.n.Add(-1)
		}
	}
	r.mu.Unlock()
}

// kick wakes the repairer.
func (r *repairs) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// remember records that the writes of keys failed with err, starting the
// repairer if it is not running. The error it returns wraps err, and also
// ErrRepairPending when every key is remembered; a key that finds the set
// full is dropped (counted in Stats.RepairsDropped and logged), and then
// err is returned as it is.
func (s *Store) remember(err error, keys ...string) error {
	r := &s.repairs
	if r.max < 0 || s.closed.Load() {
		return err
	}
	var dropped []string
	r.mu.Lock()
	for _, k := range keys {
		if _, ok := r.keys[k]; !ok {
			if len(r.keys) >= r.max {
				dropped = append(dropped, k)
				continue
			}
			r.n.Add(1)
		}
		r.seq++
		r.keys[k] = r.seq
	}
	start := !r.running && len(r.keys) > 0
	if start {
		r.running = s.goStarted()
		start = r.running
	}
	r.mu.Unlock()
	s.stats.repairsQueued.Add(uint64(len(keys) - len(dropped)))
	if start {
		go s.repairer()
	}
	if len(dropped) > 0 {
		s.stats.repairsDropped.Add(uint64(len(dropped)))
		s.report("repair dropped (MaxRepairKeys reached): L2 may serve the old value until its TTL", dropped[0], err)
		return err
	}
	return fmt.Errorf("%w (%w)", err, ErrRepairPending)
}

// repairer replays the remembered writes until none is left, then closes
// the breaker if its probe left it waiting for the replay.
func (s *Store) repairer() {
	defer s.bg.Done()
	r := &s.repairs
	ctx := s.bg.Context()
	for wait := repairFirstWait; ; {
		keys, seqs := r.take(repairChunk)
		if len(keys) == 0 {
			s.l2.br.repaired()
			r.mu.Lock()
			if len(r.keys) == 0 {
				r.running = false
				r.mu.Unlock()
				return
			}
			r.mu.Unlock()
			continue
		}
		if err := s.replay(ctx, keys); err == nil {
			r.done(keys, seqs)
			wait = repairFirstWait
			continue
		} else if !errors.Is(err, ErrBreakerOpen) && ctx.Err() == nil {
			s.l2Error(err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.wake:
		case <-ctx.Done():
		}
		t.Stop()
		if ctx.Err() != nil {
			return // Close: what is left is lost with the process's memory
		}
		wait = min(2*wait, repairMaxWait)
	}
}

// take returns up to n keys waiting for repair and the numbers of their
// latest failed writes.
func (r *repairs) take(n int) ([]string, []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, min(n, len(r.keys)))
	seqs := make([]uint64, 0, cap(keys))
	for k, seq := range r.keys {
		if len(keys) == n {
			break
		}
		keys = append(keys, k)
		seqs = append(seqs, seq)
	}
	return keys, seqs
}

// done forgets the replayed keys, unless a write failed again since the
// replay took them.
func (r *repairs) done(keys []string, seqs []uint64) {
	r.mu.Lock()
	for i, k := range keys {
		if r.keys[k] == seqs[i] {
			delete(r.keys, k)
			r.n.Add(-1)
		}
	}
	r.mu.Unlock()
}

// replay deletes keys from L2 in one pipeline and announces it on the bus.
// Its call passes the breaker as a repair (see breaker.allowRepair).
func (s *Store) replay(ctx context.Context, keys []string) error {
	err := s.l2.callRepair(ctx, func(ctx context.Context) error { return s.l2.unlink(ctx, keys) })
	if err != nil {
		return fmt.Errorf("tier: redis repair of %d keys (first %q): %w", len(keys), keys[0], err)
	}
	s.stats.repairsReplayed.Add(uint64(len(keys)))
	if s.bus != nil {
		s.bus.publish(keys...)
	}
	return nil
}
