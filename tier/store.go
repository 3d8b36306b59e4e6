package tier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tiercache/tiercache/internal/background"
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
	types typeTable // the counters of each data type
	clock *clock

	versions   sync.Map // namespace name -> *NamespaceVersion
	typeHashes sync.Map // reflect.Type -> uint64, see typeIDOf

	leasePrefix []byte        // random, per Store: makes lease tokens unique
	leaseSeq    atomic.Uint64 // numbers this Store's leases
	leaseTTLArg any           // FillLockTTL in milliseconds, as a Redis argument
	waiters     fillWaiters   // flights waiting for another process's fill
	// fills counts the L2 fills staged by answered flights and not landed
	// yet (tests wait for them).
	fills sync.WaitGroup
	// beforeLand, set only by tests before the Store is used, runs after a
	// flight has answered its readers and before its L2 fill is written.
	beforeLand func(key string)

	repairs repairs // keys whose write did not reach Redis (see repair.go)

	flightMu  sync.Mutex
	flights   map[string]*flight // L1 misses of one key share one flight
	refreshes sync.Map           // keys with a background reload running
	workers   chan struct{}      // bounds background reloads

	closed atomic.Bool
	bg     background.Group // flights and background reloads

	lastLog    atomic.Int64 // unix nanoseconds of the last log line
	suppressed atomic.Uint64

	// born is when the Store was made: time.Since(born) reads only the
	// monotonic clock, one clock read where time.Now makes two (see mono).
	born time.Time
}

// New returns a Store. A nil cfg, like every zero field of Config, means
// the documented default: an L1-only Store bounded at 64 MiB.
func New(cfg *Config) (*Store, error) {
	var given Config
	if cfg != nil {
		given = *cfg
	}
	c, err := given.withDefaults()
	cfg = &c
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: c, workers: make(chan struct{}, cfg.RefreshWorkers), flights: make(map[string]*flight), born: time.Now()}
	s.types.max = c.MaxTypeStats
	s.leasePrefix = newToken()
	s.leaseTTLArg = strconv.FormatInt(c.FillLockTTL.Milliseconds(), 10)
	s.clock = newClock()
	s.repairs.init(c.MaxRepairKeys)
	if s.l1, err = newL1(c, &s.stats, s.clock); err != nil {
		s.clock.close()
		return nil, fmt.Errorf("tier: l1: %w", err)
	}
	if cfg.Redis != nil {
		s.l2 = &l2{rdb: cfg.Redis, timeout: cfg.L2Timeout, br: newBreaker(c, s.clock, &s.stats)}
		s.l2.br.repairs = &s.repairs
		s.l2.pipe = &l2Pipe{c: s.l2, bg: &s.bg}
		if !cfg.DisableBus {
			s.bus = newBus(s)
		}
	}
	return s, nil
}

// Close stops the Store's background work, waits for it, and releases L1.
// It does not close the Redis client. Reads after Close return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.bg.Close()
	if s.bus != nil {
		s.bus.close() // after bg: what the flights wrote is published
	}
	s.l1.close()
	s.clock.close()
	return nil
}

