package strategy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/tier"
)

// ErrClosed is returned by a WriteBehind's Set and Delete after Close, and
// wrapped in the FailedWrite of writes that Close could not finish. It is
// tier.ErrClosed, so errors.Is matches it whether the strategy or its Store
// was closed.
var ErrClosed = tier.ErrClosed

// Defaults of WriteBehindConfig's zero fields.
const (
	DefaultQueueSize       = 10000
	DefaultBatchSize       = 100
	DefaultFlushInterval   = 100 * time.Millisecond
	DefaultWriteTimeout    = 10 * time.Second
	DefaultMaxAttempts     = 5
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultMaxRetryBackoff = 10 * time.Second
	DefaultClaimIdle       = time.Minute
)

// WriteBehindConfig configures a WriteBehind's queue, flusher and journal.
// Every zero field means the documented default.
type WriteBehindConfig[V any] struct {
	// QueueSize bounds the distinct ids waiting to be written. A Set of an
	// id already waiting never waits; a Set of a new id waits, as long as its
	// context allows, while the queue is full. Zero means DefaultQueueSize.
	QueueSize int
	// BatchSize is the most writes the flusher hands the source at once; a
	// queue this long is flushed without waiting for FlushInterval. Zero
	// means DefaultBatchSize.
	BatchSize int
	// FlushInterval is how long a write may wait in the queue, coalescing
	// with later writes of its id. Zero means DefaultFlushInterval.
	FlushInterval time.Duration
	// WriteTimeout bounds each source call and each journal call of the
	// flusher. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// MaxAttempts is how many times a write is tried before it is handed to
	// DeadLetter. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// RetryBackoff is the wait before the first retry; each retry doubles
	// it, up to MaxRetryBackoff, with jitter (a random 50-100 % of it).
	// Retries run on the flusher's ticks, so the wait is at least
	// FlushInterval. Zero means DefaultRetryBackoff and
	// DefaultMaxRetryBackoff.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// DeadLetter receives every write that failed MaxAttempts times, and
	// every write Close could not finish in time (without Durable). It is
	// called from the flusher or from Close, never under a lock; it should
	// not block for long. Nil means such writes are only counted
	// (WriteBehindStats.DeadLettered): set it to keep them.
	DeadLetter func(FailedWrite[V])

	// Durable journals every write in a Redis Stream before Set returns, and
	// acknowledges it only once the source has it. Writes of a process that
	// dies are claimed by another instance's flusher after ClaimIdle and
	// written then: at least once, so source writes must be idempotent. It
	// needs a Store with Redis.
	Durable bool
	// ClaimIdle is how long a journaled write must have been left alone
	// before another instance claims it. A live instance refreshes its own
	// writes every ClaimIdle/3. It must be more than twice WriteTimeout.
	// Zero means DefaultClaimIdle.
	ClaimIdle time.Duration
	// Consumer names this instance in the journal's consumer group. Empty
	// means the Store's InstanceID.
	Consumer string
}

// FailedWrite is a write WriteBehind gave up on, handed to
// WriteBehindConfig.DeadLetter.
type FailedWrite[V any] struct {
	ID       string // the id given to Set or Delete
	Key      string // its cache key
	Value    V      // the value (zero for a delete)
	Delete   bool   // a Delete, not a Set
	Attempts int    // how many times it was tried
	Err      error  // the last error
}

