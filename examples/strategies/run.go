package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/schollz/progressbar/v3"

	"github.com/tiercache/tiercache/debugpage"
	"github.com/tiercache/tiercache/examples/localredis"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// idsPerType is how many rows each table holds; reads pick them with a Zipf
// distribution, as real traffic does.
const idsPerType = 500

// run seeds the database, runs the workload and prints the report.
func run(ctx context.Context, cfg config) error {
	if cfg.ops <= 0 || cfg.workers <= 0 {
		return fmt.Errorf("ops and workers must be positive")
	}
	rdb, stopRedis, err := localredis.Connect(cfg.redisURL, cfg.progress)
	if err != nil {
		return err
	}
	defer stopRedis()
	dir, err := os.MkdirTemp("", "tiercache-strategies-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d, err := openDB(ctx, cfg.databaseURL, dir)
	if err != nil {
		return err
	}
	defer d.Close()

	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	// One line per data type: its strategy's constructor. Switching a type to
	// another strategy is changing that line (and the name beside it).
	kinds := []kind{
		newKind(kindSpec[Product]{
			name: "products", strategy: "cache-aside", writePercent: 2, ttl: 10 * time.Minute,
			build: func(s *tier.Store, src strategy.Source[Product], o strategy.Options) (strategy.Strategy[Product], error) {
				return strategy.NewCacheAside(s, src, o)
			},
			make: func(id string, v int) Product {
				return Product{ID: id, Name: "Product " + id, Description: "A fine thing to own.", PriceCents: 1000 + int64(v), Stock: 10, Tags: []string{"shop"}}
			},
		}),
		newKind(kindSpec[Profile]{
			name: "profiles", strategy: "write-through", writePercent: 10, ttl: 30 * time.Minute,
			build: func(s *tier.Store, src strategy.Source[Profile], o strategy.Options) (strategy.Strategy[Profile], error) {
				return strategy.NewWriteThrough(s, src, o)
			},
			make: func(id string, v int) Profile {
				return Profile{ID: id, Name: "Customer " + id, Email: id + "@example.com", Language: "en", Updated: t0.Add(time.Duration(v) * time.Second)}
			},
		}),
		newKind(kindSpec[Cart]{
			name: "carts", strategy: "write-behind", writePercent: 40, ttl: time.Hour,
			build: func(s *tier.Store, src strategy.Source[Cart], o strategy.Options) (strategy.Strategy[Cart], error) {
				return strategy.NewWriteBehind(s, src, o, &strategy.WriteBehindConfig[Cart]{})
			},
			make: func(id string, v int) Cart {
				return Cart{ID: id, Items: []CartItem{{ProductID: "p" + strconv.Itoa(v%idsPerType), Quantity: 1 + v%3}}}
			},
		}),
		newKind(kindSpec[Rate]{
			name: "rates", strategy: "refresh-ahead", writePercent: 1, ttl: time.Minute,
			build: func(s *tier.Store, src strategy.Source[Rate], o strategy.Options) (strategy.Strategy[Rate], error) {
				return strategy.NewRefreshAhead(s, src, o)
			},
			make: func(id string, v int) Rate {
				return Rate{ID: id, Value: 1 + float64(v%100)/1000, AsOf: t0.Add(time.Duration(v) * time.Second), Provider: "ecb"}
			},
		}),
	}
	for _, k := range kinds {
		if err := k.open(ctx, d, rdb); err != nil {
			return err
		}
		defer k.close()
	}
	var debugAddr string
	if cfg.debugAddr != "" {
		reg := &metrics.Registry{}
		for _, k := range kinds {
			if err := k.register(reg); err != nil {
				return err
			}
		}
		stopDebug, addr, err := serveDebug(cfg.debugAddr, reg)
		if err != nil {
			return err
		}
		defer stopDebug()
		debugAddr = addr
		fmt.Fprintf(cfg.progress, "debug page: http://%s/debug/tiercache\n", addr)
	}

	// The bar redraws itself with \r: only on a terminal, not in a log.
	var bar *progressbar.ProgressBar
	if isTerminal(cfg.progress) {
		bar = progressbar.NewOptions(cfg.ops,
			progressbar.OptionSetWriter(cfg.progress),
			progressbar.OptionSetDescription("mixed workload"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(cfg.progress) }),
		)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.workers)
	start := time.Now()
	for w := range cfg.workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			zipf := rand.NewZipf(r, 1.2, 1, idsPerType-1)
			lat := make([]latencies, len(kinds))
			defer func() {
				for i, k := range kinds {
					k.record(lat[i])
				}
			}()
			for next.Add(1) <= int64(cfg.ops) {
				i := r.IntN(len(kinds))
				d, write, err := kinds[i].op(ctx, r, int(zipf.Uint64()))
				if err != nil {
					errs <- err
					return
				}
				if write {
					lat[i].writes = append(lat[i].writes, d)
				} else {
					lat[i].reads = append(lat[i].reads, d)
				}
				if bar != nil {
					_ = bar.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
	}
	for _, k := range kinds {
		if err := k.drain(ctx); err != nil {
			return err
		}
	}
	// Close before the report, so that background reloads are over and
	// the counters are final (each strategy, then its Store).
	for _, k := range kinds {
		k.close()
	}

	fmt.Fprintf(cfg.out, "%d operations by %d clients in %v against %s\n\n", cfg.ops, cfg.workers, elapsed.Round(time.Millisecond), d.dialect)
	tw := tabwriter.NewWriter(cfg.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\treads\tL1\tL2\tshared\tsource\tqueue\tdb reads\trefreshes\tdb writes\tread p50\tread p99\twrite p50\twrite p99\tstrategy\t")
	var notFound uint64
	for _, k := range kinds {
		r := k.report()
		notFound += r.notFound
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t%v\t%v\t%v\t%s\t\n", r.name, r.reads,
			r.l1, r.l2, r.shared, r.source, r.queue, r.dbReads, r.refreshes, r.dbWrites,
			r.readP50, r.readP99, r.writeP50, r.writeP99, r.strategy)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(cfg.out, "\n"+
		"reads = L1 + L2 + shared + source + queue: each read is answered by exactly one of them.\n"+
		"  L1 includes the cached not-founds it answered (%d in this run).\n"+
		"  shared: the read waited for another read of the same key (one Redis call or load per key at a time).\n"+
		"  source: the read loaded from the database; queue: a write-behind write not yet in the database answered it.\n"+
		"db reads = source + refreshes (refresh-ahead's background reloads, which no reader waits for).\n"+
		"db writes: write-behind writes each id once per flush however many Sets it got.\n", notFound)
	if debugAddr == "" {
		return nil
	}
	fmt.Fprintf(cfg.out, "\nThe debug page shows the final figures at http://%s/debug/tiercache; interrupt to stop.\n", debugAddr)
	if cfg.lingering != nil {
		cfg.lingering(debugAddr)
	}
	<-ctx.Done()
	return nil
}

// serveDebug serves the debug page of reg on addr, at /debug/tiercache,
// until stop is called; it returns the address it listens on.
func serveDebug(addr string, reg *metrics.Registry) (stop func(), listening string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/tiercache", debugpage.New(debugpage.Config{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // ErrServerClosed once stopped
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, ln.Addr().String(), nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// latencies are one data type's operation times, reads and writes apart.
type latencies struct{ reads, writes []time.Duration }

// kind is one data type with its strategy, Store and table.
type kind interface {
	open(ctx context.Context, d *db, rdb redis.UniversalClient) error
	// op runs one read or write and returns its duration and whether it
	// was a write.
	op(ctx context.Context, r *rand.Rand, id int) (time.Duration, bool, error)
	record(lat latencies)
	// drain waits until every write the strategy accepted reached the
	// database (write-behind queues them).
	drain(ctx context.Context) error
	report() kindReport
	// register adds the data type's Store, and its write-behind queue if
	// it has one, to reg under the type's name.
	register(reg *metrics.Registry) error
	close()
}

// kindReport is a data type's line of the report. reads = l1 + l2 +
// shared + source + queue; dbReads = source + refreshes.
type kindReport struct {
	name, strategy                       string
	reads, l1, l2, shared                uint64
	source, queue, refreshes             uint64
	notFound                             uint64 // cached not-founds, counted in l1
	dbReads, dbWrites                    uint64
	readP50, readP99, writeP50, writeP99 time.Duration
}

// kindSpec describes a data type.
type kindSpec[V any] struct {
	name, strategy string
	writePercent   int
	ttl            time.Duration
	build          func(*tier.Store, strategy.Source[V], strategy.Options) (strategy.Strategy[V], error)
	make           func(id string, version int) V
}

type kindOf[V any] struct {
	kindSpec[V]
	ids     []string
	store   *tier.Store
	table   *table[V]
	s       strategy.Strategy[V]
	reads   atomic.Uint64
	version atomic.Int64

	mu     sync.Mutex
	lat    latencies
	closed bool
}

func newKind[V any](spec kindSpec[V]) kind {
	k := &kindOf[V]{kindSpec: spec, ids: make([]string, idsPerType)}
	for i := range k.ids {
		k.ids[i] = strconv.Itoa(i)
	}
	return k
}

// open creates the table, seeds it, and builds the data type's Store (one
// per type, so that its Stats are the type's) and strategy.
func (k *kindOf[V]) open(ctx context.Context, d *db, rdb redis.UniversalClient) error {
	var err error
	if k.table, err = newTable[V](ctx, d, k.name); err != nil {
		return err
	}
	for _, id := range k.ids {
		if err := k.table.Store(ctx, id, k.make(id, 0)); err != nil {
			return err
		}
	}
	k.table.writes.Store(0)
	// L2Timeout is generous because this demo shares a small machine with
	// its database (and, in tests, the race detector); a service keeps the
	// default 100 ms or less.
	if k.store, err = tier.New(&tier.Config{Redis: rdb, L1MaxCostBytes: 8 << 20, L2Timeout: time.Second}); err != nil {
		return err
	}
	k.s, err = k.build(k.store, k.table, strategy.Options{Namespace: "shop", Entity: k.name, Options: tier.Options{TTL: k.ttl}})
	return err
}

func (k *kindOf[V]) op(ctx context.Context, r *rand.Rand, i int) (time.Duration, bool, error) {
	id := k.ids[i]
	start := time.Now()
	if r.IntN(100) < k.writePercent {
		v := k.make(id, int(k.version.Add(1)))
		if err := k.s.Set(ctx, id, v); err != nil {
			return 0, true, fmt.Errorf("%s: set %s: %w", k.name, id, err)
		}
		return time.Since(start), true, nil
	}
	k.reads.Add(1)
	if _, err := k.s.Get(ctx, id); err != nil {
		return 0, false, fmt.Errorf("%s: get %s: %w", k.name, id, err)
	}
	return time.Since(start), false, nil
}

func (k *kindOf[V]) drain(ctx context.Context) error {
	if f, ok := k.s.(interface{ Flush(context.Context) error }); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("%s: flush: %w", k.name, err)
		}
	}
	return nil
}

func (k *kindOf[V]) record(lat latencies) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lat.reads = append(k.lat.reads, lat.reads...)
	k.lat.writes = append(k.lat.writes, lat.writes...)
}

