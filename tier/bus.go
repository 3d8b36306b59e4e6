package tier

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tiercache/tiercache/internal/background"
)

const (
	// busMaxPendingKeys bounds the keys of one namespace waiting to be
	// published; past it they are replaced by one clear of the namespace.
	busMaxPendingKeys = 4096
	// busMaxKeysPerMessage bounds one message: a larger batch is split.
	busMaxKeysPerMessage = 512
	// busMinBackoff and busMaxBackoff bound the wait between attempts to
	// publish or to subscribe after a failure.
	busMinBackoff = 10 * time.Millisecond
	busMaxBackoff = time.Second
)

// namespaceOf returns the namespace of key, which names its invalidation
// channel: the part before the first ':', without a version suffix
// ("shop@v3:user:42" is in namespace "shop"), or "" for a key without ':'.
func namespaceOf(key string) string {
	i := strings.IndexByte(key, ':')
	if i < 0 {
		return ""
	}
	ns := key[:i]
	if j := strings.IndexByte(ns, '@'); j >= 0 {
		ns = ns[:j]
	}
	return ns
}

// busLocal is what the invalidation bus does to the Store it serves when
// the fleet speaks. The Store implements it; tests use a double.
type busLocal interface {
	// dropLocal drops from L1 keys another instance wrote.
	dropLocal(keys []string)
	// clearLocal empties L1 of namespace ns (a clear message on its
	// channel), or all of it for "" (a subscription that may have missed
	// messages).
	clearLocal(ns string)
	// versionChanged follows namespace ns to version. Version 0 says a new
	// version may have been missed: read it again, if ns is followed.
	versionChanged(ctx context.Context, ns string, version uint64)
}

func (s *Store) dropLocal(keys []string) { s.invalidateLocal(keys...) }

func (s *Store) clearLocal(ns string) {
	if ns == "" {
		s.ClearLocal()
		return
	}
	s.clearNamespace(ns)
}

func (s *Store) versionChanged(ctx context.Context, ns string, version uint64) {
	if version > 0 {
		s.NamespaceVersion(ns).observe(version)
		return
	}
	if v := s.loadedVersion(ns); v != nil {
		_ = v.reload(ctx)
	}
}

// busConfig is what a bus is made of: its Redis, its settings, the Store
// side it acts on, and where it counts and reports.
type busConfig struct {
	l2      *l2 // the Redis client, behind the Store's deadline and breaker
	local   busLocal
	stats   *counters
	report  func(what, key string, err error)
	prefix  string        // channel name prefix
	self    string        // this instance's ID
	ping    time.Duration // a quiet subscription is pinged this often
	timeout time.Duration // bounds each call, and the wait for a new subscription
	noL1    bool          // nothing local to invalidate: never subscribe
}

// bus is a Store's side of the invalidation bus: one publisher goroutine that
// sends this Store's writes in batches, and one subscription goroutine per
// namespace this Store caches, which drops other instances' writes from L1.
//
// A write only queues its keys (publish): the caller never waits for Redis.
// Close sends what is queued before it returns.
//
// Subscriptions are made lazily, the first time a read or write of a
// namespace needs one, and that first read waits (bounded by L2Timeout) for
// the subscription to be confirmed: from then on no write can be missed
// without the subscription noticing. A subscription that is lost (an error,
// or a PING that goes unanswered) is made again with a fresh connection, and
// its confirmation clears L1, which cannot know what it missed.
type bus struct {
	// Written once by newBus, only read after.
	busConfig
	rdb     redis.UniversalClient
	sharded bool            // SPUBLISH/SSUBSCRIBE (Redis Cluster)
	stop    context.Context // bg.Context(): cancelled by close
	send    func(context.Context) error

	bg   background.Group // the publisher and the subscriptions
	subs sync.Map         // namespace -> *subscription
	wake chan struct{}    // wakes the publisher; capacity 1

	// mu guards the queue of what waits to be published. Its entries are
	// kept and reused: an entry with nothing to send is skipped.
	mu      sync.Mutex
	pending map[string]*pendingNS // namespace -> what to publish
	queued  int                   // entries of pending with something to send
	sending bool                  // a flush is publishing a batch

	// Only the publisher goroutine touches these: the batch being sent and
	// its messages, reused from one flush to the next.
	batch map[string]*pendingNS
	out   []busOut
	buf   []byte // every payload of out, back to back
}

// newBus returns the bus of s and starts its publisher.
func newBus(s *Store) *bus {
	return startBus(busConfig{
		l2:      s.l2,
		local:   s,
		stats:   &s.stats,
		report:  s.report,
		prefix:  s.cfg.BusChannelPrefix,
		self:    s.cfg.InstanceID,
		ping:    s.cfg.BusPingInterval,
		timeout: s.cfg.L2Timeout,
		noL1:    s.cfg.DisableL1,
	})
}

// startBus returns a bus made of cfg and starts its publisher.
func startBus(cfg busConfig) *bus {
	_, sharded := cfg.l2.rdb.(*redis.ClusterClient)
	b := &bus{
		busConfig: cfg,
		rdb:       cfg.l2.rdb,
		sharded:   sharded,
		wake:      make(chan struct{}, 1),
		pending:   make(map[string]*pendingNS),
		batch:     make(map[string]*pendingNS),
	}
	b.send = b.sendOut
	b.stop = b.bg.Context()
	b.bg.Go(b.publisher)
	return b
}

// close stops the bus's goroutines, after a last attempt to publish what is
// queued, and waits for them.
func (b *bus) close() { b.bg.Close() }