// WriteBehindStats counts what a WriteBehind did since it was created.
type WriteBehindStats struct {
	Queued        uint64 // Sets and Deletes accepted
	Coalesced     uint64 // writes replaced by a later write of the same id before reaching the source
	Written       uint64 // writes the source took
	Batches       uint64 // flusher batches
	Retries       uint64 // writes put back for a retry
	DeadLettered  uint64 // writes given up (handed to DeadLetter)
	Claimed       uint64 // journaled writes taken over from other instances
	JournalErrors uint64 // failed journal acknowledgements, heartbeats and claims
	Pending       int    // distinct ids waiting or being written now
	// Oldest is the age of the oldest write not yet in the source, counted
	// from its Set or Delete (for a claimed write, from its journal entry),
	// however many later writes of its id replaced it; zero when none waits.
	Oldest time.Duration
}

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
// Without Durable, writes queued in a process that dies are lost; Close
// flushes them. With Durable, every write is journaled in a Redis Stream
// before Set returns and is finished by another instance if this one dies.
// Two instances writing the same id at the same time may reach the source
// in either order; write-behind suits data with one writer per id at a time
// (a session, a user's counters).
//
// The Source's methods must return once their context is done: Close waits
// for the write in progress.
//
// Choose it for data written far more often than the source can take, where
// a write may reach the source a little later: sessions, counters, last-seen
// times, carts.
type WriteBehind[V any] struct {
	b       binding[V]
	src     Source[V]
	batcher BatchStorer[V] // nil when the source has no batch writer
	cfg     WriteBehindConfig[V]
	codec   codec.Codec
	journal *journal // nil without Durable
	load    tier.Loader

	mu       sync.Mutex
	pending  map[string]*wbOp[V] // queued, not yet taken by the flusher
	inflight map[string]*wbOp[V] // being written by the flusher
	reserved int                 // room taken by Sets between reserve and enqueue
	seq      uint64              // local sequence of accepted writes
	changed  chan struct{}       // closed and replaced when a batch settles or Close starts
	closed   bool

	kick     chan struct{} // wakes the flusher: a full batch may be waiting
	flushReq chan struct{} // wakes the flusher to write everything due
	stop     chan struct{} // stops the flusher
	stopped  chan struct{} // closed when the flusher has returned
	base     context.Context
	cancel   context.CancelFunc // aborts the flusher's calls
	lastBeat time.Time          // flusher only
	unacked  []string           // flusher only: entries whose acknowledgement failed

	queued, coalesced, written, batches atomic.Uint64
	retries, dead, claimed, journalErrs atomic.Uint64
}

// wbOp is one id's queued write: the newest value (or delete) plus what it
// stands for.
type wbOp[V any] struct {
	id        string
	value     V
	del       bool
	order     order  // the newest write's position
	firstSeq  uint64 // the oldest local write it stands for (Flush waits for it)
	attempts  int    // failed attempts of this value
	notBefore time.Time
	queuedAt  time.Time // when the oldest write it stands for was accepted
	journal   []string  // entry IDs to acknowledge once written
	claimed   bool      // taken over from another instance
	// dirty marks a write whose cache update failed: Redis may hold an
	// older value, dropped once the source has the write.
	dirty bool
}

