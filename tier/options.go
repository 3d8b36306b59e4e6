package tier

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// Defaults of Options' zero fields.
const (
	DefaultTTL       = 5 * time.Minute
	DefaultTTLJitter = 0.2
	// DefaultNegativeTTL caps the TTL of a cached "not found"; when TTL is
	// shorter than ten times this, a tenth of TTL is used.
	DefaultNegativeTTL = 30 * time.Second
)

// Loader loads the value of key from the source of truth. It returns
// ErrNotFound (or an error wrapping it) when there is none; the Store caches
// that answer as a negative entry. A panic in a Loader is recovered: the
// read (and every reader sharing its load) gets an error wrapping ErrPanic.
type Loader func(ctx context.Context, key string) (any, error)

// Decoder decodes an L2 payload written with codec c into a new value of the
// type the caller expects (a Group builds its own).
type Decoder func(c codec.Codec, payload []byte) (any, error)

// decodeAs returns the Decoder of values of type V.
func decodeAs[V any]() Decoder {
	return func(c codec.Codec, payload []byte) (any, error) {
		var v V
		if err := c.Unmarshal(payload, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// Options say how one kind of value is cached: every Store method takes
// them, so that one Store serves many data types with different TTLs and
// codecs. The zero value works for values of type any; set Decode for typed
// values. Build Options once per data type and reuse them: the hot path reads
// them without copying.
type Options struct {
	// Codec encodes values for L2. Nil means codec.Default() (msgpack).
	Codec codec.Codec
	// Decode decodes L2 payloads. Nil means values decoded as any (a
	// Group sets its own, for its type).
	Decode Decoder
	// Codecs lists other codecs that entries of this type may have been
	// written with (during a codec migration); entries with an unknown codec
	// ID are misses.
	Codecs []codec.Codec

	// TTL is how long an entry stays fresh. Zero means DefaultTTL.
	TTL time.Duration
	// TTLJitter shortens each written TTL by a random fraction between
	// TTLJitter/2 and TTLJitter, so that keys written together do not expire
	// together. Zero means DefaultTTLJitter (10-20 %); negative means none.
	TTLJitter float64
	// L1TTL caps how long an entry lives in L1; it is further capped by the
	// Store's L1TTLCap and by the entry's remaining L2 lifetime. Zero means
	// the Store's cap; negative keeps this data type out of L1.
	L1TTL time.Duration
	// NegativeTTL is how long a "not found" answer is cached. Zero means
	// min(TTL/10, DefaultNegativeTTL); negative means not-found answers are
	// not cached.
	NegativeTTL time.Duration

	// StaleWhileRevalidate is how long past its fresh time an entry may be
	// served while one background reload replaces it.
	StaleWhileRevalidate time.Duration
	// StaleIfError is how long past its fresh time an entry may be served
	// when the loader fails, or when a reader's deadline expires before the
	// reload answers (the entry held in L1, or the expired L2 entry the
	// reload replaces; Result.Stale is set).
	StaleIfError time.Duration
	// SoftTimeout bounds how long a reader waits for the reload of an
	// expired entry that StaleIfError lets it serve (the entry held in its
	// L1, or the expired L2 entry the reload replaces): past it, the reader
	// gets that entry (Result.Stale set, counted in Stats.StaleServed)
	// while the reload goes on in the background, bounded by
	// Config.LoadTimeout, and fills both tiers when it ends. It also makes
	// such a reload fleet-wide: the process that starts it holds the key's
	// reload lock in Redis, and readers in the other processes serve the
	// stale entry at once instead of loading too. Zero turns it off.
	SoftTimeout time.Duration
	// FailSafeThrottle is how long no process reloads a key after a reload
	// failed while its stale entry was served: a reader's reload within
	// StaleIfError, or a background one (StaleWhileRevalidate,
	// RefreshAfter). The failing process keeps the key's reload lock in
	// Redis that long, and readers in every process serve the entry
	// meanwhile (stale ones with Result.Stale set). A write or delete of
	// the key is not throttled: the next read takes what it wrote, or
	// loads. Zero turns it off: each read past the stale entry's fresh
	// time may call the loader again (one at a time per process, or per
	// fleet with SoftTimeout).
	FailSafeThrottle time.Duration
	// RefreshAfter, between 0 and 1, is the fraction of TTL after which a
	// read of a fresh entry returns it and starts one background reload
	// (refresh-ahead). Zero turns refresh-ahead off.
	RefreshAfter float64

	// SchemaVersion numbers the layout of this data type's values. Every
	// entry records the Go type that wrote it and this number; a Group (and
	// so every strategy) treats an entry of another type or SchemaVersion
	// as a miss and reloads it (counted in Stats.WrongType), never decoding
	// it. Bump it on a change the codec would decode wrongly rather than
	// reject (a field's meaning changed, say). Zero is a version like any
	// other.
	SchemaVersion uint32

	// typeHash is the hash of the type a Group reads (see typeID): set by
	// NewGroup, 0 for untyped reads.
	typeHash uint64
}

var defaultOptions Options

func (o *Options) codec() codec.Codec {
	if o.Codec == nil {
		return codec.Default()
	}
	return o.Codec
}

func (o *Options) decoder() Decoder {
	if o.Decode == nil {
		return decodeAny
	}
	return o.Decode
}

var decodeAny = decodeAs[any]()

// codecByID finds the codec that wrote an entry.
func (o *Options) codecByID(id byte) (codec.Codec, bool) {
	if c := o.codec(); c.ID() == id {
		return c, true
	}
	for _, c := range o.Codecs {
		if c.ID() == id {
			return c, true
		}
	}
	return nil, false
}

func (o *Options) ttl() time.Duration {
	if o.TTL <= 0 {
		return DefaultTTL
	}
	return o.TTL
}

// jitteredTTL returns ttl shortened by the configured jitter.
func (o *Options) jitteredTTL(ttl time.Duration) time.Duration {
	j := o.TTLJitter
	if j == 0 {
		j = DefaultTTLJitter
	}
	if j < 0 {
		return ttl
	}
	j = min(j, 0.9)
	frac := j/2 + rand.Float64()*j/2
	return ttl - time.Duration(float64(ttl)*frac)
}

func (o *Options) negativeTTL() time.Duration {
	switch {
	case o.NegativeTTL < 0:
		return 0
	case o.NegativeTTL > 0:
		return o.NegativeTTL
	default:
		return min(o.ttl()/10, DefaultNegativeTTL)
	}
}

// guardsReload reports whether the reload of an expired entry servable on
// error takes the key's fleet-wide reload lock (see SoftTimeout and
// FailSafeThrottle).
func (o *Options) guardsReload() bool { return o.SoftTimeout > 0 || o.FailSafeThrottle > 0 }

// staleWindow is how long past fresh-until an entry is kept.
func (o *Options) staleWindow() time.Duration {
	return max(o.StaleWhileRevalidate, o.StaleIfError, 0)
}
