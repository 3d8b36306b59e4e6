package tier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
)

// Tier names the tier that answered a read.
type Tier uint8

// The tiers, in the order a read tries them.
const (
	TierNone   Tier = iota // nothing answered (an error)
	TierL1                 // the local in-process cache
	TierL2                 // Redis
	TierSource             // the loader (the source of truth)
)

// String returns "l1", "l2", "source" or "none".
func (t Tier) String() string {
	switch t {
	case TierL1:
		return "l1"
	case TierL2:
		return "l2"
	case TierSource:
		return "source"
	}
	return "none"
}

// Result is what a read returns besides its error.
type Result struct {
	// Value is the decoded value. It is shared with other readers through
	// L1: treat it as read-only.
	Value any
	// Tier is the tier that answered.
	Tier Tier
	// Stale reports a value served past its fresh time (stale-while-
	// revalidate or stale-if-error).
	Stale bool
	// CreatedAt is when the value was loaded or written.
	CreatedAt time.Time
	// FreshUntil is when the value stops being fresh.
	FreshUntil time.Time
}

// Store joins a local L1 (ristretto) and a Redis L2 into one cache, in front
// of a loader that reads the source of truth. It is safe for concurrent use;
// Close releases what it started (never the Redis client, which is the
// caller's).
type Store struct {
	cfg   Config
	l1    *l1
	l2    *l2  // nil without Redis
	bus   *bus // nil without Redis or with DisableBus
	stats counters
	clock *clock

	versions sync.Map // namespace name -> *NamespaceVersion

	leasePrefix []byte        // random, per Store: makes lease tokens unique
	leaseSeq    atomic.Uint64 // numbers this Store's leases

	flightMu  sync.Mutex
	flights   map[string]*flight // L1 misses of one key share one flight
	refreshes sync.Map           // keys with a background reload running
	workers   chan struct{}      // bounds background reloads

	closing  context.Context // cancelled by Close
	shutdown context.CancelFunc
	closed   atomic.Bool
	// bgMu orders goroutine starts (bg.Add under RLock, after checking
	// closed) before Close's bg.Wait (after setting closed under Lock).
	bgMu sync.RWMutex
	bg   sync.WaitGroup // flights and background reloads

	lastLog    atomic.Int64 // unix nanoseconds of the last log line
	suppressed atomic.Uint64

	// born is when the Store was made: time.Since(born) reads only the
	// monotonic clock, one clock read where time.Now makes two (see mono).
	born time.Time
}

// New returns a Store. See Config for the defaults.
func New(cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, workers: make(chan struct{}, cfg.RefreshWorkers), flights: make(map[string]*flight), born: time.Now()}
	s.leasePrefix = newToken()
	s.clock = newClock()
	if s.l1, err = newL1(cfg, &s.stats, s.clock); err != nil {
		s.clock.close()
		return nil, fmt.Errorf("tier: l1: %w", err)
	}
	s.closing, s.shutdown = context.WithCancel(context.Background())
	if cfg.Redis != nil {
		s.l2 = &l2{rdb: cfg.Redis, timeout: cfg.L2Timeout, br: newBreaker(cfg, s.clock, &s.stats)}
		if !cfg.DisableBus {
			s.bus = newBus(s)
		}
	}
	return s, nil
}

// Close stops the Store's background work, waits for it, and releases L1.
// It does not close the Redis client. Reads after Close return ErrClosed.
func (s *Store) Close() error {
	s.bgMu.Lock()
	already := s.closed.Swap(true)
	s.bgMu.Unlock()
	if already {
		return nil
	}
	s.shutdown()
	if s.bus != nil {
		s.bus.close()
	}
	s.bg.Wait()
	s.l1.close()
	s.clock.close()
	return nil
}

// Stats returns a snapshot of the Store's counters.
func (s *Store) Stats() Stats {
	st := s.stats.snapshot()
	st.Breaker = BreakerDisabled
	if s.l2 != nil {
		st.Breaker = s.l2.br.current()
	}
	return st
}

// InstanceID returns the ID this Store uses in invalidation messages.
func (s *Store) InstanceID() string { return s.cfg.InstanceID }

// Redis returns the L2 client, or nil for an L1-only Store.
func (s *Store) Redis() redis.UniversalClient { return s.cfg.Redis }

