package tier

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BatchLoader reads many ids from the source of truth in one call: the ids
// it has are in the map, the ids missing from it are not found. An error
// that is a *BatchError fails the ids it names (the others are read from
// the map); any other error fails every id missing from the map.
type BatchLoader func(ctx context.Context, ids []string) (map[string]any, error)

// batchItem is one id of a batch that L1 did not answer, and its outcome.
type batchItem struct {
	id, key string
	stale   *l1Entry // an expired L1 entry, served if the read fails (stale-if-error)
	f       *flight
	lead    bool // f was registered by this batch

	res Result
	err error
}

// batchLoad is one id of a batch leader's load: its read (index into the
// leader's reads), the lease it won or the expired entry it replaces (both
// nil: L2 is not filled).
type batchLoad struct {
	i     int
	lease []byte
	prev  *staleL2
}

// getMany reads items past L1: each joins the flight of its key when one is
// running in this process (a single Get's or another batch's), else a
// flight of this batch's, which one leader runs for all of them (see
// leadMany). It waits for every item as long as ctx allows and sets each
// item's res and err. load reads one id (retries of flights whose leader
// gave up); loadMany reads the batch.
func (s *Store) getMany(ctx context.Context, items []batchItem, o *Options, load Loader, loadMany BatchLoader) {
	if s.closed.Load() {
		for i := range items {
			items[i].err = ErrClosed
		}
		return
	}
	reads := make([]fillRead, 0, len(items))
	led := make([]*flight, 0, len(items))
	var slab []flight // the batch's own flights, allocated together
	s.flightMu.Lock()
	for i := range items {
		it := &items[i]
		f, ok := s.flights[it.key]
		if !ok {
			if slab == nil {
				slab = make([]flight, len(items)-i)
			}
			f = &slab[len(led)]
			f.done = make(chan struct{})
			s.flights[it.key] = f
			it.lead = true
			reads = append(reads, fillRead{key: it.key, id: it.id, o: o, load: load})
			led = append(led, f)
		}
		it.f = f
	}
	s.flightMu.Unlock()
	s.stats.l1Misses.Add(uint64(len(items)))
	if len(reads) > 0 {
		s.startLeadMany(ctx, reads, led, loadMany)
	}
	for i := range items {
		it := &items[i]
		select {
		case <-it.f.done:
		default:
			select {
			case <-it.f.done:
			case <-ctx.Done():
				it.err = ctx.Err()
				continue
			}
		}
		if !it.lead {
			if it.f.retry {
				it.res, it.err = s.getShared(ctx, it.key, it.id, o, load, it.stale)
				continue
			}
			s.stats.coalescedWait.Add(1)
		}
		if err := it.f.err; err != nil {
			if it.stale != nil && !errors.Is(err, ErrNotFound) && it.stale.servableOnError(o) {
				s.stats.staleServed.Add(1)
				it.res, it.err = it.stale.answer(TierL1, true)
				continue
			}
			it.err = err
			continue
		}
		it.res, it.err = it.f.res.entry.answer(it.f.res.tier, it.f.res.stale)
	}
}

// startLeadMany runs the flights of a batch on a goroutine of the Store's
// (on the caller's when its context never ends), detached from the caller's
// cancellation (other readers may join them) and bounded by LoadTimeout. The caller's deadline, if it has one, bounds the
// L2 reads and waits to half its remaining time, leaving the other half for
// the load (a cache that cannot answer in time never fails a read the
// source can serve).
func (s *Store) startLeadMany(ctx context.Context, reads []fillRead, led []*flight, loadMany BatchLoader) {
	if !s.goStarted() {
		for i := range reads {
			s.complete(reads[i].key, led[i], flightResult{}, ErrClosed, false)
		}
		return
	}
	var until time.Time
	if d, ok := ctx.Deadline(); ok {
		until = time.Now().Add(time.Until(d) / 2)
	}
	lead := func() {
		defer s.bg.Done()
		lctx, cancel := s.bg.Detach(ctx, s.cfg.LoadTimeout)
		defer cancel()
		s.leadMany(lctx, reads, led, until, loadMany)
	}
	if ctx.Done() == nil {
		// The caller can never give up (context.Background and the
		// like): it leads the batch itself and saves a goroutine hand-off.
		lead()
		return
	}
	go lead()
}

