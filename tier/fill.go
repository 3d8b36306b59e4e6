package tier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// fillRead is one read of a key past L1, as its flight (or a background
// reload) carries it through the fill steps: read L2 (taking the fill lease
// of a missing key), wait for another process's fill, load, stage the
// value in L1 and leave the L2 fill to land afterwards. Only the goroutine
// running those steps touches it.
type fillRead struct {
	key  string
	id   string // what the loader is called with: the key, or a Group's id
	o    *Options
	load Loader
	// t is the L1 fence ticket, taken before the first L2 read and renewed
	// after each wait for another process's fill (what is read next is
	// read after the wake).
	t fenceTicket
	// waitUntil, when set, ends the wait for another process's fill early:
	// the leading reader's deadline leaves it time to load itself (a cache
	// that cannot fill in time never fails a read the source can serve).
	waitUntil time.Time
	// flight, when set, is the flight the read runs for: a stale entry the
	// load starts from is offered to its readers (see flight.stale).
	flight *flight
	// reloadLocked says the read holds the key's reload lock (see
	// lockReload), which endReload ends; loadFailed says its load failed
	// (the lock then becomes the key's FailSafeThrottle).
	reloadLocked bool
	loadFailed   bool
}

// l2Fill is the L2 write a load leaves to do once its readers have the
// value: it replaces the read's lease, or the expired entry the load
// started from, and only that (a write or delete of the key meanwhile
// wins).
type l2Fill struct {
	raw   []byte
	ttl   time.Duration
	lease []byte   // the lease to replace; nil with prev
	prev  *staleL2 // the entry to replace; nil with lease
}

// staleL2 is an expired-but-kept L2 entry a load replaces (and falls back to
// within the stale-if-error window).
type staleL2 struct {
	raw   []byte
	entry *l1Entry
}

