package tier

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tiercache/tiercache/internal/background"
)

const (
	// busMaxPendingKeys bounds the keys of one namespace waiting to be
	// published; past it they are replaced by one clear of the namespace.
	busMaxPendingKeys = 4096
	// busMaxKeysPerMessage bounds one message: a larger batch is split.
	busMaxKeysPerMessage = 512
	// busMinBackoff and busMaxBackoff bound the wait between attempts to
	// publish or to subscribe after a failure.
	busMinBackoff = 10 * time.Millisecond
	busMaxBackoff = time.Second
)

// namespaceOf returns the namespace of key, which names its invalidation
// channel: the part before the first ':', without a version suffix
// ("shop@v3:user:42" is in namespace "shop"), or "" for a key without ':'.
func namespaceOf(key string) string {
	i := strings.IndexByte(key, ':')
	if i < 0 {
		return ""
	}
	ns := key[:i]
	if j := strings.IndexByte(ns, '@'); j >= 0 {
		ns = ns[:j]
	}
	return ns
}

// busLocal is what the invalidation bus does to the Store it serves when
// the fleet speaks. The Store implements it; tests use a double.
type busLocal interface {
	// dropLocal drops from L1 keys another instance wrote.
	dropLocal(keys []string)
	// clearLocal empties L1: a clear message, or a subscription that may
	// have missed messages.
	clearLocal()
	// versionChanged follows namespace ns to version. Version 0 says a new
	// version may have been missed: read it again, if ns is followed.
	versionChanged(ctx context.Context, ns string, version uint64)
}

func (s *Store) dropLocal(keys []string) { s.InvalidateLocal(keys...) }

func (s *Store) clearLocal() { s.ClearLocal() }

func (s *Store) versionChanged(ctx context.Context, ns string, version uint64) {
	if version > 0 {
		s.NamespaceVersion(ns).observe(version)
		return
	}
	if v := s.loadedVersion(ns); v != nil {
		_ = v.reload(ctx)
	}
}

// busConfig is what a bus is made of: its Redis, its settings, the Store
// side it acts on, and where it counts and reports.
type busConfig struct {
	l2      *l2 // the Redis client, behind the Store's deadline and breaker
	local   busLocal
	stats   *counters
	report  func(what, key string, err error)
	prefix  string        // channel name prefix
	self    string        // this instance's ID
	ping    time.Duration // a quiet subscription is pinged this often
	timeout time.Duration // bounds each call, and the wait for a new subscription
	noL1    bool          // nothing local to invalidate: never subscribe
}

// bus is a Store's side of the invalidation bus: one publisher goroutine that
// sends this Store's writes in batches, and one subscription goroutine per
// namespace this Store caches, which drops other instances' writes from L1.
//
// A write only queues its keys (publish): the caller never waits for Redis.
// Close sends what is queued before it returns.
//
// Subscriptions are made lazily, the first time a read or write of a
// namespace needs one, and that first read waits (bounded by L2Timeout) for
// the subscription to be confirmed: from then on no write can be missed
// without the subscription noticing. A subscription that is lost (an error,
// or a PING that goes unanswered) is made again with a fresh connection, and
// its confirmation clears L1, which cannot know what it missed.
type bus struct {
	// Written once by newBus, only read after.
	busConfig
	rdb     redis.UniversalClient
	sharded bool            // SPUBLISH/SSUBSCRIBE (Redis Cluster)
	stop    context.Context // bg.Context(): cancelled by close
	send    func(context.Context) error

	bg   background.Group // the publisher and the subscriptions
	subs sync.Map         // namespace -> *subscription
	wake chan struct{}    // wakes the publisher; capacity 1

	// mu guards the queue of what waits to be published. Its entries are
	// kept and reused: an entry with nothing to send is skipped.
	mu      sync.Mutex
	pending map[string]*pendingNS // namespace -> what to publish
	queued  int                   // entries of pending with something to send
	sending bool                  // a flush is publishing a batch

	// Only the publisher goroutine touches these: the batch being sent and
	// its messages, reused from one flush to the next.
	batch map[string]*pendingNS
	out   []busOut
	buf   []byte // every payload of out, back to back
}

// pendingNS is what waits to be published on one namespace's channel.
type pendingNS struct {
	keys    []string
	clear   bool   // clear every L1 (replaces keys)
	version uint64 // a new namespace version to announce, or 0
}

