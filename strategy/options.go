package strategy

import (
	"context"
	"errors"
	"fmt"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/keys"
	"github.com/tiercache/tiercache/tier"
)

// ErrConfig is wrapped by the errors constructors return for an invalid
// configuration.
var ErrConfig = errors.New("strategy: invalid configuration")

// ErrReadOnly is returned by Set and Delete of a strategy whose source is a
// Loader only (it has no Writer methods).
var ErrReadOnly = errors.New("strategy: source is read-only")

// Options configure a strategy for one data type: its name (Namespace and
// Entity, required), and how its values are cached (the embedded
// tier.Options: TTL, TTLJitter, L1TTL, NegativeTTL, Codec, Codecs, the
// stale windows and RefreshAfter; every zero field is tier's documented
// default). tier.Options.Decode is ignored: a strategy decodes its own type.
type Options struct {
	// Namespace and Entity name the data type; keys are
	// "{Namespace}:{Entity}:{id}" (see package keys).
	Namespace string
	Entity    string

	// Versioned builds keys under the namespace's current version
	// ("{Namespace}@v{N}:{Entity}:{id}", see keys.Namespace.Versioned), kept
	// in Redis and followed by every instance through the Store (see
	// tier.NamespaceVersion): bumping it invalidates every key of the
	// namespace at once. The version is read from Redis on first use (and
	// again once every L1TTLCap of the Store); while it is not known, reads
	// go to the source uncached and writes fail.
	Versioned bool

	// Options say how values are cached. RefreshAfter zero turns
	// refresh-ahead off, except for RefreshAhead, where it means
	// DefaultRefreshAfter.
	tier.Options
}

// DefaultRefreshAfter is RefreshAhead's refresh point when
// Options.RefreshAfter is zero: three quarters of the TTL.
const DefaultRefreshAfter = 0.75

// binding is what every strategy derives from its Options: the tier.Group
// of its data type, read through the strategy's loader.
type binding[V any] struct {
	g      *tier.Group[V]
	store  *tier.Store
	ns     keys.Namespace
	entity string
	tier   tier.Options // the options writes pass to the Store
}

// newBinding builds the Group of o's data type, whose reads load with load,
// and batch reads with many (nil: load, for each id).
func newBinding[V any](store *tier.Store, o Options, load func(ctx context.Context, id string) (V, error), many func(ctx context.Context, ids []string) (map[string]V, error)) (binding[V], error) {
	if store == nil {
		return binding[V]{}, fmt.Errorf("%w: nil store", ErrConfig)
	}
	if o.RefreshAfter < 0 || o.RefreshAfter >= 1 {
		return binding[V]{}, fmt.Errorf("%w: RefreshAfter %v outside [0, 1)", ErrConfig, o.RefreshAfter)
	}
	ns, err := keys.NewNamespace(o.Namespace)
	if err != nil {
		return binding[V]{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	g, err := tier.NewGroup(store, tier.GroupConfig[V]{
		Namespace: o.Namespace,
		Entity:    o.Entity,
		Versioned: o.Versioned,
		Options:   o.Options,
		Load:      load,
		LoadMany:  many,
	})
	if err != nil {
		return binding[V]{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return binding[V]{g: g, store: store, ns: ns, entity: o.Entity, tier: o.Options}, nil
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
	return b.g.Key(ctx, id)
}

// Key returns the Redis key a strategy with these options uses for id.
func (o Options) Key(id string) (string, error) {
	ns, err := keys.NewNamespace(o.Namespace)
	if err != nil {
		return "", err
	}
	return ns.Key(o.Entity, id)
}

// get is the read path every strategy shares (see tier.Group.Get).
func (b *binding[V]) get(ctx context.Context, id string) (V, error) {
	v, _, err := b.g.Get(ctx, id)
	return v, err
}

// lookup is get that also reports the tier that answered.
func (b *binding[V]) lookup(ctx context.Context, id string) (V, tier.Tier, error) {
	return b.g.Get(ctx, id)
}

// write stores v in the source, then in L2 and L1 (write-through). A value
// the codec cannot encode is refused first (codec.ErrEncode), and a source
// error leaves the cache untouched. A cache error after the source took the
// value is returned, unless the Store will repair the key (the source holds
// the truth, the key has been dropped from L1, and its old L2 entry is
// deleted once Redis answers: see tier.ErrRepairPending).
func (b *binding[V]) write(ctx context.Context, src Writer[V], id string, v V) error {
	key, err := b.keyFor(ctx, id)
	if err != nil {
		return err
	}
	if err := b.encodable(key, v); err != nil {
		return err
	}
	if err := src.Store(ctx, id, v); err != nil {
		return fmt.Errorf("strategy: store %q: %w", key, err)
	}
	if err := b.store.Set(ctx, key, v, &b.tier); err != nil && !errors.Is(err, tier.ErrRepairPending) {
		return fmt.Errorf("strategy: cache %q: %w", key, err)
	}
	return nil
}

// encodable returns an error wrapping codec.ErrEncode when the data type's
// codec cannot encode v: a strategy checks it before writing anything, so
// that such a value never reaches the source while the cache cannot hold
// it. It costs one extra encoding per write.
func (b *binding[V]) encodable(key string, v V) error {
	c := b.tier.Codec
	if c == nil {
		c = codec.Default()
	}
	if _, err := c.Marshal(v); err != nil {
		return fmt.Errorf("strategy: encode %q: %w", key, err)
	}
	return nil
}

// remove deletes id from the source, then from both tiers.
func (b *binding[V]) remove(ctx context.Context, src Writer[V], id string) error {
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
// truth. A Redis failure the Store will repair (tier.ErrRepairPending) is
// not the caller's to handle: the old L2 entry is deleted once Redis
// answers again. Any other Redis failure is returned: until the entry
// expires, other instances may read the old value from L2.
func (b *binding[V]) invalidate(ctx context.Context, key string) error {
	if err := b.store.Delete(ctx, key); err != nil && !errors.Is(err, tier.ErrRepairPending) {
		return fmt.Errorf("strategy: invalidate %q: %w", key, err)
	}
	return nil
}

// writerOf returns src's Writer, or nil for a read-only Loader.
func writerOf[V any](src Loader[V]) Writer[V] {
	w, _ := src.(Writer[V])
	return w
}