var _ Strategy[int] = (*WriteBehind[int])(nil)

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// NewWriteBehind returns a write-behind strategy for one data type and
// starts its flusher; Close stops it.
func NewWriteBehind[V any](store *tier.Store, src Source[V], o Options, cfg WriteBehindConfig[V]) (*WriteBehind[V], error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil source", ErrConfig)
	}
	b, err := newBinding[V](store, o)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &WriteBehind[V]{
		b:        b,
		src:      src,
		cfg:      cfg,
		codec:    o.Codec,
		pending:  make(map[string]*wbOp[V]),
		inflight: make(map[string]*wbOp[V]),
		changed:  make(chan struct{}),
		kick:     make(chan struct{}, 1),
		flushReq: make(chan struct{}, 1),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	if w.codec == nil {
		w.codec = codec.Default()
	}
	w.batcher, _ = src.(BatchStorer[V])
	if cfg.Durable {
		if store.Redis() == nil {
			return nil, fmt.Errorf("%w: Durable needs a Store with Redis", ErrConfig)
		}
		if cfg.ClaimIdle <= 2*cfg.WriteTimeout {
			return nil, fmt.Errorf("%w: ClaimIdle %v must be more than twice WriteTimeout %v", ErrConfig, cfg.ClaimIdle, cfg.WriteTimeout)
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
	}
	w.load = w.loadQueued
	w.base, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

func (c WriteBehindConfig[V]) withDefaults() WriteBehindConfig[V] {
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxRetryBackoff <= 0 {
		c.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	if c.ClaimIdle <= 0 {
		c.ClaimIdle = DefaultClaimIdle
	}
	return c
}

// Get returns the value of id: from the cache, else from the queue of
// writes not yet in the source, else from the source. A fresh L1 hit
// allocates nothing.
func (w *WriteBehind[V]) Get(ctx context.Context, id string) (V, error) {
	return w.b.get(ctx, id, w.load)
}

// loadQueued is the loader: a queued write is newer than the source.
func (w *WriteBehind[V]) loadQueued(ctx context.Context, key string) (any, error) {
	id := idOf(key)
	w.mu.Lock()
	op := w.pending[id]
	if op == nil {
		op = w.inflight[id]
	}
	var (
		v     V
		del   bool
		found = op != nil
	)
	if found {
		v, del = op.value, op.del
	}
	w.mu.Unlock()
	if !found {
		return w.src.Load(ctx, id)
	}
	if del {
		return nil, ErrNotFound
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
	reserved, err := w.reserve(ctx, id)
	if err != nil {
		return err
	}
	op := &wbOp[V]{id: id, value: v, del: del}
	if w.journal != nil {
		var payload []byte
		if !del {
			if payload, err = w.codec.Marshal(v); err != nil {
				w.unreserve(reserved)
				return fmt.Errorf("strategy: encode %q: %w", key, err)
			}
		}
		sid, err := w.journal.append(ctx, id, del, payload)
		if err == nil {
			op.order, err = parseStreamID(sid)
		}
		if err != nil {
			w.unreserve(reserved)
			return err
		}
		op.journal = []string{sid}
	}
	at, ok := w.enqueue(op, reserved)
	if !ok {
		if w.journal != nil {
			// Closed while journaling: withdraw the entry, so that no other
			// instance writes what this Set reports as refused.
			jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.WriteTimeout)
			_ = w.journal.ack(jctx, op.journal)
			cancel()
		}
		return ErrClosed
	}
	w.queued.Add(1)
	if del {
		if w.b.store.Delete(ctx, key) != nil { // counted by the Store
			w.markDirty(id)
		}
		return nil
	}
	if w.b.store.Set(ctx, key, v, &w.b.tier) != nil { // counted by the Store
		w.markDirty(id)
	}
	if !w.newest(id, at) {
		// A later write of id was queued while this one updated the cache,
		// and may have updated it first: drop the entry, so that reads go
		// to the queue.
		_ = w.b.store.Delete(ctx, key)
	}
	return nil
}

// markDirty asks the flusher to drop id from the cache once its queued
// write is in the source.
func (w *WriteBehind[V]) markDirty(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if op := w.pending[id]; op != nil {
		op.dirty = true
	} else if op := w.inflight[id]; op != nil {
		op.dirty = true
	}
}

// reserve waits for room in the queue for a write of id. It reports whether
// it took room (an id already queued needs none).
func (w *WriteBehind[V]) reserve(ctx context.Context, id string) (bool, error) {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return false, ErrClosed
		}
		if w.pending[id] != nil {
			w.mu.Unlock()
			return false, nil
		}
		if len(w.pending)+len(w.inflight)+w.reserved < w.cfg.QueueSize {
			w.reserved++
			w.mu.Unlock()
			return true, nil
		}
		changed := w.changed
		w.mu.Unlock()
		w.flushNow() // full: write what is due, batch full or not
		select {
		case <-changed:
		case <-ctx.Done():
			return false, fmt.Errorf("strategy: write-behind queue full: %w", ctx.Err())
		}
	}
}

func (w *WriteBehind[V]) unreserve(reserved bool) {
	if !reserved {
		return
	}
	w.mu.Lock()
	w.reserved--
	w.mu.Unlock()
}

// enqueue adds op to the queue, merging it with a queued write of its id:
// the later of the two (in journal order) gives the value. It reports false
// after Close. It returns op's position: once queued, op may be merged
// with later writes under w.mu, so the caller must not read it again.
func (w *WriteBehind[V]) enqueue(op *wbOp[V], reserved bool) (order, bool) {
	op.queuedAt = time.Now()
	w.mu.Lock()
	if reserved {
		w.reserved--
	}
	if w.closed {
		w.mu.Unlock()
		return order{}, false
	}
	w.seq++
	if w.journal == nil {
		op.order = order{seq: w.seq}
	}
	op.firstSeq = w.seq
	at := op.order
	w.merge(op)
	full := len(w.pending) >= w.cfg.BatchSize
	w.mu.Unlock()
	if full {
		w.wake()
	}
	return at, true
}

// merge puts op in the queue; w.mu must be held. A write older than the
// one of its id being written (a claimed entry, or a Set whose journal
// append raced a later one) is acknowledged with it instead.
func (w *WriteBehind[V]) merge(op *wbOp[V]) {
	cur := w.pending[op.id]
	if cur == nil {
		if fl := w.inflight[op.id]; fl != nil && op.order.before(fl.order) {
			w.coalesced.Add(1)
			fl.journal = append(fl.journal, op.journal...)
			fl.firstSeq = min(fl.firstSeq, op.firstSeq)
			fl.queuedAt = earlier(fl.queuedAt, op.queuedAt)
			fl.dirty = fl.dirty || op.dirty
			return
		}
		w.pending[op.id] = op
		return
	}
	w.coalesced.Add(1)
	cur.journal = append(cur.journal, op.journal...)
	cur.firstSeq = min(cur.firstSeq, op.firstSeq)
	cur.queuedAt = earlier(cur.queuedAt, op.queuedAt)
	if op.order.before(cur.order) {
		return // op is older: its entry is acknowledged with cur's write
	}
	cur.value, cur.del, cur.order, cur.claimed = op.value, op.del, op.order, op.claimed
	cur.dirty = cur.dirty || op.dirty
	cur.attempts, cur.notBefore = 0, time.Time{}
}

// newest reports whether the write at o is the newest queued write of id.
func (w *WriteBehind[V]) newest(id string, o order) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	op := w.pending[id]
	if op == nil {
		op = w.inflight[id]
	}
	return op == nil || !o.before(op.order)
}

