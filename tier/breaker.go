package tier

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// BreakerState is the state of the circuit breaker around Redis.
type BreakerState uint8

// The breaker's states.
const (
	// BreakerClosed: Redis is used normally.
	BreakerClosed BreakerState = iota
	// BreakerOpen: Redis failed BreakerFailures times in a row; reads go to
	// L1 and the source without touching it, writes fail at once with
	// ErrBreakerOpen, until BreakerCooldown has passed.
	BreakerOpen
	// BreakerHalfOpen: the cooldown has passed and one call probes Redis;
	// its success closes the breaker, its failure opens it again.
	BreakerHalfOpen
	// BreakerDisabled: Config.BreakerFailures is negative.
	BreakerDisabled
)

// String returns "closed", "open", "half-open" or "disabled".
func (b BreakerState) String() string {
	switch b {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerDisabled:
		return "disabled"
	}
	return "unknown"
}

// breaker is a consecutive-failure circuit breaker. Its fast path (closed)
// is one atomic load; it takes no lock and makes no I/O.
type breaker struct {
	threshold int64         // consecutive failures that open it; <= 0: disabled
	cooldown  time.Duration // how long it stays open before a probe
	clock     *clock
	stats     *counters

	state    atomic.Uint32 // BreakerState
	failures atomic.Int64  // consecutive failures while closed
	openedAt atomic.Int64  // coarse unix nanoseconds of the last opening
}

func newBreaker(cfg Config, clk *clock, stats *counters) *breaker {
	b := &breaker{threshold: int64(cfg.BreakerFailures), cooldown: cfg.BreakerCooldown, clock: clk, stats: stats}
	if b.threshold <= 0 {
		b.state.Store(uint32(BreakerDisabled))
	}
	return b
}

// allow reports whether a Redis call may go out now. After the cooldown the
// first caller becomes the probe (half-open); the others are refused until
// the probe reports.
func (b *breaker) allow() bool {
	switch BreakerState(b.state.Load()) {
	case BreakerClosed, BreakerDisabled:
		return true
	case BreakerOpen:
		if b.clock.nanos()-b.openedAt.Load() < int64(b.cooldown) {
			break
		}
		if b.state.CompareAndSwap(uint32(BreakerOpen), uint32(BreakerHalfOpen)) {
			return true
		}
	}
	b.stats.breakerRejected.Add(1)
	return false
}

// record reports the outcome of a call allow let through. parent is the
// caller's context: a call that failed because the caller gave up says
// nothing about Redis and is not counted.
func (b *breaker) record(parent context.Context, err error) {
	if BreakerState(b.state.Load()) == BreakerDisabled {
		return
	}
	switch {
	case err == nil || answered(err):
		b.failures.Store(0)
		if BreakerState(b.state.Load()) != BreakerClosed {
			b.state.Store(uint32(BreakerClosed))
		}
	case parent.Err() != nil:
		// The caller's deadline, not Redis: a half-open probe that ends
		// this way lets the next call probe.
		b.state.CompareAndSwap(uint32(BreakerHalfOpen), uint32(BreakerOpen))
	default:
		if BreakerState(b.state.Load()) == BreakerHalfOpen || b.failures.Add(1) >= b.threshold {
			b.open()
		}
	}
}

func (b *breaker) open() {
	b.openedAt.Store(b.clock.nanos())
	if BreakerState(b.state.Swap(uint32(BreakerOpen))) != BreakerOpen {
		b.stats.breakerOpens.Add(1)
	}
	b.failures.Store(0)
}

func (b *breaker) current() BreakerState { return BreakerState(b.state.Load()) }

// answered reports whether err is an answer from Redis (a redis.Error such
// as WRONGTYPE) rather than a failure to reach it. Answers that say the
// server cannot serve now count as failures.
func answered(err error) bool {
	if errors.Is(err, redis.Nil) {
		return true
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	for _, busy := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "BUSY"} {
		if strings.HasPrefix(msg, busy) {
			return false
		}
	}
	return true
}
