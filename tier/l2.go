package tier

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// Lua scripts. Each touches one key, so they run unchanged on a cluster.
var (
	// fillIfLease replaces the caller's lease with the loaded value: a write
	// or delete of the key during the load removed the lease, and then the
	// (older) loaded value must not be stored. A lease is compared without
	// its waited mark (byte 3, the codec byte a lease does not use); the
	// script returns 2 when the lease was marked: another process waits for
	// the fill and is told so on the bus.
	fillIfLease = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local want = ARGV[1]
if cur and #cur == #want and string.sub(cur, 1, 2) == string.sub(want, 1, 2) and string.sub(cur, 4) == string.sub(want, 4) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  if string.byte(cur, 3) ~= 0 then return 2 end
  return 1
end
return 0`)
	// delIfLease deletes the caller's lease, marked or not (see fillIfLease).
	delIfLease = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local want = ARGV[1]
if cur and #cur == #want and string.sub(cur, 1, 2) == string.sub(want, 1, 2) and string.sub(cur, 4) == string.sub(want, 4) then
  return redis.call('DEL', KEYS[1])
end
return 0`)
	// markWaited returns the key's value and, when it is a fill lease (flags
	// byte 4, see envelope.go), marks the lease as waited for, so that its
	// holder announces the fill.
	markWaited = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and #cur > 19 and string.byte(cur, 2) == 4 and string.byte(cur, 3) == 0 then
  redis.call('SETRANGE', KEYS[1], 2, '\1')