func (p *pendingNS) empty() bool { return len(p.keys) == 0 && !p.clear && p.version == 0 }

func (p *pendingNS) reset() {
	clear(p.keys) // let the keys go; keep the array
	p.keys, p.clear, p.version = p.keys[:0], false, 0
}

// busOut is one message of a flush: its payload is buf[from:to].
type busOut struct {
	channel  string
	from, to int
	keys     int
}

// subscription is one namespace's channel subscription.
type subscription struct {
	ns      string
	channel string
	ready   chan struct{} // closed at the first confirmation
	up      atomic.Bool   // confirmed and not known to be lost
	// dirty records that a read or write went ahead while the subscription
	// was not up: its confirmation must clear L1 even the first time.
	dirty atomic.Bool
}

// newBus returns the bus of s and starts its publisher.
func newBus(s *Store) *bus {
	return startBus(busConfig{
		l2:      s.l2,
		local:   s,
		stats:   &s.stats,
		report:  s.report,
		prefix:  s.cfg.BusChannelPrefix,
		self:    s.cfg.InstanceID,
		ping:    s.cfg.BusPingInterval,
		timeout: s.cfg.L2Timeout,
		noL1:    s.cfg.DisableL1,
	})
}

// startBus returns a bus made of cfg and starts its publisher.
func startBus(cfg busConfig) *bus {
	_, sharded := cfg.l2.rdb.(*redis.ClusterClient)
	b := &bus{
		busConfig: cfg,
		rdb:       cfg.l2.rdb,
		sharded:   sharded,
		wake:      make(chan struct{}, 1),
		pending:   make(map[string]*pendingNS),
		batch:     make(map[string]*pendingNS),
	}
	b.send = b.sendOut
	b.stop = b.bg.Context()
	b.bg.Go(b.publisher)
	return b
}

// close stops the bus's goroutines, after a last attempt to publish what is
// queued, and waits for them.
func (b *bus) close() { b.bg.Close() }

// ensure makes sure this Store is subscribed to the channel of key's
// namespace before a read or write of key touches L1. It waits for a new
// subscription's confirmation at most L2Timeout (less if ctx ends first);
// past that, the read goes on and the subscription clears L1 when it is
// confirmed.
func (b *bus) ensure(ctx context.Context, key string) {
	if b.noL1 {
		return // nothing local to invalidate
	}
	b.ensureNS(ctx, namespaceOf(key))
}

