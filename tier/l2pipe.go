package tier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/background"
)

// l2Pipe makes the single-key reads of concurrent flights travel together,
// as the bus does with its publishes: a read issued while no other is in
// flight goes out at once, on its reader's goroutine, as one command (an idle
// cache adds no latency and no goroutine hand-off); reads issued while one
// is in flight queue, and go out together as one pipeline as soon as it has
// returned, sent by a goroutine of the Store's. There is no timer: a batch
// is whatever queued during the previous round trip, so the busier the
// cache, the fewer round trips, system calls and Redis event-loop turns each
// read costs. go-redis splits a pipeline per node on a cluster.
type l2Pipe struct {
	c  *l2
	bg *background.Group

	// mu guards busy and queue.
	mu    sync.Mutex
	busy  bool       // a read or a pipeline of reads is in flight
	queue *pipeBatch // the reads waiting for it; nil when none
}

// pipeBatch is the reads that go out in one pipeline.
type pipeBatch struct {
	// reads is appended to under l2Pipe.mu until the batch leaves the
	// queue, then only read by its sender.
	reads []*pipeRead
	// done is closed once every read's err is set.
	done chan struct{}
}

// pipeRead is one queued read.
type pipeRead struct {
	cmd    redis.Cmder
	quit   <-chan struct{} // the reader's ctx.Done(): a read it left is not sent
	queued time.Time       // when it was queued: it is bounded by L2Timeout from then
	err    error           // the read's outcome, set before the batch's done
	// state moves once from readQueued, to readSent by the sender or to
	// readAbandoned by whichever of the two sees the reader gone first.
	state atomic.Int32
}

// The states of a pipeRead.
const (
	readQueued int32 = iota
	readSent
	readAbandoned
)

var (
	// errUnsent ends a queued read that was never sent: its reader left
	// first, or it waited its whole L2Timeout behind a slow read.
	errUnsent = errors.New("tier: redis read not sent")
	// errUnanswered is wrapped by an unansweredError.
	errUnanswered = errors.New("tier: redis read sent, not answered before its reader left")
)

// unansweredError ends a read whose reader left after it was sent: the
// read may still run (and a SET NX GET take its lease) until done, which is
// closed when its pipeline has returned.
type unansweredError struct {
	err  error // the reader's ctx.Err()
	done <-chan struct{}
}

func (e *unansweredError) Error() string { return errUnanswered.Error() + ": " + e.err.Error() }

// Unwrap returns errUnanswered and the reader's context error.
func (e *unansweredError) Unwrap() []error { return []error{errUnanswered, e.err} }

// answeredBy returns the channel closed once the read that failed with err
// can no longer run, or nil when it already cannot.
func answeredBy(err error) <-chan struct{} {
	var ue *unansweredError
	if errors.As(err, &ue) {
		return ue.done
	}
	return nil
}

// do sends cmd, bounded by ctx and by the L2 timeout, and returns its
// error: alone when nothing else is in flight, else in the next pipeline.
func (p *l2Pipe) do(ctx context.Context, cmd redis.Cmder) error {
	if err := ctx.Err(); err != nil {
		return err // nothing is sent for a caller that has given up
	}
	p.mu.Lock()
	if !p.busy {
		p.busy = true
		p.mu.Unlock()
		err := p.c.process(ctx, cmd)
		p.sendQueued()
		return err
	}
	b := p.queue
	if b == nil {
		b = &pipeBatch{done: make(chan struct{})}
		p.queue = b
	}
	r := &pipeRead{cmd: cmd, quit: ctx.Done(), queued: time.Now()}
	b.reads = append(b.reads, r)
	p.mu.Unlock()
	select {
	case <-b.done:
		return r.err
	case <-ctx.Done():
		// The reader leaves; the command is the sender's now, never read
		// here again.
		if r.state.CompareAndSwap(readQueued, readAbandoned) || r.state.Load() == readAbandoned {
			return fmt.Errorf("%w: %w", errUnsent, ctx.Err())
		}
		return &unansweredError{err: ctx.Err(), done: b.done}
	}
}

// sendQueued hands the reads queued behind the one that just returned to a
// goroutine that sends them, or marks the pipe idle when there are none.
func (p *l2Pipe) sendQueued() {
	p.mu.Lock()
	b := p.queue
	p.queue = nil
	if b == nil {
		p.busy = false
	}
	p.mu.Unlock()
	if b != nil && !p.bg.Go(func() { p.drain(b) }) {
		p.fail(b, ErrClosed)
		p.mu.Lock()
		b = p.queue
		p.queue = nil
		p.busy = false
		p.mu.Unlock()
		if b != nil {
			p.fail(b, ErrClosed)
		}
	}
}

// drain sends b, then whatever queued while it was in flight, until
// nothing is left.
func (p *l2Pipe) drain(b *pipeBatch) {
	for b != nil {
		p.send(b)
		p.mu.Lock()
		b = p.queue
		p.queue = nil
		if b == nil {
			p.busy = false
		}
		p.mu.Unlock()
	}
}

// send runs the reads of b that still have a reader in pipelines of at most
// BatchChunk commands, each through call, and wakes the readers. The
// pipelines end when the first read queued has had its L2Timeout, so that
// no read waits longer than one L2Timeout for Redis, queued or not.
func (p *l2Pipe) send(b *pipeBatch) {
	defer close(b.done)
	deadline := b.reads[0].queued.Add(p.c.timeout)
	expired := !time.Now().Before(deadline)
	live := make([]*pipeRead, 0, len(b.reads))
	for _, r := range b.reads {
		select {
		case <-r.quit:
			// Its reader has gone (or is going: should it see done first,
			// it finds this error, never an unsent command).
			r.state.CompareAndSwap(readQueued, readAbandoned)
			r.err = fmt.Errorf("%w: its reader left", errUnsent)
			continue
		default:
		}
		if expired && r.state.CompareAndSwap(readQueued, readAbandoned) {
			r.err = fmt.Errorf("%w: it waited its whole L2Timeout (%v) behind another", errUnsent, p.c.timeout)
			continue
		}
		if r.state.CompareAndSwap(readQueued, readSent) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithDeadline(p.bg.Context(), deadline)
	defer cancel()
	for lo := 0; lo < len(live); lo += BatchChunk {
		chunk := live[lo:min(lo+BatchChunk, len(live))]
		err := p.c.call(ctx, func(ctx context.Context) error {
			_, _ = p.c.rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
				for _, r := range chunk {
					_ = pp.Process(ctx, r.cmd)
				}
				return nil
			})
			for _, r := range chunk {
				if err := r.cmd.Err(); err != nil && !answered(err) {
					return err // the breaker hears of the first failure
				}
			}
			return nil
		})
		for _, r := range chunk {
			r.err = r.cmd.Err()
			if r.err == nil && err != nil {
				r.err = err // refused by the breaker, or never sent
			}
		}
	}
}

// fail ends every read of b with err, unsent.
func (p *l2Pipe) fail(b *pipeBatch, err error) {
	for _, r := range b.reads {
		r.state.CompareAndSwap(readQueued, readAbandoned)
		r.err = err
	}
	close(b.done)
}
