package tier

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// l1Entry is what L1 holds: the decoded value and its freshness times. It is
// immutable once stored; readers share it.
type l1Entry struct {
	key      string // the full key: L1 is indexed by its hash, so hits compare it
	value    any
	negative bool
	// epoch is the Store's L1 epoch when the entry was stored: an entry of an
	// older epoch was cleared by ClearLocal and is a miss. ns is the epoch
	// of the key's namespace and nsEpoch its value when the entry was
	// stored: an entry behind it was cleared by a pattern delete of the
	// namespace (clearNamespace) and is a miss.
	epoch      uint64
	ns         *atomic.Uint64
	nsEpoch    uint64
	createdAt  int64 // unix nanoseconds
	freshUntil int64 // unix nanoseconds
	// checkAt is the time from which a read must look closer: the earliest
	// of the L1 expiry, the refresh point (refresh-ahead) and, for entries
	// that may be served stale, the fresh time. Before it, a read is a plain
	// hit.
	checkAt int64
	// expiresAt is the end of the entry's life in L1.
	expiresAt int64
	// staleUntil is the end of the window in which the entry may be served
	// stale.
	staleUntil int64
	// cost and pushStart are written before the entry is handed to
	// ristretto and only read by its Cost callback.
	cost      int64
	pushStart uint64 // l1.pushed when the entry's Set began
}

// entryOverheadBytes approximates what an L1 entry costs beyond its key and
// encoded payload: the entry (112 B), ristretto's map slot (about 100 B) and
// cost-tracking slot (about 22 B), the boxed value's header. Measured with
// the heap profile of bench's Tier/L1Memory (-l1heapprofile): about 235 B
// beyond key and payload for a 100 B value.
const entryOverheadBytes = 240

// unknownCost is the cost of an entry stored without encoding its value
// (loaded while L2 is not written): L1 charges it the running mean of the
// payload sizes it was told, starting from defaultBytesPerItem.
const unknownCost = -1

// l1 is the local tier: a ristretto cache of decoded entries, plus the
// fences that keep a slow fill from overwriting a newer write.
//
// Every mutation of a key's L1 entry happens under that key's fence shard
// lock. ristretto applies a Del to its map at once (and queues it behind
// earlier sets), but a Set of a new key later, from a buffer, and refuses a
// buffered Set of a key that is present by then. So a write is a Del, a
// drain of the buffer when it may still hold a set of the shard, and a Set;
// an invalidation is a Del and the same drain: when either returns, no
// older buffered Set can bring back an older value. A fill, which stores
// what was current when its ticket was taken, is a plain Set and waits for
// nothing: the L2-hit path stays cheap. Reads take no lock.
//
// Which sets are applied is known without asking ristretto: each set is
// numbered when it has been handed over (pushed), and ristretto's Cost
// callback, which runs on its single buffer goroutine as it takes a set
// from the buffer, marks every set handed over before that one began as
// applied (the buffer is first in, first out). A shard whose last set is
// applied needs no drain, so a write that follows no recent set of its
// shard costs no hand-off to ristretto's goroutine.
type l1 struct {
	clock  *clock
	cache  *ristretto.Cache[uint64, *l1Entry]
	seed   maphash.Seed
	epoch  atomic.Uint64
	fences fenceTable
	// nsMu guards nsEpochs: the epoch of each namespace (see namespaceOf)
	// entries were stored in, made on first use and kept (a Store serves a
	// few namespaces).
	nsMu     sync.RWMutex
	nsEpochs map[string]*atomic.Uint64
	stats    *counters
	// pushed counts the sets handed to ristretto; applied is a count up to
	// which all of them are known to be applied.
	pushed  atomic.Uint64
	applied atomic.Uint64
	// meanCost is a running mean of the payload sizes of the entries stored
	// with a known cost (lossy under concurrent updates, which is fine for
	// an estimate).
	meanCost atomic.Int64
}

func newL1(cfg Config, stats *counters, clk *clock) (*l1, error) {
	c := &l1{stats: stats, seed: maphash.MakeSeed(), clock: clk, nsEpochs: make(map[string]*atomic.Uint64)}
	c.fences.init()
	c.meanCost.Store(defaultBytesPerItem)
	if cfg.DisableL1 {
		return c, nil // fences only: cache stays nil
	}
	cache, err := ristretto.NewCache(&ristretto.Config[uint64, *l1Entry]{
		NumCounters:        cfg.L1NumCounters,
		MaxCost:            cfg.L1MaxCostBytes,
		BufferItems:        64,
		IgnoreInternalCost: true, // entryOverheadBytes is counted in each cost
		OnReject:           func(*ristretto.Item[*l1Entry]) { stats.l1SetsRejected.Add(1) },
		// Sets pass a cost of 0, so ristretto calls this as it applies
		// them (see l1).
		Cost: func(e *l1Entry) int64 {
			c.noteApplied(e.pushStart)
			return e.cost
		},
	})
	if err != nil {
		return nil, err
	}
	c.cache = cache
	return c, nil
}

