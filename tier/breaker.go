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
	// its success closes the breaker (once the writes that failed while
	// Redis was away are repaired: see Config.MaxRepairKeys), its failure
	// opens it again.
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

// breakerRepairing is the state after a successful probe while writes wait
// for repair: calls are refused but the repairer's, and the breaker reads
// as half-open. The repairer closes it (see repaired).
const breakerRepairing = BreakerDisabled + 1

// breaker is a consecutive-failure circuit breaker. Its fast path (closed)
// is one atomic load; it takes no lock and makes no I/O.
type breaker struct {
	threshold int64         // consecutive failures that open it; <= 0: disabled
	cooldown  time.Duration // how long it stays open before a probe
	clock     *clock
	stats     *counters
	repairs   *repairs // the Store's; nil in unit tests

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
		switch BreakerState(b.state.Load()) {
		case BreakerClosed, breakerRepairing:
		default:
			if b.repairs != nil && b.repairs.pending() {
				// Redis answers again: replay the failed writes before
				// anything else reads it.
				b.state.Store(uint32(breakerRepairing))
				if !b.repairs.pending() {
					// Replayed meanwhile, by a repairer that has ended.
					b.state.CompareAndSwap(uint32(breakerRepairing), uint32(BreakerClosed))
				}
				b.repairs.kick()
				return
			}
			b.state.Store(uint32(BreakerClosed))
		}
	case parent.Err() != nil:
		// The caller's deadline, not Redis: a half-open probe that ends
		// this way lets the next call probe.
		b.state.CompareAndSwap(uint32(BreakerHalfOpen), uint32(BreakerOpen))
	default:
		if st := BreakerState(b.state.Load()); st == BreakerHalfOpen || st == breakerRepairing || b.failures.Add(1) >= b.threshold {
			b.open()
		}
	}
}

// allowRepair is allow for the repairer's replay: it also passes while the
// breaker waits for the replay (breakerRepairing), and, like allow, becomes
// the probe once the cooldown has passed.
func (b *breaker) allowRepair() bool {
	if BreakerState(b.state.Load()) == breakerRepairing {
		return true
	}
	return b.allow()
}

// recordRepair is record for the replay: its success leaves the breaker
// waiting for the rest of the replay (see repaired) rather than closed.
func (b *breaker) recordRepair(parent context.Context, err error) {
	if BreakerState(b.state.Load()) == BreakerDisabled {
		return
	}
	if err == nil || answered(err) {
		b.failures.Store(0)
		b.state.CompareAndSwap(uint32(BreakerHalfOpen), uint32(breakerRepairing))
		return
	}
	b.record(parent, err)
}

// repaired closes a breaker that waited for the repairs, now replayed.
func (b *breaker) repaired() {
	b.state.CompareAndSwap(uint32(breakerRepairing), uint32(BreakerClosed))
}

func (b *breaker) open() {
	b.openedAt.Store(b.clock.nanos())
	if BreakerState(b.state.Swap(uint32(BreakerOpen))) != BreakerOpen {
		b.stats.breakerOpens.Add(1)
	}
	b.failures.Store(0)
}

// current returns the state as callers see it (waiting for the repairs
// reads as half-open).
func (b *breaker) current() BreakerState {
	st := BreakerState(b.state.Load())
	if st == breakerRepairing {
		return BreakerHalfOpen
	}
	return st
}

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