// ensureNS is ensure for the namespace ns.
func (b *bus) ensureNS(ctx context.Context, ns string) {
	sub := b.subscription(ns)
	if sub == nil || sub.up.Load() {
		return
	}
	if b.l2.br.current() == BreakerClosed {
		t := time.NewTimer(b.timeout)
		select {
		case <-sub.ready:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if !sub.up.Load() {
		sub.dirty.Store(true)
	}
}

// subscription returns ns's subscription, starting it if needed; nil once
// the bus is closed.
func (b *bus) subscription(ns string) *subscription {
	if v, ok := b.subs.Load(ns); ok {
		return v.(*subscription)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.subs.Load(ns); ok {
		return v.(*subscription)
	}
	sub := &subscription{ns: ns, channel: b.prefix + ns, ready: make(chan struct{})}
	if !b.bg.Go(func() { b.subscribe(sub) }) {
		return nil // closed
	}
	b.subs.Store(ns, sub)
	return sub
}

// publish queues the invalidation of keys for the publisher.
func (b *bus) publish(keys ...string) {
	b.mu.Lock()
	for _, k := range keys {
		p := b.pendingLocked(namespaceOf(k))
		switch {
		case p.clear:
		case len(p.keys) >= busMaxPendingKeys:
			b.stats.busDropped.Add(uint64(len(p.keys)) + 1)
			p.keys, p.clear = p.keys[:0], true
		default:
			p.keys = append(p.keys, k)
		}
	}
	b.mu.Unlock()
	b.kick()
}

// publishClear queues a clear of every instance's L1 on ns's channel.
func (b *bus) publishClear(ns string) {
	b.mu.Lock()
	p := b.pendingLocked(ns)
	p.keys, p.clear = p.keys[:0], true
	b.mu.Unlock()
	b.kick()
}

// publishVersion queues the announcement of ns's new version.
func (b *bus) publishVersion(ns string, version uint64) {
	b.mu.Lock()
	p := b.pendingLocked(ns)
	p.version = max(p.version, version)
	b.mu.Unlock()
	b.kick()
}

// pendingLocked returns ns's entry of the queue, about to be given
// something to send; b.mu must be held.
func (b *bus) pendingLocked(ns string) *pendingNS {
	p := b.pending[ns]
	if p == nil {
		p = &pendingNS{}
		b.pending[ns] = p
	}
	if p.empty() {
		b.queued++
	}
	return p
}

func (b *bus) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// publisher sends what is queued, as soon as it can: there is no batching
// window, so an idle bus adds no latency; keys queued while a publish is in
// flight travel together in the next one. A failed publish is queued again
// and retried with backoff.
func (b *bus) publisher() {
	for {
		select {
		case <-b.wake:
		case <-b.stop.Done():
		}
		if b.stop.Err() != nil {
			// A last attempt, so that writes made just before Close reach
			// the fleet.
			ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
			b.flush(ctx)
			cancel()
			return
		}
		for backoff := busMinBackoff; !b.flush(b.stop); backoff = min(2*backoff, busMaxBackoff) {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-b.stop.Done():
				t.Stop()
			}
			if b.stop.Err() != nil {
				break
			}
		}
	}
}

// flush publishes everything queued (in one pipeline when there is more
// than one message) and reports whether it succeeded (or there was nothing
// to send). On failure the batch is queued again.
func (b *bus) flush(ctx context.Context) bool {
	b.mu.Lock()
	if b.queued == 0 {
		b.mu.Unlock()
		return true
	}
	// Swap the queue with the emptied batch of the last flush: both keep
	// their entries and their keys' arrays.
	b.pending, b.batch = b.batch, b.pending
	b.queued = 0
	b.sending = true
	b.mu.Unlock()
	defer func() {
		for _, p := range b.batch {
			p.reset()
		}
		b.mu.Lock()
		b.sending = false
		b.mu.Unlock()
	}()

	b.out, b.buf = b.out[:0], b.buf[:0]
	for ns, p := range b.batch {
		if p.empty() {
			continue
		}
		channel := b.prefix + ns
		if p.version > 0 {
			b.appendOut(channel, busMessage{kind: busVersion, sender: b.self, namespace: ns, version: p.version}, 0)
		}
		if p.clear {
			b.appendOut(channel, busMessage{kind: busClear, sender: b.self}, 0)
			continue
		}
		slices.Sort(p.keys) // dedupe, and longer shared prefixes
		keys := slices.Compact(p.keys)
		for len(keys) > 0 {
			n := min(len(keys), busMaxKeysPerMessage)
			b.appendOut(channel, busMessage{kind: busKeys, sender: b.self, keys: keys[:n]}, n)
			keys = keys[n:]
		}
	}
	if err := b.l2.call(ctx, b.send); err != nil {
		b.stats.busErrors.Add(1)
		if !errors.Is(err, ErrBreakerOpen) {
			b.report("publish invalidations", "", err)
		}
		b.requeue(b.batch)
		return false
	}
	for _, m := range b.out {
		b.stats.messagesSent.Add(1)
		b.stats.invalidationsSent.Add(uint64(m.keys))
	}
	return true
}

// appendOut adds message m, carrying keys keys, on channel to the flush.
func (b *bus) appendOut(channel string, m busMessage, keys int) {
	from := len(b.buf)
	b.buf = appendBusMessage(b.buf, m)
	b.out = append(b.out, busOut{channel: channel, from: from, to: len(b.buf), keys: keys})
}

// sendOut publishes the flush's messages: one PUBLISH, or a pipeline of
// them.
func (b *bus) sendOut(ctx context.Context) error {
	if len(b.out) == 1 {
		m := b.out[0]
		if b.sharded {
			return b.rdb.SPublish(ctx, m.channel, b.buf[m.from:m.to]).Err()
		}
		return b.rdb.Publish(ctx, m.channel, b.buf[m.from:m.to]).Err()
	}
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range b.out {
			if b.sharded {
				p.SPublish(ctx, m.channel, b.buf[m.from:m.to])
			} else {
				p.Publish(ctx, m.channel, b.buf[m.from:m.to])
			}
		}
		return nil
	})
	return err
}

