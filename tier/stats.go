package tier

import "sync/atomic"

// Stats is a snapshot of a Store's counters since it was created.
type Stats struct {
	L1Hits   uint64 // reads answered by a fresh L1 entry
	L1Misses uint64 // reads that found nothing usable in L1
	L2Hits   uint64 // L1 misses answered by L2
	L2Misses uint64 // L1 misses that L2 could not answer
	L2Errors uint64 // failed or timed-out Redis calls

	Loads         uint64 // calls of a loader (the source of truth)
	LoadErrors    uint64 // loader calls that failed (not counting ErrNotFound)
	NegativeHits  uint64 // reads answered by a cached "not found"
	CoalescedWait uint64 // readers that shared another reader's L2 read or load
	FillWaits     uint64 // times a reader waited for another process's fill
	StaleFills    uint64 // values read or loaded but not cached because the key changed meanwhile
	Corrupt       uint64 // L2 entries that failed to decode (deleted, counted)

	StaleServed     uint64 // stale values served (stale-while-revalidate, stale-if-error)
	Refreshes       uint64 // background reloads started
	RefreshErrors   uint64 // background reloads that failed
	RefreshesDenied uint64 // background reloads skipped: pool full or another process refreshing

	L1SetsDropped  uint64 // L1 sets ristretto dropped (contention on its buffers)
	L1SetsRejected uint64 // L1 sets ristretto's admission policy rejected
	Sets           uint64 // values written through Set
	Deletes        uint64 // keys deleted through Delete
	EncodeErrors   uint64 // values the codec could not encode

	InvalidationsSent     uint64 // keys this Store published on the bus
	MessagesSent          uint64 // bus messages published (a batch of keys is one)
	InvalidationsReceived uint64 // keys dropped from L1 for other instances' writes
	MessagesReceived      uint64 // bus messages from other instances
	BusMalformed          uint64 // bus messages that failed to decode (ignored)
	BusErrors             uint64 // failed publishes and subscription errors
	BusDropped            uint64 // queued invalidations replaced by a clear (queue full)
	Resubscribes          uint64 // subscriptions lost and restored (each cleared L1)
	L1Clears              uint64 // L1 clears: resubscribes, pattern deletes, ClearLocal
	PatternDeleted        uint64 // keys removed from Redis by DeletePattern
	NamespaceBumps        uint64 // namespace versions this Store incremented

	Breaker         BreakerState // the circuit breaker's state now
	BreakerOpens    uint64       // times the breaker opened
	BreakerRejected uint64       // Redis calls skipped because the breaker was open
}

// counters is the live, atomically updated form of Stats.
type counters struct {
	// l1Hits is written on every L1 hit by every core: keep it on a cache
	// line of its own so that it does not slow down the other counters.
	l1Hits atomic.Uint64
	_      [56]byte

	l1Misses, l2Hits, l2Misses, l2Errors                atomic.Uint64
	loads, loadErrors, negativeHits, coalescedWait      atomic.Uint64
	fillWaits, staleFills, corrupt                      atomic.Uint64
	staleServed, refreshes, refreshErrors, refreshesDen atomic.Uint64
	l1SetsDropped, l1SetsRejected, sets, deletes        atomic.Uint64
	encodeErrors                                        atomic.Uint64

	invSent, msgSent, invReceived, msgReceived atomic.Uint64
	busMalformed, busErrors, busDropped        atomic.Uint64
	resubscribes, l1Clears, patternDeleted     atomic.Uint64
	namespaceBumps                             atomic.Uint64
	breakerOpens, breakerRejected              atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		L1Hits:          c.l1Hits.Load(),
		L1Misses:        c.l1Misses.Load(),
		L2Hits:          c.l2Hits.Load(),
		L2Misses:        c.l2Misses.Load(),
		L2Errors:        c.l2Errors.Load(),
		Loads:           c.loads.Load(),
		LoadErrors:      c.loadErrors.Load(),
		NegativeHits:    c.negativeHits.Load(),
		CoalescedWait:   c.coalescedWait.Load(),
		FillWaits:       c.fillWaits.Load(),
		StaleFills:      c.staleFills.Load(),
		Corrupt:         c.corrupt.Load(),
		StaleServed:     c.staleServed.Load(),
		Refreshes:       c.refreshes.Load(),
		RefreshErrors:   c.refreshErrors.Load(),
		RefreshesDenied: c.refreshesDen.Load(),
		L1SetsDropped:   c.l1SetsDropped.Load(),
		L1SetsRejected:  c.l1SetsRejected.Load(),
		Sets:            c.sets.Load(),
		Deletes:         c.deletes.Load(),
		EncodeErrors:    c.encodeErrors.Load(),

		InvalidationsSent:     c.invSent.Load(),
		MessagesSent:          c.msgSent.Load(),
		InvalidationsReceived: c.invReceived.Load(),
		MessagesReceived:      c.msgReceived.Load(),
		BusMalformed:          c.busMalformed.Load(),
		BusErrors:             c.busErrors.Load(),
		BusDropped:            c.busDropped.Load(),
		Resubscribes:          c.resubscribes.Load(),
		L1Clears:              c.l1Clears.Load(),
		PatternDeleted:        c.patternDeleted.Load(),
		NamespaceBumps:        c.namespaceBumps.Load(),
		BreakerOpens:          c.breakerOpens.Load(),
		BreakerRejected:       c.breakerRejected.Load(),
	}
}