// isQueued reports whether a write of id waits in the queue.
func (w *WriteBehind[V]) isQueued(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending[id] != nil
}

// wake tells the flusher a full batch may be waiting.
func (w *WriteBehind[V]) wake() { signal(w.kick) }

// flushNow asks the flusher to write everything due, full batches or not.
func (w *WriteBehind[V]) flushNow() { signal(w.flushReq) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Flush writes every write queued before it was called, retrying as
// configured, and returns once each is in the source or dead-lettered, or
// when ctx ends.
func (w *WriteBehind[V]) Flush(ctx context.Context) error {
	w.mu.Lock()
	target := w.seq
	w.mu.Unlock()
	for {
		w.mu.Lock()
		done := w.doneUpTo(target)
		changed := w.changed
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-w.stopped:
			return ErrClosed
		default:
		}
		w.flushNow()
		select {
		case <-changed:
		case <-w.stopped:
		case <-ctx.Done():
			return fmt.Errorf("strategy: flush: %w", ctx.Err())
		}
	}
}

// doneUpTo reports whether every write up to seq has left the queue;
// w.mu must be held.
func (w *WriteBehind[V]) doneUpTo(seq uint64) bool {
	for _, m := range []map[string]*wbOp[V]{w.pending, w.inflight} {
		for _, op := range m {
			if op.firstSeq <= seq {
				return false
			}
		}
	}
	return true
}