// fetch continues a flight after its first L2 read: the load and the fill it
// leaves to do, or the wait for another process's fill.
func (s *Store) fetch(ctx context.Context, r *fillRead, first *l2Read) (flightResult, *l2Fill, error) {
	if s.l2 == nil || s.repairs.has(r.key) {
		// No L2, or this process's last write of the key did not reach it:
		// what L2 holds may be older than the source.
		return s.loadAndStage(ctx, r, nil, nil)
	}
	deadline := time.Now().Add(s.cfg.FillWait)
	if !r.waitUntil.IsZero() && r.waitUntil.Before(deadline) {
		deadline = r.waitUntil
	}
	// A flight that meets another process's lease marks it as waited for
	// (one script that also reads the key), registered first for the fill's
	// announcement; it then waits, and reads again with the same script.
	var wake chan struct{} // registered for the announcement; nil when not
	defer func() {
		if wake != nil {
			s.waiters.remove(r.key, wake)
		}
	}()
	marking := false // the next read marks a lease instead of taking one
	for waits := 0; ; {
		var rd l2Read
		switch {
		case first != nil:
			rd, first = *first, nil
		case marking:
			if wake == nil {
				wake = s.waiters.add(r.key)
			}
			rd.raw, rd.err = s.l2.markWaited(ctx, r.key)
		default:
			rd = s.readL2(ctx, r)
		}
		if rd.err != nil {
			s.l2Error(rd.err)
			return s.loadAndStage(ctx, r, nil, nil) // Redis failing: serve from the source
		}
		if rd.raw == nil {
			if marking {
				marking = false // the lease is gone: try to take it
				continue
			}
			s.stats.l2Misses.Add(1)
			if r.load == nil {
				return flightResult{}, nil, ErrNoLoader // a peek: no lease was taken
			}
			return s.loadAndStage(ctx, r, rd.lease, nil) // the lease is ours
		}
		env, e, err := s.decodeL2(r.key, rd.raw, r.o)
		if err != nil {
			s.corrupt(ctx, r.key, rd.raw, err)
			return s.loadAndStage(ctx, r, nil, nil)
		}
		if env.lease() {
			if r.load == nil {
				return flightResult{}, nil, ErrNoLoader // a peek does not wait for the fill
			}
			if !time.Now().Before(env.freshUntil) {
				// Older than the life it declares: its holder died or
				// hung. Take it over instead of waiting for it.
				lease, err := s.takeExpiredLease(ctx, r.key, rd.raw)
				switch {
				case err != nil:
					return s.loadAndStage(ctx, r, nil, nil) // Redis failing: serve from the source
				case lease != nil:
					return s.loadAndStage(ctx, r, lease, nil)
				}
				marking = false
				continue // it changed meanwhile: read again
			}
			if s.cfg.FillWait < 0 || !time.Now().Before(deadline) {
				return s.loadAndStage(ctx, r, nil, nil) // fill lock off, or holder too slow: load, do not fill
			}
			own := bytes.HasPrefix(env.payload, s.leasePrefix)
			if own && wake == nil {
				// This process's own fill, still landing (its flight was
				// forgotten by an invalidation or a clear): land wakes us.
				wake = s.waiters.add(r.key)
				marking = false
			} else if !own && !marking {
				marking = true // mark it before waiting
				continue
			}
			s.stats.fillWaits.Add(1)
			// Wait no longer than the lease declares it lives: past it, the
			// next read takes it over.
			until := deadline
			if env.freshUntil.Before(until) {
				until = env.freshUntil
			}
			if err := s.awaitFill(ctx, r, wake, until, waits, own); err != nil {
				return flightResult{}, nil, err
			}
			wake = nil // consumed or removed by awaitFill
			waits++
			continue
		}
		now := time.Now().UnixNano()
		if now < e.freshUntil {
			s.l2Hit(ctx, r, e, len(rd.raw), now)
			return flightResult{entry: e, tier: TierL2}, nil, nil
		}
		if now < e.freshUntil+int64(r.o.StaleWhileRevalidate) {
			s.stats.l2Hits.Add(1)
			s.stats.staleServed.Add(1)
			s.refreshAsync(ctx, r.key, r.id, r.o, r.load)
			return flightResult{entry: e, tier: TierL2, stale: true}, nil, nil
		}
		servable := e.servableOnError(r.o)
		if r.flight != nil && servable {
			r.flight.stale.Store(e) // for readers whose deadline or soft timeout comes first
		}
		if servable && r.load != nil && r.o.guardsReload() {
			switch s.lockReload(ctx, r, rd.raw) {
			case reloadElsewhere:
				// Another process reloads the key, or its reload failed
				// within FailSafeThrottle: serve the entry stale meanwhile.
				s.stats.l2Hits.Add(1)
				s.stats.staleServed.Add(1)
				return flightResult{entry: e, tier: TierL2, stale: true}, nil, nil
			case reloadChanged:
				continue // reloaded elsewhere just now: read the new entry
			}
		}
		s.stats.l2Misses.Add(1)
		return s.loadAndStage(ctx, r, nil, &staleL2{raw: rd.raw, entry: e})
	}
}

// loadAndStage calls the loader and caches its answer in L1 at once (unless
// the key was written or invalidated since the read's ticket). lease, when
// not nil, is this process's lease on the missing key; prev, when not nil,
// is the expired entry the load replaces. With either, the encoded value is
// returned as the L2 fill to land after the readers have their value; with
// neither, L2 is not written (Redis is failing, or another process holds
// the fill) and the value is not encoded.
func (s *Store) loadAndStage(ctx context.Context, r *fillRead, lease []byte, prev *staleL2) (flightResult, *l2Fill, error) {
	if r.load == nil {
		s.releaseLease(ctx, r.key, lease)
		return flightResult{}, nil, ErrNoLoader
	}
	s.stats.loads.Add(1)
	lctx, sp := s.startSpan(ctx, OpLoad, r.key)
	v, err := s.callLoader(lctx, r.load, r.key, r.id)
	endSpan(sp, 0, err)
	return s.stage(ctx, r, lease, prev, v, err)
}

