package tier

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Config's zero fields.
const (
	DefaultL1MaxCostBytes = 64 << 20
	DefaultL1TTLCap       = time.Minute
	DefaultL2Timeout      = 100 * time.Millisecond
	DefaultLoadTimeout    = 10 * time.Second
	DefaultFillLockTTL    = 5 * time.Second
	DefaultRefreshWorkers = 16
	// DefaultBreakerFailures is how many consecutive Redis failures open
	// the circuit breaker.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long the breaker stays open before it
	// lets one call probe Redis.
	DefaultBreakerCooldown = time.Second
	// DefaultBusChannelPrefix starts the name of every invalidation channel.
	DefaultBusChannelPrefix = "tiercache:inv:"
	// DefaultBusPingInterval is how long a quiet invalidation subscription
	// waits before it checks its connection with a PING.
	DefaultBusPingInterval = time.Second
	// DefaultMaxTypeStats is how many data types a Store counts apart (see
	// Config.MaxTypeStats).
	DefaultMaxTypeStats = 64
	// defaultBytesPerItem is the average L1 entry size assumed to size
	// ristretto's counters (10 counters per expected item).
	defaultBytesPerItem = 1024
)

// Config configures a Store. Its zero value (but for Redis) is a working
// configuration; every zero field means the documented default.
type Config struct {
	// Redis is the L2. Use the client you already have: a *redis.Client, a
	// *redis.ClusterClient, a *redis.Ring or a failover client. Its options
	// must set ContextTimeoutEnabled (New checks go-redis's own client types
	// and returns ErrNoContextTimeout otherwise), and should pin ReadTimeout,
	// WriteTimeout and PoolTimeout. Size its pool (PoolSize) for the number of
	// concurrent L1 misses you expect: one connection per concurrent miss
	// key, since concurrent readers of one key share one Redis call.
	// Nil means no L2: the Store is an L1 cache in front of the loader.
	Redis redis.UniversalClient

	// L1MaxCostBytes bounds the L1 in bytes (of encoded payload plus entry
	// overhead). A value loaded while L2 is not written (no Redis, Redis
	// failing, the breaker open) is not encoded: its entry is charged the
	// running mean of the payload sizes measured so far (1 KiB before any).
	// Zero means DefaultL1MaxCostBytes (64 MiB).
	L1MaxCostBytes int64
	// L1NumCounters is ristretto's admission counter count; zero means ten
	// per expected item, assuming 1 KiB per item.
	L1NumCounters int64
	// DisableL1 turns the L1 off: every read goes to Redis.
	DisableL1 bool
	// L1TTLCap bounds how long an entry lives in L1, whatever its L2 TTL. It
	// bounds how stale an instance can be when an invalidation is lost, and
	// is also how often a NamespaceVersion is read from Redis again.
	// Zero means DefaultL1TTLCap (one minute).
	L1TTLCap time.Duration

	// L2Timeout bounds every Redis call (a caller's earlier deadline wins).
	// Zero means DefaultL2Timeout (100 ms).
	L2Timeout time.Duration
	// LoadTimeout bounds a load shared by several readers or run in the
	// background; the readers themselves wait only as long as their own
	// contexts allow. Zero means DefaultLoadTimeout (10 s).
	LoadTimeout time.Duration

	// FillLockTTL is how long a process that won the fill of a missing key
	// holds it before another process may load the key too. Zero means
	// DefaultFillLockTTL (5 s).
	FillLockTTL time.Duration
	// FillWait bounds how long a reader waits for another process's fill
	// before loading the key itself. Zero means FillLockTTL plus one second;
	// a negative value disables the fleet-wide fill lock (every process that
	// misses loads; fills are still protected against staleness).
	FillWait time.Duration

	// RefreshWorkers bounds the background reloads (stale-while-revalidate,
	// refresh-ahead) that run at once; a reload that finds the pool full is
	// skipped and counted. Zero means DefaultRefreshWorkers.
	RefreshWorkers int

	// Logger receives rate-limited reports of cache errors (Redis failures,
	// corrupt entries). Nil means silent; errors are still counted.
	Logger *slog.Logger

	// InstanceID names this Store in invalidation messages. Empty means a
	// random ID. Every Store of a fleet needs its own.
	InstanceID string

	// DisableBus turns the invalidation bus off: this Store neither
	// publishes its writes nor drops other instances' writes from its L1,
	// which is then stale for up to L1TTLCap after a write elsewhere.
	DisableBus bool
	// BusChannelPrefix starts the name of every invalidation channel; the
	// namespace of the keys follows it (see the package documentation).
	// Stores of one fleet must agree on it. Empty means
	// DefaultBusChannelPrefix ("tiercache:inv:").
	BusChannelPrefix string
	// BusPingInterval is how long an invalidation subscription may stay
	// quiet before it checks its connection with a PING; a PING not answered
	// within L2Timeout plus this interval counts as a lost subscription
	// (which clears L1 once it is restored). Zero means
	// DefaultBusPingInterval (one second).
	BusPingInterval time.Duration

	// BreakerFailures is how many consecutive Redis failures or timeouts
	// open the circuit breaker: while it is open, reads skip Redis and go to
	// L1 and the loader, and writes fail at once with ErrBreakerOpen. Zero
	// means DefaultBreakerFailures (5); negative disables the breaker.
	BreakerFailures int
	// BreakerCooldown is how long the breaker stays open before one call
	// probes Redis; the probe's success closes it. Zero means
	// DefaultBreakerCooldown (one second).
	BreakerCooldown time.Duration

	// MaxRepairKeys bounds how many keys the Store remembers for repair:
	// a Set, Delete or SetMany whose Redis write fails (Redis down, slow,
	// or the breaker open) leaves L2 holding the old value, so the Store
	// remembers the key, reads it from the source meanwhile, and deletes
	// it from L2 (announcing it on the bus) as soon as Redis answers again,
	// before the breaker closes. Such a write returns an error wrapping
	// ErrRepairPending (strategies whose source took the write return
	// nil). A key that finds the set full is not remembered: its write
	// returns the Redis error alone, and it is counted in
	// Stats.RepairsDropped and logged; the old L2 entry then lives until
	// its TTL. Repairs pending at Close are lost. Zero means
	// DefaultMaxRepairKeys (10000); negative turns repair off.
	MaxRepairKeys int

	// ObserveRead, when set, is called after every read the Store answers
	// (Get, and LookupL1 hits, which is how strategies read L1) with the
	// tier that answered and how long the read took, measured with the
	// precise monotonic clock. A read answered by a cached "not found"
	// counts under the tier that held it; a failed read under TierNone. It
	// runs on the reader's goroutine on every read: it must be fast and safe
	// for concurrent use (a histogram's Observe). Package metrics and the
	// observability adapters provide hooks. Nil means reads are not timed:
	// the L1 hit path then reads no clock.
	ObserveRead func(t Tier, d time.Duration)

	// Tracer, when set, starts a span for every read that leaves L1 and
	// every write (see Tracer; package tierotel provides one for
	// OpenTelemetry). An L1 hit is never traced. Nil means no tracing.
	Tracer Tracer

	// MaxTypeStats bounds how many data types (Group namespace and entity
	// pairs) the Store counts apart in TypeStats, and so the label values
	// its exporters give: the data types past it, in the order their first
	// Groups are made, share one entry whose Namespace is OtherNamespace.
	// Zero means DefaultMaxTypeStats (64); negative counts every data type
	// in that shared entry.
	MaxTypeStats int
}