// Close refuses new writes, flushes the queue (as long as ctx allows), and
// stops the flusher. Writes it could not finish are handed to DeadLetter
// wrapping ErrClosed, or, with Durable, left in the journal for another
// instance to claim. It returns the flush's error.
func (w *WriteBehind[V]) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.stopped
		return nil
	}
	w.closed = true
	w.broadcast()
	w.mu.Unlock()

	err := w.Flush(ctx)
	if err != nil {
		w.cancel() // abort the source call in progress
	}
	close(w.stop)
	<-w.stopped
	w.cancel()
	if len(w.unacked) > 0 { // the flusher has stopped: its fields are ours
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.WriteTimeout)
		if w.journal.ack(actx, w.unacked) != nil {
			w.journalErrs.Add(1) // these entries will be claimed and written again
		}
		cancel()
	}

	w.mu.Lock()
	left := make([]*wbOp[V], 0, len(w.pending))
	for _, op := range w.pending {
		left = append(left, op)
	}
	clear(w.pending)
	w.mu.Unlock()
	if len(left) > 0 && w.journal == nil {
		for _, op := range left {
			w.deadLetter(op, fmt.Errorf("%w before the write: %w", ErrClosed, err))
		}
	}
	return err
}

// broadcast wakes everyone waiting on the queue; w.mu must be held.
func (w *WriteBehind[V]) broadcast() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// Stats returns a snapshot of the WriteBehind's counters.
func (w *WriteBehind[V]) Stats() WriteBehindStats {
	n, oldest := w.QueueStats()
	return WriteBehindStats{
		Queued:        w.queued.Load(),
		Coalesced:     w.coalesced.Load(),
		Written:       w.written.Load(),
		Batches:       w.batches.Load(),
		Retries:       w.retries.Load(),
		DeadLettered:  w.dead.Load(),
		Claimed:       w.claimed.Load(),
		JournalErrors: w.journalErrs.Load(),
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
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, m := range []map[string]*wbOp[V]{w.pending, w.inflight} {
		for _, op := range m {
			if first.IsZero() || op.queuedAt.Before(first) {
				first = op.queuedAt
			}
		}
	}
	if !first.IsZero() {
		oldest = max(now.Sub(first), 0)
	}
	return len(w.pending) + len(w.inflight), oldest
}

// run is the flusher.
func (w *WriteBehind[V]) run() {
	defer close(w.stopped)
	tick := time.NewTicker(w.cfg.FlushInterval)
	defer tick.Stop()
	var claimC <-chan time.Time
	if w.journal != nil {
		claims := time.NewTicker(w.cfg.ClaimIdle / 3)
		defer claims.Stop()
		claimC = claims.C
		w.recover() // writes of instances that died before this one started
	}
	for {
		all := true
		select {
		case <-w.stop:
			return
		case <-w.kick:
			all = false
		case <-w.flushReq:
		case <-tick.C:
		case <-claimC:
			w.recover()
		}
		w.flushDue(all)
	}
}

// flushDue writes the queue batch by batch: with all, every write due and
// queued before the pass began (later writes wait for the next pass, and
// coalesce meanwhile); without, full batches only.
func (w *WriteBehind[V]) flushDue(all bool) {
	w.mu.Lock()
	upTo := w.seq
	w.mu.Unlock()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		if w.journal != nil {
			if time.Since(w.lastBeat) > w.cfg.ClaimIdle/3 {
				w.heartbeat()
			}
			if len(w.unacked) > 0 {
				w.ack(nil)
			}
		}
		batch := w.take(all, upTo)
		if len(batch) == 0 {
			return
		}
		w.writeBatch(batch)
	}
}

// take moves up to BatchSize due writes from the queue to the flusher: with
// all, those queued up to seq upTo; without, only a full batch.
func (w *WriteBehind[V]) take(all bool, upTo uint64) []*wbOp[V] {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !all && len(w.pending) < w.cfg.BatchSize {
		return nil
	}
	batch := make([]*wbOp[V], 0, min(len(w.pending), w.cfg.BatchSize))
	for _, op := range w.pending {
		if len(batch) == w.cfg.BatchSize {
			break
		}
		if op.notBefore.After(now) || all && op.firstSeq > upTo {
			continue
		}
		batch = append(batch, op)
	}
	if !all && len(batch) < w.cfg.BatchSize {
		return nil
	}
	for _, op := range batch {
		delete(w.pending, op.id)
		w.inflight[op.id] = op
	}
	return batch
}

