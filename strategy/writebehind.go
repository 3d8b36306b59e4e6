package strategy

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/background"
	"github.com/tiercache/tiercache/tier"
)

// ErrClosed is returned by a WriteBehind's Set and Delete after Shutdown,
// and wrapped in the FailedWrite of writes that Shutdown could not finish. It is
// tier.ErrClosed, so errors.Is matches it whether the strategy or its Store
// was closed.
var ErrClosed = tier.ErrClosed

// WriteBehind answers writes from the cache and writes the source later:
// Set stores the value in L2 and L1 at once and queues the source write;
// Get sees queued writes (a reload reads the queue before the source). A
// flusher goroutine coalesces the queue by id (the last write wins), writes
// it in batches (through BatchStorer when the source has it) by size and by
// interval, retries failures with exponential backoff and jitter, and hands
// writes that keep failing to a dead-letter hook.
//
// Delete is queued in order with Sets: a Delete after a Set of the same id
// replaces it in the queue, and the source sees a Remove; the cache drops
// the id at once.
//
// Without Durable, writes queued in a process that dies are lost; Shutdown
// flushes them. With Durable, every write is journaled in a Redis Stream
// before Set returns and is finished by another instance if this one dies.
// Two instances writing the same id at the same time may reach the source
// in either order; write-behind suits data with one writer per id at a time
// (a session, a user's counters).
//
// The Source's methods must return once their context is done: Shutdown
// waits for the write in progress.
//
// Choose it for data written far more often than the source can take, where
// a write may reach the source a little later: sessions, counters, last-seen
// times, carts.
type WriteBehind[V any] struct {
	// Written once by NewWriteBehind, only read after.
	b       binding[V]
	src     Source[V]
	batcher BatchStorer[V] // nil when the source has no batch writer
	cfg     WriteBehindConfig[V]
	codec   codec.Codec
	journal *journal // nil without Durable

	q        *wbQueue[V]      // the writes not yet in the source; has its own lock
	bg       background.Group // owns the flusher; cancels its calls at Shutdown
	kick     chan struct{}    // wakes the flusher: a full batch may be waiting
	flushReq chan struct{}    // wakes the flusher to write everything due

	// ackMu guards unacked: journal entries whose acknowledgement failed,
	// retried by the flusher and kept alive by the heartbeat.
	ackMu   sync.Mutex
	unacked []string

	// Counters, updated atomically by anyone.
	queued, written, batches, retries atomic.Uint64
	dead, claimed, journalErrs        atomic.Uint64
	panics                            atomic.Uint64
}

var _ Strategy[int] = (*WriteBehind[int])(nil)

// NewWriteBehind returns a write-behind strategy for one data type and
// starts its flusher; Shutdown stops it. A nil wbc, like every zero field of
// WriteBehindConfig, means the documented defaults.
func NewWriteBehind[V any](store *tier.Store, src Source[V], o Options, wbc *WriteBehindConfig[V]) (*WriteBehind[V], error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil source", ErrConfig)
	}
	var w *WriteBehind[V]
	var many func(ctx context.Context, ids []string) (map[string]V, error)
	if loadManyOf[V](src) != nil {
		many = func(ctx context.Context, ids []string) (map[string]V, error) { return w.loadManyQueued(ctx, ids) }
	}
	b, err := newBinding(store, o, func(ctx context.Context, id string) (V, error) { return w.loadQueued(ctx, id) }, many)
	if err != nil {
		return nil, err
	}
	var cfg WriteBehindConfig[V]
	if wbc != nil {
		cfg = *wbc
	}
	cfg = cfg.withDefaults()
	w = &WriteBehind[V]{
		b:        b,
		src:      src,
		cfg:      cfg,
		codec:    o.Codec,
		kick:     make(chan struct{}, 1),
		flushReq: make(chan struct{}, 1),
	}
	if w.codec == nil {
		w.codec = codec.Default()
	}
	w.batcher, _ = src.(BatchStorer[V])
	if cfg.Durable {
		if store.Redis() == nil {
			return nil, fmt.Errorf("%w: Durable needs a Store with Redis", ErrConfig)
		}
		if cfg.ClaimIdle < MinClaimIdle {
			return nil, fmt.Errorf("%w: ClaimIdle %v is under %v", ErrConfig, cfg.ClaimIdle, MinClaimIdle)
		}
		consumer := cfg.Consumer
		if consumer == "" {
			consumer = store.InstanceID()
		}
		w.journal = &journal{
			rdb:       store.Redis(),
			key:       journalKey(o.Namespace, o.Entity),
			group:     journalGroup,
			consumer:  consumer,
			claimIdle: cfg.ClaimIdle,
		}
		if !cfg.AllowJournalEviction {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.WriteTimeout)
			err := w.journal.checkEviction(ctx)
			cancel()
			if err != nil {
				return nil, err
			}
		}
	}
	w.q = newQueue[V](cfg.QueueSize, cfg.BatchSize, w.journal != nil)
	w.bg.Go(w.run)
	if w.journal != nil {
		w.bg.Go(w.beat)
	}
	return w, nil
}

