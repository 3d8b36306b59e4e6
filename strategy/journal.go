package strategy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// journal is the durable log of a WriteBehind's pending writes: a Redis
// Stream with one consumer group. Each write is appended and, in the same
// script, delivered to the writing instance's consumer, so it sits in that
// consumer's pending entries list (PEL) from the moment it exists. It is
// acknowledged and deleted once the source has it. The owner keeps the idle
// time of the entries it still holds low (heartbeat); the entries of a
// process that died go idle, and another instance claims them.
//
// One stream per namespace and entity, named "{namespace:entity}\x1fjournal":
// the braces make it a hash tag, so everything the journal ever keeps lands
// in one cluster slot, and a key starting with a brace never collides with
// the keys package's keys (namespace names cannot hold braces).
type journal struct {
	rdb       redis.UniversalClient
	key       string
	group     string
	consumer  string
	claimIdle time.Duration
}

// journalGroup is the consumer group every WriteBehind instance joins.
const journalGroup = "tiercache"

// Stream fields of a journal entry.
const (
	fieldID     = "id"
	fieldOp     = "op"
	fieldValue  = "v"
	opSet       = "set"
	opDelete    = "del"
	claimBatch  = 100
	touchBatch  = 500
	streamIDSep = "-"
)

// appendScript adds one entry and delivers it to the writer's consumer at
// once: no entry is ever undelivered, so no other instance can read a live
// writer's entries; they can only claim them once idle. The group is created
// with the stream.
var appendScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[4], '$', 'MKSTREAM')
end
local id = redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'op', ARGV[2], 'v', ARGV[3])
redis.call('XREADGROUP', 'GROUP', ARGV[4], ARGV[5], 'COUNT', '1', 'STREAMS', KEYS[1], '>')
return id`)

func journalKey(namespace, entity string) string {
	return "{" + namespace + ":" + entity + "}\x1fjournal"
}

// append journals a write of id (a delete when del) and returns its entry ID.
func (j *journal) append(ctx context.Context, id string, del bool, payload []byte) (string, error) {
	op := opSet
	if del {
		op = opDelete
	}
	sid, err := appendScript.Run(ctx, j.rdb, []string{j.key}, id, op, payload, j.group, j.consumer).Text()
	if err != nil {
		return "", fmt.Errorf("strategy: journal %q: %w", id, err)
	}
	return sid, nil
}

// ack acknowledges and deletes entries whose writes are done.
func (j *journal) ack(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := j.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, j.key, j.group, ids...)
		p.XDel(ctx, j.key, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("strategy: journal ack %d entries of %q: %w", len(ids), j.key, err)
	}
	return nil
}

// touch resets the idle time of entries this instance still holds, so that
// no other instance claims them.
func (j *journal) touch(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), touchBatch)
		err := j.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
			Stream: j.key, Group: j.group, Consumer: j.consumer, MinIdle: 0, Messages: ids[:n],
		}).Err()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("strategy: journal touch %q: %w", j.key, err)
		}
		ids = ids[n:]
	}
	return nil
}

// claim takes over every entry idle for longer than claimIdle (the writes of
// instances that died), oldest first.
func (j *journal) claim(ctx context.Context) ([]redis.XMessage, error) {
	var all []redis.XMessage
	start := "0-0"
	for {
		msgs, next, err := j.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: j.key, Group: j.group, Consumer: j.consumer,
			MinIdle: j.claimIdle, Start: start, Count: claimBatch,
		}).Result()
		if err != nil {
			if errors.Is(err, redis.Nil) || strings.HasPrefix(err.Error(), "NOGROUP") {
				return all, nil // no journal yet
			}
			return all, fmt.Errorf("strategy: journal claim %q: %w", j.key, err)
		}
		all = append(all, msgs...)
		if next == "0-0" || next == "" {
			return all, nil
		}
		start = next
	}
}

// dropConsumerScript deletes a consumer from the group if it holds no
// pending entry, atomically: a consumer deleted with entries pending would
// orphan them (they would be in no pending list, so never claimed).
var dropConsumerScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1`)

// prune removes the consumers of instances gone for longer than claimIdle
// whose writes have all been claimed, so that restarts do not grow the group
// forever. A live but quiet consumer removed this way is recreated by its
// next write.
func (j *journal) prune(ctx context.Context) error {
	consumers, err := j.rdb.XInfoConsumers(ctx, j.key, j.group).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") || strings.HasPrefix(err.Error(), "ERR no such key") {
			return nil
		}
		return fmt.Errorf("strategy: journal consumers of %q: %w", j.key, err)
	}
	for _, c := range consumers {
		if c.Name == j.consumer || c.Pending > 0 || c.Idle < j.claimIdle {
			continue
		}
		if err := dropConsumerScript.Run(ctx, j.rdb, []string{j.key}, j.group, c.Name).Err(); err != nil {
			return fmt.Errorf("strategy: journal drop consumer %q of %q: %w", c.Name, j.key, err)
		}
	}
	return nil
}

