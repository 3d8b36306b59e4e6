package middleware

import "sync/atomic"

// Stats counts what a Cache did that its responses do not show.
type Stats struct {
	// Panics counts panics of the wrapped handler, or of a Transport's base
	// RoundTripper, that the Cache recovered: on goroutines it owns
	// (background revalidations, Transport round trips), and on a request's
	// own goroutine when a stale-if-error response replaced the failed
	// answer. Each is also reported through Config.Logger with its stack.
	// http.ErrAbortHandler, a deliberate abort, is not counted.
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
