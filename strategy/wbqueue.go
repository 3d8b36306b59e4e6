package strategy

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// wbQueue is a WriteBehind's writes not yet in the source, coalesced by id:
// the newest write of each id waits in pending until the flusher takes it
// into inflight, and leaves inflight once written or given up. It is bounded
// by size distinct ids.
type wbQueue[V any] struct {
	// Written once by newQueue, only read after.
	size      int
	batch     int
	journaled bool // writes are ordered by their journal entries, not by seq

	// mu guards everything below it.
	mu       sync.Mutex
	pending  map[string]*wbOp[V] // queued, not yet taken by the flusher
	inflight map[string]*wbOp[V] // being written by the flusher
	reserved int                 // room taken by writes between reserve and enqueue
	seq      uint64              // local sequence of accepted writes
	changed  chan struct{}       // closed and replaced when a batch settles or the queue closes
	closed   bool

	coalesced atomic.Uint64 // writes replaced by a later write of their id
}

func newQueue[V any](size, batch int, journaled bool) *wbQueue[V] {
	return &wbQueue[V]{
		size:      size,
		batch:     batch,
		journaled: journaled,
		pending:   make(map[string]*wbOp[V]),
		inflight:  make(map[string]*wbOp[V]),
		changed:   make(chan struct{}),
	}
}

// find returns the queued write of id, waiting or being written; q.mu must
// be held.
func (q *wbQueue[V]) find(id string) *wbOp[V] {
	if op := q.pending[id]; op != nil {
		return op
	}
	return q.inflight[id]
}

// all yields every write, waiting or being written; q.mu must be held.
func (q *wbQueue[V]) all() iter.Seq[*wbOp[V]] {
	return func(yield func(*wbOp[V]) bool) {
		for _, m := range []map[string]*wbOp[V]{q.pending, q.inflight} {
			for _, op := range m {
				if !yield(op) {
					return
				}
			}
		}
	}
}

// broadcast wakes everyone waiting on the queue; q.mu must be held.
func (q *wbQueue[V]) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// reserve waits for room for a write of id, calling full (without the lock)
// each time the queue is full. It reports whether it took room (an id
// already waiting needs none).
func (q *wbQueue[V]) reserve(ctx context.Context, id string, full func()) (bool, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return false, ErrClosed
		}
		if q.pending[id] != nil {
			q.mu.Unlock()
			return false, nil
		}
		if len(q.pending)+len(q.inflight)+q.reserved < q.size {
			q.reserved++
			q.mu.Unlock()
			return true, nil
		}
		changed := q.changed
		q.mu.Unlock()
		full()
		select {
		case <-changed:
		case <-ctx.Done():
			return false, fmt.Errorf("strategy: write-behind queue full: %w", ctx.Err())
		}
	}
}

// unreserve gives back room reserve took for a write that was not queued.
func (q *wbQueue[V]) unreserve(reserved bool) {
	if !reserved {
		return
	}
	q.mu.Lock()
	q.reserved--
	q.mu.Unlock()
}

// enqueue adds op, merging it with a queued write of its id: the later of
// the two (in journal order) gives the value. It reports false once the
// queue is closed, and whether a full batch waits. It returns op's
// position: once queued, op may be merged with later writes under q.mu, so
// the caller must not read it again.
func (q *wbQueue[V]) enqueue(op *wbOp[V], reserved bool) (at order, ok, batchFull bool) {
	op.queuedAt = time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if reserved {
		q.reserved--
	}
	if q.closed {
		return order{}, false, false
	}
	q.seq++
	if !q.journaled {
		op.order = order{seq: q.seq}
	}
	op.firstSeq = q.seq
	at = op.order
	q.merge(op)
	return at, true, len(q.pending) >= q.batch
}

// enqueueClaimed adds writes claimed from another instance's journal, in
// journal order.
func (q *wbQueue[V]) enqueueClaimed(ops []*wbOp[V]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, op := range ops {
		q.seq++
		op.firstSeq = q.seq
		q.merge(op)
	}
}

// merge puts op in the queue; q.mu must be held. A write older than the
// one of its id being written (a claimed entry, or a Set whose journal
// append raced a later one) is acknowledged with it instead.
func (q *wbQueue[V]) merge(op *wbOp[V]) {
	cur := q.pending[op.id]
	if cur == nil {
		if fl := q.inflight[op.id]; fl != nil && op.order.before(fl.order) {
			q.coalesced.Add(1)
			fl.absorb(op)
			return
		}
		q.pending[op.id] = op
		return
	}
	q.coalesced.Add(1)
	cur.absorb(op)
	if op.order.before(cur.order) {
		return // op is older: its entry is acknowledged with cur's write
	}
	cur.value, cur.del, cur.order, cur.claimed = op.value, op.del, op.order, op.claimed
	cur.attempts, cur.notBefore = 0, time.Time{}
}