// order is the position of a write in the journal (or, without a journal,
// in this process): of two writes of one key, the later one wins.
type order struct{ ms, seq uint64 }

func (a order) before(b order) bool {
	return a.ms < b.ms || a.ms == b.ms && a.seq < b.seq
}

// parseStreamID parses a stream entry ID "ms-seq".
func parseStreamID(s string) (order, error) {
	msPart, seqPart, ok := strings.Cut(s, streamIDSep)
	if !ok {
		return order{}, fmt.Errorf("strategy: bad stream id %q", s)
	}
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil {
		return order{}, fmt.Errorf("strategy: bad stream id %q: %w", s, err)
	}
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if err != nil {
		return order{}, fmt.Errorf("strategy: bad stream id %q: %w", s, err)
	}
	return order{ms, seq}, nil
}

// The WriteBehind's side of its journal: the flusher acknowledges what the
// source has, keeps its own entries from going idle, and claims the entries
// of instances that died. Only the flusher goroutine calls these (and
// Shutdown, once the flusher has stopped).

// ack acknowledges journal entries, with those whose acknowledgement failed
// before. Entries it cannot acknowledge are kept, retried on the next pass,
// and kept from going idle by the heartbeat: claimed by another instance,
// they would write an older value again.
func (w *WriteBehind[V]) ack(ids []string) {
	ids = append(w.unacked, ids...)
	w.unacked = nil
	ctx, cancel := w.callCtx()
	defer cancel()
	if err := w.journal.ack(ctx, ids); err != nil {
		w.journalErrs.Add(1)
		w.unacked = ids
	}
}

// heartbeat resets the idle time of the journal entries this instance
// holds, so that no other instance claims them.
func (w *WriteBehind[V]) heartbeat() {
	w.lastBeat = time.Now()
	ids := append(slices.Clone(w.unacked), w.q.journalIDs()...)
	ctx, cancel := w.callCtx()
	defer cancel()
	if err := w.journal.touch(ctx, ids); err != nil {
		w.journalErrs.Add(1)
	}
}

// recover claims the journal entries of instances that died and queues
// them, oldest first, so that the last write of each id wins.
func (w *WriteBehind[V]) recover() {
	ctx, cancel := w.callCtx()
	msgs, err := w.journal.claim(ctx)
	if err != nil {
		w.journalErrs.Add(1)
	}
	if err := w.journal.prune(ctx); err != nil {
		w.journalErrs.Add(1)
	}
	cancel()
	if len(msgs) == 0 {
		return
	}
	var (
		bad []string
		ops = make([]*wbOp[V], 0, len(msgs))
	)
	for _, m := range msgs {
		op, err := w.decodeEntry(m.ID, m.Values)
		if err != nil {
			bad = append(bad, m.ID)
			continue
		}
		ops = append(ops, op)
	}
	w.claimed.Add(uint64(len(ops)))
	w.q.enqueueClaimed(ops)
	if len(bad) > 0 {
		// Entries this version cannot read: acknowledge them, counted, so
		// that they do not circle between instances forever.
		w.dead.Add(uint64(len(bad)))
		w.ack(bad)
	}
}

// decodeEntry rebuilds a queued write from a journal entry.
func (w *WriteBehind[V]) decodeEntry(sid string, f map[string]any) (*wbOp[V], error) {
	o, err := parseStreamID(sid)
	if err != nil {
		return nil, err
	}
	id, _ := f[fieldID].(string)
	kind, _ := f[fieldOp].(string)
	if _, err := w.b.ns.Key(w.b.entity, id); err != nil {
		return nil, fmt.Errorf("strategy: journal entry %s: %w", sid, err)
	}
	op := &wbOp[V]{id: id, order: o, journal: []string{sid}, claimed: true, queuedAt: time.UnixMilli(int64(o.ms))}
	switch kind {
	case opDelete:
		op.del = true
	case opSet:
		payload, _ := f[fieldValue].(string)
		if err := w.codec.Unmarshal([]byte(payload), &op.value); err != nil {
			return nil, fmt.Errorf("strategy: journal entry %s: %w", sid, err)
		}
	default:
		return nil, fmt.Errorf("strategy: journal entry %s: unknown op %q", sid, kind)
	}
	return op, nil
}
