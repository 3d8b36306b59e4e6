package tier

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// scanCount is the COUNT hint of DeletePattern's SCAN calls: how many keys a
// master examines per call, and so the most one UNLINK batch holds.
const scanCount = 1000

// DeletePattern deletes every key matching the Redis glob pattern and
// returns how many it deleted. It walks the keyspace with SCAN MATCH (never
// KEYS) on every master of a cluster (on the one server otherwise), and
// deletes what it finds with UNLINK, one pipeline per SCAN batch, so that it
// never blocks Redis. Each call is bounded by L2Timeout; the whole walk by
// ctx.
//
// L1 cannot be walked by pattern, so the pattern's namespace (every version
// of it) is dropped from the L1 of this Store and, through the namespace's
// invalidation channel, of every other instance: an O(1) bump of the
// namespace's epoch, after which its entries refill from L2. Other
// namespaces' entries stay.
//
// The pattern must start with a literal namespace and ':' ("shop:user:*",
// or keys.Namespace.Pattern and friends): the namespace names the channel;
// otherwise the error is ErrPattern. Keys created while the walk runs may
// survive it.
func (s *Store) DeletePattern(ctx context.Context, pattern string) (int64, error) {
	i := strings.IndexByte(pattern, ':')
	if i <= 0 || strings.ContainsAny(pattern[:i], `*?[]\`) {
		return 0, fmt.Errorf("%w: %q", ErrPattern, pattern)
	}
	if s.closed.Load() {
		return 0, ErrClosed
	}
	ctx, sp := s.startSpan(ctx, OpDeletePattern, pattern)
	var deleted atomic.Int64
	var err error
	if s.l2 != nil {
		scan := func(ctx context.Context, node redis.UniversalClient) error {
			return s.deleteMatching(ctx, node, pattern, &deleted)
		}
		switch c := s.cfg.Redis.(type) {
		case *redis.ClusterClient:
			err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
		case *redis.Ring:
			err = c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
		default:
			err = scan(ctx, c)
		}
		if err != nil {
			err = fmt.Errorf("tier: delete pattern %q: %w", pattern, err)
		}
	}
	s.stats.patternDeleted.Add(uint64(deleted.Load()))
	// After the deletes, so that a fill that read a deleted entry is
	// refused; even after a failure, as some keys may be gone.
	ns := namespaceOf(pattern)
	s.clearNamespace(ns)
	if s.bus != nil {
		s.bus.publishClear(ns)
	}
	endSpan(sp, int(deleted.Load()), err)
	return deleted.Load(), err
}

// deleteMatching scans one server and unlinks the keys matching pattern.
func (s *Store) deleteMatching(ctx context.Context, node redis.UniversalClient, pattern string, deleted *atomic.Int64) error {
	var cursor uint64
	for {
		var batch []string
		err := s.l2.call(ctx, func(ctx context.Context) (err error) {
			batch, cursor, err = node.Scan(ctx, cursor, pattern, scanCount).Result()
			return err
		})
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			var cmds []redis.Cmder
			err = s.l2.call(ctx, func(ctx context.Context) (err error) {
				// One UNLINK per key: keys of one master may still be in
				// different slots.
				cmds, err = node.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, k := range batch {
						p.Unlink(ctx, k)
					}
					return nil
				})
				return err
			})
			if err != nil {
				return err
			}
			for _, c := range cmds {
				deleted.Add(c.(*redis.IntCmd).Val())
			}
		}
		if cursor == 0 {
			return nil
		}
	}
}
