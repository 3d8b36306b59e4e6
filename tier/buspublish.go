package tier

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

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

// publishClear queues, on ns's channel, a clear of namespace ns from every
// instance's L1.
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