// Get returns the value of id: from the cache, else from the queue of
// writes not yet in the source, else from the source. A fresh L1 hit
// allocates nothing.
func (w *WriteBehind[V]) Get(ctx context.Context, id string) (V, error) {
	return w.b.get(ctx, id)
}

// Lookup is Get that also reports the tier that answered (a value answered
// by the queue of writes not yet in the source counts as TierSource).
func (w *WriteBehind[V]) Lookup(ctx context.Context, id string) (V, tier.Tier, error) {
	return w.b.lookup(ctx, id)
}

// loadQueued is the loader: a queued write is newer than the source.
func (w *WriteBehind[V]) loadQueued(ctx context.Context, id string) (V, error) {
	v, del, found := w.q.lookup(id)
	if !found {
		return w.src.Load(ctx, id)
	}
	if del {
		var zero V
		return zero, ErrNotFound
	}
	return v, nil
}

// Set stores v in L2 and L1 and queues its write to the source. It waits,
// as long as ctx allows, while the queue is full. With Durable, the write is
// journaled in Redis before Set returns; a journal error is returned and
// nothing is changed. Cache errors are counted by the Store and not
// returned: the write is queued, reads fall back to the queue, and once the
// source has the write the flusher drops id from Redis, so that an older
// value left there does not outlive it.
func (w *WriteBehind[V]) Set(ctx context.Context, id string, v V) error {
	return w.write(ctx, id, v, false)
}

// Delete drops id from L2 and L1 and queues its removal from the source,
// replacing any queued Set of id.
func (w *WriteBehind[V]) Delete(ctx context.Context, id string) error {
	var zero V
	return w.write(ctx, id, zero, true)
}

func (w *WriteBehind[V]) write(ctx context.Context, id string, v V, del bool) error {
	key, err := w.b.keyFor(ctx, id)
	if err != nil {
		return err
	}
	if !del && w.journal == nil {
		// Refused before anything is queued or cached (the durable path
		// encodes for its journal below, and refuses there).
		if err := w.b.encodable(key, v); err != nil {
			return err
		}
	}
	reserved, err := w.q.reserve(ctx, id, w.flushNow) // full: write what is due, batch full or not
	if err != nil {
		return err
	}
	op := &wbOp[V]{id: id, value: v, del: del}
	if w.journal != nil {
		var payload []byte
		if !del {
			if payload, err = w.codec.Marshal(v); err != nil {
				w.q.unreserve(reserved)
				return fmt.Errorf("strategy: encode %q: %w", key, err)
			}
		}
		sid, err := w.journal.append(ctx, id, del, payload)
		if err == nil {
			op.order, err = parseStreamID(sid)
		}
		if err != nil {
			w.q.unreserve(reserved)
			return err
		}
		op.journal = []string{sid}
	}
	at, ok, batchFull := w.q.enqueue(op, reserved)
	if !ok {
		if w.journal != nil {
			// Closed while journaling: withdraw the entry, so that no other
			// instance writes what this Set reports as refused.
			jctx, cancel := w.cleanupCtx(ctx)
			_ = w.journal.ack(jctx, op.journal)
			cancel()
		}
		return ErrClosed
	}
	if batchFull {
		w.wake()
	}
	w.queued.Add(1)
	if del {
		if w.b.store.Delete(ctx, key) != nil { // counted by the Store
			w.q.markDirty(id)
		}
		return nil
	}
	if w.b.store.Set(ctx, key, v, &w.b.tier) != nil { // counted by the Store
		w.q.markDirty(id)
	}
	if !w.q.newest(id, at) {
		// A later write of id was queued while this one updated the cache,
		// and may have updated it first: drop the entry, so that reads go
		// to the queue.
		_ = w.b.store.Delete(ctx, key)
	}
	return nil
}

