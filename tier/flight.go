package tier

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// flightResult is what one shared read hands to every reader of the key.
type flightResult struct {
	entry *l1Entry
	tier  Tier
	stale bool
}

// flight is one shared read of a key: its leader reads L2 (and takes the
// fill lease when the key is missing) on its own goroutine, so an L2 hit
// costs no goroutine hand-off; when a load is needed it hands the rest to a
// goroutine detached from its cancellation, so that every reader waits only
// as long as its own context allows. A flight whose load left an L2 fill to
// do stays in the Store's table, answered, until the fill lands: a reader
// that comes in between takes the loaded value instead of loading again.
type flight struct {
	// done is closed once res, err and retry are set; they are only read
	// after it is closed.
	done  chan struct{}
	res   flightResult
	err   error
	retry bool // the leader's own context ended first: readers read again
	// stale is set while the flight loads to replace an expired L2 entry
	// servable within the stale-if-error window: a reader whose context
	// ends, or whose soft timeout passes, before the load answers gets it
	// (see getShared). The flight's goroutines store it; readers only load
	// it.
	stale atomic.Pointer[l1Entry]
}

// getShared reads key through one flight per key and process. stale is the
// caller's expired L1 entry, served if the flight fails within the
// stale-if-error window, or when the reader's context ends or its soft
// timeout passes before the flight answers.
//
// The reader runs the flight's first L2 read itself when it leads (see
// lead); everything after that runs on a goroutine of the Store's, which
// owns the read's state. The reader only waits: it reads the flight's
// outcome after done is closed, and its stale entry through an atomic.
func (s *Store) getShared(ctx context.Context, key, id string, o *Options, load Loader, stale *l1Entry) (r Result, err error) {
	ctx, sp := s.startSpan(ctx, OpGet, key)
	defer endRead(sp, &r, &err)
	counted := false
	var softAt time.Time      // when the reader stops waiting for a load it can serve stale
	var softTimer *time.Timer // made only once a wait begins: an L2 hit answers first
	var soft <-chan time.Time // softTimer's channel until it fires
	if o.SoftTimeout > 0 {
		softAt = time.Now().Add(o.SoftTimeout)
		defer func() {
			if softTimer != nil {
				softTimer.Stop()
			}
		}()
	}
	for {
		if s.closed.Load() {
			return Result{}, ErrClosed
		}
		s.flightMu.Lock()
		f, follower := s.flights[key]
		if !follower {
			f = &flight{done: make(chan struct{})}
			s.flights[key] = f
		}
		s.flightMu.Unlock()
		if !counted {
			// Counted once the reader has joined the flight, so that a count
			// of N misses means N readers share at most as many flights as
			// are running.
			s.stats.l1Misses.Add(1)
			counted = true
		}
		if !follower {
			s.lead(ctx, fillRead{key: key, id: id, o: o, load: load, flight: f}, f)
		}
		if softTimer == nil && !softAt.IsZero() {
			select {
			case <-f.done:
			default:
				softTimer = time.NewTimer(time.Until(softAt))
				soft = softTimer.C
			}
		}
	wait:
		for {
			select {
			case <-f.done:
				break wait
			case <-soft:
				soft = nil // a stale entry found later waits for the flight
				if e, t := staleFor(stale, f, o); e != nil {
					s.stats.staleServed.Add(1)
					return e.answer(t, true)
				}
			case <-ctx.Done():
				// A deadline does not beat a stale value: the reader's own
				// (expired L1) entry, or the expired L2 entry the flight is
				// replacing, within the stale-if-error window.
				if e, t := staleFor(stale, f, o); e != nil {
					s.stats.staleServed.Add(1)
					return e.answer(t, true)
				}
				return Result{}, ctx.Err()
			}
		}
		if f.retry && follower {
			continue
		}
		if follower {
			s.stats.coalescedWait.Add(1)
		}
		if f.err != nil {
			if stale != nil && !errors.Is(f.err, ErrNotFound) && stale.servableOnError(o) {
				s.stats.staleServed.Add(1)
				return stale.answer(TierL1, true)
			}
			return Result{}, f.err
		}
		return f.res.entry.answer(f.res.tier, f.res.stale)
	}
}

// staleFor returns the entry a reader of flight f may be answered with
// before the flight answers, and the tier it comes from: the reader's own
// expired L1 entry, else the expired L2 entry the flight is replacing,
// within the stale-if-error window; nil when there is none.
func staleFor(own *l1Entry, f *flight, o *Options) (*l1Entry, Tier) {
	if own != nil && own.servableOnError(o) {
		return own, TierL1
	}
	if e := f.stale.Load(); e != nil && e.servableOnError(o) {
		return e, TierL2
	}
	return nil, TierNone
}

