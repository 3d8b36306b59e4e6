package tier

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// refreshItem is one key of a batch whose entry is due for a background
// reload (refresh-ahead, or served stale within stale-while-revalidate).
type refreshItem struct {
	key, id string
}

// refreshManyAsync starts one background reload of the keys of items that
// have none running in this process: with a batch loader, one batch load
// for all of them, as refreshAsync does for one key (one worker of the
// pool, a context detached from the reader's, LoadTimeout, Close); without
// one, a reload per key.
func (s *Store) refreshManyAsync(ctx context.Context, items []refreshItem, o *Options, load Loader, loadMany BatchLoader) {
	if loadMany == nil {
		for _, it := range items {
			s.refreshAsync(ctx, it.key, it.id, o, load)
		}
		return
	}
	if s.closed.Load() {
		return
	}
	var claimed []refreshItem
	for _, it := range items {
		if _, running := s.refreshes.LoadOrStore(it.key, struct{}{}); !running {
			claimed = append(claimed, it)
		}
	}
	if len(claimed) == 0 {
		return
	}
	release := func() {
		for _, it := range claimed {
			s.refreshes.Delete(it.key)
		}
	}
	select {
	case s.workers <- struct{}{}:
	default:
		release()
		s.stats.refreshesDenied.Add(uint64(len(claimed)))
		return
	}
	if !s.goStarted() {
		<-s.workers
		release()
		return
	}
	go func() {
		defer s.bg.Done()
		defer func() { <-s.workers }()
		defer release()
		rctx, cancel := s.bg.Detach(ctx, s.cfg.LoadTimeout)
		defer cancel()
		s.refreshMany(rctx, claimed, o, load, loadMany)
	}()
}

// refreshMany reloads the keys of items once across the fleet, as refresh
// does for one key, with one round trip per step for all of them: it reads
// them (taking the fill lease of the keys gone from L2), takes the refresh
// locks of the entries still due, reads those again to check that no other
// process refreshed them meanwhile, loads every key it may reload with one
// batch load, and fills L2 in one pipeline, each fill refused if the key
// changed since it was read.
func (s *Store) refreshMany(ctx context.Context, items []refreshItem, o *Options, load Loader, loadMany BatchLoader) {
	reads := make([]fillRead, len(items))
	for i, it := range items {
		reads[i] = fillRead{key: it.key, id: it.id, o: o, load: load, t: s.l1.begin(it.key)}
	}
	defer func() {
		for i := range reads {
			s.l1.end(reads[i].t)
		}
	}()
	if s.l2 == nil {
		loads := make([]batchLoad, len(reads))
		for i := range loads {
			loads[i].i = i
		}
		s.refreshLoad(ctx, reads, loads, loadMany)
		return
	}
	var loads []batchLoad
	var keys []string
	var idx []int // reads[idx[j]] is read from L2 as keys[j]
	for i := range reads {
		if s.repairs.has(reads[i].key) {
			// This process's last write of the key did not reach L2:
			// reloaded into L1 only, from the source.
			loads = append(loads, batchLoad{i: i})
			continue
		}
		keys = append(keys, reads[i].key)
		idx = append(idx, i)
	}
	var rds []l2Read
	var lease []byte
	if len(keys) > 0 {
		lease = s.newLease() // one for the batch: the keys differ
		rds = s.l2.readMany(ctx, keys, lease, nil, s.leaseTTLArg)
	}
	var due []int // entries still due: their refresh locks come next
	prevs := make([]*staleL2, len(reads))
	var expired []int // rds' leases past their life: taken over one by one
	var l2err error
	now := time.Now().UnixNano()
	for j, rd := range rds {
		i := idx[j]
		r := &reads[i]
		if rd.err != nil {
			if mayHaveRun(rd.err) {
				s.releaseLeaseLater(r.key, lease, nil)
			}
			l2err = rd.err
			loads = append(loads, batchLoad{i: i}) // reloaded into L1 only
			continue
		}
		if rd.raw == nil {
			loads = append(loads, batchLoad{i: i, lease: rd.lease}) // gone: filled like a miss
			continue
		}
		env, e, err := s.decodeL2(r.key, rd.raw, o)
		switch {
		case err != nil:
			s.corrupt(ctx, r.key, rd.raw, err)
			s.stats.refreshesDenied.Add(1)
		case env.lease() && now < env.freshUntil.UnixNano():
			s.stats.refreshesDenied.Add(1) // a fill is in progress elsewhere
		case env.lease():
			expired = append(expired, j)
		case !e.due(now):
			s.fillL1(r.key, e, o, len(rd.raw), r.t) // refreshed by another process
		default:
			due = append(due, i)
			prevs[i] = &staleL2{raw: rd.raw, entry: e}
		}
	}
	if l2err != nil {
		s.l2Error(l2err)
	}
	locked := s.lockRefreshes(ctx, reads, due)
	defer s.unlockRefreshes(context.WithoutCancel(ctx), reads, locked)
	loads = append(loads, s.stillUnchanged(ctx, reads, locked, prevs)...)
	if len(loads) > 0 {
		s.refreshLoad(ctx, reads, loads, loadMany)
	}
	for _, j := range expired {
		i := idx[j]
		r := &reads[i]
		if lease, err := s.takeExpiredLease(ctx, r.key, rds[j].raw); lease != nil && err == nil {
			s.refreshLoad(ctx, reads, []batchLoad{{i: i, lease: lease}}, loadMany)
			continue
		}
		s.stats.refreshesDenied.Add(1)
	}
}