// requeue merges a batch that failed to publish back into the queue.
func (b *bus) requeue(batch map[string]*pendingNS) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ns, old := range batch {
		if old.empty() {
			continue
		}
		p := b.pendingLocked(ns)
		p.version = max(p.version, old.version)
		if p.clear || old.clear || len(p.keys)+len(old.keys) > busMaxPendingKeys {
			if !p.clear && !old.clear {
				b.stats.busDropped.Add(uint64(len(p.keys) + len(old.keys)))
			}
			p.keys, p.clear = p.keys[:0], true
			continue
		}
		p.keys = append(p.keys, old.keys...)
	}
}

// subscribe keeps sub's subscription alive until the bus stops, making it
// again (with backoff) whenever it is lost.
func (b *bus) subscribe(sub *subscription) {
	backoff := busMinBackoff
	for confirmed := false; ; {
		ok := b.session(sub, confirmed)
		confirmed = confirmed || ok
		if ok {
			backoff = busMinBackoff
		}
		if b.stop.Err() != nil {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-b.stop.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, busMaxBackoff)
	}
}

// session subscribes with a fresh connection and handles messages until the
// subscription is lost or the bus stops. It reports whether the subscription
// was confirmed. again says an earlier session was confirmed: this one's
// confirmation is a resubscription, and clears L1.
func (b *bus) session(sub *subscription, again bool) bool {
	var ps *redis.PubSub
	if b.sharded {
		ps = b.rdb.SSubscribe(b.stop, sub.channel)
	} else {
		ps = b.rdb.Subscribe(b.stop, sub.channel)
	}
	// Close unblocks a receive in progress when the bus stops.
	stopClose := context.AfterFunc(b.stop, func() { _ = ps.Close() })
	defer func() {
		sub.up.Store(false)
		stopClose()
		_ = ps.Close()
	}()

	confirmed := false
	pinged := false
	for {
		wait := b.ping
		if pinged || !confirmed {
			wait += b.timeout
		}
		msg, err := ps.ReceiveTimeout(b.stop, wait)
		if err != nil {
			if b.stop.Err() != nil {
				return confirmed
			}
			if isTimeout(err) && confirmed && !pinged {
				if err := ps.Ping(b.stop); err != nil {
					b.lost(err)
					return confirmed
				}
				pinged = true
				continue
			}
			b.lost(err)
			return confirmed
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" && m.Kind != "ssubscribe" {
				b.lost(errors.New("tier: invalidation channel unsubscribed: " + m.Kind))
				return confirmed
			}
			if confirmed {
				// go-redis reconnected this PubSub on its own: messages may
				// have been lost in between.
				again = true
			}
			confirmed = true
			b.confirmed(sub, again)
			again = false
		case *redis.Message:
			b.receive(m.Payload)
		case *redis.Pong:
		}
	}
}

// confirmed runs when sub's subscription is confirmed: from now on it
// receives every message. A resubscription, or a first subscription that
// reads went ahead without, clears L1; the namespace's version is read again,
// as a bump may have been missed.
func (b *bus) confirmed(sub *subscription, again bool) {
	dirty := sub.dirty.Swap(false)
	if again || dirty {
		b.local.clearLocal()
	}
	if again {
		b.stats.resubscribes.Add(1)
	}
	sub.up.Store(true)
	select {
	case <-sub.ready:
	default:
		close(sub.ready)
	}
	ctx, cancel := context.WithTimeout(b.stop, b.timeout)
	b.local.versionChanged(ctx, sub.ns, 0)
	cancel()
}

func (b *bus) lost(err error) {
	b.stats.busErrors.Add(1)
	b.report("invalidation subscription lost", "", err)
}

// receive applies a message from the channel: other instances' writes are
// dropped from L1; this Store's own messages are recognised by their header
// and dropped before their keys are decoded.
func (b *bus) receive(payload string) {
	if sender, ok := busSender(payload); ok && sender == b.self {
		return
	}
	m, err := decodeBusMessage(payload)
	if err != nil {
		b.stats.busMalformed.Add(1)
		b.report("invalidation message", "", err)
		return
	}
	switch m.kind {
	case busKeys:
		b.local.dropLocal(m.keys)
		b.stats.invalidationsReceived.Add(uint64(len(m.keys)))
	case busClear:
		b.local.clearLocal()
	case busVersion:
		b.local.versionChanged(b.stop, m.namespace, m.version)
	}
	// Counted once applied, so that a count says what L1 reflects.
	b.stats.messagesReceived.Add(1)
}

// isTimeout reports whether err is a read timeout (a quiet connection), as
// opposed to a broken one.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