// lead runs flight f: the first L2 read on the caller's goroutine, bounded
// by its context. With a loader, that read also takes the fill lease of a
// missing key (one round trip before the load). A fresh L2 hit ends the
// flight there; anything else (a miss, a lease, a stale or corrupt entry, a
// Redis error) continues in fetch, on a goroutine of the Store's.
func (s *Store) lead(ctx context.Context, r fillRead, f *flight) {
	if s.bus != nil && r.o.L1TTL >= 0 {
		// Subscribed before the ticket: a write elsewhere after this point
		// reaches the fence or the filled entry.
		s.bus.ensure(ctx, r.key)
	}
	r.t = s.l1.begin(r.key)
	var first l2Read
	if s.l2 != nil && !s.repairs.has(r.key) {
		first = s.readL2(ctx, &r)
		switch {
		case first.err != nil && ctx.Err() != nil:
			// The leader gave up; nothing is known about the key.
			s.l1.end(r.t)
			s.complete(r.key, f, flightResult{}, ctx.Err(), true)
			return
		case first.err == nil && first.raw != nil:
			e, fresh := s.freshL2(ctx, first.raw, &r)
			if fresh {
				s.l1.end(r.t)
				s.complete(r.key, f, flightResult{entry: e, tier: TierL2}, nil, false)
				return
			}
			if e != nil && r.o.SoftTimeout > 0 && e.servableOnError(r.o) {
				// Offered before the reload starts, so that the soft
				// timeout finds it; withdrawn if a write of the key came
				// meanwhile (see forgetFlights).
				f.stale.Store(e)
				if !s.l1.current(r.t) {
					f.stale.CompareAndSwap(e, nil)
				}
			}
		}
	}
	s.continueFlight(ctx, r, f, first)
}

// continueFlight runs the rest of a flight after its first L2 read. It is
// a function of its own so that what its goroutine captures is allocated
// only when a flight gets this far, not on every L2 hit.
func (s *Store) continueFlight(ctx context.Context, r fillRead, f *flight, first l2Read) {
	if !s.goStarted() {
		s.releaseLease(context.WithoutCancel(ctx), r.key, first.lease)
		s.l1.end(r.t)
		s.complete(r.key, f, flightResult{}, ErrClosed, false)
		return
	}
	// A leader that can never give up (context.Background and the like)
	// runs the rest itself, saving a goroutine hand-off, unless a soft
	// timeout may have it stop waiting.
	inline := ctx.Done() == nil && r.o.SoftTimeout <= 0
	if d, ok := ctx.Deadline(); ok {
		// Wait for another process's fill at most half the leader's time,
		// leaving the other half for its own load.
		r.waitUntil = time.Now().Add(time.Until(d) / 2)
	}
	rest := func() {
		defer s.bg.Done()
		// The flight outlives any one reader: detach it from the leader's
		// cancellation and bound it on its own.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.LoadTimeout)
		defer cancel()
		stop := context.AfterFunc(s.bg.Context(), cancel)
		defer stop()
		res, fill, err := s.fetch(fctx, &r, &first)
		if fill == nil {
			s.l1.end(r.t)
			s.complete(r.key, f, res, err, false)
			s.endReload(fctx, &r)
			return
		}
		// The readers have their value now; the L2 fill follows, off their
		// path, while the flight stays in the table to answer newcomers.
		s.fills.Add(1)
		s.answer(f, res, nil, false)
		if inline && s.goStarted() {
			// The leader runs this on its own goroutine (its context never
			// ends): hand the fill to a goroutine of the Store's.
			go func() {
				defer s.bg.Done()
				s.landAndForget(context.WithoutCancel(ctx), &r, f, fill)
			}()
			return
		}
		s.landAndForget(fctx, &r, f, fill)
	}
	if inline {
		rest()
		return
	}
	go rest()
}

// landAndForget writes a flight's pending L2 fill, then removes the flight
// from the table.
func (s *Store) landAndForget(ctx context.Context, r *fillRead, f *flight, fill *l2Fill) {
	if s.beforeLand != nil {
		s.beforeLand(r.key)
	}
	fctx, cancel := context.WithTimeout(ctx, s.cfg.L2Timeout)
	s.land(fctx, r, fill)
	s.endReload(fctx, r)
	cancel()
	s.l1.end(r.t)
	s.forget(r.key, f)
	s.fills.Done()
}

// answer sets a flight's outcome and wakes its readers.
func (s *Store) answer(f *flight, res flightResult, err error, retry bool) {
	f.res, f.err, f.retry = res, err, retry
	close(f.done)
}

