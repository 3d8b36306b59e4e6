package tier

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// fillWaiters are the flights of this process waiting for another process's
// fill of a key. The filler announces a landed fill (or a released lease) on
// the invalidation bus; the message wakes the waiting flight, which reads
// the key once more. A flight whose namespace has no live subscription
// polls instead, backing off.
type fillWaiters struct {
	n  atomic.Int32 // len(m), read without the lock by wake
	mu sync.Mutex
	m  map[string]chan struct{}
}

// add returns the channel that is closed when key's fill is announced.
func (w *fillWaiters) add(key string) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[string]chan struct{})
	}
	ch, ok := w.m[key]
	if !ok {
		ch = make(chan struct{})
		w.m[key] = ch
		w.n.Add(1)
	}
	return ch
}

// remove forgets ch, unless a wake already did.
func (w *fillWaiters) remove(key string, ch chan struct{}) {
	w.mu.Lock()
	if w.m[key] == ch {
		delete(w.m, key)
		w.n.Add(-1)
	}
	w.mu.Unlock()
}

// wake wakes the flights waiting for keys.
func (w *fillWaiters) wake(keys ...string) {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	for _, k := range keys {
		if ch, ok := w.m[k]; ok {
			close(ch)
			delete(w.m, k)
			w.n.Add(-1)
		}
	}
	w.mu.Unlock()
}

// wakeAll wakes every waiting flight (L1 cleared: messages may have been
// lost).
func (w *fillWaiters) wakeAll() {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	for k, ch := range w.m {
		close(ch)
		delete(w.m, k)
	}
	w.n.Store(0)
	w.mu.Unlock()
}

// Poll delays of a flight waiting for another process's fill: the first
// delay and the most it grows to, doubling at each wait. With the bus
// listening, the fill's announcement wakes the flight and the poll is only
// the fallback for a lost message or a holder that died (its lease then
// expires).
const (
	pollFirst          = 5 * time.Millisecond
	pollMax            = 200 * time.Millisecond
	pollFirstListening = 100 * time.Millisecond
	pollMaxListening   = time.Second
)

// awaitFill waits until another process's fill of r's key is announced
// (ch, from fillWaiters.add, is closed), or the poll delay for the waits-th
// wait has passed, or deadline. own says the lease is this process's: its
// fill wakes ch without the bus, and the short poll covers a fill that
// landed just before ch was registered. It then renews r's fence ticket: what the
// flight reads next is read after the announcement, which invalidated the
// key.
func (s *Store) awaitFill(ctx context.Context, r *fillRead, ch chan struct{}, deadline time.Time, waits int, own bool) error {
	_, sp := s.startSpan(ctx, OpFillWait, r.key)
	first, most := pollFirst, pollMax
	if !own && s.bus != nil && s.bus.listening(r.key) {
		first, most = pollFirstListening, pollMaxListening
	}
	d := min(first<<min(waits, 16), most, time.Until(deadline))
	timer := time.NewTimer(max(d, 0))
	var err error
	select {
	case <-ch:
	case <-timer.C:
	case <-ctx.Done():
		err = fmt.Errorf("tier: waiting for fill: %w", ctx.Err())
	}
	timer.Stop()
	s.waiters.remove(r.key, ch)
	s.l1.end(r.t)
	r.t = s.l1.begin(r.key)
	endSpan(sp, 0, err)
	return err
}

// listening reports whether the bus holds a live subscription for key's
// namespace, through which the fill of key will be announced.
func (b *bus) listening(key string) bool {
	v, ok := b.subs.Load(namespaceOf(key))
	return ok && v.(*subscription).up.Load()
}
