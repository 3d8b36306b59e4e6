package tier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/codec"
)

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
