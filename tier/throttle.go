package tier

import (
	"bytes"
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The reload of an expired entry that may be served on error is guarded,
// with Options.SoftTimeout or Options.FailSafeThrottle, by the key's reload
// lock: the lock a background refresh (stale-while-revalidate,
// refresh-ahead) takes, the same Redis key (the entry's key and
// refreshLockSuffix) and token, so that a refresh and a reader's reload
// never load the same key at once either. The process that takes it loads;
// the others serve the stale entry. A reload that fails keeps the lock for
// FailSafeThrottle instead of releasing it, which is the throttle: until it
// expires, every process serves the stale entry without calling the loader.
// The lock sits beside the entry, never in it: a write or delete of the key
// is not held back by it (a fresh entry needs no reload, a missing one is
// filled under its fill lease), and entries keep the format older releases
// read.

// throttleLock turns a held reload lock into the throttle: it keeps the lock
// (only while it is still the caller's) for ARGV[2] milliseconds from now.
var throttleLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// reloadLock is the outcome of an attempt to take a key's reload lock.
type reloadLock uint8

const (
	reloadHeld      reloadLock = iota // this reload took it: load, then end it
	reloadElsewhere                   // another reload holds it, or a failed one's throttle: serve stale
	reloadChanged                     // the entry changed since it was read: read it again
	reloadUnknown                     // Redis failed: load without it
)

// lockReload takes the reload lock of r's key, whose expired entry read
// raw. A reload elsewhere may have filled the key and released its lock
// between that read and this lock: the entry is read once more under the
// lock, and only if it is still raw does this reload load.
func (s *Store) lockReload(ctx context.Context, r *fillRead, raw []byte) reloadLock {
	won, err := s.takeReloadLock(ctx, r.key)
	switch {
	case err != nil:
		s.l2Error(err)
		return reloadUnknown
	case !won:
		return reloadElsewhere
	}
	r.reloadLocked = true
	cur, err := s.l2.get(ctx, r.key)
	switch {
	case err != nil:
		s.l2Error(err) // load under the lock
	case !bytes.Equal(cur, raw):
		s.endReload(ctx, r)
		return reloadChanged
	}
	return reloadHeld
}

// throttleMillis is throttleLock's argument for o: FailSafeThrottle in
// milliseconds, at least 1.
func throttleMillis(o *Options) string {
	return strconv.FormatInt(max(o.FailSafeThrottle.Milliseconds(), 1), 10)
}

// endReload ends the reload lock r holds, if any: it releases it, or, when
// the load failed and the data type sets FailSafeThrottle, keeps it that
// long as the key's throttle. It has an L2Timeout of its own: a load that
// failed by running out of ctx's time still ends its lock.
func (s *Store) endReload(ctx context.Context, r *fillRead) {
	if !r.reloadLocked {
		return
	}
	r.reloadLocked = false
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.L2Timeout)
	defer cancel()
	script, args := s.endReloadScript(r)
	if _, err := s.l2.runScript(ctx, script, r.key+refreshLockSuffix, args...); err != nil {
		s.l2Error(err) // the lock expires by itself
	}
}

// endReloadScript is the script that ends r's reload lock, and its
// arguments: delIfEquals, or throttleLock after a failed load when the
// data type sets FailSafeThrottle.
func (s *Store) endReloadScript(r *fillRead) (*redis.Script, []any) {
	token := refreshToken(s.cfg.InstanceID)
	if r.loadFailed && r.o.FailSafeThrottle > 0 {
		return throttleLock, []any{token, throttleMillis(r.o)}
	}
	return delIfEquals, []any{token}
}