// writeBatch writes one batch to the source and settles it.
func (w *WriteBehind[V]) writeBatch(batch []*wbOp[V]) {
	w.batches.Add(1)
	ctx, cancel := context.WithTimeout(w.base, w.cfg.WriteTimeout)
	defer cancel()
	errs := make([]error, len(batch))
	var sets []int
	for i, op := range batch {
		if op.del {
			errs[i] = w.src.Remove(ctx, op.id)
		} else {
			sets = append(sets, i)
		}
	}
	if w.batcher != nil && len(sets) > 1 {
		items := make(map[string]V, len(sets))
		for _, i := range sets {
			items[batch[i].id] = batch[i].value
		}
		err := w.batcher.StoreBatch(ctx, items)
		for _, i := range sets {
			errs[i] = err
		}
	} else {
		for _, i := range sets {
			errs[i] = w.src.Store(ctx, batch[i].id, batch[i].value)
		}
	}
	w.settle(batch, errs)
}

// settle records a batch's outcome: written writes are acknowledged, failed
// ones retried or dead-lettered, unless a later write of the id is queued
// (which then stands for them). Writes stay in flight until their
// acknowledgement or dead letter is done, so that Flush waits for it.
func (w *WriteBehind[V]) settle(batch []*wbOp[V], errs []error) {
	var (
		acks     []string
		finished []*wbOp[V] // written or dead: leave inflight at the end
		dead     []*wbOp[V]
		deadErrs []error
		stale    []string // ids to drop from the cache
	)
	now := time.Now()
	w.mu.Lock()
	for i, op := range batch {
		err := errs[i]
		if err == nil {
			w.written.Add(1)
			acks = append(acks, op.journal...)
			finished = append(finished, op)
			if op.claimed || op.dirty {
				stale = append(stale, op.id)
			}
			continue
		}
		delete(w.inflight, op.id)
		if later := w.pending[op.id]; later != nil {
			later.journal = append(later.journal, op.journal...)
			later.firstSeq = min(later.firstSeq, op.firstSeq)
			later.queuedAt = earlier(later.queuedAt, op.queuedAt)
			later.dirty = later.dirty || op.dirty
			continue
		}
		op.attempts++
		if op.attempts >= w.cfg.MaxAttempts {
			w.inflight[op.id] = op
			finished = append(finished, op)
			dead = append(dead, op)
			deadErrs = append(deadErrs, err)
			acks = append(acks, op.journal...)
			continue
		}
		w.retries.Add(1)
		op.notBefore = now.Add(w.backoff(op.attempts))
		w.pending[op.id] = op
	}
	w.broadcast()
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		for _, op := range finished {
			delete(w.inflight, op.id)
		}
		w.broadcast()
		w.mu.Unlock()
	}()

	if len(acks) > 0 && w.journal != nil {
		w.ack(acks)
	}
	for _, id := range stale {
		// Another instance's write, which may have died before its cache
		// update, or one whose cache update failed: drop the id, so that the
		// next read loads what the source now holds.
		if key, err := w.b.key(id); err == nil && !w.isQueued(id) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(w.base), w.cfg.WriteTimeout)
			_ = w.b.store.Delete(ctx, key)
			cancel()
		}
	}
	for i, op := range dead {
		w.deadLetter(op, fmt.Errorf("strategy: write %q after %d attempts: %w", op.id, op.attempts, deadErrs[i]))
	}
}

// deadLetter hands a write that will not reach the source to the hook, and
// drops the id from the cache, which must not keep a value the source never
// got.
func (w *WriteBehind[V]) deadLetter(op *wbOp[V], err error) {
	w.dead.Add(1)
	key, _ := w.b.key(op.id) // valid: it was queued
	if w.newest(op.id, op.order) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.base), w.cfg.WriteTimeout)
		_ = w.b.store.Delete(ctx, key)
		cancel()
	}
	if w.cfg.DeadLetter != nil {
		w.cfg.DeadLetter(FailedWrite[V]{ID: op.id, Key: key, Value: op.value, Delete: op.del, Attempts: op.attempts, Err: err})
	}
}

