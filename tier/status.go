package tier

import (
	"slices"
	"strings"
)

// Closed reports whether Close has been called: the Store's counters are
// then final, its L1 is released and its bus stopped.
func (s *Store) Closed() bool { return s.closed.Load() }

// L1Cost returns the bytes charged to the entries L1 holds now and the
// bound it keeps them under (Config.L1MaxCostBytes); both are 0 with L1
// disabled. Sets ristretto has not applied yet are not counted; entries
// that expired or were cleared but that ristretto has not evicted yet are.
func (s *Store) L1Cost() (usedBytes, maxBytes int64) {
	c := s.l1.cache
	if c == nil {
		return 0, 0
	}
	maxBytes = c.MaxCost()
	return maxBytes - c.RemainingCost(), maxBytes
}

// BusStatus is the state of a Store's invalidation bus.
type BusStatus struct {
	// Enabled reports whether the Store has a bus: it has Redis, and
	// Config.DisableBus is not set.
	Enabled bool
	// Subscriptions lists the namespaces whose channels the Store has
	// subscribed to (on their first read or write), by namespace.
	Subscriptions []BusSubscription
}

// BusSubscription is the state of one namespace's subscription.
type BusSubscription struct {
	// Namespace is the namespace ("" for keys without one).
	Namespace string
	// Up reports whether the subscription is confirmed and not known to be
	// lost; while it is down, other instances' writes do not reach L1, and
	// its next confirmation clears L1.
	Up bool
}

// BusStatus returns the state of the invalidation bus now.
func (s *Store) BusStatus() BusStatus {
	if s.bus == nil {
		return BusStatus{}
	}
	st := BusStatus{Enabled: true}
	s.bus.subs.Range(func(_, v any) bool {
		sub := v.(*subscription)
		st.Subscriptions = append(st.Subscriptions, BusSubscription{Namespace: sub.ns, Up: sub.up.Load()})
		return true
	})
	slices.SortFunc(st.Subscriptions, func(a, b BusSubscription) int { return strings.Compare(a.Namespace, b.Namespace) })
	return st
}