// WaitL1 blocks until every L1 write made so far is visible. ristretto
// applies sets asynchronously; tests and benchmarks call WaitL1 where they
// need a set to be visible.
func (s *Store) WaitL1() { s.l1.wait() }

// Get returns the value of key: from a fresh L1 entry, else from L2, else
// from load, caching what it finds on the way. Concurrent readers of one key
// share one L2 read and one load. A missing value is ErrNotFound, cached as a
// negative entry. Cache errors (Redis down or slow, corrupt entries) are
// counted and never fail a read that load can serve; load's own errors are
// returned. A nil load makes a full miss ErrNoLoader.
//
// A fresh L1 hit allocates nothing. With Config.ObserveRead set, the read is
// timed and reported to it.
func (s *Store) Get(ctx context.Context, key string, o *Options, load Loader) (Result, error) {
	if s.cfg.ObserveRead != nil {
		return s.getTimed(ctx, key, o, load)
	}
	// get's body, repeated: through one more call, the untimed L1 hit cost
	// 15 ns more (a Result is nine words, copied once more).
	if o == nil {
		o = &defaultOptions
	}
	if o.L1TTL >= 0 {
		if e, ok := s.l1.getKey(key); ok {
			if s.clock.nanos() < e.checkAt {
				return s.l1Hit(e)
			}
			return s.getDue(ctx, key, o, load, e)
		}
	}
	return s.getShared(ctx, key, o, load, nil)
}

// getTimed is Get reporting to Config.ObserveRead.
func (s *Store) getTimed(ctx context.Context, key string, o *Options, load Loader) (Result, error) {
	start := s.mono()
	r, err := s.get(ctx, key, o, load)
	s.cfg.ObserveRead(r.Tier, s.mono()-start)
	return r, err
}

// mono reads the precise monotonic clock: the time since the Store was
// made.
func (s *Store) mono() time.Duration { return time.Since(s.born) }

// get is Get without the timing (Get repeats it inline).
func (s *Store) get(ctx context.Context, key string, o *Options, load Loader) (Result, error) {
	if o == nil {
		o = &defaultOptions
	}
	if o.L1TTL >= 0 {
		if e, ok := s.l1.getKey(key); ok {
			if s.clock.nanos() < e.checkAt {
				return s.l1Hit(e)
			}
			return s.getDue(ctx, key, o, load, e)
		}
	}
	return s.getShared(ctx, key, o, load, nil)
}

// LookupL1 answers a read of the key p+id from a fresh L1 entry only,
// without building the key: a caller holding a prepared prefix and an id (as
// strategies do) allocates nothing on a hit. hit is false when L1 has no
// fresh entry (the caller then calls Get, which counts the miss); a hit on a
// cached "not found" returns ErrNotFound. With Config.ObserveRead set, a hit
// is timed and reported to it as an L1 read (a miss is reported by the Get
// that follows).
func (s *Store) LookupL1(p KeyPrefix, id string, o *Options) (value any, hit bool, err error) {
	if o != nil && o.L1TTL < 0 {
		return nil, false, nil
	}
	observe := s.cfg.ObserveRead
	var start time.Duration
	if observe != nil {
		start = s.mono()
	}
	e, ok := s.l1.get(p, id)
	if !ok || s.clock.nanos() >= e.checkAt {
		return nil, false, nil
	}
	s.stats.l1Hits.Add(1)
	if observe != nil {
		observe(TierL1, s.mono()-start)
	}
	if e.negative {
		s.stats.negativeHits.Add(1)
		return nil, true, ErrNotFound
	}
	return e.value, true, nil
}

func (s *Store) l1Hit(e *l1Entry) (Result, error) {
	s.stats.l1Hits.Add(1)
	if e.negative {
		s.stats.negativeHits.Add(1)
	}
	return e.answer(TierL1, false)
}

// goStarted registers a goroutine of the Store's with bg, unless the Store
// is closed. The caller calls bg.Done when it ends.
func (s *Store) goStarted() bool {
	s.bgMu.RLock()
	defer s.bgMu.RUnlock()
	if s.closed.Load() {
		return false
	}
	s.bg.Add(1)
	return true
}

