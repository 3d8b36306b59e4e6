package tier

import (
	"sync"
	"sync/atomic"
	"time"
)

// clockResolution is how often the coarse clock ticks.
const clockResolution = time.Millisecond

// clock is a coarse wall clock in unix nanoseconds, advanced by a ticker.
// Reading the system clock costs more than a whole L1 hit on some virtual
// machines (where it is a system call); the hot path reads this atomic
// instead. It lags real time by about one tick, which is far below any TTL
// a cache uses; on a machine so loaded that the ticker goroutine waits to be
// scheduled it lags more, and an L1 entry may be served as fresh for that
// long past its time. Decisions off the hit path (stale, refresh, expiry)
// read the precise clock.
type clock struct {
	now  atomic.Int64
	stop chan struct{}
	done sync.WaitGroup
}

func newClock() *clock {
	c := &clock{stop: make(chan struct{})}
	c.now.Store(time.Now().UnixNano())
	c.done.Add(1)
	go c.run()
	return c
}

func (c *clock) run() {
	defer c.done.Done()
	t := time.NewTicker(clockResolution)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			c.now.Store(now.UnixNano())
		case <-c.stop:
			return
		}
	}
}

// nanos returns the coarse time.
func (c *clock) nanos() int64 { return c.now.Load() }

func (c *clock) close() {
	close(c.stop)
	c.done.Wait()
}
