package strategy

import (
	"context"

	"github.com/tiercache/tiercache/tier"
)

// ErrNotFound is returned by Get when the source has no value for an id, and
// returned by a Source's Load to say so. It is tier.ErrNotFound, so errors.Is
// works across the packages. A source answer of ErrNotFound is cached as a
// negative entry (see Options.NegativeTTL).
var ErrNotFound = tier.ErrNotFound

// Strategy caches values of type V by id.
type Strategy[V any] interface {
	// Get returns the value of id, from the cache or the source.
	Get(ctx context.Context, id string) (V, error)
	// Set stores v as the value of id, in the source and the cache as the
	// strategy dictates.
	Set(ctx context.Context, id string, v V) error
	// Delete removes id from the source and the cache.
	Delete(ctx context.Context, id string) error
}

// Loader reads the system of record behind a Strategy: all a read-only data
// type needs (CacheAside and RefreshAhead take one).
type Loader[V any] interface {
	// Load returns the value of id, or ErrNotFound.
	Load(ctx context.Context, id string) (V, error)
}

// LoaderFunc adapts a function to a Loader.
type LoaderFunc[V any] func(ctx context.Context, id string) (V, error)

// Load calls f.
func (f LoaderFunc[V]) Load(ctx context.Context, id string) (V, error) { return f(ctx, id) }

// Writer writes the system of record. It is an optional interface of a
// Loader: CacheAside and RefreshAhead use it for Set and Delete when the
// source has it (ErrReadOnly otherwise); WriteThrough and WriteBehind need
// a whole Source.
type Writer[V any] interface {
	// Store writes v as the value of id.
	Store(ctx context.Context, id string, v V) error
	// Remove deletes id; removing a missing id is not an error.
	Remove(ctx context.Context, id string) error
}

// Source is a system of record that strategies both read and write.
type Source[V any] interface {
	Loader[V]
	Writer[V]
}

// BatchStorer is an optional interface of a Source: when the Source of a
// WriteBehind has it, the flusher writes each batch in one call.
type BatchStorer[V any] interface {
	// StoreBatch writes every value of items, keyed by id. An error means
	// that some or none were written; the whole batch is retried, so the
	// writes must be idempotent.
	StoreBatch(ctx context.Context, items map[string]V) error
}
