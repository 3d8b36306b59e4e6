package tier

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// flightResult is what one shared read hands to every reader of the key.
type flightResult struct {
	entry *l1Entry
	tier  Tier
	stale bool
}

// flight is one shared read of a key: its leader reads L2 on its own
// goroutine (an L2 hit costs no goroutine hand-off) and, when a load is
// needed, hands the rest to a goroutine detached from its cancellation, so
// that every reader waits only as long as its own context allows.
type flight struct {
	done chan struct{} // closed when res and err are set
	res  *flightResult
	err  error
	// retry: the leader's own context ended before anything was shared;
	// the readers still waiting read again.
	retry bool
	hit   flightResult // res of an L2 hit, held here to save an allocation
}

// getShared reads key through one flight per key and process. stale is the
// caller's expired L1 entry, served if the flight fails within the
// stale-if-error window.
func (s *Store) getShared(ctx context.Context, key string, o *Options, load Loader, stale *l1Entry) (Result, error) {
	counted := false
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
			s.lead(ctx, key, o, load, f)
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return Result{}, ctx.Err()
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

// lead runs flight f for key: the L2 read on the caller's goroutine, bounded
// by its context; a fresh L2 hit ends the flight there. Anything else (a
// miss, a lease, a stale or corrupt entry, a Redis error) continues in
// fetch, on a goroutine of the Store's.
func (s *Store) lead(ctx context.Context, key string, o *Options, load Loader, f *flight) {
	if s.bus != nil && o.L1TTL >= 0 {
		// Subscribed before the ticket: a write elsewhere after this point
		// reaches the fence or the filled entry.
		s.bus.ensure(ctx, key)
	}
	t := s.l1.begin(key)
	var first l2Read
	if s.l2 != nil {
		first.raw, first.err = s.l2.get(ctx, key)
		switch {
		case first.err != nil && ctx.Err() != nil:
			// The leader gave up; nothing is known about the key.
			s.l1.end(t)
			s.complete(key, f, nil, ctx.Err(), true)
			return
		case first.err == nil && first.raw != nil:
			if e, ok := s.freshL2(key, first.raw, o, t); ok {
				s.l1.end(t)
				f.hit = flightResult{entry: e, tier: TierL2}
				s.complete(key, f, &f.hit, nil, false)
				return
			}
		}
	}
	s.continueFlight(ctx, key, o, load, f, t, first)
}

// continueFlight runs the rest of a flight after its first L2 read. It is
// a function of its own so that what its goroutine captures is allocated
// only when a flight gets this far, not on every L2 hit.
func (s *Store) continueFlight(ctx context.Context, key string, o *Options, load Loader, f *flight, t fenceTicket, first l2Read) {
	if !s.goStarted() {
		s.l1.end(t)
		s.complete(key, f, nil, ErrClosed, false)
		return
	}
	rest := func() {
		defer s.bg.Done()
		// The flight outlives any one reader: detach it from the leader's
		// cancellation and bound it on its own.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.LoadTimeout)
		defer cancel()
		stop := context.AfterFunc(s.bg.Context(), cancel)
		defer stop()
		res, err := s.fetch(fctx, key, o, load, t, &first)
		s.l1.end(t)
		s.complete(key, f, res, err, false)
	}
	if ctx.Done() == nil {
		// The leader can never give up (context.Background and the like):
		// it runs the rest itself and saves a goroutine hand-off.
		rest()
		return
	}
	go rest()
}

// complete ends flight f and wakes its readers.
func (s *Store) complete(key string, f *flight, res *flightResult, err error, retry bool) {
	s.flightMu.Lock()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
	s.flightMu.Unlock()
	f.res, f.err, f.retry = res, err, retry
	close(f.done)
}

// l2Read is the outcome of the first L2 read of a flight.
type l2Read struct {
	raw []byte
	err error
}

// freshL2 answers from a fresh L2 entry, filling L1; ok is false for
// anything else (which fetch handles).
func (s *Store) freshL2(key string, raw []byte, o *Options, t fenceTicket) (*l1Entry, bool) {
	env, e, err := s.decodeL2(key, raw, o)
	if err != nil || env.lease() || time.Now().UnixNano() >= e.freshUntil {
		return nil, false
	}
	s.stats.l2Hits.Add(1)
	if !s.fillL1(key, e, o, len(raw), t) {
		s.stats.staleFills.Add(1)
	}
	return e, true
}

// fetch continues a flight after its first L2 read: the fleet-wide fill
// and the load, or the wait for another process's fill.
func (s *Store) fetch(ctx context.Context, key string, o *Options, load Loader, t fenceTicket, first *l2Read) (*flightResult, error) {
	if s.l2 == nil {
		return s.loadAndFill(ctx, key, o, load, t, nil, nil)
	}
	deadline := time.Now().Add(s.cfg.FillWait)
	for {
		var raw []byte
		var err error
		if first != nil {
			raw, err, first = first.raw, first.err, nil
		} else {
			raw, err = s.l2.get(ctx, key)
		}
		if err != nil {
			s.l2Error(err)
			return s.loadAndFill(ctx, key, o, load, t, nil, nil) // Redis down: serve from the source
		}
		if raw == nil {
			s.stats.l2Misses.Add(1)
			if load == nil {
				return nil, ErrNoLoader // a peek: no lease to take
			}
			lease := s.newLease()
			won, err := s.l2.setNX(ctx, key, lease, s.cfg.FillLockTTL)
			if err != nil {
				s.l2Error(err)
				return s.loadAndFill(ctx, key, o, load, t, nil, nil)
			}
			if won {
				return s.loadAndFill(ctx, key, o, load, t, lease, nil)
			}
			if s.cfg.FillWait < 0 {
				return s.loadAndFill(ctx, key, o, load, t, nil, nil) // fill lock off: load, do not fill
			}
			continue // someone else's lease or value appeared: read it
		}
		env, e, err := s.decodeL2(key, raw, o)
		if err != nil {
			s.corrupt(ctx, key, raw, err)
			return s.loadAndFill(ctx, key, o, load, t, nil, nil)
		}
		if env.lease() {
			if load == nil {
				return nil, ErrNoLoader // a peek does not wait for the fill
			}
			if s.cfg.FillWait < 0 || !time.Now().Before(deadline) {
				return s.loadAndFill(ctx, key, o, load, t, nil, nil) // holder too slow: load, do not fill
			}
			s.stats.fillWaits.Add(1)
			if err := s.pause(ctx, deadline); err != nil {
				return nil, err
			}
			continue
		}
		now := time.Now().UnixNano()
		if now < e.freshUntil {
			s.stats.l2Hits.Add(1)
			if !s.fillL1(key, e, o, len(raw), t) {
				s.stats.staleFills.Add(1)
			}
			return &flightResult{entry: e, tier: TierL2}, nil
		}
		if now < e.freshUntil+int64(o.StaleWhileRevalidate) {
			s.stats.l2Hits.Add(1)
			s.stats.staleServed.Add(1)
			s.refreshAsync(ctx, key, o, load)
			return &flightResult{entry: e, tier: TierL2, stale: true}, nil
		}
		s.stats.l2Misses.Add(1)
		return s.loadAndFill(ctx, key, o, load, t, nil, &staleL2{raw: raw, entry: e})
	}
}

// staleL2 is an expired-but-kept L2 entry a load replaces (and falls back to
// within the stale-if-error window).
type staleL2 struct {
	raw   []byte
	entry *l1Entry
}

// pause waits a little before polling for another process's fill.
func (s *Store) pause(ctx context.Context, deadline time.Time) error {
	d := min(5*time.Millisecond, time.Until(deadline))
	timer := time.NewTimer(max(d, 0))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tier: waiting for fill: %w", ctx.Err())
	}
}