// stage caches the outcome of a load of r's key (v, or err): in L1 at once,
// and, with a lease or an expired entry to replace, as the L2 fill it
// returns (see loadAndStage). A batch load stages each of its ids.
func (s *Store) stage(ctx context.Context, r *fillRead, lease []byte, prev *staleL2, v any, err error) (flightResult, *l2Fill, error) {
	if err != nil && !errors.Is(err, ErrNotFound) {
		r.loadFailed = true
		s.stats.loadErrors.Add(1)
		s.releaseLease(ctx, r.key, lease)
		if prev != nil && prev.entry.servableOnError(r.o) {
			s.stats.staleServed.Add(1)
			return flightResult{entry: prev.entry, tier: TierL2, stale: true}, nil, nil
		}
		return flightResult{}, nil, fmt.Errorf("tier: load %q: %w", r.key, err)
	}
	negative := err != nil
	if negative && r.o.negativeTTL() == 0 {
		s.releaseLease(ctx, r.key, lease)
		return flightResult{}, nil, ErrNotFound
	}
	if lease == nil && prev == nil {
		// L2 is not written: the value is not encoded (L1 holds it as the
		// loader returned it, shared with every reader), and its L1 cost
		// is estimated.
		_, e, _ := stamp(v, negative, r.o)
		if !s.fillL1(r.key, e, r.o, unknownCost, r.t) {
			s.stats.staleFills.Add(1)
		}
		return flightResult{entry: e, tier: TierSource}, nil, nil
	}
	raw, e, ttl, err := s.encode(r.key, v, negative, r.o)
	if err != nil {
		// The value is served but cannot be cached.
		s.releaseLease(ctx, r.key, lease)
		s.report("encode", r.key, err)
		return flightResult{entry: &l1Entry{value: v, createdAt: time.Now().UnixNano()}, tier: TierSource}, nil, nil
	}
	if !s.fillL1(r.key, e, r.o, len(raw), r.t) {
		s.stats.staleFills.Add(1)
	}
	return flightResult{entry: e, tier: TierSource}, &l2Fill{raw: raw, ttl: ttl, lease: lease, prev: prev}, nil
}

// land writes a staged fill to L2. A fill refused because the key was
// written or deleted since the load began drops the value from L1 too: it
// is older than that write. A lease fill that another process marked as
// waited for is announced on the bus, which wakes that process.
func (s *Store) land(ctx context.Context, r *fillRead, fill *l2Fill) {
	ctx, sp := s.startSpan(ctx, OpL2Fill, r.key)
	var accepted, waited bool
	var err error
	if fill.lease != nil {
		accepted, waited, err = s.l2.fillIfLease(ctx, r.key, fill.lease, fill.raw, fill.ttl)
	} else {
		accepted, err = s.l2.fillIfUnchanged(ctx, r.key, fill.prev.raw, fill.raw, fill.ttl)
	}
	switch {
	case err != nil:
		s.l2Error(err) // L2 unknown: L1 keeps the value, fenced locally
	case !accepted:
		s.stats.staleFills.Add(1)
		s.l1.invalidate(r.key)
	case waited && s.bus != nil:
		s.bus.publish(r.key)
	}
	s.waiters.wake(r.key) // a flight of this process that met this lease
	endFill(sp, accepted, err)
}

// takeExpiredLease replaces the expired lease old with a new lease of this
// process's and returns it, or nil when the key no longer holds old.
func (s *Store) takeExpiredLease(ctx context.Context, key string, old []byte) ([]byte, error) {
	lease := s.newLease()
	took, err := s.l2.takeLease(ctx, key, old, lease, s.leaseTTLArg)
	if err != nil {
		s.l2Error(err)
		if mayHaveRun(err) {
			s.releaseLeaseLater(key, lease, nil)
		}
		return nil, err
	}
	if !took {
		return nil, nil
	}
	s.stats.leasesTaken.Add(1)
	return lease, nil
}

// releaseLease gives up this process's lease after a failed load, so that
// another reader may load at once instead of waiting for the lease to
// expire; the bus wakes the processes waiting for it.
func (s *Store) releaseLease(ctx context.Context, key string, lease []byte) {
	if lease == nil {
		return
	}
	released, err := s.l2.delIfLease(ctx, key, lease)
	if err != nil {
		s.l2Error(err)
	}
	if released && s.bus != nil {
		s.bus.publish(key)
	}
	s.waiters.wake(key)
}