// getDue handles an L1 entry past its check time: due for refresh-ahead,
// servable stale while it revalidates, or too old to serve but for an error.
func (s *Store) getDue(ctx context.Context, key string, o *Options, load Loader, e *l1Entry) (Result, error) {
	// The precise clock here: the coarse one may lag when the process is
	// starved of CPU, and this path decides between fresh, stale and gone.
	now := time.Now().UnixNano()
	switch {
	case now >= e.expiresAt: // gone from L1; L2 may still have it
		var stale *l1Entry
		if now < e.staleUntil {
			stale = e
		}
		return s.getShared(ctx, key, o, load, stale)
	case now < e.freshUntil: // refresh-ahead: serve, reload in the background
		s.stats.l1Hits.Add(1)
		s.refreshAsync(ctx, key, o, load)
		return e.answer(TierL1, false)
	case now < e.freshUntil+int64(o.StaleWhileRevalidate):
		s.stats.l1Hits.Add(1)
		s.stats.staleServed.Add(1)
		s.refreshAsync(ctx, key, o, load)
		return e.answer(TierL1, true)
	}
	return s.getShared(ctx, key, o, load, e)
}

// answer is what a read answered by e returns.
func (e *l1Entry) answer(t Tier, stale bool) (Result, error) {
	if e.negative {
		return Result{Tier: t, Stale: stale}, ErrNotFound
	}
	return Result{
		Value:      e.value,
		Tier:       t,
		Stale:      stale,
		CreatedAt:  time.Unix(0, e.createdAt),
		FreshUntil: time.Unix(0, e.freshUntil),
	}, nil
}

// servableOnError reports whether e may answer a read whose reload failed
// (stale-if-error).
func (e *l1Entry) servableOnError(o *Options) bool {
	return time.Now().UnixNano() < e.freshUntil+int64(o.StaleIfError)
}

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
		stop := context.AfterFunc(s.closing, cancel)
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

// loadAndFill calls load and caches its answer. lease, when not nil, is this
// process's lease on the missing key: the fill replaces it only if it is
// still there. prev, when not nil, is the expired entry the fill replaces
// only if it is still there. With neither, L2 is not filled (Redis is failing
// or another process holds the fill).
func (s *Store) loadAndFill(ctx context.Context, key string, o *Options, load Loader, t fenceTicket, lease []byte, prev *staleL2) (*flightResult, error) {
	if load == nil {
		s.releaseLease(ctx, key, lease)
		return nil, ErrNoLoader
	}
	s.stats.loads.Add(1)
	v, err := load(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.stats.loadErrors.Add(1)
		s.releaseLease(ctx, key, lease)
		if prev != nil && prev.entry.servableOnError(o) {
			s.stats.staleServed.Add(1)
			return &flightResult{entry: prev.entry, tier: TierL2, stale: true}, nil
		}
		return nil, fmt.Errorf("tier: load %q: %w", key, err)
	}
	negative := err != nil
	if negative && o.negativeTTL() == 0 {
		s.releaseLease(ctx, key, lease)
		return nil, ErrNotFound
	}
	if lease == nil && prev == nil {
		// L2 is not written (Redis failing or skipped, the breaker open,
		// another process's fill, no Redis): the value is not encoded, and
		// its L1 cost is estimated.
		_, e, _ := stamp(v, negative, o)
		if !s.fillL1(key, e, o, unknownCost, t) {
			s.stats.staleFills.Add(1)
		}
		return &flightResult{entry: e, tier: TierSource}, nil
	}
	raw, e, ttl, err := s.encode(key, v, negative, o)
	if err != nil {
		// The value is served but cannot be cached.
		s.releaseLease(ctx, key, lease)
		s.report("encode", key, err)
		return &flightResult{entry: &l1Entry{value: v, createdAt: time.Now().UnixNano()}, tier: TierSource}, nil
	}
	var accepted bool
	if lease != nil {
		accepted, err = s.l2.fillIfLease(ctx, key, lease, raw, ttl)
	} else {
		accepted, err = s.l2.fillIfUnchanged(ctx, key, prev.raw, raw, ttl)
	}
	switch {
	case err != nil:
		s.l2Error(err) // L2 unknown: L1 still takes the value, fenced locally
	case !accepted:
		// A write or delete of key replaced our lease or the entry we
		// started from: the loaded value is older than it.
		s.stats.staleFills.Add(1)
		return &flightResult{entry: e, tier: TierSource}, nil
	}
	if !s.fillL1(key, e, o, len(raw), t) {
		s.stats.staleFills.Add(1)
	}
	return &flightResult{entry: e, tier: TierSource}, nil
}

