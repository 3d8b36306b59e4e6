package middleware

import "sync"

// flight is one forward of a key that concurrent misses of the key wait
// for.
type flight struct {
	done chan struct{}
	// e is the response the forward produced, if it may be shared (it was
	// storable); nil tells the waiters to forward on their own.
	e *entry
	// selector is the Vary selection of the request that produced e: a
	// waiter whose request selects another variant cannot use e.
	selector string
}

// flights coalesces concurrent forwards of one key.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
	// onWait, when set (by tests), is called by each request that starts
	// waiting for another's flight.
	onWait func()
}

// join returns the key's flight in progress, or starts one and returns it
// with leader true. The leader must call finish.
func (f *flights) join(key string) (fl *flight, leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok {
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
// waiters.
func (f *flights) finish(key string, fl *flight, e *entry, selector string) {
	fl.e, fl.selector = e, selector
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(fl.done)
}