// lockRefreshes takes the refresh locks of reads[due] in one pipeline and
// returns the indexes of those it took; another process holding one is
// already reloading that key (counted as denied).
func (s *Store) lockRefreshes(ctx context.Context, reads []fillRead, due []int) []int {
	if len(due) == 0 {
		return nil
	}
	token := refreshToken(s.cfg.InstanceID)
	cmds, errs := s.l2.pipeline(ctx, "refresh locks", len(due), func(p redis.Pipeliner, j int, _ bool) redis.Cmder {
		return p.SetArgs(ctx, reads[due[j]].key+refreshLockSuffix, token, redis.SetArgs{Mode: "NX", TTL: s.reloadLockTTL()})
	})
	var locked []int
	var l2err error
	for j, i := range due {
		switch {
		case errors.Is(errs[j], redis.Nil):
			s.stats.refreshesDenied.Add(1)
		case errs[j] != nil:
			l2err = errs[j]
		case cmds[j] != nil:
			locked = append(locked, i)
		}
	}
	if l2err != nil {
		s.l2Error(l2err)
	}
	return locked
}

// unlockRefreshes ends the refresh locks of reads[locked] in one pipeline,
// each only while it is still this Store's: it releases them, or keeps the
// lock of a key whose reload failed for the data type's FailSafeThrottle
// (see endReload).
func (s *Store) unlockRefreshes(ctx context.Context, reads []fillRead, locked []int) {
	if len(locked) == 0 {
		return
	}
	_, errs := s.l2.pipeline(ctx, "refresh unlocks", len(locked), func(p redis.Pipeliner, j int, eval bool) redis.Cmder {
		r := &reads[locked[j]]
		keys := []string{r.key + refreshLockSuffix}
		script, args := s.endReloadScript(r)
		if eval {
			return script.Eval(ctx, p, keys, args...)
		}
		return script.EvalSha(ctx, p, keys, args...)
	})
	for _, err := range errs {
		if err != nil && !errors.Is(err, redis.Nil) {
			s.l2Error(err) // the lock expires after FillLockTTL
			return
		}
	}
}

// stillUnchanged reads reads[locked] again in one pipeline and returns the
// loads of those whose entry is still the one read before their lock was
// taken: another process may have refreshed a key and released its lock in
// between.
func (s *Store) stillUnchanged(ctx context.Context, reads []fillRead, locked []int, prevs []*staleL2) []batchLoad {
	if len(locked) == 0 {
		return nil
	}
	cmds, errs := s.l2.pipeline(ctx, "refresh check", len(locked), func(p redis.Pipeliner, j int, _ bool) redis.Cmder {
		return p.Get(ctx, reads[locked[j]].key)
	})
	var loads []batchLoad
	var l2err error
	for j, i := range locked {
		if errs[j] != nil {
			if !errors.Is(errs[j], redis.Nil) {
				l2err = errs[j]
			}
			s.stats.refreshesDenied.Add(1)
			continue
		}
		if cur, _ := cmds[j].(*redis.StringCmd).Bytes(); !bytes.Equal(cur, prevs[i].raw) {
			s.stats.refreshesDenied.Add(1)
			continue
		}
		loads = append(loads, batchLoad{i: i, prev: prevs[i]})
	}
	if l2err != nil {
		s.l2Error(l2err)
	}
	return loads
}

// refreshLoad loads the ids of loads with one batch load, stages each value
// in L1, lands the L2 fills in one pipeline (a lease fill for a key that
// was gone, a fill of the unchanged entry for one that was due) and counts
// each reload.
func (s *Store) refreshLoad(ctx context.Context, reads []fillRead, loads []batchLoad, loadMany BatchLoader) {
	vals, per, err := s.loadBatch(ctx, reads, loads, loadMany)
	var fills []leaseFill
	var filled []int
	for _, l := range loads {
		r := &reads[l.i]
		v, lerr := batchOutcome(vals, per, err, r.id)
		res, fill, ferr := s.stage(ctx, r, l.lease, l.prev, v, lerr)
		s.countRefresh(res, ferr)
		if fill != nil {
			fills = append(fills, leaseFill{key: r.key, lease: fill.lease, prev: fill.prev, raw: fill.raw, ttl: fill.ttl})
			filled = append(filled, l.i)
		}
	}
	s.landMany(ctx, reads, filled, fills)
}