// forget removes flight f from the table, unless another flight of the key
// has replaced it.
func (s *Store) forget(key string, f *flight) {
	s.flightMu.Lock()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
	s.flightMu.Unlock()
}

// complete ends flight f and wakes its readers.
func (s *Store) complete(key string, f *flight, res flightResult, err error, retry bool) {
	s.forget(key, f)
	s.answer(f, res, err, retry)
}

// forgetFlights removes the flights of keys from the table, so that a read
// after a write or an invalidation of a key starts afresh instead of joining
// a flight that began before it (or whose load has answered but whose fill
// has not landed yet). Readers already in those flights get their answers.
func (s *Store) forgetFlights(keys ...string) {
	s.flightMu.Lock()
	for _, k := range keys {
		if f := s.flights[k]; f != nil {
			f.stale.Store(nil) // older than the write
			delete(s.flights, k)
		}
	}
	s.flightMu.Unlock()
}

// forgetAllFlights is forgetFlights for every key (L1 cleared).
func (s *Store) forgetAllFlights() {
	s.flightMu.Lock()
	clear(s.flights)
	s.flightMu.Unlock()
}

// l2Read is the outcome of one L2 read of a flight: the raw entry (nil when
// absent), the lease it took (nil unless the key was absent and this read
// stored its lease in it), or the Redis error.
type l2Read struct {
	raw   []byte
	lease []byte
	err   error
}

// readL2 reads key for r: with a loader, the read takes the key's fill lease
// when the key is missing (one command); without one (a peek), it only
// reads.
func (s *Store) readL2(ctx context.Context, r *fillRead) (rd l2Read) {
	ctx, sp := s.startSpan(ctx, OpL2Read, r.key)
	defer endL2Read(sp, &rd)
	if r.load == nil {
		raw, err := s.l2.get(ctx, r.key)
		return l2Read{raw: raw, err: err}
	}
	lease := s.newLease()
	raw, won, err := s.l2.getOrLease(ctx, r.key, lease, s.leaseTTLArg)
	if err != nil && mayHaveRun(err) {
		// The command may have reached Redis and stored the lease though
		// its answer was lost: take it back once Redis answers, so that
		// other processes do not wait for a fill that never comes.
		s.releaseLeaseLater(r.key, lease, answeredBy(err))
	}
	if !won {
		lease = nil
	}
	return l2Read{raw: raw, lease: lease, err: err}
}

// mayHaveRun reports whether a failed Redis call may still have run: not
// when the breaker refused it, the caller had given up before it was sent,
// it waited out its time in the read pipe's queue, or no connection could
// be made.
func mayHaveRun(err error) bool {
	var op *net.OpError
	switch {
	case errors.Is(err, errUnanswered):
		return true // sent, though its reader left (with a context.Canceled)
	case errors.Is(err, ErrBreakerOpen), errors.Is(err, context.Canceled), errors.Is(err, errUnsent):
		return false
	case errors.As(err, &op) && op.Op == "dial":
		return false
	}
	return true
}

// freshL2 answers from a fresh L2 entry, filling L1 and starting its
// refresh-ahead reload when it is past its refresh point; fresh is false for
// anything else (which fetch handles), with the decoded entry when it has
// only expired.
func (s *Store) freshL2(ctx context.Context, raw []byte, r *fillRead) (e *l1Entry, fresh bool) {
	env, e, err := s.decodeL2(r.key, raw, r.o)
	if err != nil || env.lease() {
		return nil, false
	}
	now := time.Now().UnixNano()
	if now >= e.freshUntil {
		return e, false
	}
	s.l2Hit(ctx, r, e, len(raw), now)
	return e, true
}

// l2Hit counts a fresh L2 hit, fills L1 with it and, past its refresh
// point, starts its background reload: refresh-ahead works whichever tier
// answers, and with L1 disabled.
func (s *Store) l2Hit(ctx context.Context, r *fillRead, e *l1Entry, cost int, now int64) {
	if s.cacheL2Hit(r, e, cost, now) {
		s.refreshAsync(ctx, r.key, r.id, r.o, r.load)
	}
}

// cacheL2Hit counts a fresh L2 hit and fills L1 with it; it reports whether
// the entry is past its refresh point.
func (s *Store) cacheL2Hit(r *fillRead, e *l1Entry, cost int, now int64) (refresh bool) {
	s.stats.l2Hits.Add(1)
	refresh = e.refreshDue(r.o, now)
	if !s.fillL1(r.key, e, r.o, cost, r.t) {
		s.stats.staleFills.Add(1)
	}
	return refresh
}