// lookup returns the newest queued write of id.
func (q *wbQueue[V]) lookup(id string) (v V, del, found bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if op := q.find(id); op != nil {
		return op.value, op.del, true
	}
	return v, false, false
}

// markDirty asks the flusher to drop id from the cache once its queued
// write is in the source.
func (q *wbQueue[V]) markDirty(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if op := q.find(id); op != nil {
		op.dirty = true
	}
}

// newest reports whether the write at o is the newest queued write of id.
func (q *wbQueue[V]) newest(id string, o order) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	op := q.find(id)
	return op == nil || !o.before(op.order)
}

// isQueued reports whether a write of id waits to be taken.
func (q *wbQueue[V]) isQueued(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending[id] != nil
}

// last returns the sequence number of the latest accepted write.
func (q *wbQueue[V]) last() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.seq
}

// doneUpTo reports whether every write up to seq has left the queue, and
// returns a channel closed at the next change.
func (q *wbQueue[V]) doneUpTo(seq uint64) (bool, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for op := range q.all() {
		if op.firstSeq <= seq {
			return false, q.changed
		}
	}
	return true, q.changed
}

// close refuses further writes and wakes everyone waiting. It reports
// false when the queue was already closed.
func (q *wbQueue[V]) close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	q.broadcast()
	return true
}

// drain empties the waiting writes and returns them.
func (q *wbQueue[V]) drain() []*wbOp[V] {
	q.mu.Lock()
	defer q.mu.Unlock()
	left := make([]*wbOp[V], 0, len(q.pending))
	for _, op := range q.pending {
		left = append(left, op)
	}
	clear(q.pending)
	return left
}

// depth returns the number of writes waiting or being written and the age
// of the oldest write among them.
func (q *wbQueue[V]) depth() (n int, oldest time.Duration) {
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	var first time.Time
	for op := range q.all() {
		if first.IsZero() || op.queuedAt.Before(first) {
			first = op.queuedAt
		}
	}
	if !first.IsZero() {
		oldest = max(now.Sub(first), 0)
	}
	return len(q.pending) + len(q.inflight), oldest
}

// journalIDs returns the journal entries of every queued write.
func (q *wbQueue[V]) journalIDs() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for op := range q.all() {
		ids = append(ids, op.journal...)
	}
	return ids
}

// take moves up to a batch of due writes to inflight: with all, those
// queued up to seq upTo; without, only a full batch.
func (q *wbQueue[V]) take(all bool, upTo uint64) []*wbOp[V] {
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if !all && len(q.pending) < q.batch {
		return nil
	}
	batch := make([]*wbOp[V], 0, min(len(q.pending), q.batch))
	for _, op := range q.pending {
		if len(batch) == q.batch {
			break
		}
		if op.notBefore.After(now) || all && op.firstSeq > upTo {
			continue
		}
		batch = append(batch, op)
	}
	if !all && len(batch) < q.batch {
		return nil
	}
	for _, op := range batch {
		delete(q.pending, op.id)
		q.inflight[op.id] = op
	}
	return batch
}

// outcome is what settle decided for a batch.
type outcome[V any] struct {
	written, retried int
	acks             []string   // journal entries to acknowledge
	finished         []*wbOp[V] // written or dead: release them once handled
	dead             []*wbOp[V]
	deadErrs         []error
	stale            []string // ids to drop from the cache
}

// settle records a batch's outcome (errs[i] is batch[i]'s): written writes
// are to be acknowledged; failed ones are retried after retryIn(attempts),
// or given up after maxAttempts, unless a later write of the id is queued
// (which then stands for them). Finished writes stay in flight until
// release, so that Flush waits for their acknowledgement or dead letter.
func (q *wbQueue[V]) settle(batch []*wbOp[V], errs []error, maxAttempts int, retryIn func(attempts int) time.Duration) outcome[V] {
	var out outcome[V]
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, op := range batch {
		err := errs[i]
		if err == nil {
			out.written++
			out.acks = append(out.acks, op.journal...)
			out.finished = append(out.finished, op)
			if op.claimed || op.dirty {
				out.stale = append(out.stale, op.id)
			}
			continue
		}
		delete(q.inflight, op.id)
		if later := q.pending[op.id]; later != nil {
			later.absorb(op)
			continue
		}
		op.attempts++
		if op.attempts >= maxAttempts {
			q.inflight[op.id] = op
			out.finished = append(out.finished, op)
			out.dead = append(out.dead, op)
			out.deadErrs = append(out.deadErrs, err)
			out.acks = append(out.acks, op.journal...)
			continue
		}
		out.retried++
		op.notBefore = now.Add(retryIn(op.attempts))
		q.pending[op.id] = op
	}
	q.broadcast()
	return out
}

// release removes finished writes from inflight and wakes the waiters.
func (q *wbQueue[V]) release(finished []*wbOp[V]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, op := range finished {
		delete(q.inflight, op.id)
	}
	q.broadcast()
}
