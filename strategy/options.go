package strategy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/keys"
	"github.com/tiercache/tiercache/tier"
)

// ErrConfig is wrapped by the errors constructors return for an invalid
// configuration.
var ErrConfig = errors.New("strategy: invalid configuration")

// Options configure a strategy for one data type. Namespace and Entity are
// required; every other zero field is a documented default.
type Options struct {
	// Namespace and Entity name the data type; keys are
	// "{Namespace}:{Entity}:{id}" (see package keys).
	Namespace string
	Entity    string

	// TTL is how long a value stays fresh in the cache. Zero means
	// tier.DefaultTTL.
	TTL time.Duration
	// TTLJitter shortens each TTL by a random 50-100 % of this fraction.
	// Zero means tier.DefaultTTLJitter (10-20 %); negative means none.
	TTLJitter float64
	// L1TTL caps an entry's life in the local L1 (the Store's L1TTLCap caps
	// it too). Zero means the Store's cap; negative keeps the type out of L1.
	L1TTL time.Duration
	// NegativeTTL is how long a "not found" is cached. Zero means a tenth of
	// TTL, at most 30 s; negative turns negative caching off.
	NegativeTTL time.Duration
	// Codec encodes values for Redis. Nil means codec.MsgPack.
	Codec codec.Codec

	// StaleWhileRevalidate is how long past its fresh time a value may be
	// served while one background reload replaces it.
	StaleWhileRevalidate time.Duration
	// StaleIfError is how long past its fresh time a value may be served
	// when the source fails.
	StaleIfError time.Duration

	// Versioned builds keys under the namespace's current version
	// ("{Namespace}@v{N}:{Entity}:{id}", see keys.Namespace.Versioned), kept
	// in Redis and followed by every instance through the Store (see
	// tier.NamespaceVersion): bumping it invalidates every key of the
	// namespace at once. The version is read from Redis on first use (and
	// again once every L1TTLCap of the Store); while it is not known, reads
	// go to the source uncached and writes fail.
	Versioned bool

	// RefreshAfter, between 0 and 1, is the fraction of TTL after which a
	// read of a fresh value returns it at once and starts one background
	// reload (refresh-ahead). Zero turns refresh-ahead off, except for
	// RefreshAhead, where it means DefaultRefreshAfter.
	RefreshAfter float64
}

// DefaultRefreshAfter is RefreshAhead's refresh point when
// Options.RefreshAfter is zero: three quarters of the TTL.
const DefaultRefreshAfter = 0.75

// binding is what every strategy derives from its Options: the key prefix
// and the tier options of its data type.
type binding[V any] struct {
	store  *tier.Store
	prefix string // "{namespace}:{entity}:"
	ns     keys.Namespace
	entity string
	tier   tier.Options

	// version is the namespace's version when Options.Versioned, else nil;
	// at is the prefix and namespace of the version last seen.
	version *tier.NamespaceVersion
	at      *atomic.Pointer[versionedPrefix]
}

// versionedPrefix is a versioned binding's key prefix under one version.
type versionedPrefix struct {
	version uint64
	ns      keys.Namespace
	prefix  string // "{namespace}@v{N}:{entity}:"
}

