package strategy_test

import (
	"context"
	"sync"

	"github.com/tiercache/tiercache/strategy"
)

// ctlSource is a memSource whose loads a test can hold or fail, and whose
// writes a test can observe or fail.
type ctlSource struct {
	*memSource
	mu       sync.Mutex
	gate     chan struct{} // when not nil, Load waits until it is closed
	entered  chan struct{} // when not nil, Load signals it on entry (non-blocking)
	failLoad error
	// beforeStore, when not nil, runs at the start of Store and Remove.
	beforeStore func(id string)
	failRemove  error
}

var _ strategy.Source[Profile] = (*ctlSource)(nil)

func newCtlSource() *ctlSource { return &ctlSource{memSource: newMemSource()} }

// hold makes loads wait until release is called.
func (c *ctlSource) hold() (release func()) {
	gate := make(chan struct{})
	c.mu.Lock()
	c.gate = gate
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.gate = nil
			c.mu.Unlock()
			close(gate)
		})
	}
}

func (c *ctlSource) setFailLoad(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLoad = err
}

func (c *ctlSource) Load(ctx context.Context, id string) (Profile, error) {
	c.mu.Lock()
	gate, entered, fail := c.gate, c.entered, c.failLoad
	c.mu.Unlock()
	if entered != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Profile{}, ctx.Err()
		}
	}
	if fail != nil {
		c.loads.Add(1)
		return Profile{}, fail
	}
	return c.memSource.Load(ctx, id)
}

func (c *ctlSource) Store(ctx context.Context, id string, p Profile) error {
	c.mu.Lock()
	before := c.beforeStore
	c.mu.Unlock()
	if before != nil {
		before(id)
	}
	return c.memSource.Store(ctx, id, p)
}

func (c *ctlSource) Remove(ctx context.Context, id string) error {
	c.mu.Lock()
	before, fail := c.beforeStore, c.failRemove
	c.mu.Unlock()
	if before != nil {
		before(id)
	}
	if fail != nil {
		return fail
	}
	return c.memSource.Remove(ctx, id)
}