// leadMany runs the flights of a batch, as lead and fetch do for one key:
// one pipelined GET of every key; one pipeline taking the fill leases of
// the missing ones (SET NX GET, as single reads do); one batch load of the ids
// whose lease it won (and of those L2 cannot serve); for the keys whose
// lease another process holds, marks and waits (bounded by FillWait and
// until), then reads them again in one pipeline. Loaded values are staged
// in L1 and answered at once; their L2 fills follow in one pipeline.
func (s *Store) leadMany(ctx context.Context, reads []fillRead, led []*flight, until time.Time, loadMany BatchLoader) {
	if s.bus != nil && reads[0].o.L1TTL >= 0 {
		// Subscribed before the tickets, once per namespace (a Group's
		// keys share one).
		ns := ""
		for i := range reads {
			if n := namespaceOf(reads[i].key); n != ns {
				ns = n
				s.bus.ensure(ctx, reads[i].key)
			}
		}
	}
	for i := range reads {
		reads[i].t = s.l1.begin(reads[i].key)
	}
	if s.l2 == nil {
		loads := make([]batchLoad, len(reads))
		for i := range loads {
			loads[i].i = i
		}
		s.loadMany(ctx, reads, led, loads, loadMany)
		return
	}
	rctx := ctx
	if !until.IsZero() {
		var cancel context.CancelFunc
		rctx, cancel = context.WithDeadline(ctx, until)
		defer cancel()
	}
	deadline := time.Now().Add(s.cfg.FillWait)
	if !until.IsZero() && until.Before(deadline) {
		deadline = until
	}
	o := reads[0].o
	// How the next round reads each key: a first plain GET; a lease for the
	// keys it found missing; a mark for the keys another process's lease
	// holds.
	kinds := make([]readKind, len(reads))
	for i := range kinds {
		kinds[i] = readPeek
	}
	wakes := make([]chan struct{}, len(reads))
	defer func() {
		for i, ch := range wakes {
			if ch != nil {
				s.waiters.remove(reads[i].key, ch)
			}
		}
	}()
	pending := make([]int, 0, len(reads))
	var unrepaired []batchLoad // keys whose last write here did not reach L2
	for i := range reads {
		if s.repairs.has(reads[i].key) {
			// What L2 holds may be older than the source: load, uncached
			// in L2, as a single read does.
			unrepaired = append(unrepaired, batchLoad{i: i})
			continue
		}
		pending = append(pending, i)
	}
	if len(unrepaired) > 0 {
		s.loadMany(ctx, reads, led, unrepaired, loadMany)
	}
	var due []refreshItem // L2 hits to reload in the background, together
	defer func() {
		if len(due) > 0 {
			s.refreshManyAsync(ctx, due, o, reads[0].load, loadMany)
		}
	}()
	for waits := 0; len(pending) > 0; {
		keys := make([]string, len(pending))
		round := make([]readKind, len(pending))
		var lease []byte
		for j, i := range pending {
			keys[j], round[j] = reads[i].key, kinds[i]
			switch {
			case kinds[i] == readLease && lease == nil:
				lease = s.newLease() // one for the round: the keys differ
			case kinds[i] == readMark && wakes[i] == nil:
				wakes[i] = s.waiters.add(keys[j])
			}
		}
		rds := s.l2.readMany(rctx, keys, lease, round, s.leaseTTLArg)
		decoded := s.decodeAhead(keys, rds, o)
		var loads []batchLoad
		var next, waiting []int
		var l2err error
		now := time.Now()
		for j, i := range pending {
			rd, r := rds[j], &reads[i]
			if rd.err != nil {
				if round[j] == readLease && mayHaveRun(rd.err) {
					s.releaseLeaseLater(r.key, lease, nil)
				}
				l2err = rd.err
				loads = append(loads, batchLoad{i: i}) // Redis failing: serve from the source
				continue
			}
			if rd.raw == nil {
				if round[j] != readLease {
					// Missing, or the lease marked is gone: take the
					// lease in the next round.
					kinds[i] = readLease
					next = append(next, i)
					continue
				}
				s.stats.l2Misses.Add(1)
				loads = append(loads, batchLoad{i: i, lease: rd.lease}) // the lease is ours
				continue
			}
			var d decodedL2
			if decoded != nil {
				d = decoded[j]
			} else {
				d = s.decodeOne(r.key, rd.raw, o)
			}
			e := d.e
			switch {
			case d.err != nil:
				s.corrupt(ctx, r.key, rd.raw, d.err)
				loads = append(loads, batchLoad{i: i})
			case d.lease:
				switch {
				case s.cfg.FillWait < 0 || !now.Before(deadline):
					loads = append(loads, batchLoad{i: i}) // fill lock off, or holder too slow: load, do not fill
				case kinds[i] != readMark:
					kinds[i] = readMark // mark it before waiting
					next = append(next, i)
				default:
					waiting = append(waiting, i)
					next = append(next, i)
				}
			case now.UnixNano() < e.freshUntil:
				if s.cacheL2Hit(r, e, len(rd.raw), now.UnixNano()) {
					due = append(due, refreshItem{key: r.key, id: r.id})
				}
				s.l1.end(r.t)
				s.complete(r.key, led[i], flightResult{entry: e, tier: TierL2}, nil, false)
			case now.UnixNano() < e.freshUntil+int64(o.StaleWhileRevalidate):
				s.stats.l2Hits.Add(1)
				s.stats.staleServed.Add(1)
				due = append(due, refreshItem{key: r.key, id: r.id})
				s.l1.end(r.t)
				s.complete(r.key, led[i], flightResult{entry: e, tier: TierL2, stale: true}, nil, false)
			default:
				s.stats.l2Misses.Add(1)
				loads = append(loads, batchLoad{i: i, prev: &staleL2{raw: rd.raw, entry: e}})
			}
		}
		if l2err != nil {
			s.l2Error(l2err)
		}
		if len(loads) > 0 {
			// Loaded (and their fills landed) before waiting for others:
			// another process may be waiting for these fills.
			s.loadMany(ctx, reads, led, loads, loadMany)
		}
		pending = next
		if len(waiting) == 0 || len(waiting) < len(next) {
			continue // some leases still have to be marked: mark them first
		}
		s.stats.fillWaits.Add(uint64(len(waiting)))
		if err := s.awaitFills(ctx, reads, wakes, waiting, deadline, waits); err != nil {
			for _, i := range pending {
				s.l1.end(reads[i].t)
				s.complete(reads[i].key, led[i], flightResult{}, err, false)
			}
			return
		}
		waits++
	}
}

