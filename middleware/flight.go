package middleware

import (
	"sync"
	"time"
)

// flightGrace is how long a finished flight still answers requests that
// missed the cache while it ran (their lookup began before it finished) or
// just after (their lookup raced with its store, and then the response must
// be fresh for them). It covers a lookup's Redis round trip.
const flightGrace = 250 * time.Millisecond

// sweepAt is the number of flights in the table above which finish drops
// the flights whose grace has passed.
const sweepAt = 64

// flight is one forward of a key that concurrent misses of the key wait
// for.
type flight struct {
	done chan struct{}
	// The fields below are set before done is closed.

	// e is the response the forward produced, if it may be shared (it was
	// storable); nil tells the waiters to forward on their own.
	e *entry
	// selector is the Vary selection of the request that produced e: a
	// waiter whose request selects another variant cannot use e.
	selector string
	// finished is zero while the flight runs. It is written under
	// flights.mu before done is closed; waiters read it after done.
	finished time.Time
}

// flights coalesces concurrent forwards of one key.
type flights struct {
	mu        sync.Mutex
	m         map[string]*flight
	nextSweep int
	// onWait, when set (by tests), is called by each request that starts
	// waiting for another's flight.
	onWait func()
}

// join returns the key's flight in progress or finished within
// flightGrace, or starts one and returns it with leader true. The leader
// must call finish.
func (f *flights) join(key string) (fl *flight, leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok && (fl.finished.IsZero() || time.Since(fl.finished) <= flightGrace) {
		return fl, false
	}
	if f.m == nil {
		f.m = make(map[string]*flight)
	}
	fl = &flight{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

// finish ends the leader's flight, handing e (nil: nothing shareable) to the
// waiters. The flight stays in the table for flightGrace.
func (f *flights) finish(key string, fl *flight, e *entry, selector string) {
	fl.e, fl.selector = e, selector
	now := time.Now()
	f.mu.Lock()
	fl.finished = now
	if e == nil && f.m[key] == fl {
		delete(f.m, key) // nothing to share: later requests forward anyway
	}
	if len(f.m) > max(sweepAt, f.nextSweep) {
		for k, other := range f.m {
			if !other.finished.IsZero() && now.Sub(other.finished) > flightGrace {
				delete(f.m, k)
			}
		}
		f.nextSweep = 2 * len(f.m) // amortised: sweep again when it doubles
	}
	f.mu.Unlock()
	close(fl.done)
}

// forget drops the flights of keys (purged or invalidated), so that no
// later request is answered with their responses.
func (f *flights) forget(keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		delete(f.m, k)
	}
}
