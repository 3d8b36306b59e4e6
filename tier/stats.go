package tier

import (
	"reflect"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Stats is a snapshot of a Store's counters since it was created.
//
// Each counter is declared here once. Its live form is the field of the
// same name (first letter lower case) in the Store's counters, and its
// exported form is given by its tags: metric names the metric family
// (package metrics exports it), tier and result are that series' label
// values, help describes the family (on its first field), and minus names a
// counter whose value this series excludes.
type Stats struct {
	// L1Hits counts reads answered by a fresh L1 entry.
	L1Hits uint64 `metric:"reads_total" tier:"l1" result:"hit" help:"Reads by the tier that looked and what it found."`
	// L1Misses counts reads that found nothing usable in L1.
	L1Misses uint64 `metric:"reads_total" tier:"l1" result:"miss"`
	// L2Hits counts L1 misses answered by L2.
	L2Hits uint64 `metric:"reads_total" tier:"l2" result:"hit"`
	// L2Misses counts L1 misses that L2 could not answer.
	L2Misses uint64 `metric:"reads_total" tier:"l2" result:"miss"`
	// L2Errors counts failed or timed-out Redis calls.
	L2Errors uint64 `metric:"redis_errors_total" help:"Failed or timed-out Redis calls."`

	// Loads counts calls of a loader (the source of truth).
	Loads uint64 `metric:"loads_total" result:"ok" minus:"LoadErrors" help:"Calls of the loader (the source of truth) by outcome."`
	// LoadErrors counts loader calls that failed (not counting ErrNotFound).
	LoadErrors uint64 `metric:"loads_total" result:"error"`
	// LoadPanics counts loader calls that panicked (recovered; see ErrPanic).
	LoadPanics uint64 `metric:"load_panics_total" help:"Loader calls that panicked (recovered; see tier.ErrPanic)."`
	// NegativeHits counts reads answered by a cached "not found".
	NegativeHits uint64 `metric:"negative_hits_total" help:"Reads answered by a cached not-found."`
	// CoalescedWait counts readers that shared another reader's L2 read or load.
	CoalescedWait uint64 `metric:"coalesced_waits_total" help:"Readers that shared another reader's Redis read or load."`
	// FillWaits counts times a reader waited for another process's fill.
	FillWaits uint64 `metric:"fill_waits_total" help:"Times a reader waited for another process's fill."`
	// LeasesTaken counts fill leases taken over because they had outlived
	// the life they declare (their holder died or hung).
	LeasesTaken uint64 `metric:"leases_taken_total" help:"Fill leases taken over after outliving the life they declare."`
	// StaleFills counts values read or loaded but not cached because the key changed meanwhile.
	StaleFills uint64 `metric:"stale_fills_total" help:"Loaded values not cached because the key changed meanwhile."`
	// Corrupt counts L2 entries that failed to decode (deleted, counted).
	Corrupt uint64 `metric:"corrupt_entries_total" help:"L2 entries that failed to decode (deleted)."`
	// WrongType counts L2 entries written for another type or SchemaVersion
	// (misses: deleted and reloaded, never decoded).
	WrongType uint64 `metric:"wrong_type_entries_total" help:"L2 entries written for another type or schema version (deleted and reloaded)."`

	// StaleServed counts stale values served (stale-while-revalidate, stale-if-error).
	StaleServed uint64 `metric:"stale_served_total" help:"Stale values served (stale-while-revalidate, stale-if-error)."`
	// Refreshes counts background reloads started.
	Refreshes uint64 `metric:"refreshes_total" result:"ok" minus:"RefreshErrors" help:"Background reloads (refresh-ahead, stale-while-revalidate) by outcome."`
	// RefreshErrors counts background reloads that failed.
	RefreshErrors uint64 `metric:"refreshes_total" result:"error"`
	// RefreshesDenied counts background reloads skipped: pool full or another process refreshing.
	RefreshesDenied uint64 `metric:"refreshes_total" result:"denied"`

	// L1SetsDropped counts L1 sets ristretto dropped (contention on its buffers).
	L1SetsDropped uint64 `metric:"l1_sets_lost_total" result:"dropped" help:"L1 sets that ristretto did not keep: dropped on contention or rejected by admission."`
	// L1SetsRejected counts L1 sets ristretto's admission policy rejected.
	L1SetsRejected uint64 `metric:"l1_sets_lost_total" result:"rejected"`
	// Sets counts values written through Set.
	Sets uint64 `metric:"sets_total" help:"Values written through Set."`
	// Deletes counts keys deleted through Delete.
	Deletes uint64 `metric:"deletes_total" help:"Keys deleted through Delete."`
	// EncodeErrors counts values the codec could not encode.
	EncodeErrors uint64 `metric:"encode_errors_total" help:"Values the codec could not encode."`

	// InvalidationsSent counts keys this Store published on the bus.
	InvalidationsSent uint64 `metric:"invalidations_total" result:"sent" help:"Keys invalidated through the bus: sent for this Store's writes, received for other instances' writes."`
	// MessagesSent counts bus messages published (a batch of keys is one).
	MessagesSent uint64 `metric:"bus_messages_total" result:"sent" help:"Bus messages (a batch of keys is one) by direction."`
	// InvalidationsReceived counts keys dropped from L1 for other instances' writes.
	InvalidationsReceived uint64 `metric:"invalidations_total" result:"received"`
	// MessagesReceived counts bus messages from other instances.
	MessagesReceived uint64 `metric:"bus_messages_total" result:"received"`
	// BusMalformed counts bus messages that failed to decode (ignored).
	BusMalformed uint64 `metric:"bus_malformed_total" help:"Bus messages that failed to decode (ignored)."`
	// BusErrors counts failed publishes and subscription errors.
	BusErrors uint64 `metric:"bus_errors_total" help:"Failed publishes and subscription errors."`
	// BusDropped counts queued invalidations replaced by a clear (queue full).
	BusDropped uint64 `metric:"bus_dropped_total" help:"Queued invalidations replaced by a clear because the queue was full."`
	// Resubscribes counts subscriptions lost and restored (each cleared L1).
	Resubscribes uint64 `metric:"resubscribes_total" help:"Bus subscriptions lost and restored (each cleared L1)."`
	// L1Clears counts L1 clears: resubscribes, pattern deletes, ClearLocal.
	L1Clears uint64 `metric:"l1_clears_total" help:"L1 clears: resubscribes, pattern deletes, namespace version bumps."`
	// PatternDeleted counts keys removed from Redis by DeletePattern.
	PatternDeleted uint64 `metric:"pattern_deleted_total" help:"Keys removed from Redis by DeletePattern."`
	// NamespaceBumps counts namespace versions this Store incremented.
	NamespaceBumps uint64 `metric:"namespace_bumps_total" help:"Namespace versions this Store incremented."`

	// Breaker is the circuit breaker's state now.
	Breaker BreakerState
	// BreakerOpens counts times the breaker opened.
	BreakerOpens uint64 `metric:"breaker_opens_total" help:"Times the circuit breaker around Redis opened."`
	// BreakerRejected counts Redis calls skipped because the breaker was open.
	BreakerRejected uint64 `metric:"breaker_rejected_total" help:"Redis calls skipped because the breaker was open."`

	// RepairsQueued counts keys remembered for repair because their write
	// did not reach Redis (see Config.MaxRepairKeys).
	RepairsQueued uint64 `metric:"repairs_total" result:"queued" help:"Keys whose write did not reach Redis, by what became of their repair."`
	// RepairsReplayed counts keys deleted from L2 by a repair once Redis
	// answered again.
	RepairsReplayed uint64 `metric:"repairs_total" result:"replayed"`
	// RepairsDropped counts keys not remembered for repair because
	// MaxRepairKeys were already waiting (logged; L2 may serve their old
	// value until its TTL).
	RepairsDropped uint64 `metric:"repairs_total" result:"dropped"`
}

// counters is the live, atomically updated form of Stats: one field per
// uint64 field of Stats, of the same name with its first letter in lower
// case (TestCountersMirrorStats checks it). snapshot copies them by name.
type counters struct {
	// l1Hits is written on every L1 hit by every core: keep it on a cache
	// line of its own so that it does not slow down the other counters.
	l1Hits atomic.Uint64
	_      [56]byte

	l1Misses, l2Hits, l2Misses, l2Errors                   atomic.Uint64
	loads, loadErrors, negativeHits, coalescedWait         atomic.Uint64
	fillWaits, staleFills, corrupt, wrongType, leasesTaken atomic.Uint64
	staleServed, refreshes, refreshErrors, refreshesDenied atomic.Uint64
	l1SetsDropped, l1SetsRejected, sets, deletes           atomic.Uint64
	encodeErrors, loadPanics                               atomic.Uint64

	invalidationsSent, messagesSent         atomic.Uint64
	invalidationsReceived, messagesReceived atomic.Uint64
	busMalformed, busErrors, busDropped     atomic.Uint64
	resubscribes, l1Clears, patternDeleted  atomic.Uint64
	namespaceBumps                          atomic.Uint64
	breakerOpens, breakerRejected           atomic.Uint64

	repairsQueued, repairsReplayed, repairsDropped atomic.Uint64
}

// snapshot reads every counter into the Stats field of its name. It is
// called at scrape time, not per read.
func (c *counters) snapshot() Stats {
	var st Stats
	live := reflect.ValueOf(c).Elem()
	out := reflect.ValueOf(&st).Elem()
	for i := range live.NumField() {
		f := live.Type().Field(i)
		if f.Type != reflect.TypeFor[atomic.Uint64]() {
			continue // padding
		}
		dst := out.FieldByName(exportedName(f.Name))
		if !dst.IsValid() {
			continue // cannot happen: TestCountersMirrorStats
		}
		// The field is unexported, so reflect will not call its methods:
		// take its address (it is addressable, and of this type).
		v := (*atomic.Uint64)(unsafe.Pointer(live.Field(i).UnsafeAddr()))
		dst.SetUint(v.Load())
	}
	return st
}

// exportedName returns name with its first letter in upper case.
func exportedName(name string) string {
	r, n := utf8.DecodeRuneInString(name)
	return string(unicode.ToUpper(r)) + name[n:]
}
