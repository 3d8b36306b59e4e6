package tier

import (
	"context"
	"errors"
)

// Tracer starts spans for the Store's operations (package tierotel
// implements it with OpenTelemetry). The Store traces every read that leaves
// L1 (OpGet, with the L2 read, the wait for another process's fill, the load
// and the L2 fill as its children), every batch read (OpGetMany) and every
// write (OpSet, OpDelete, OpSetMany, OpDeletePattern); a write-behind
// strategy traces each batch it flushes (OpFlush). An L1 hit is never
// traced, with or without a Tracer: it stays a map lookup that allocates
// nothing. Nil (Config.Tracer unset) means no tracing, at the cost of a nil
// check on each traced path.
type Tracer interface {
	// Start starts the span of operation op (an Op constant) as a child of
	// the span ctx carries, and returns a context carrying the new span.
	// key is the operation's full key; for a Group's batch operations
	// (OpGetMany, OpSetMany, OpFlush) the key prefix "{namespace}:{entity}:";
	// for OpDelete the first key; for OpDeletePattern the pattern. It is
	// called on the caller's goroutine, or on one of the Store's for the
	// parts of a read that outlive its caller (the load, the L2 fill).
	Start(ctx context.Context, op string, key string) (context.Context, Span)
}

// Span is one operation started by a Tracer; the Store ends each span it
// starts exactly once, and calls its other methods before End.
type Span interface {
	// SetRead records what answered an OpGet: the tier, and whether the
	// value was served stale.
	SetRead(t Tier, stale bool)
	// SetCount records how many keys or ids an operation covered: the keys
	// of OpDelete and OpSetMany, the ids of OpGetMany that L1 did not
	// answer, the keys OpDeletePattern deleted, the writes of an OpFlush
	// batch.
	SetCount(n int)
	// End ends the span with its outcome (an Outcome constant); err is the
	// operation's error when outcome is OutcomeError, and nil otherwise.
	End(outcome string, err error)
}

// The operations a Tracer is asked to trace.
const (
	// OpGet is a read that L1 did not answer, up to its answer.
	OpGet = "get"
	// OpL2Read is one Redis read of a key by a read past L1; with a loader,
	// the same command takes the key's fill lease when the key is missing.
	OpL2Read = "l2.read"
	// OpFillWait is a wait for another process's fill of the key.
	OpFillWait = "fill.wait"
	// OpLoad is a call of the loader.
	OpLoad = "load"
	// OpL2Fill is the write of a loaded value to Redis, after the readers
	// have it: it replaces the read's fill lease, or the expired entry the
	// load started from, only if that is still there.
	OpL2Fill = "l2.fill"
	// OpGetMany is a Group's batch read of the ids L1 did not answer.
	OpGetMany = "get_many"
	// OpSet is a Store.Set (also the cache write of a strategy's Set).
	OpSet = "set"
	// OpDelete is a Store.Delete.
	OpDelete = "delete"
	// OpSetMany is a Group's SetMany.
	OpSetMany = "set_many"
	// OpDeletePattern is a Store.DeletePattern.
	OpDeletePattern = "delete_pattern"
	// OpFlush is one batch a write-behind strategy writes to its source.
	OpFlush = "writebehind.flush"
)

// The outcomes a Span ends with.
const (
	// OutcomeOK: the operation did what it was asked; an OpL2Fill that
	// landed; an OpFillWait that ended without an error.
	OutcomeOK = "ok"
	// OutcomeError: the operation failed; Span.End has its error. An OpGet
	// ends so only when the reader gets an error (a Redis failure that the
	// loader made up for is an error of its OpL2Read, not of the OpGet).
	OutcomeError = "error"
	// OutcomeNotFound: an OpGet or OpLoad answered ErrNotFound.
	OutcomeNotFound = "not_found"
	// OutcomeHit: an OpL2Read found a value (fresh or not).
	OutcomeHit = "hit"
	// OutcomeMiss: an OpL2Read without a loader found nothing.
	OutcomeMiss = "miss"
	// OutcomeLease: an OpL2Read found nothing and took the key's fill
	// lease: this process loads.
	OutcomeLease = "lease"
	// OutcomeLeased: an OpL2Read found another process's fill lease.
	OutcomeLeased = "leased"
	// OutcomeRefused: an OpL2Fill found the key written or deleted since
	// the load began, and left it as it was.
	OutcomeRefused = "refused"
)

// Tracer returns Config.Tracer (nil when the Store does not trace), for the
// strategies that trace work of their own.
func (s *Store) Tracer() Tracer { return s.cfg.Tracer }

// startSpan starts a span of op on key when the Store traces; otherwise it
// returns ctx and a nil Span, allocating nothing.
func (s *Store) startSpan(ctx context.Context, op, key string) (context.Context, Span) {
	if s.cfg.Tracer == nil {
		return ctx, nil
	}
	return s.cfg.Tracer.Start(ctx, op, key)
}

// endSpan ends sp, unless it is nil, with the outcome of err; n > 0 is
// recorded as its count.
func endSpan(sp Span, n int, err error) {
	if sp == nil {
		return
	}
	if n > 0 {
		sp.SetCount(n)
	}
	sp.End(outcomeOf(err))
}

// outcomeOf returns the outcome of an operation that returned err, and the
// error to record (nil unless OutcomeError).
func outcomeOf(err error) (string, error) {
	switch {
	case err == nil:
		return OutcomeOK, nil
	case errors.Is(err, ErrNotFound):
		return OutcomeNotFound, nil
	}
	return OutcomeError, err
}

// endRead ends the OpGet span sp, unless it is nil, with the read's result.
func endRead(sp Span, r *Result, err *error) {
	if sp == nil {
		return
	}
	sp.SetRead(r.Tier, r.Stale)
	sp.End(outcomeOf(*err))
}

// endL2Read ends the OpL2Read span sp, unless it is nil, with what the read
// found.
func endL2Read(sp Span, rd *l2Read) {
	if sp == nil {
		return
	}
	switch {
	case rd.err != nil:
		sp.End(OutcomeError, rd.err)
	case rd.lease != nil:
		sp.End(OutcomeLease, nil)
	case rd.raw == nil:
		sp.End(OutcomeMiss, nil)
	case isLease(rd.raw):
		sp.End(OutcomeLeased, nil)
	default:
		sp.End(OutcomeHit, nil)
	}
}

// isLease reports whether raw is a fill lease.
func isLease(raw []byte) bool {
	env, err := decodeEnvelope(raw)
	return err == nil && env.lease()
}

// endFill ends the OpL2Fill span sp, unless it is nil.
func endFill(sp Span, accepted bool, err error) {
	switch {
	case sp == nil:
	case err != nil:
		sp.End(OutcomeError, err)
	case !accepted:
		sp.End(OutcomeRefused, nil)
	default:
		sp.End(OutcomeOK, nil)
	}
}

// endGetMany ends the OpGetMany span sp, unless it is nil, with the count
// of the ids it read and the first error of an id that failed.
func endGetMany(sp Span, items []batchItem) {
	if sp == nil {
		return
	}
	var err error
	for i := range items {
		if e := items[i].err; e != nil && !errors.Is(e, ErrNotFound) {
			err = e
			break
		}
	}
	endSpan(sp, len(items), err)
}