// report reads the Store's counters. Each read is one L1 hit, one L2 hit
// (a flight's leader), one shared wait (a follower) or one foreground load;
// a load is a database read unless the write-behind queue answered it, and
// background reloads are loads too. So, as the database counts its own
// reads: queue = loads - db reads, source = db reads - refreshes.
func (k *kindOf[V]) report() kindReport {
	st := k.store.Stats()
	k.mu.Lock()
	reads, writes := slices.Clone(k.lat.reads), slices.Clone(k.lat.writes)
	k.mu.Unlock()
	slices.Sort(reads)
	slices.Sort(writes)
	dbReads := uint64(k.table.reads.Load())
	return kindReport{
		name: k.name, strategy: k.strategy,
		reads: k.reads.Load(), l1: st.L1Hits, l2: st.L2Hits, shared: st.CoalescedWait,
		source: dbReads - st.Refreshes, queue: st.Loads - dbReads, refreshes: st.Refreshes,
		notFound: st.NegativeHits,
		dbReads:  dbReads, dbWrites: uint64(k.table.writes.Load() + k.table.delete.Load()),
		readP50: percentile(reads, 0.50), readP99: percentile(reads, 0.99),
		writeP50: percentile(writes, 0.50), writeP99: percentile(writes, 0.99),
	}
}

func (k *kindOf[V]) register(reg *metrics.Registry) error {
	if err := reg.Add(k.name, k.store); err != nil {
		return err
	}
	if q, ok := k.s.(metrics.QueueReader); ok {
		return reg.AddQueue(k.name, q)
	}
	return nil
}

// close closes the strategy (a write-behind writes what is still queued,
// then stops its flusher), then the Store. Closing twice does nothing.
func (k *kindOf[V]) close() {
	if k.closed {
		return
	}
	k.closed = true
	if k.s != nil {
		if c, ok := k.s.(interface{ Shutdown(context.Context) error }); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = c.Shutdown(ctx) // write-behind writes what is still queued, then stops its flusher
			cancel()
		}
	}
	if k.store != nil {
		_ = k.store.Close()
	}
}

// percentile returns the q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i].Round(time.Microsecond)
}