// releaseLease gives up this process's lease after a failed load, so that
// another reader may load at once instead of waiting for the lease to expire.
func (s *Store) releaseLease(ctx context.Context, key string, lease []byte) {
	if lease == nil {
		return
	}
	if _, err := s.l2.delIfEquals(ctx, key, lease); err != nil {
		s.l2Error(err)
	}
}

// stamp returns the envelope (without its payload) and the L1 entry of a
// value (or of a negative answer) loaded or written now, and the Redis TTL
// to write it with.
func stamp(v any, negative bool, o *Options) (envelope, *l1Entry, time.Duration) {
	now := time.Now()
	fresh := o.negativeTTL()
	if !negative {
		fresh = o.jitteredTTL(o.ttl())
	}
	// The envelope stores milliseconds: round the L1 entry the same way so
	// that L1 and L2 agree on freshness.
	env := envelope{createdAt: time.UnixMilli(now.UnixMilli()), freshUntil: time.UnixMilli(now.Add(fresh).UnixMilli())}
	hard := fresh
	if negative {
		env.flags = flagNegative
	} else {
		hard += o.staleWindow()
	}
	return env, newEntry(v, negative, env.createdAt, env.freshUntil, o), hard
}

// encode builds the L2 envelope and the L1 entry of a value (or of a
// negative answer) and the Redis TTL to write it with.
func (s *Store) encode(key string, v any, negative bool, o *Options) ([]byte, *l1Entry, time.Duration, error) {
	env, e, ttl := stamp(v, negative, o)
	if !negative {
		c := o.codec()
		payload, err := c.Marshal(v)
		if err != nil {
			s.stats.encodeErrors.Add(1)
			return nil, nil, 0, fmt.Errorf("tier: encode %q: %w", key, err)
		}
		if cc, ok := c.(codec.Compressor); ok {
			var compressed bool
			if payload, compressed = cc.Compress(payload); compressed {
				env.flags |= flagCompressed
			}
		}
		env.codecID = c.ID()
		env.payload = payload
	}
	raw := appendEnvelope(make([]byte, 0, envelopeHeaderSize+len(env.payload)), env)
	return raw, e, ttl, nil
}

// newEntry builds an L1 entry and its check time.
func newEntry(v any, negative bool, created, freshUntil time.Time, o *Options) *l1Entry {
	e := &l1Entry{
		value:      v,
		negative:   negative,
		createdAt:  created.UnixNano(),
		freshUntil: freshUntil.UnixNano(),
	}
	e.staleUntil = e.freshUntil
	if !negative {
		e.staleUntil += int64(o.staleWindow())
		if o.staleWindow() > 0 {
			e.checkAt = e.freshUntil
		}
		if o.RefreshAfter > 0 && o.RefreshAfter < 1 {
			e.checkAt = e.createdAt + int64(float64(e.freshUntil-e.createdAt)*o.RefreshAfter)
		}
	}
	// (the L1 store adds its expiry to checkAt)
	return e
}

// decodeL2 decodes a raw L2 entry into its envelope and L1 entry.
func (s *Store) decodeL2(key string, raw []byte, o *Options) (envelope, *l1Entry, error) {
	env, err := decodeEnvelope(raw)
	if err != nil {
		return env, nil, err
	}
	if env.lease() {
		return env, nil, nil
	}
	var v any
	if !env.negative() {
		c, ok := o.codecByID(env.codecID)
		if !ok {
			return env, nil, fmt.Errorf("%w: unknown codec id %d", errCorruptEnvelope, env.codecID)
		}
		payload := env.payload
		if env.compressed() {
			if payload, err = codec.Decompress(payload); err != nil {
				return env, nil, err
			}
		}
		if v, err = o.decoder()(c, payload); err != nil {
			return env, nil, err
		}
	}
	return env, newEntry(v, env.negative(), env.createdAt, env.freshUntil, o), nil
}

