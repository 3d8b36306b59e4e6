package tier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// BatchChunk is the most commands one pipeline of a batch carries: a larger
// batch travels in several pipelines, one after the other, so that no
// pipeline, reply buffer or Redis command grows with the batch.
const BatchChunk = 500

// pipeline runs n one-key commands in pipelines of at most BatchChunk (on a
// cluster go-redis splits each per node: one round trip per node, never a
// cross-slot command), each pipeline through call. build adds command i;
// with eval set it sends a script's body instead of its hash (the retry of
// a script Redis did not know). what names the commands in errors. It
// returns each command's reply error (nil or redis.Nil when it succeeded)
// and its command, nil when it was not sent.
func (c *l2) pipeline(ctx context.Context, what string, n int, build func(p redis.Pipeliner, i int, eval bool) redis.Cmder) ([]redis.Cmder, []error) {
	cmds := make([]redis.Cmder, n)
	errs := make([]error, n)
	for lo := 0; lo < n; lo += BatchChunk {
		hi := min(lo+BatchChunk, n)
		err := c.call(ctx, func(ctx context.Context) error {
			run := func(idx []int, eval bool) {
				_, _ = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, i := range idx {
						cmds[i] = build(p, i, eval)
					}
					return nil
				})
			}
			idx := make([]int, 0, hi-lo)
			for i := lo; i < hi; i++ {
				idx = append(idx, i)
			}
			run(idx, false)
			var again []int
			for _, i := range idx {
				if err := cmds[i].Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
					again = append(again, i)
				}
			}
			if len(again) > 0 {
				run(again, true)
			}
			for _, i := range idx {
				if err := cmds[i].Err(); err != nil && !errors.Is(err, redis.Nil) {
					return err // the breaker hears of the first failure
				}
			}
			return nil
		})
		for i := lo; i < hi; i++ {
			switch {
			case cmds[i] == nil:
				errs[i] = fmt.Errorf("tier: redis %s: %w", what, err)
			case cmds[i].Err() != nil && !errors.Is(cmds[i].Err(), redis.Nil):
				errs[i] = fmt.Errorf("tier: redis %s: %w", what, cmds[i].Err())
			case cmds[i].Err() != nil:
				errs[i] = redis.Nil
			}
		}
	}
	return cmds, errs
}

// readKind is how a batch reads one key.
type readKind uint8

const (
	readLease readKind = iota // SET NX GET: read, and take the fill lease of a missing key
	readPeek                  // GET: read only
	readMark                  // the markWaited script: read, and mark another process's lease
)

// readMany reads keys in pipelines, key i as kinds[i] says (kinds nil: all
// readLease). One lease serves the whole batch: the keys differ. It returns
// one l2Read per key, whose lease is lease when it was stored.
func (c *l2) readMany(ctx context.Context, keys []string, lease []byte, kinds []readKind, ttlArg any) []l2Read {
	var leaseArg any = lease // boxed once for every command
	kind := func(i int) readKind {
		if kinds == nil {
			return readLease
		}
		return kinds[i]
	}
	cmds, errs := c.pipeline(ctx, "batch read", len(keys), func(p redis.Pipeliner, i int, eval bool) redis.Cmder {
		switch kind(i) {
		case readPeek:
			return p.Get(ctx, keys[i])
		case readMark:
			if eval {
				return markWaited.Eval(ctx, p, []string{keys[i]})
			}
			return markWaited.EvalSha(ctx, p, []string{keys[i]})
		}
		cmd := redis.NewStringCmd(ctx, "set", keys[i], leaseArg, "nx", "get", "px", ttlArg)
		_ = p.Process(ctx, cmd)
		return cmd
	})
	out := make([]l2Read, len(keys))
	for i := range keys {
		switch err := errs[i]; {
		case errors.Is(err, redis.Nil):
			if kind(i) == readLease {
				out[i].lease = lease // SET NX stored the lease; a GET or a mark found nothing
			}
		case err != nil:
			out[i].err = err
		default:
			switch cmd := cmds[i].(type) {
			case *redis.StringCmd:
				out[i].raw = replyBytes(cmd)
			case *redis.Cmd:
				s, _ := cmd.Text()
				out[i].raw = []byte(s)
			}
		}
	}
	return out
}

// leaseFill is one checked L2 fill of a batch: it replaces lease, or, with
// no lease, the entry prev a reload started from.
type leaseFill struct {
	key   string
	lease []byte
	prev  *staleL2
	raw   []byte
	ttl   time.Duration
}

// fillMany runs fillIfLease (fillIfUnchanged for a fill without a lease)
// for every fill in pipelines. It returns the script's answer per fill (0
// refused, 1 filled, 2 filled and waited for) and the error per fill.
func (c *l2) fillMany(ctx context.Context, fills []leaseFill) ([]int64, []error) {
	cmds, errs := c.pipeline(ctx, "batch fill", len(fills), func(p redis.Pipeliner, i int, eval bool) redis.Cmder {
		f := &fills[i]
		script, args := fillIfLease, []any{f.lease, f.raw, f.ttl.Milliseconds()}
		if f.lease == nil {
			script, args = fillIfUnchanged, []any{sha1Hex(f.prev.raw), f.raw, f.ttl.Milliseconds()}
		}
		if eval {
			return script.Eval(ctx, p, []string{f.key}, args...)
		}
		return script.EvalSha(ctx, p, []string{f.key}, args...)
	})
	ns := make([]int64, len(fills))
	for i := range fills {
		if errs[i] == nil {
			ns[i], errs[i] = cmds[i].(*redis.Cmd).Int64()
		}
	}
	return ns, errs
}