// L1 indexes entries by the hash of their full key. A Group's lookup
// hashes its prefix and the id as one key without building it: both are
// copied into a buffer on the stack (keys of up to lookupBufBytes), so an
// L1 hit allocates nothing.

// lookupBufBytes bounds the keys a Group looks up without allocating.
const lookupBufBytes = 256

// hashKey hashes a full key.
func (c *l1) hashKey(key string) uint64 { return maphash.String(c.seed, key) }

// get returns the live entry for the key prefix+id.
func (c *l1) get(prefix, id string) (*l1Entry, bool) {
	if c.cache == nil {
		return nil, false
	}
	var h uint64
	if n := len(prefix) + len(id); n <= lookupBufBytes {
		var buf [lookupBufBytes]byte
		copy(buf[copy(buf[:], prefix):], id)
		h = maphash.Bytes(c.seed, buf[:n])
	} else {
		h = c.hashKey(prefix + id)
	}
	e, ok := c.cache.Get(h)
	if !ok || e.epoch != c.epoch.Load() || e.ns.Load() != e.nsEpoch || !e.hasKey(prefix, id) {
		return nil, false
	}
	return e, true
}

// getKey returns the live entry for a full key.
func (c *l1) getKey(key string) (*l1Entry, bool) {
	if c.cache == nil {
		return nil, false
	}
	e, ok := c.cache.Get(c.hashKey(key))
	if !ok || e.epoch != c.epoch.Load() || e.ns.Load() != e.nsEpoch || e.key != key {
		return nil, false
	}
	return e, true
}

func (e *l1Entry) hasKey(prefix, id string) bool {
	return len(e.key) == len(prefix)+len(id) && e.key[:len(prefix)] == prefix && e.key[len(prefix):] == id
}

// fill stores e if no write or invalidation of key happened since t was
// taken. It reports whether the fill was still current.
func (c *l1) fill(key string, e *l1Entry, ttl time.Duration, cost int64, t fenceTicket) bool {
	sh := c.fences.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if t.fence.seq != t.seq || c.epoch.Load() != t.epoch || t.ns.Load() != t.nsEpoch {
		return false
	}
	c.storeLocked(sh, key, e, ttl, cost, &t)
	return true
}

// write stores e as the newest value of key, making fills in flight stale.
func (c *l1) write(key string, e *l1Entry, ttl time.Duration, cost int64) {
	sh := c.fences.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if f := sh.m[key]; f != nil {
		f.seq++
	}
	c.storeLocked(sh, key, e, ttl, cost, nil)
}

// invalidate drops keys and makes fills in flight for them stale. It
// returns once ristretto has applied the deletions.
func (c *l1) invalidate(keys ...string) {
	var pending uint64
	for _, key := range keys {
		sh := c.fences.shard(key)
		sh.mu.Lock()
		if f := sh.m[key]; f != nil {
			f.seq++
		}
		if c.cache != nil {
			c.cache.Del(c.hashKey(key))
		}
		pending = max(pending, sh.lastSet)
		sh.mu.Unlock()
	}
	c.drainUpTo(pending) // older buffered sets are applied before the Dels
}

// drainUpTo returns once every set numbered up to n is applied, waiting for
// ristretto's buffer only if some may not be.
func (c *l1) drainUpTo(n uint64) {
	if c.cache == nil || n <= c.applied.Load() {
		return
	}
	w := c.pushed.Load()
	c.cache.Wait()
	c.noteApplied(w)
}

// noteApplied records that every set numbered up to n is applied.
func (c *l1) noteApplied(n uint64) {
	for {
		cur := c.applied.Load()
		if n <= cur || c.applied.CompareAndSwap(cur, n) {
			return
		}
	}
}

// clear makes every entry and every fill in flight stale in O(1).
func (c *l1) clear() { c.epoch.Add(1) }

// clearNamespace makes every entry and every fill in flight of namespace ns
// (see namespaceOf) stale in O(1).
func (c *l1) clearNamespace(ns string) {
	c.nsMu.RLock()
	n := c.nsEpochs[ns]
	c.nsMu.RUnlock()
	if n != nil { // else nothing of ns was ever stored or filled
		n.Add(1)
	}
}

// nsEpoch returns the epoch of key's namespace, making it on first use.
func (c *l1) nsEpoch(key string) *atomic.Uint64 {
	ns := namespaceOf(key)
	c.nsMu.RLock()
	n := c.nsEpochs[ns]
	c.nsMu.RUnlock()
	if n != nil {
		return n
	}
	c.nsMu.Lock()
	defer c.nsMu.Unlock()
	if n = c.nsEpochs[ns]; n == nil {
		n = new(atomic.Uint64)
		c.nsEpochs[ns] = n
	}
	return n
}

