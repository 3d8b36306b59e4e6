// Package background owns the goroutines a long-lived value starts on its
// own: start one unless closed; Close cancels them and waits.
package background

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Group is a set of background goroutines that end when it is closed. Go
// starts one unless Close has been called; Close refuses new ones, cancels
// the Group's context (Context, Detach) so that the running ones return, and
// waits for them. The zero Group is ready to use. A Group must not be copied
// after first use.
type Group struct {
	// mu orders starts (wg.Add under RLock, after checking closed) before
	// Close's wg.Wait (after setting closed under Lock).
	mu     sync.RWMutex
	closed atomic.Bool
	wg     sync.WaitGroup

	// once makes ctx and cancel, written once and only read after.
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

func (g *Group) init() {
	g.once.Do(func() { g.ctx, g.cancel = context.WithCancel(context.Background()) })
}

// Go runs f in a new goroutine that Close waits for, unless the Group is
// closed. It reports whether f was started.
func (g *Group) Go(f func()) bool {
	if !g.Start() {
		return false
	}
	go func() {
		defer g.wg.Done()
		f()
	}()
	return true
}

// Start registers work that the caller runs itself, or in a goroutine it
// starts, unless the Group is closed; Close waits until Done is called. It
// reports whether the work was registered (only then must Done be called).
func (g *Group) Start() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed.Load() {
		return false
	}
	g.wg.Add(1)
	return true
}

// Done ends work registered by Start.
func (g *Group) Done() { g.wg.Done() }

// Wait waits for the work started so far to end, without closing the
// Group (another caller's Close, say).
func (g *Group) Wait() { g.wg.Wait() }

// Closed reports whether Close has been called.
func (g *Group) Closed() bool { return g.closed.Load() }

// Context returns a context that is cancelled when Close is called.
func (g *Group) Context() context.Context {
	g.init()
	return g.ctx
}

// Detach returns a context for work that must outlive the caller's ctx: it
// keeps ctx's values, not its cancellation, and ends after timeout or when
// Close is called, whichever comes first.
func (g *Group) Detach(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	g.init()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	stop := context.AfterFunc(g.ctx, cancel)
	return dctx, func() {
		stop()
		cancel()
	}
}

// Close refuses new work, cancels the Group's context and waits for the
// work started before. It reports false when the Group was already closed
// (it still waits).
func (g *Group) Close() bool {
	g.init()
	g.mu.Lock()
	already := g.closed.Swap(true)
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
	return !already
}