// backoff is the wait before retry n (from 1): RetryBackoff doubled n-1
// times, capped, then a random 50-100 % of it.
func (w *WriteBehind[V]) backoff(n int) time.Duration {
	d := w.cfg.RetryBackoff
	for i := 1; i < n && d < w.cfg.MaxRetryBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxRetryBackoff)
	return d/2 + rand.N(d/2+1)
}

// ack acknowledges journal entries, with those whose acknowledgement failed
// before. Entries it cannot acknowledge are kept, retried on the next pass,
// and kept from going idle by the heartbeat: claimed by another instance,
// they would write an older value again.
func (w *WriteBehind[V]) ack(ids []string) {
	ids = append(w.unacked, ids...)
	w.unacked = nil
	ctx, cancel := context.WithTimeout(w.base, w.cfg.WriteTimeout)
	defer cancel()
	if err := w.journal.ack(ctx, ids); err != nil {
		w.journalErrs.Add(1)
		w.unacked = ids
	}
}

// heartbeat resets the idle time of the journal entries this instance
// holds, so that no other instance claims them.
func (w *WriteBehind[V]) heartbeat() {
	w.lastBeat = time.Now()
	w.mu.Lock()
	ids := slices.Clone(w.unacked)
	for _, m := range []map[string]*wbOp[V]{w.pending, w.inflight} {
		for _, op := range m {
			ids = append(ids, op.journal...)
		}
	}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(w.base, w.cfg.WriteTimeout)
	defer cancel()
	if err := w.journal.touch(ctx, ids); err != nil {
		w.journalErrs.Add(1)
	}
}

// recover claims the journal entries of instances that died and queues
// them, oldest first, so that the last write of each id wins.
func (w *WriteBehind[V]) recover() {
	ctx, cancel := context.WithTimeout(w.base, w.cfg.WriteTimeout)
	msgs, err := w.journal.claim(ctx)
	if err != nil {
		w.journalErrs.Add(1)
	}
	if err := w.journal.prune(ctx); err != nil {
		w.journalErrs.Add(1)
	}
	cancel()
	if len(msgs) == 0 {
		return
	}
	var bad []string
	w.mu.Lock()
	for _, m := range msgs {
		op, err := w.decodeEntry(m.ID, m.Values)
		if err != nil {
			bad = append(bad, m.ID)
			continue
		}
		w.claimed.Add(1)
		w.seq++
		op.firstSeq = w.seq
		w.merge(op)
	}
	w.mu.Unlock()
	if len(bad) > 0 {
		// Entries this version cannot read: acknowledge them, counted, so
		// that they do not circle between instances forever.
		w.dead.Add(uint64(len(bad)))
		w.ack(bad)
	}
}

// decodeEntry rebuilds a queued write from a journal entry.
func (w *WriteBehind[V]) decodeEntry(sid string, f map[string]any) (*wbOp[V], error) {
	o, err := parseStreamID(sid)
	if err != nil {
		return nil, err
	}
	id, _ := f[fieldID].(string)
	kind, _ := f[fieldOp].(string)
	if _, err := w.b.ns.Key(w.b.entity, id); err != nil {
		return nil, fmt.Errorf("strategy: journal entry %s: %w", sid, err)
	}
	op := &wbOp[V]{id: id, order: o, journal: []string{sid}, claimed: true, queuedAt: time.UnixMilli(int64(o.ms))}
	switch kind {
	case opDelete:
		op.del = true
	case opSet:
		payload, _ := f[fieldValue].(string)
		if err := w.codec.Unmarshal([]byte(payload), &op.value); err != nil {
			return nil, fmt.Errorf("strategy: journal entry %s: %w", sid, err)
		}
	default:
		return nil, fmt.Errorf("strategy: journal entry %s: unknown op %q", sid, kind)
	}
	return op, nil
}
