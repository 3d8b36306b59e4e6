package tier

import (
	"bytes"
	"context"
	"errors"
	"time"
)

// refreshAsync starts one background reload of key, unless one is running in
// this process, the worker pool is full, or the Store is closing. The reload
// runs on a context detached from the reader's (its values are kept) with
// the Store's LoadTimeout, and is cancelled by Close.
func (s *Store) refreshAsync(ctx context.Context, key, id string, o *Options, load Loader) {
	if load == nil || s.closed.Load() {
		return
	}
	if _, running := s.refreshes.LoadOrStore(key, struct{}{}); running {
		return
	}
	select {
	case s.workers <- struct{}{}:
	default:
		s.refreshes.Delete(key)
		s.stats.refreshesDenied.Add(1)
		return
	}
	if !s.goStarted() {
		<-s.workers
		s.refreshes.Delete(key)
		return
	}
	go func() {
		defer s.bg.Done()
		defer func() { <-s.workers }()
		defer s.refreshes.Delete(key)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.LoadTimeout)
		defer cancel()
		stop := context.AfterFunc(s.bg.Context(), cancel)
		defer stop()
		s.refresh(rctx, key, id, o, load)
	}()
}

// refresh reloads key once across the fleet: it reads L2, taking the fill
// lease if the key is gone (then it fills it like a miss), takes the key's
// refresh lock (another process holding it is already reloading), checks
// that the entry is still the one it read, loads, and replaces the entry
// only if it is still there. It runs the same fill steps as a read.
func (s *Store) refresh(ctx context.Context, key, id string, o *Options, load Loader) {
	r := &fillRead{key: key, id: id, o: o, load: load, t: s.l1.begin(key)}
	defer func() { s.l1.end(r.t) }()
	if s.l2 == nil || s.repairs.has(key) {
		// No L2, or this process's last write of the key did not reach
		// it: reloaded into L1 only, from the source.
		s.countRefresh(s.loadAndLand(ctx, r, nil, nil))
		return
	}
	rd := s.readL2(ctx, r)
	if rd.err != nil {
		s.l2Error(rd.err)
		s.countRefresh(s.loadAndLand(ctx, r, nil, nil))
		return
	}
	if rd.raw == nil {
		// Gone from L2 (deleted or expired): rd took its lease, the
		// fleet-wide lock of a missing key.
		s.countRefresh(s.loadAndLand(ctx, r, rd.lease, nil))
		return
	}
	env, e, err := s.decodeL2(key, rd.raw, o)
	if err != nil {
		s.corrupt(ctx, key, rd.raw, err)
		s.stats.refreshesDenied.Add(1)
		return
	}
	if env.lease() {
		if time.Now().Before(env.freshUntil) {
			s.stats.refreshesDenied.Add(1) // a fill is in progress elsewhere
			return
		}
		// Its holder died or hung: fill in its place.
		if lease, err := s.takeExpiredLease(ctx, key, rd.raw); lease != nil && err == nil {
			s.countRefresh(s.loadAndLand(ctx, r, lease, nil))
			return
		}
		s.stats.refreshesDenied.Add(1)
		return
	}
	if !e.due(time.Now().UnixNano()) {
		// Already refreshed by another process: take its entry.
		s.fillL1(key, e, o, len(rd.raw), r.t)
		return
	}
	if !s.lockRefresh(ctx, key) {
		return
	}
	r.reloadLocked = true
	defer s.endReload(ctx, r) // kept as the key's FailSafeThrottle if the load fails
	// Another process may have refreshed key and released its lock between
	// the read above and this lock: reload only if the entry is still the
	// one read.
	if cur, err := s.l2.get(ctx, key); err != nil || !bytes.Equal(cur, rd.raw) {
		if err != nil {
			s.l2Error(err)
		}
		s.stats.refreshesDenied.Add(1)
		return
	}
	s.countRefresh(s.loadAndLand(ctx, r, nil, &staleL2{raw: rd.raw, entry: e}))
}

// loadAndLand loads and fills at once: a background reload has no reader
// to answer first.
func (s *Store) loadAndLand(ctx context.Context, r *fillRead, lease []byte, prev *staleL2) (flightResult, error) {
	res, fill, err := s.loadAndStage(ctx, r, lease, prev)
	if fill != nil {
		s.land(ctx, r, fill)
	}
	return res, err
}

// lockRefresh takes key's fleet-wide refresh lock; false means another
// process is reloading key (counted) or Redis failed.
func (s *Store) lockRefresh(ctx context.Context, key string) bool {
	won, err := s.takeReloadLock(ctx, key)
	if err != nil {
		s.l2Error(err)
		return false
	}
	if !won {
		s.stats.refreshesDenied.Add(1)
	}
	return won
}

// takeReloadLock takes key's reload lock (the refresh lock): held for the
// longest a load may take and the call that ends the lock (LoadTimeout and
// L2Timeout, or FillLockTTL if longer), so that a slow load keeps it to the
// end.
func (s *Store) takeReloadLock(ctx context.Context, key string) (bool, error) {
	return s.l2.setNX(ctx, key+refreshLockSuffix, refreshToken(s.cfg.InstanceID), s.reloadLockTTL())
}

// reloadLockTTL is how long a reload lock is taken for.
func (s *Store) reloadLockTTL() time.Duration {
	return max(s.cfg.LoadTimeout+s.cfg.L2Timeout, s.cfg.FillLockTTL)
}

func (s *Store) unlockRefresh(ctx context.Context, key string) {
	if _, err := s.l2.delIfEquals(ctx, key+refreshLockSuffix, refreshToken(s.cfg.InstanceID)); err != nil {
		s.l2Error(err)
	}
}

// refreshToken identifies this Store as a refresh lock's holder; one Store
// runs at most one refresh of a key at a time, so its ID suffices.
func refreshToken(instanceID string) []byte { return []byte(instanceID) }

// countRefresh counts a finished reload. A failed load answered with the
// stale entry (stale-if-error) returns no error, but the reload failed all
// the same: count it.
func (s *Store) countRefresh(fr flightResult, err error) {
	s.stats.refreshes.Add(1)
	if fr.stale {
		s.stats.refreshErrors.Add(1)
		return
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.stats.refreshErrors.Add(1)
		s.report("refresh", "", err)
	}
}
