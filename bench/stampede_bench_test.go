package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// benchPeerStampede has stampedeReaders readers ask for one missing key at
// once, spread over stampedeInstances instances of the library (as many
// service processes, each with its own source and Redis client) sharing one
// Redis, the source taking stampedeLoadDelay to answer. It reports:
//
//   - loads/stampede: the source loads, over all instances;
//   - cmds/stampede: the commands Redis ran (INFO commandstats, every
//     command), over all instances;
//   - rtt/loser: for the libraries built on a go-redis client that a hook can
//     count (tiercache, go-redis/cache, gocache), the Redis round trips (a
//     command or a pipeline) of each instance that did not load, mean over
//     those instances; not reported when every instance loaded;
//   - last-reader-µs: the median over stampedes of the time from the first
//     load returning to the last reader having its value. It bounds from
//     above the delay from the fill landing in Redis to the last reader
//     having the value: it adds the fill's own round trip (the fill lands
//     after the load returns).
//
// An instance is configured L1+L2, or L2 alone for a library that has no L1.
func benchPeerStampede(b *testing.B) {
	for _, lib := range libraries {
		l := l1AndL2
		if !lib.has(l) {
			l = l2Only
		}
		b.Run(lib.name, func(b *testing.B) { stampedeOne(b, lib, l) })
	}
}

func stampedeOne(b *testing.B, lib library, l layers) {
	ctx := context.Background()
	srcs := make([]*source, stampedeInstances)
	trips := make([]*roundTrips, stampedeInstances)
	instances := make([]subject, stampedeInstances)
	for i := range instances {
		srcs[i] = &source{delay: stampedeLoadDelay}
		trips[i] = &roundTrips{}
		rdb := redisClient(b)
		rdb.AddHook(trips[i])
		instances[i] = lib.new(b, subjectConfig{layers: l, rdb: rdb, src: srcs[i], l1Items: bigL1Items})
		defer instances[i].Close()
	}
	control := redis.NewClient(redisOptions())
	defer control.Close()
	counted := lib.name == "tiercache" || lib.name == "go-redis-cache" || lib.name == "gocache"
	var errs atomic.Int64
	var loads, cmds, loserTrips, losers int64
	var lastReader []time.Duration
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		id := "s" + strconv.Itoa(n)
		key := keyPrefix + id
		if err := redisServer.ResetStats(ctx); err != nil {
			b.Fatal(err)
		}
		before := make([]int64, stampedeInstances)
		loadsBefore := make([]int64, stampedeInstances)
		for i := range instances {
			srcs[i].firstDone.Store(0)
			before[i] = trips[i].n.Load()
			loadsBefore[i] = srcs[i].loads.Load()
		}
		var lastDone atomic.Int64
		start := make(chan struct{})
		var wg sync.WaitGroup
		for r := range stampedeReaders {
			s := instances[r%stampedeInstances]
			wg.Go(func() {
				<-start
				if _, err := s.Get(ctx, id, key); err != nil {
					errs.Add(1)
				}
				storeMax(&lastDone, time.Now().UnixNano())
			})
		}
		b.StartTimer()
		close(start)
		wg.Wait()
		b.StopTimer()
		firstLoad := int64(0)
		for i := range instances {
			l := srcs[i].loads.Load() - loadsBefore[i]
			loads += l
			if d := srcs[i].firstDone.Load(); d != 0 && (firstLoad == 0 || d < firstLoad) {
				firstLoad = d
			}
			if l == 0 {
				losers++
				loserTrips += trips[i].n.Load() - before[i]
			}
		}
		if firstLoad != 0 {
			lastReader = append(lastReader, time.Duration(lastDone.Load()-firstLoad))
		}
		c, err := serverCommands(ctx, control)
		if err != nil {
			b.Fatal(err)
		}
		cmds += c
		b.StartTimer()
	}
	b.StopTimer()
	if e := errs.Load(); e > 0 {
		b.Fatalf("%d reads failed", e)
	}
	b.ReportMetric(float64(loads)/float64(n), "loads/stampede")
	b.ReportMetric(float64(cmds)/float64(n), "cmds/stampede")
	if counted && losers > 0 {
		b.ReportMetric(float64(loserTrips)/float64(losers), "rtt/loser")
	}
	if len(lastReader) > 0 {
		slices.Sort(lastReader)
		b.ReportMetric(float64(lastReader[len(lastReader)/2].Microseconds()), "last-reader-µs")
	}
}

// storeMax raises v to x if x is larger.
func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// serverCommands returns the commands the bench's redis-server ran since
// its last ResetStats, all commands counted but the INFO and CONFIG that
// read and reset the counts.
func serverCommands(ctx context.Context, control *redis.Client) (int64, error) {
	info, err := control.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var total int64
	for line := range strings.Lines(info) {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		cmd, isStat := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isStat || cmd == "info" || strings.HasPrefix(cmd, "config") {
			continue
		}
		for kv := range strings.SplitSeq(stats, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("%s: %w", line, err)
				}
				total += n
			}
		}
	}
	return total, nil
}

// roundTrips is a go-redis hook counting the round trips of a client: one
// per command, one per pipeline or transaction.
type roundTrips struct{ n atomic.Int64 }

func (*roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}