func (c Config) withDefaults() (Config, error) {
	if c.L1MaxCostBytes <= 0 {
		c.L1MaxCostBytes = DefaultL1MaxCostBytes
	}
	if c.L1NumCounters <= 0 {
		c.L1NumCounters = 10 * max(c.L1MaxCostBytes/defaultBytesPerItem, 100)
	}
	if c.L1TTLCap <= 0 {
		c.L1TTLCap = DefaultL1TTLCap
	}
	if c.L2Timeout <= 0 {
		c.L2Timeout = DefaultL2Timeout
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = DefaultLoadTimeout
	}
	if c.FillLockTTL <= 0 {
		c.FillLockTTL = DefaultFillLockTTL
	}
	if c.FillWait == 0 {
		c.FillWait = c.FillLockTTL + time.Second
	}
	if c.RefreshWorkers <= 0 {
		c.RefreshWorkers = DefaultRefreshWorkers
	}
	if c.MaxTypeStats == 0 {
		c.MaxTypeStats = DefaultMaxTypeStats
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	if c.MaxRepairKeys == 0 {
		c.MaxRepairKeys = DefaultMaxRepairKeys
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = DefaultBreakerCooldown
	}
	if c.BusChannelPrefix == "" {
		c.BusChannelPrefix = DefaultBusChannelPrefix
	}
	if c.BusPingInterval <= 0 {
		c.BusPingInterval = DefaultBusPingInterval
	}
	if c.InstanceID == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return c, fmt.Errorf("tier: instance id: %w", err)
		}
		c.InstanceID = hex.EncodeToString(b[:])
	}
	if err := checkClient(c.Redis); err != nil {
		return c, err
	}
	return c, nil
}

// checkClient rejects go-redis clients whose context deadlines would not
// bound socket reads. Clients of other types (wrappers) cannot be inspected
// and are taken as given.
func checkClient(rdb redis.UniversalClient) error {
	var enabled bool
	switch c := rdb.(type) {
	case nil:
		return nil
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		enabled = c.Options().ContextTimeoutEnabled
	default:
		return nil
	}
	if !enabled {
		return fmt.Errorf("%w (set it in the client's options; see the package documentation)", ErrNoContextTimeout)
	}
	return nil
}
