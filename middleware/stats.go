package middleware

import "sync/atomic"

// Stats counts what a Cache did that its responses do not show.
type Stats struct {
	// Panics counts panics of the wrapped handler, or of a Transport's base
	// RoundTripper, recovered on goroutines the Cache owns (background
	// revalidations and Transport round trips); each is also reported
	// through Config.Logger with its stack.
	Panics uint64
}

// counters are the atomics behind Stats.
type counters struct {
	panics atomic.Uint64
}

// Stats returns a snapshot of the Cache's counters.
func (c *Cache) Stats() Stats {
	return Stats{Panics: c.stats.panics.Load()}
}
