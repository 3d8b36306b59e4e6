package metrics

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrDuplicate is wrapped by the error of Registry.Add and
// Registry.AddQueue for a name already registered.
var ErrDuplicate = errors.New("metrics: strategy already registered")

// Registry is the set of named Stores and write-behind queues an exporter
// reads; the adapters embed one, so that their Add, Remove, AddQueue and
// RemoveQueue are these. A name is the strategy label (or attribute) of the
// series it gives; Stores and queues have names of their own, so a
// strategy's Store and its queue may share one. The zero Registry is empty
// and ready to use; it is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	stores []Named[StatsReader] // in the order they were added
	queues []Named[QueueReader]
}

// Named is a Store or a queue and the name it was registered under.
type Named[T any] struct {
	Name   string
	Reader T
}

// Add registers the counters of store under name.
func (r *Registry) Add(name string, store StatsReader) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return add(&r.stores, name, store, "")
}

// Remove unregisters the counters registered under name.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stores = remove(r.stores, name)
}

// AddQueue registers a write-behind queue (a *strategy.WriteBehind[V])
// under name: its depth and oldest write's age are exported as the gauges
// named QueueDepthName and QueueOldestName.
func (r *Registry) AddQueue(name string, q QueueReader) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return add(&r.queues, name, q, "queue ")
}

// RemoveQueue unregisters the queue registered under name.
func (r *Registry) RemoveQueue(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queues = remove(r.queues, name)
}

// Stores returns the registered Stores, in the order they were added. The
// slice is the caller's.
func (r *Registry) Stores() []Named[StatsReader] {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.stores)
}

// Queues returns the registered queues, in the order they were added. The
// slice is the caller's.
func (r *Registry) Queues() []Named[QueueReader] {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.queues)
}

func add[T any](list *[]Named[T], name string, v T, what string) error {
	for _, n := range *list {
		if n.Name == name {
			return fmt.Errorf("%w: %s%q", ErrDuplicate, what, name)
		}
	}
	*list = append(*list, Named[T]{Name: name, Reader: v})
	return nil
}

func remove[T any](list []Named[T], name string) []Named[T] {
	return slices.DeleteFunc(list, func(n Named[T]) bool { return n.Name == name })
}