// releaseLeaseLater takes back a lease whose SET may or may not have
// reached Redis, in the background: it retries, backing off, until Redis
// answers, the lease's own TTL has passed or the Store closes. A SET still
// on its way (answered not nil: a pipelined read its reader left) is waited
// for first, so that the release cannot come before it.
func (s *Store) releaseLeaseLater(key string, lease []byte, answered <-chan struct{}) {
	if !s.goStarted() {
		return
	}
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(s.bg.Context(), s.cfg.FillLockTTL)
		defer cancel()
		if answered != nil {
			select {
			case <-answered:
			case <-ctx.Done():
				return
			}
		}
		for wait := 10 * time.Millisecond; ; wait *= 2 {
			released, err := s.l2.delIfLease(ctx, key, lease)
			if err == nil {
				if released && s.bus != nil {
					s.bus.publish(key)
				}
				return
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
	}()
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
// negative answer) and the Redis TTL to write it with. The L1 entry holds
// the value as L2 holds it: decoded from the encoded payload, so that a
// read answered by L1 returns what one answered by L2 would (a type whose
// codec drops unexported fields loses them in both), and no reader shares
// v with the caller who loaded or wrote it. A payload that does not decode
// back is an error wrapping codec.ErrEncode: it would be a corrupt entry in
// L2.
func (s *Store) encode(key string, v any, negative bool, o *Options) ([]byte, *l1Entry, time.Duration, error) {
	env, e, ttl := stamp(v, negative, o)
	if !negative {
		c := o.codec()
		payload, err := marshalGuarded(c, v)
		if err != nil {
			s.stats.encodeErrors.Add(1)
			return nil, nil, 0, fmt.Errorf("tier: encode %q: %w", key, err)
		}
		if e.value, err = roundTrip(c, payload, v, o); err != nil {
			s.stats.encodeErrors.Add(1)
			return nil, nil, 0, fmt.Errorf("tier: encode %q: %w: the payload does not decode back: %w", key, codec.ErrEncode, err)
		}
		if cc, ok := c.(codec.Compressor); ok {
			var compressed bool
			if payload, compressed = cc.Compress(payload); compressed {
				env.flags |= flagCompressed
			}
		}
		env.codecID = c.ID()
		env.typeID = s.typeIDOf(v, o)
		env.payload = payload
	}
	raw := appendEnvelope(make([]byte, 0, envelopeHeaderSize+len(env.payload)), env)
	return raw, e, ttl, nil
}

// roundTrip decodes payload, which c encoded from v, into what L1 holds:
// a value of the data type's Decoder, or, for Options without one (a
// strategy's writes, untyped reads), of v's own type. A panic in the codec
// or the Decoder is an error wrapping ErrPanic.
func roundTrip(c codec.Codec, payload []byte, v any, o *Options) (_ any, err error) {
	defer recoverInto(&err)
	if o.Decode != nil {
		return o.Decode(c, payload)
	}
	t := reflect.TypeOf(v)
	if t == nil {
		return nil, nil
	}
	p := reflect.New(t)
	if err := c.Unmarshal(payload, p.Interface()); err != nil {
		return nil, err
	}
	return p.Elem().Interface(), nil
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
	if !env.negative() && o.wrongType(env.typeID) {
		return env, nil, errWrongType
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
		if v, err = decodeGuarded(o.decoder(), c, payload); err != nil {
			return env, nil, err
		}
	}
	return env, newEntry(v, env.negative(), env.createdAt, env.freshUntil, o), nil
}

// A codec or a Decoder may be the user's: a panic in one is an error of the
// value it was encoding or decoding, never the end of the process (it may
// run on a goroutine of the Store's).

// marshalGuarded is c.Marshal(v), with a panic in it an error wrapping
// codec.ErrEncode and ErrPanic.
func marshalGuarded(c codec.Codec, v any) (_ []byte, err error) {
	defer recoverCodec(codec.ErrEncode, &err)
	return c.Marshal(v)
}

// decodeGuarded is d(c, payload), with a panic in it an error wrapping
// codec.ErrDecode and ErrPanic: the entry cannot be decoded.
func decodeGuarded(d Decoder, c codec.Codec, payload []byte) (_ any, err error) {
	defer recoverCodec(codec.ErrDecode, &err)
	return d(c, payload)
}

// recoverCodec is recoverInto for a codec's call: the panic's error also
// wraps sentinel. It must be deferred directly.
func recoverCodec(sentinel error, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %w", sentinel, panicError(p))
	}
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
