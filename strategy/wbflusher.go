package strategy

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/tiercache/tiercache/tier"
)

// run is the flusher: it writes the queue on every tick, when a batch is
// full and when asked (Flush, a full queue), and, with a journal, claims the
// writes of instances that died. It returns once the WriteBehind shuts down.
func (w *WriteBehind[V]) run() {
	stop := w.bg.Context().Done()
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
		case <-stop:
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

// flushDue writes the queue batch by batch: with all, every write due and
// queued before the pass began (later writes wait for the next pass, and
// coalesce meanwhile); without, full batches only.
func (w *WriteBehind[V]) flushDue(all bool) {
	upTo := w.q.last()
	for w.bg.Context().Err() == nil {
		if w.journal != nil {
			w.ack(nil) // retry failed acknowledgements, if any
		}
		batch := w.q.take(all, upTo)
		if len(batch) == 0 {
			return
		}
		w.writeBatch(batch)
	}
}

// callCtx bounds one call of the flusher to the source or the journal;
// Shutdown cancels it.
func (w *WriteBehind[V]) callCtx() (context.Context, context.CancelFunc) {
	return w.bg.Detach(context.Background(), w.cfg.WriteTimeout)
}

// cleanupCtx bounds a call that must run even when ctx is cancelled or the
// WriteBehind shuts down: withdrawing a journal entry, dropping a key that
// must not outlive a write.
func (w *WriteBehind[V]) cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.cfg.WriteTimeout)
}

// writeBatch writes one batch to the source and settles it.
func (w *WriteBehind[V]) writeBatch(batch []*wbOp[V]) {
	w.batches.Add(1)
	ctx, cancel := w.callCtx()
	defer cancel()
	ctx, sp := w.startFlush(ctx, len(batch))
	errs := make([]error, len(batch))
	var sets []int
	for i, op := range batch {
		if op.del {
			errs[i] = w.guard("Remove", func() error { return w.src.Remove(ctx, op.id) })
		} else {
			sets = append(sets, i)
		}
	}
	if w.batcher != nil && len(sets) > 1 {
		items := make(map[string]V, len(sets))
		for _, i := range sets {
			items[batch[i].id] = batch[i].value
		}
		err := w.guard("StoreBatch", func() error { return w.batcher.StoreBatch(ctx, items) })
		for _, i := range sets {
			errs[i] = err
		}
	} else {
		for _, i := range sets {
			errs[i] = w.guard("Store", func() error { return w.src.Store(ctx, batch[i].id, batch[i].value) })
		}
	}
	w.settle(batch, errs)
	endFlush(sp, errs)
}

// startFlush starts the span of a batch of n writes when the Store traces
// (see tier.Tracer); the span is nil otherwise. A flush has no caller: its
// span is a root, and the source's writers run under it.
func (w *WriteBehind[V]) startFlush(ctx context.Context, n int) (context.Context, tier.Span) {
	t := w.b.store.Tracer()
	if t == nil {
		return ctx, nil
	}
	ctx, sp := t.Start(ctx, tier.OpFlush, w.b.ns.Prefix()+w.b.entity+":")
	sp.SetCount(n)
	return ctx, sp
}

// endFlush ends a flush's span, unless it is nil, with the first error of
// the batch's writes, if any.
func endFlush(sp tier.Span, errs []error) {
	if sp == nil {
		return
	}
	for _, err := range errs {
		if err != nil {
			sp.End(tier.OutcomeError, err)
			return
		}
	}
	sp.End(tier.OutcomeOK, nil)
}

// settle records a batch's outcome (see wbQueue.settle) and does what it
// asks: acknowledge, drop stale cache entries, hand dead writes over.
func (w *WriteBehind[V]) settle(batch []*wbOp[V], errs []error) {
	out := w.q.settle(batch, errs, w.cfg.MaxAttempts, w.backoff)
	w.written.Add(uint64(out.written))
	w.retries.Add(uint64(out.retried))
	defer w.q.release(out.finished)

	if len(out.acks) > 0 && w.journal != nil {
		w.ack(out.acks)
	}
	for _, id := range out.stale {
		// Another instance's write, which may have died before its cache
		// update, or one whose cache update failed: drop the id, so that the
		// next read loads what the source now holds.
		if key, err := w.b.key(id); err == nil && !w.q.isQueued(id) {
			ctx, cancel := w.cleanupCtx(context.Background())
			_ = w.b.store.Delete(ctx, key)
			cancel()
		}
	}
	for i, op := range out.dead {
		w.deadLetter(op, fmt.Errorf("strategy: write %q after %d attempts: %w", op.id, op.attempts, out.deadErrs[i]))
	}
}

// deadLetter hands a write that will not reach the source to the hook, and
// drops the id from the cache, which must not keep a value the source never
// got.
func (w *WriteBehind[V]) deadLetter(op *wbOp[V], err error) {
	w.dead.Add(1)
	key, _ := w.b.key(op.id) // valid: it was queued
	if w.q.newest(op.id, op.order) {
		ctx, cancel := w.cleanupCtx(context.Background())
		_ = w.b.store.Delete(ctx, key)
		cancel()
	}
	if w.cfg.DeadLetter != nil {
		_ = w.guard("DeadLetter", func() error {
			w.cfg.DeadLetter(FailedWrite[V]{ID: op.id, Key: key, Value: op.value, Delete: op.del, Attempts: op.attempts, Err: err})
			return nil
		})
	}
}

// guard runs f, a call of user code (the source's writers, the dead-letter
// hook) on a goroutine the WriteBehind owns: a panic in it must not crash
// the process. It becomes an error wrapping tier.ErrPanic, with the panic's
// value and stack, which then takes the path of any failed write (retries,
// then DeadLetter); it is counted (WriteBehindStats.Panics) and logged
// through WriteBehindConfig.Logger.
func (w *WriteBehind[V]) guard(what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.panics.Add(1)
			stack := debug.Stack()
			err = fmt.Errorf("strategy: write-behind %s: %w: %v\n%s", what, tier.ErrPanic, p, stack)
			if w.cfg.Logger != nil {
				w.cfg.Logger.Error("tiercache: panic in write-behind "+what,
					slog.Any("panic", p), slog.String("stack", string(stack)))
			}
		}
	}()
	return f()
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
