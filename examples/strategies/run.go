package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/schollz/progressbar/v3"

	"github.com/tiercache/tiercache/internal/redistest"
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
	rdb, stopRedis, err := connect(cfg.redisURL)
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
				return strategy.NewWriteBehind(s, src, o, strategy.WriteBehindConfig[Cart]{})
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

	bar := progressbar.NewOptions(cfg.ops,
		progressbar.OptionSetWriter(cfg.progress),
		progressbar.OptionSetDescription("mixed workload"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(cfg.progress) }),
	)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.workers)
	start := time.Now()
	for w := range cfg.workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			zipf := rand.NewZipf(r, 1.2, 1, idsPerType-1)
			lat := make([][]time.Duration, len(kinds))
			defer func() {
				for i, k := range kinds {
					k.record(lat[i])
				}
			}()
			for next.Add(1) <= int64(cfg.ops) {
				i := r.IntN(len(kinds))
				d, err := kinds[i].op(ctx, r, int(zipf.Uint64()))
				if err != nil {
					errs <- err
					return
				}
				lat[i] = append(lat[i], d)
				_ = bar.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	_ = bar.Finish()
	for _, k := range kinds {
		if err := k.drain(ctx); err != nil {
			return err
		}
	}

	fmt.Fprintf(cfg.out, "%d operations by %d clients in %v against %s\n\n", cfg.ops, cfg.workers, elapsed.Round(time.Millisecond), d.dialect)
	tw := tabwriter.NewWriter(cfg.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\treads\tL1 hits\tL2 hits\tdb reads\tdb writes\tp50\tp99\tstrategy\t")
	for _, k := range kinds {
		r := k.report()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%v\t%v\t%s\t\n", r.name, r.reads, r.l1Hits, r.l2Hits, r.dbReads, r.dbWrites, r.p50, r.p99, r.strategy)
	}
	return tw.Flush()
}

// kind is one data type with its strategy, Store and table.
type kind interface {
	open(ctx context.Context, d *db, rdb redis.UniversalClient) error
	op(ctx context.Context, r *rand.Rand, id int) (time.Duration, error)
	record(lat []time.Duration)
	// drain waits until every write the strategy accepted reached the
	// database (write-behind queues them).
	drain(ctx context.Context) error
	report() kindReport
	close()
}

// kindReport is a data type's line of the report.
type kindReport struct {
	name, strategy        string
	reads, l1Hits, l2Hits uint64
	dbReads, dbWrites     int64
	p50, p99              time.Duration
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

	mu  sync.Mutex
	lat []time.Duration
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

func (k *kindOf[V]) op(ctx context.Context, r *rand.Rand, i int) (time.Duration, error) {
	id := k.ids[i]
	start := time.Now()
	if r.IntN(100) < k.writePercent {
		v := k.make(id, int(k.version.Add(1)))
		if err := k.s.Set(ctx, id, v); err != nil {
			return 0, fmt.Errorf("%s: set %s: %w", k.name, id, err)
		}
		return time.Since(start), nil
	}
	k.reads.Add(1)
	if _, err := k.s.Get(ctx, id); err != nil {
		return 0, fmt.Errorf("%s: get %s: %w", k.name, id, err)
	}
	return time.Since(start), nil
}

func (k *kindOf[V]) drain(ctx context.Context) error {
	if f, ok := k.s.(interface{ Flush(context.Context) error }); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("%s: flush: %w", k.name, err)
		}
	}
	return nil
}

func (k *kindOf[V]) record(lat []time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lat = append(k.lat, lat...)
}

func (k *kindOf[V]) report() kindReport {
	st := k.store.Stats()
	k.mu.Lock()
	lat := slices.Clone(k.lat)
	k.mu.Unlock()
	slices.Sort(lat)
	return kindReport{
		name: k.name, strategy: k.strategy,
		reads: k.reads.Load(), l1Hits: st.L1Hits, l2Hits: st.L2Hits,
		dbReads: k.table.reads.Load(), dbWrites: k.table.writes.Load() + k.table.delete.Load(),
		p50: percentile(lat, 0.50), p99: percentile(lat, 0.99),
	}
}

func (k *kindOf[V]) close() {
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

// connect returns a client for url, or starts a redis-server.
func connect(url string) (redis.UniversalClient, func(), error) {
	if url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		opt.ContextTimeoutEnabled = true // tier.New requires it
		rdb := redis.NewClient(opt)
		return rdb, func() { rdb.Close() }, nil
	}
	srv, err := redistest.StartServer()
	if err != nil {
		return nil, nil, err
	}
	rdb := srv.NewClient()
	return rdb, func() { rdb.Close(); srv.Close() }, nil
}