// fillL1 stores an entry read or loaded by a flight, unless the key was
// written or invalidated since the flight began. cost is the size of its
// encoded payload, or unknownCost. Its L1 lifetime is the
// shortest of its remaining L2 lifetime, the data type's L1TTL and the
// Store's cap.
func (s *Store) fillL1(key string, e *l1Entry, o *Options, cost int, t fenceTicket) bool {
	if o.L1TTL < 0 {
		return s.l1.current(t)
	}
	return s.l1.fill(key, e, s.l1TTL(e, o), int64(cost), t)
}

func (s *Store) l1TTL(e *l1Entry, o *Options) time.Duration {
	ttl := time.Duration(e.staleUntil - s.clock.nanos())
	ttl = min(ttl, s.cfg.L1TTLCap)
	if o.L1TTL > 0 {
		ttl = min(ttl, o.L1TTL)
	}
	return ttl
}

// Set writes value under key to L2 and L1. A value the codec cannot encode
// is an error wrapping codec.ErrEncode, and nothing is written. A Redis
// failure is returned (and counted) and the key is dropped from L1, so that
// the next read goes to the source. A fill in flight for key does not
// overwrite what Set wrote.
func (s *Store) Set(ctx context.Context, key string, value any, o *Options) error {
	if o == nil {
		o = &defaultOptions
	}
	if s.closed.Load() {
		return ErrClosed
	}
	raw, e, ttl, err := s.encode(key, value, false, o)
	if err != nil {
		return err
	}
	s.stats.sets.Add(1)
	var l2err error
	if s.l2 != nil {
		if s.bus != nil && o.L1TTL >= 0 {
			s.bus.ensure(ctx, key)
		}
		if l2err = s.l2.set(ctx, key, raw, ttl); l2err != nil {
			s.l2Error(l2err)
		}
		// Even after a failure: the write may have landed, and the caller
		// may have changed the source.
		if s.bus != nil {
			s.bus.publish(key)
		}
	}
	if o.L1TTL >= 0 && l2err == nil {
		s.l1.write(key, e, s.l1TTL(e, o), int64(len(raw)))
	} else {
		s.l1.invalidate(key)
	}
	return l2err
}

// Delete removes keys from L2 and L1; fills in flight for them do not put
// their older results back.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if s.closed.Load() {
		return ErrClosed
	}
	s.stats.deletes.Add(uint64(len(keys)))
	var err error
	if s.l2 != nil {
		if err = s.l2.del(ctx, keys); err != nil {
			s.l2Error(err)
		}
	}
	// After L2: a reader that read the old L2 entry began its fill before
	// this invalidation, so its fill is refused.
	s.InvalidateLocal(keys...)
	if s.bus != nil {
		s.bus.publish(keys...)
	}
	return err
}

// InvalidateLocal drops keys from this Store's L1 only (the invalidation bus
// calls it for other instances' writes).
func (s *Store) InvalidateLocal(keys ...string) {
	s.l1.invalidate(keys...)
}

// ClearLocal empties this Store's L1 at once and makes every fill in flight
// stale.
func (s *Store) ClearLocal() {
	s.stats.l1Clears.Add(1)
	s.l1.clear()
}

// l2Error counts and reports a failed Redis call; a call the open breaker
// refused is counted as such (BreakerRejected) and not reported.
func (s *Store) l2Error(err error) {
	if errors.Is(err, ErrBreakerOpen) {
		return
	}
	s.stats.l2Errors.Add(1)
	s.report("redis", "", err)
}

// corrupt counts an undecodable L2 entry and deletes it, unless it has been
// replaced meanwhile.
func (s *Store) corrupt(ctx context.Context, key string, raw []byte, err error) {
	s.stats.corrupt.Add(1)
	s.report("corrupt entry", key, fmt.Errorf("%w: %w", ErrCorrupt, err))
	if _, derr := s.l2.delIfEquals(ctx, key, raw); derr != nil {
		s.l2Error(derr)
	}
}

// report logs err through the configured logger, at most once a second;
// lines skipped in between are counted in the next one.
func (s *Store) report(what, key string, err error) {
	if s.cfg.Logger == nil {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		s.suppressed.Add(1)
		return
	}
	attrs := []any{slog.String("error", err.Error()), slog.Uint64("suppressed", s.suppressed.Swap(0))}
	if key != "" {
		attrs = append(attrs, slog.String("key", key))
	}
	s.cfg.Logger.Warn("tiercache: "+what, attrs...)
}