func newBinding[V any](store *tier.Store, o Options) (binding[V], error) {
	if store == nil {
		return binding[V]{}, fmt.Errorf("%w: nil store", ErrConfig)
	}
	ns, err := keys.NewNamespace(o.Namespace)
	if err != nil {
		return binding[V]{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if o.RefreshAfter < 0 || o.RefreshAfter >= 1 {
		return binding[V]{}, fmt.Errorf("%w: RefreshAfter %v outside [0, 1)", ErrConfig, o.RefreshAfter)
	}
	probe, err := ns.Key(o.Entity, "x")
	if err != nil {
		return binding[V]{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var version *tier.NamespaceVersion
	var at *atomic.Pointer[versionedPrefix]
	if o.Versioned {
		version = store.NamespaceVersion(o.Namespace)
		at = new(atomic.Pointer[versionedPrefix])
	}
	return binding[V]{
		store:  store,
		prefix: probe[:len(probe)-1],
		ns:     ns,
		entity: o.Entity,
		tier: tier.Options{
			Codec:                o.Codec,
			Decode:               tier.DecodeAs[V](),
			TTL:                  o.TTL,
			TTLJitter:            o.TTLJitter,
			L1TTL:                o.L1TTL,
			NegativeTTL:          o.NegativeTTL,
			StaleWhileRevalidate: o.StaleWhileRevalidate,
			StaleIfError:         o.StaleIfError,
			RefreshAfter:         o.RefreshAfter,
		},

		version: version,
		at:      at,
	}, nil
}

// key builds the full key of id, validating it. A versioned binding builds
// it under the current version, which it reads from Redis (bounded by the
// Store's L2Timeout) if it is not known yet; keyFor takes the caller's
// context for that.
func (b *binding[V]) key(id string) (string, error) {
	return b.keyFor(context.Background(), id)
}

// keyFor is key with the caller's context.
func (b *binding[V]) keyFor(ctx context.Context, id string) (string, error) {
	if b.version == nil {
		return b.ns.Key(b.entity, id)
	}
	p, err := b.current(ctx)
	if err != nil {
		return "", err
	}
	return p.ns.Key(b.entity, id)
}

// current returns the prefix of the namespace's current version. Once the
// version is known it allocates nothing unless the version changed.
func (b *binding[V]) current(ctx context.Context) (*versionedPrefix, error) {
	v, err := b.version.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("strategy: namespace version: %w", err)
	}
	if p := b.at.Load(); p != nil && p.version == v {
		return p, nil
	}
	ns := b.ns.Versioned(v)
	probe, err := ns.Key(b.entity, "x")
	if err != nil {
		return nil, err
	}
	p := &versionedPrefix{version: v, ns: ns, prefix: probe[:len(probe)-1]}
	b.at.Store(p)
	return p, nil
}

// Key returns the Redis key a strategy with these options uses for id.
func (o Options) Key(id string) (string, error) {
	ns, err := keys.NewNamespace(o.Namespace)
	if err != nil {
		return "", err
	}
	return ns.Key(o.Entity, id)
}

// get is the read path every strategy shares: a fresh L1 hit without
// building the key, else a validated key through the Store.
func (b *binding[V]) get(ctx context.Context, id string, load tier.Loader) (V, error) {
	prefix := b.prefix
	if b.version != nil {
		p, err := b.current(ctx)
		if err != nil {
			// Redis cannot say which version is current: the cache cannot
			// be trusted, the source can.
			key, kerr := b.ns.Key(b.entity, id)
			if kerr != nil {
				var zero V
				return zero, kerr
			}
			return value[V](load(ctx, key))
		}
		prefix = p.prefix
	}
	boxed, hit, err := b.store.LookupL1(prefix, id, &b.tier)
	if !hit {
		var key string
		if key, err = b.keyFor(ctx, id); err != nil {
			var zero V
			return zero, err
		}
		var r tier.Result
		r, err = b.store.Get(ctx, key, &b.tier, load)
		boxed = r.Value
	}
	return value[V](boxed, err)
}

// value unboxes a cached value.
func value[V any](boxed any, err error) (V, error) {
	if err != nil {
		var zero V
		return zero, err
	}
	v, _ := boxed.(V) // a nil value (a nil pointer stored) is V's zero value
	return v, nil
}

// loader adapts a Source's Load to the Store's Loader, which sees full keys.
func (b *binding[V]) loader(src Source[V]) tier.Loader {
	if b.version == nil {
		return func(ctx context.Context, key string) (any, error) {
			return src.Load(ctx, key[len(b.prefix):])
		}
	}
	return func(ctx context.Context, key string) (any, error) {
		return src.Load(ctx, idOf(key))
	}
}

// idOf returns the id of an item key: what follows the namespace and the
// entity, neither of which holds a ':'.
func idOf(key string) string {
	_, rest, _ := strings.Cut(key, ":")
	_, id, _ := strings.Cut(rest, ":")
	return id
}

// write stores v in the source, then in L2 and L1 (write-through). A source
// error leaves the cache untouched. A cache error after the source took the
// value is returned: the source holds the truth, and the key has been
// dropped from L1 (see tier.Store.Set).
func (b *binding[V]) write(ctx context.Context, src Source[V], id string, v V) error {
	key, err := b.keyFor(ctx, id)
	if err != nil {
		return err
	}
	if err := src.Store(ctx, id, v); err != nil {
		return fmt.Errorf("strategy: store %q: %w", key, err)
	}
	if err := b.store.Set(ctx, key, v, &b.tier); err != nil {
		return fmt.Errorf("strategy: cache %q: %w", key, err)
	}
	return nil
}

// remove deletes id from the source, then from both tiers.
func (b *binding[V]) remove(ctx context.Context, src Source[V], id string) error {
	key, err := b.keyFor(ctx, id)
	if err != nil {
		return err
	}
	if err := src.Remove(ctx, id); err != nil {
		return fmt.Errorf("strategy: remove %q: %w", key, err)
	}
	return b.invalidate(ctx, key)
}

// invalidate deletes key from L2 and L1. The source already holds the
// truth, so a Redis failure here is reported to the caller: until the entry
// expires, other instances may read the old value from L2.
func (b *binding[V]) invalidate(ctx context.Context, key string) error {
	if err := b.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("strategy: invalidate %q: %w", key, err)
	}
	return nil
}