// Flush writes every write queued before it was called, retrying as
// configured, and returns once each is in the source or dead-lettered, or
// when ctx ends.
func (w *WriteBehind[V]) Flush(ctx context.Context) error {
	target := w.q.last()
	stopped := w.bg.Context().Done()
	for {
		done, changed := w.q.doneUpTo(target)
		if done {
			return nil
		}
		select {
		case <-stopped:
			return ErrClosed
		default:
		}
		w.flushNow()
		select {
		case <-changed:
		case <-stopped:
		case <-ctx.Done():
			return fmt.Errorf("strategy: flush: %w", ctx.Err())
		}
	}
}

// Shutdown refuses new writes, flushes the queue (as long as ctx allows),
// and stops the flusher, as http.Server.Shutdown does. Writes it could not
// finish are handed to DeadLetter wrapping ErrClosed, or, with Durable,
// left in the journal for another instance to claim. It returns the
// flush's error; a second call waits for the first and returns nil.
func (w *WriteBehind[V]) Shutdown(ctx context.Context) error {
	if !w.q.close() {
		w.bg.Wait() // for the first call to stop the flusher
		return nil
	}
	err := w.Flush(ctx)
	w.bg.Close()                                      // aborts the source call in progress, if any, and waits
	if unacked := w.takeUnacked(); len(unacked) > 0 { // the flusher has stopped
		actx, cancel := w.cleanupCtx(ctx)
		if w.journal.ack(actx, unacked) != nil {
			w.journalErrs.Add(1) // these entries will be claimed and written again
		}
		cancel()
	}
	left := w.q.drain()
	if len(left) > 0 && w.journal == nil {
		for _, op := range left {
			w.deadLetter(op, fmt.Errorf("%w before the write: %w", ErrClosed, err))
		}
	}
	return err
}

// Stats returns a snapshot of the WriteBehind's counters.
func (w *WriteBehind[V]) Stats() WriteBehindStats {
	n, oldest := w.QueueStats()
	return WriteBehindStats{
		Queued:        w.queued.Load(),
		Coalesced:     w.q.coalesced.Load(),
		Written:       w.written.Load(),
		Batches:       w.batches.Load(),
		Retries:       w.retries.Load(),
		DeadLettered:  w.dead.Load(),
		Claimed:       w.claimed.Load(),
		JournalErrors: w.journalErrs.Load(),
		Panics:        w.panics.Load(),
		Pending:       n,
		Oldest:        oldest,
	}
}

// QueueStats returns the number of writes waiting for the source or being
// written to it (coalesced by id: an id counts once waiting and once being
// written), as Stats' Pending, and the age of the oldest write among them
// (see WriteBehindStats.Oldest). It walks the queue under its lock: call it
// at scrape time, not per request. metrics.QueueReader is this method, so
// that exporters can read queues of any value type.
func (w *WriteBehind[V]) QueueStats() (depth int, oldest time.Duration) {
	return w.q.depth()
}