// storeLocked stores e under sh's lock. A fill passes its ticket t: the
// entry belongs to the epochs the ticket was taken in, so that a clear
// between the ticket's check and this store still drops it. A write (nil t)
// makes sure that no older buffered set of the key survives it (see l1).
func (c *l1) storeLocked(sh *fenceShard, key string, e *l1Entry, ttl time.Duration, cost int64, t *fenceTicket) {
	drain := t == nil
	if c.cache == nil {
		return
	}
	h := c.hashKey(key)
	if ttl <= 0 {
		c.cache.Del(h)
		if drain {
			c.drainUpTo(sh.lastSet)
		}
		return
	}
	if drain {
		// A key ristretto holds is replaced at once by Set (in place), and
		// an older set of it still buffered is then refused (the key is in
		// its policy). An absent key's Set is buffered: an older buffered
		// set of the key would be applied first and win, so drain first.
		if _, present := c.cache.Get(h); !present {
			c.drainUpTo(sh.lastSet)
		}
	}
	if cost == unknownCost {
		cost = c.meanCost.Load()
	} else if m := c.meanCost.Load(); (cost-m)/16 != 0 {
		c.meanCost.Store(m + (cost-m)/16)
	}
	e.key = key
	if t != nil {
		e.epoch, e.ns, e.nsEpoch = t.epoch, t.ns, t.nsEpoch
	} else {
		e.epoch = c.epoch.Load()
		e.ns = c.nsEpoch(key)
		e.nsEpoch = e.ns.Load()
	}
	// Expiry is the entry's own (checked against the coarse clock): a
	// ristretto TTL would make every Get read the system clock.
	e.expiresAt = c.clock.nanos() + int64(ttl)
	if e.checkAt == 0 || e.expiresAt < e.checkAt {
		e.checkAt = e.expiresAt
	}
	e.cost = cost + int64(len(key)) + entryOverheadBytes
	e.pushStart = c.pushed.Load()
	if !c.cache.Set(h, e, 0) {
		c.stats.l1SetsDropped.Add(1)
		return
	}
	sh.lastSet = c.pushed.Add(1)
}

func (c *l1) close() {
	if c.cache != nil {
		c.cache.Close()
	}
}

// wait blocks until every L1 set made so far is applied (tests use it).
func (c *l1) wait() {
	if c.cache != nil {
		w := c.pushed.Load()
		c.cache.Wait()
		c.noteApplied(w)
	}
}

// fenceTable tracks the keys being filled. A fill takes a ticket before it
// reads L2 or the source; a write or invalidation of the key bumps the
// fence's sequence, and a fill whose ticket is behind does not store its
// (older) result. Entries exist only while fills are in flight.
type fenceTable struct {
	seed   maphash.Seed
	shards [64]fenceShard
}

type fenceShard struct {
	mu sync.Mutex
	m  map[string]*fence
	// lastSet numbers the shard's last set handed to ristretto (see l1).
	lastSet uint64
}

type fence struct {
	refs int
	seq  uint64
}

type fenceTicket struct {
	key     string
	fence   *fence
	seq     uint64
	epoch   uint64
	ns      *atomic.Uint64 // the key's namespace epoch (see l1.nsEpoch)
	nsEpoch uint64
}

func (t *fenceTable) init() {
	t.seed = maphash.MakeSeed()
	for i := range t.shards {
		t.shards[i].m = make(map[string]*fence)
	}
}

func (t *fenceTable) shard(key string) *fenceShard {
	return &t.shards[maphash.String(t.seed, key)%uint64(len(t.shards))]
}

// begin takes a ticket for a fill of key; end must be called with it.
func (c *l1) begin(key string) fenceTicket {
	sh := c.fences.shard(key)
	sh.mu.Lock()
	f := sh.m[key]
	if f == nil {
		f = &fence{}
		sh.m[key] = f
	}
	f.refs++
	ns := c.nsEpoch(key)
	t := fenceTicket{key: key, fence: f, seq: f.seq, epoch: c.epoch.Load(), ns: ns, nsEpoch: ns.Load()}
	sh.mu.Unlock()
	return t
}

// current reports whether no write or invalidation happened since t.
func (c *l1) current(t fenceTicket) bool {
	sh := c.fences.shard(t.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return t.fence.seq == t.seq && c.epoch.Load() == t.epoch && t.ns.Load() == t.nsEpoch
}

func (c *l1) end(t fenceTicket) {
	sh := c.fences.shard(t.key)
	sh.mu.Lock()
	t.fence.refs--
	if t.fence.refs == 0 {
		delete(sh.m, t.key)
	}
	sh.mu.Unlock()
}

// refreshDue reports whether a read at now is past the entry's refresh point
// (refresh-ahead), whatever its L1 expiry.
func (e *l1Entry) refreshDue(o *Options, now int64) bool {
	if e.negative || o.RefreshAfter <= 0 || o.RefreshAfter >= 1 {
		return false
	}
	return now >= e.createdAt+int64(float64(e.freshUntil-e.createdAt)*o.RefreshAfter)
}

// due reports whether a read at now should refresh the entry or serve it
// stale, leaving its L1 expiry aside.
func (e *l1Entry) due(now int64) bool {
	return e.checkAt != 0 && e.checkAt != e.expiresAt && now >= e.checkAt
}
