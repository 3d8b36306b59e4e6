package tier

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

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
			b.receive(sub.ns, m.Payload)
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
		b.local.clearLocal("")
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

// receive applies a message from namespace ns's channel: other instances'
// writes are dropped from L1, and a clear drops the namespace's entries;
// this Store's own messages are recognised by their header and dropped
// before their keys are decoded.
func (b *bus) receive(ns, payload string) {
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
		b.local.clearLocal(ns)
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
