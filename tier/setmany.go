package tier

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetMany writes every value of items, keyed by id, to L2 in one pipelined
// round trip per node (chunks of BatchChunk) and then to L1, as Set does
// for one. An invalid id or a value the codec cannot encode is named in the
// returned *BatchError and not written; so is an id whose Redis write
// failed (it is dropped from L1 and remembered for repair, its error
// wrapping ErrRepairPending, as with Set). The other ids are written.
func (g *Group[V]) SetMany(ctx context.Context, items map[string]V) (err error) {
	if len(items) == 0 {
		return nil
	}
	s := g.s
	if s.closed.Load() {
		return ErrClosed
	}
	p, err := g.prefix(ctx)
	if err != nil {
		return err
	}
	ctx, sp := s.startSpan(ctx, OpSetMany, p.prefix)
	defer func() { endSpan(sp, len(items), err) }()
	var errs batchErrors
	type write struct {
		id, key string
		raw     []byte
		e       *l1Entry
		ttl     time.Duration
	}
	writes := make([]write, 0, len(items))
	for id, v := range items {
		key, err := p.ns.Key(g.entity, id)
		if err != nil {
			errs.add(id, err)
			continue
		}
		raw, e, ttl, err := s.encode(key, v, false, &g.o)
		if err != nil {
			errs.add(id, err)
			continue
		}
		writes = append(writes, write{id: id, key: key, raw: raw, e: e, ttl: ttl})
	}
	if len(writes) == 0 {
		return errs.err()
	}
	s.stats.sets.Add(uint64(len(writes)))
	failed := make([]error, len(writes))
	if s.l2 != nil {
		keys := make([]string, len(writes))
		for i := range writes {
			keys[i] = writes[i].key
		}
		if s.bus != nil && g.o.L1TTL >= 0 {
			s.bus.ensure(ctx, keys[0]) // a Group's keys share one namespace
		}
		_, failed = s.l2.pipeline(ctx, "batch set", len(writes), func(pl redis.Pipeliner, i int, _ bool) redis.Cmder {
			return pl.Set(ctx, writes[i].key, writes[i].raw, writes[i].ttl)
		})
		for _, err := range failed {
			if err != nil {
				s.l2Error(err)
				break
			}
		}
		// Even after a failure: a write may have landed, and the caller
		// may have changed the source.
		if s.bus != nil {
			s.bus.publish(keys...)
		}
	}
	for i, w := range writes {
		if err := failed[i]; err != nil {
			errs.add(w.id, s.remember(err, w.key))
			s.l1.invalidate(w.key)
		} else if s.repairs.forget(w.key); g.o.L1TTL >= 0 {
			s.l1.write(w.key, w.e, s.l1TTL(w.e, &g.o), int64(len(w.raw)))
		} else {
			s.l1.invalidate(w.key)
		}
		s.forgetFlights(w.key)
	}
	return errs.err()
}