// Stats returns a snapshot of the Store's counters.
func (s *Store) Stats() Stats {
	st := s.stats.snapshot()
	st.L1Hits += s.types.l1Hits() // a Group's own L1 hits are counted per data type only
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
// returned. A nil load makes a full miss ErrNoLoader. Values of one data
// type read by id are better read through a Group.
//
// A fresh L1 hit allocates nothing. With Config.ObserveRead set, the read is
// timed and reported to it.
func (s *Store) Get(ctx context.Context, key string, o *Options, load Loader) (Result, error) {
	return s.get(ctx, key, key, o, load)
}

// get is Get of key, whose loader is called with id (the key itself, or a
// Group's id).
func (s *Store) get(ctx context.Context, key, id string, o *Options, load Loader) (r Result, err error) {
	if s.cfg.ObserveRead != nil {
		start := s.mono()
		defer func() { s.cfg.ObserveRead(r.Tier, s.mono()-start) }()
	}
	if o == nil {
		o = &defaultOptions
	}
	if o.L1TTL >= 0 {
		if e, ok := s.l1.getKey(key); ok {
			if s.clock.nanos() < e.checkAt {
				return s.l1Hit(e)
			}
			return s.getDue(ctx, key, id, o, load, e)
		}
	}
	return s.getShared(ctx, key, id, o, load, nil)
}

// mono reads the precise monotonic clock: the time since the Store was
// made.
func (s *Store) mono() time.Duration { return time.Since(s.born) }

func (s *Store) l1Hit(e *l1Entry) (Result, error) {
	s.stats.l1Hits.Add(1)
	if e.negative {
		s.stats.negativeHits.Add(1)
	}
	return e.answer(TierL1, false)
}

// goStarted registers a goroutine of the Store's with bg, unless the Store
// is closed. The caller calls bg.Done when it ends.
func (s *Store) goStarted() bool { return s.bg.Start() }

// getDue handles an L1 entry past its check time: due for refresh-ahead,
// servable stale while it revalidates, or too old to serve but for an error.
func (s *Store) getDue(ctx context.Context, key, id string, o *Options, load Loader, e *l1Entry) (Result, error) {
	// The precise clock here: the coarse one may lag when the process is
	// starved of CPU, and this path decides between fresh, stale and gone.
	now := time.Now().UnixNano()
	switch {
	case now >= e.expiresAt: // gone from L1; L2 may still have it
		var stale *l1Entry
		if now < e.staleUntil {
			stale = e
		}
		return s.getShared(ctx, key, id, o, load, stale)
	case now < e.freshUntil: // refresh-ahead: serve, reload in the background
		s.stats.l1Hits.Add(1)
		s.refreshAsync(ctx, key, id, o, load)
		return e.answer(TierL1, false)
	case now < e.freshUntil+int64(o.StaleWhileRevalidate):
		s.stats.l1Hits.Add(1)
		s.stats.staleServed.Add(1)
		s.refreshAsync(ctx, key, id, o, load)
		return e.answer(TierL1, true)
	}
	return s.getShared(ctx, key, id, o, load, e)
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

// Set writes value under key to L2 and L1. A value the codec cannot encode
// (or cannot decode back) is an error wrapping codec.ErrEncode, and nothing
// is written. L1 holds the value as L2 does: decoded from what was encoded,
// so that readers never share value itself. A Redis failure is returned
// (and counted) and the key is dropped from L1, so that the next read goes
// to the source; the key is remembered for repair (the error then wraps
// ErrRepairPending, see Config.MaxRepairKeys). A fill in flight for key
// does not overwrite what Set wrote.
func (s *Store) Set(ctx context.Context, key string, value any, o *Options) (err error) {
	ctx, sp := s.startSpan(ctx, OpSet, key)
	defer func() { endSpan(sp, 0, err) }()
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
			l2err = s.remember(l2err, key)
		} else {
			s.repairs.forget(key)
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
	s.forgetFlights(key)
	return l2err
}

// Delete removes keys from L2 and L1; fills in flight for them do not put
// their older results back. When Redis cannot be reached, the keys are
// remembered for repair, as with Set.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, sp := s.startSpan(ctx, OpDelete, keys[0])
	s.stats.deletes.Add(uint64(len(keys)))
	var err error
	if s.l2 != nil {
		if err = s.l2.del(ctx, keys); err != nil {
			s.l2Error(err)
			err = s.remember(err, keys...)
		} else {
			s.repairs.forget(keys...)
		}
	}
	// After L2: a reader that read the old L2 entry began its fill before
	// this invalidation, so its fill is refused.
	s.invalidateLocal(keys...)
	if s.bus != nil {
		s.bus.publish(keys...)
	}
	endSpan(sp, len(keys), err)
	return err
}

// invalidateLocal drops keys from this Store's L1 only (the invalidation bus
// calls it for other instances' writes and fills): fills in flight for them
// are refused, reads after it start afresh, and flights waiting for another
// process's fill of them read again.
func (s *Store) invalidateLocal(keys ...string) {
	s.l1.invalidate(keys...)
	s.forgetFlights(keys...)
	s.waiters.wake(keys...)
}

// clearNamespace drops every entry of namespace ns (see namespaceOf) from
// this Store's L1 at once, and makes the fills in flight of its keys stale.
func (s *Store) clearNamespace(ns string) {
	s.stats.l1Clears.Add(1)
	s.l1.clearNamespace(ns)
	s.flightMu.Lock()
	for k, f := range s.flights {
		if namespaceOf(k) == ns {
			f.stale.Store(nil)
			delete(s.flights, k)
		}
	}
	s.flightMu.Unlock()
	s.waiters.wakeAll()
}

// ClearLocal empties this Store's L1 at once and makes every fill in flight
// stale.
func (s *Store) ClearLocal() {
	s.stats.l1Clears.Add(1)
	s.l1.clear()
	s.forgetAllFlights()
	s.waiters.wakeAll()
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

// corrupt counts an undecodable L2 entry, or one written for another type
// or schema version, and deletes it, unless it has been replaced meanwhile.
func (s *Store) corrupt(ctx context.Context, key string, raw []byte, err error) {
	if errors.Is(err, errWrongType) {
		s.stats.wrongType.Add(1)
	} else {
		s.stats.corrupt.Add(1)
		s.report("corrupt entry", key, fmt.Errorf("%w: %w", ErrCorrupt, err))
	}
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