// awaitFills waits until the fills of the keys of reads[waiting] are all
// announced, or the poll delay for the waits-th wait has passed, or
// deadline (see awaitFill). It then renews their fence tickets.
func (s *Store) awaitFills(ctx context.Context, reads []fillRead, wakes []chan struct{}, waiting []int, deadline time.Time, waits int) error {
	first, most := pollFirst, pollMax
	if s.bus != nil && s.bus.listening(reads[waiting[0]].key) {
		first, most = pollFirstListening, pollMaxListening
	}
	d := min(first<<min(waits, 16), most, time.Until(deadline))
	timer := time.NewTimer(max(d, 0))
	var err error
wait:
	for _, i := range waiting {
		select {
		case <-wakes[i]:
		case <-timer.C:
			break wait
		case <-ctx.Done():
			err = fmt.Errorf("tier: waiting for fill: %w", ctx.Err())
			break wait
		}
	}
	timer.Stop()
	for _, i := range waiting {
		s.waiters.remove(reads[i].key, wakes[i])
		wakes[i] = nil
		s.l1.end(reads[i].t)
		reads[i].t = s.l1.begin(reads[i].key)
	}
	return err
}

// loadMany loads the ids of loads with one call of loadMany, stages each
// value in L1 and answers its flight, then lands the L2 fills (lease fills
// in one pipeline) and removes the flights from the table.
func (s *Store) loadMany(ctx context.Context, reads []fillRead, led []*flight, loads []batchLoad, loadMany BatchLoader) {
	vals, per, err := s.loadBatch(ctx, reads, loads, loadMany)
	var fills []leaseFill
	var filled []int
	for _, l := range loads {
		r, f := &reads[l.i], led[l.i]
		v, lerr := batchOutcome(vals, per, err, r.id)
		res, fill, ferr := s.stage(ctx, r, l.lease, l.prev, v, lerr)
		if fill == nil {
			s.l1.end(r.t)
			s.complete(r.key, f, res, ferr, false)
			continue
		}
		// The readers have their value now; the L2 fill follows, while the
		// flight stays in the table to answer newcomers.
		s.fills.Add(1)
		s.answer(f, res, nil, false)
		if fill.lease == nil {
			s.landAndForget(ctx, r, f, fill)
			continue
		}
		fills = append(fills, leaseFill{key: r.key, lease: fill.lease, raw: fill.raw, ttl: fill.ttl})
		filled = append(filled, l.i)
	}
	s.landMany(ctx, reads, filled, fills)
	for _, i := range filled {
		s.l1.end(reads[i].t)
		s.forget(reads[i].key, led[i])
		s.fills.Done()
	}
}