end
return cur`)
	// takeLease replaces an expired lease (ARGV[1], compared without its
	// waited mark, as fillIfLease does) with the caller's (ARGV[2]), keeping
	// the mark, so that the processes waiting for the old holder's fill are
	// told of the new one's.
	takeLease = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local old = ARGV[1]
if cur and #cur == #old and string.sub(cur, 1, 2) == string.sub(old, 1, 2) and string.sub(cur, 4) == string.sub(old, 4) then
  local new = ARGV[2]
  if string.byte(cur, 3) ~= 0 then new = string.sub(new, 1, 2) .. '\1' .. string.sub(new, 4) end
  redis.call('SET', KEYS[1], new, 'PX', ARGV[3])
  return 1
end
return 0`)
	// fillIfUnchanged replaces the entry a refresh started from, and only it.
	fillIfUnchanged = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and redis.sha1hex(cur) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`)
	// delIfEquals deletes the key only while it holds ARGV[1] (a lease, a
	// lock token, or a corrupt entry being cleaned up).
	delIfEquals = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// refreshLockSuffix names the lock key of a background refresh. The unit
// separator cannot appear in keys built by package keys, so a lock key never
// collides with a user key.
const refreshLockSuffix = "\x1frefresh"

// l2 is the Redis tier. Every call is bounded by its own timeout and by the
// caller's deadline, whichever comes first, and goes through the circuit
// breaker: while it is open, calls fail at once with ErrBreakerOpen.
type l2 struct {
	rdb     redis.UniversalClient
	timeout time.Duration
	br      *breaker
	pipe    *l2Pipe // nil: every read is sent on its own
}

// read sends a single-key read command, through the pipe when there is one.
func (c *l2) read(ctx context.Context, cmd redis.Cmder) error {
	if c.pipe != nil {
		return c.pipe.do(ctx, cmd)
	}
	return c.process(ctx, cmd)
}

// process sends cmd on its own, through call.
func (c *l2) process(ctx context.Context, cmd redis.Cmder) error {
	return c.call(ctx, func(ctx context.Context) error {
		_ = c.rdb.Process(ctx, cmd)
		return cmd.Err()
	})
}

// call runs fn with the call's deadline, unless the breaker is open, and
// reports its outcome to the breaker. A context whose own deadline comes
// within the timeout already bounds the call: it is used as it is, which
// saves a timer and a context per call.
func (c *l2) call(ctx context.Context, fn func(ctx context.Context) error) error {
	return c.run(ctx, false, fn)
}

// callRepair is call for the repairer's replay: it passes a breaker that
// waits for the replay, and its success leaves the breaker waiting for the
// rest of it (see breaker.allowRepair).
func (c *l2) callRepair(ctx context.Context, fn func(ctx context.Context) error) error {
	return c.run(ctx, true, fn)
}

// run is call, or callRepair when repair is set.
func (c *l2) run(ctx context.Context, repair bool, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err // nothing is sent for a caller that has given up
	}
	if allowed := repair && c.br.allowRepair() || !repair && c.br.allow(); !allowed {
		return ErrBreakerOpen
	}
	var err error
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= c.timeout {
		err = fn(ctx)
	} else {
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		err = fn(cctx)
		cancel()
	}
	if repair {
		c.br.recordRepair(ctx, err)
	} else {
		c.br.record(ctx, err)
	}
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		// go-redis retries a failed dial or command with backoff until the
		// deadline, then returns only the deadline: say whose it was and
		// where the cause went.
		err = fmt.Errorf("%w: no reply within L2Timeout (%v); the client's retries outlasted it, hiding their cause (keep DialerRetries and MaxRetryBackoff within it)", err, c.timeout)
	}
	return err
}

// replyBytes returns cmd's reply as bytes without copying it: go-redis
// holds a reply as a string, which nothing writes to, and the cache only
// reads the entries L2 returns (decodes, hashes and compares them). An
// empty reply is an empty slice, never nil (nil means an absent key).
func replyBytes(cmd *redis.StringCmd) []byte {
	s := cmd.Val()
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// get returns the raw entry, or nil and no error when the key is absent.
// Concurrent reads share pipelines (see l2Pipe).
func (c *l2) get(ctx context.Context, key string) ([]byte, error) {
	cmd := redis.NewStringCmd(ctx, "get", key)
	err := c.read(ctx, cmd)
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		// cmd is not read: a queued read whose reader left may still be
		// answered into it.
		return nil, fmt.Errorf("tier: redis get %q: %w", key, err)
	}
	return replyBytes(cmd), nil
}

func (c *l2) set(ctx context.Context, key string, raw []byte, ttl time.Duration) error {
	err := c.call(ctx, func(ctx context.Context) error {
		return c.rdb.Set(ctx, key, raw, ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("tier: redis set %q: %w", key, err)
	}
	return nil
}

// getOrLease reads key and, when it is absent, stores lease in it, in one
// command (SET NX GET): raw is what key held (nil when it was absent) and
// won reports that lease is now the key's value. ttlArg is the lease's TTL
// in milliseconds, formatted once by the Store. SET is a write command: a
// Redis at maxmemory with the noeviction policy refuses it (OOM), and such
// reads are answered by the loader and counted as L2 errors; a cache Redis
// runs an eviction policy.
// Concurrent reads share pipelines (see l2Pipe).
func (c *l2) getOrLease(ctx context.Context, key string, lease []byte, ttlArg any) (raw []byte, won bool, err error) {
	cmd := redis.NewStringCmd(ctx, "set", key, lease, "nx", "get", "px", ttlArg)
	err = c.read(ctx, cmd)
	if errors.Is(err, redis.Nil) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("tier: redis get or lease %q: %w", key, err) // cmd unread, as in get
	}
	return replyBytes(cmd), false, nil
}

// setNX stores raw only when key is absent and reports whether it did.
func (c *l2) setNX(ctx context.Context, key string, raw []byte, ttl time.Duration) (bool, error) {
	err := c.call(ctx, func(ctx context.Context) error {
		return c.rdb.SetArgs(ctx, key, raw, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	})
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tier: redis set nx %q: %w", key, err)
	}
	return true, nil
}

// del removes keys, one command per key so that a cluster never sees a
// cross-slot command, all in one pipeline (go-redis splits it per node).
func (c *l2) del(ctx context.Context, keys []string) error {
	if err := c.call(ctx, func(ctx context.Context) error { return c.unlink(ctx, keys) }); err != nil {
		return fmt.Errorf("tier: redis unlink %d keys (first %q): %w", len(keys), keys[0], err)
	}
	return nil
}

// unlink sends one UNLINK per key, in one pipeline when there are several.
func (c *l2) unlink(ctx context.Context, keys []string) error {
	if len(keys) == 1 {
		return c.rdb.Unlink(ctx, keys[0]).Err()
	}
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	return err
}

// runScript runs a one-key script and reports whether it returned 1.
func (c *l2) runScript(ctx context.Context, s *redis.Script, key string, args ...any) (bool, error) {
	var n int64
	err := c.call(ctx, func(ctx context.Context) (err error) {
		n, err = s.Run(ctx, c.rdb, []string{key}, args...).Int64()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("tier: redis script on %q: %w", key, err)
	}
	return n == 1, nil
}

// fillIfLease replaces lease with raw; waited reports that another process
// had marked the lease (see markWaited).
func (c *l2) fillIfLease(ctx context.Context, key string, lease, raw []byte, ttl time.Duration) (filled, waited bool, err error) {
	var n int64
	err = c.call(ctx, func(ctx context.Context) (err error) {
		n, err = fillIfLease.Run(ctx, c.rdb, []string{key}, lease, raw, ttl.Milliseconds()).Int64()
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("tier: redis fill %q: %w", key, err)
	}
	return n > 0, n == 2, nil
}

// delIfLease removes lease (marked or not) from key.
func (c *l2) delIfLease(ctx context.Context, key string, lease []byte) (bool, error) {
	return c.runScript(ctx, delIfLease, key, lease)
}

// takeLease replaces the expired lease old (marked or not) with lease and
// reports whether it did; ttlArg is the lease's TTL in milliseconds.
func (c *l2) takeLease(ctx context.Context, key string, old, lease []byte, ttlArg any) (bool, error) {
	return c.runScript(ctx, takeLease, key, old, lease, ttlArg)
}

// markWaited returns key's raw entry (nil when absent) after marking it as
// waited for if it is a fill lease.
func (c *l2) markWaited(ctx context.Context, key string) ([]byte, error) {
	var s string
	err := c.call(ctx, func(ctx context.Context) (err error) {
		s, err = markWaited.Run(ctx, c.rdb, []string{key}).Text()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tier: redis mark waited %q: %w", key, err)
	}
	return []byte(s), nil
}

func (c *l2) fillIfUnchanged(ctx context.Context, key string, prev, raw []byte, ttl time.Duration) (bool, error) {
	return c.runScript(ctx, fillIfUnchanged, key, sha1Hex(prev), raw, ttl.Milliseconds())
}

// sha1Hex is the digest fillIfUnchanged compares an entry by.
func sha1Hex(raw []byte) string {
	sum := sha1.Sum(raw)
	return hex.EncodeToString(sum[:])
}

func (c *l2) delIfEquals(ctx context.Context, key string, want []byte) (bool, error) {
	return c.runScript(ctx, delIfEquals, key, want)
}

// newLease returns the envelope of a fill lease: a token unique across the
// fleet (this process's random lease prefix and a counter; no system
// randomness on the read path), stamped with the time it was taken and the
// end of the life it declares (FillLockTTL later).
func (s *Store) newLease() []byte {
	now := time.Now()
	b := make([]byte, 0, envelopeV1HeaderSize+len(s.leasePrefix)+8)
	b = appendEnvelope(b, envelope{format: envelopeV1, flags: flagLease, createdAt: now, freshUntil: now.Add(s.cfg.FillLockTTL), payload: s.leasePrefix})
	return binary.BigEndian.AppendUint64(b, s.leaseSeq.Add(1)) // the token: prefix and counter
}

// newToken returns 16 random bytes for a lease or a lock.
func newToken() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}