// loadBatch calls loadMany once for the ids of loads (counted as loads);
// per is err as a *BatchError, when it is one.
func (s *Store) loadBatch(ctx context.Context, reads []fillRead, loads []batchLoad, loadMany BatchLoader) (vals map[string]any, per *BatchError, err error) {
	if loadMany == nil {
		return nil, nil, ErrNoLoader
	}
	ids := make([]string, len(loads))
	for j, l := range loads {
		ids[j] = reads[l.i].id
	}
	s.stats.loads.Add(uint64(len(ids)))
	vals, err = s.callBatchLoader(ctx, loadMany, ids)
	errors.As(err, &per)
	return vals, per, err
}

// batchOutcome is what a batch load says of id: its value, the error a
// *BatchError names for it, the load's error when it failed as a whole, or
// ErrNotFound when the source does not have it.
func batchOutcome(vals map[string]any, per *BatchError, err error, id string) (any, error) {
	if v, found := vals[id]; found {
		return v, nil
	}
	switch {
	case per != nil && per.Errs[id] != nil:
		return nil, per.Errs[id]
	case per == nil && err != nil:
		return nil, err
	}
	return nil, ErrNotFound
}

// landMany runs the L2 fills of reads[filled] in pipelines (see
// l2.fillMany): a refused fill means the key changed during the load, and
// its staged L1 entry goes; a fill another process waited for is announced
// on the bus, and this process's waiters are woken.
func (s *Store) landMany(ctx context.Context, reads []fillRead, filled []int, fills []leaseFill) {
	if len(fills) == 0 {
		return
	}
	ns, errs := s.l2.fillMany(ctx, fills) // each pipeline bounded by L2Timeout
	var announce []string
	var l2err error
	for j, i := range filled {
		r := &reads[i]
		switch {
		case errs[j] != nil:
			l2err = errs[j] // L2 unknown: L1 keeps the value, fenced locally
		case ns[j] == 0:
			s.stats.staleFills.Add(1)
			s.l1.invalidate(r.key)
		case ns[j] == 2:
			announce = append(announce, r.key)
		}
		s.waiters.wake(r.key)
	}
	if l2err != nil {
		s.l2Error(l2err)
	}
	if len(announce) > 0 && s.bus != nil {
		s.bus.publish(announce...)
	}
}
