package tier

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
)

// shared is the redis-server the package's tests share; tests that stop,
// pause or restart Redis start their own.
var shared *redistest.Server

func TestMain(m *testing.M) {
	redistest.Main(m, &shared, func() error {
		if cluster == nil {
			return nil
		}
		return cluster.Close()
	})
}

// The Redis Cluster the package's tests share, started by the first test
// that needs it and closed by TestMain.
var (
	clusterOnce sync.Once
	cluster     *redistest.Cluster
	clusterErr  error
)

func sharedCluster(t testing.TB) *redistest.Cluster {
	t.Helper()
	clusterOnce.Do(func() { cluster, clusterErr = redistest.StartCluster() })
	if clusterErr != nil {
		t.Fatalf("start cluster: %v", clusterErr)
	}
	return cluster
}

// topology is a Redis deployment the cluster-sensitive tests run against.
type topology struct {
	name string
	// client returns a new client, closed at cleanup: Stores that stand for
	// separate processes get one each.
	client func(t testing.TB) redis.UniversalClient
	// patientClient is client with socket and pool timeouts of
	// patientTimeout instead of the harness's 1 s and 2 s, for a Store
	// whose L2Timeout is patientTimeout.
	patientClient func(t testing.TB) redis.UniversalClient
}

// patientTimeout is the L2Timeout, and the client timeouts, of tests whose
// heavy concurrency a loaded machine under -race may keep from Redis for
// over a second (and which are about coordination, not timeouts).
const patientTimeout = 5 * time.Second

func topologies() []topology {
	single := func(t testing.TB, patient bool) redis.UniversalClient {
		if !patient {
			return shared.Client(t)
		}
		opt := redistest.ClientOptions(shared.Addr())
		opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = patientTimeout, patientTimeout, patientTimeout
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		return c
	}
	cluster := func(t testing.TB, patient bool) redis.UniversalClient {
		var cc *redis.ClusterClient
		if patient {
			opt := redistest.ClusterClientOptions(sharedCluster(t).Addrs())
			opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = patientTimeout, patientTimeout, patientTimeout
			cc = redis.NewClusterClient(opt)
			t.Cleanup(func() { cc.Close() })
		} else {
			cc = sharedCluster(t).Client(t)
		}
		// Warmed up: the slot map loaded and a connection to every
		// master, so that a test's first call does not pay for them
		// within its L2 timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
			t.Fatalf("cluster ping: %v", err)
		}
		return cc
	}
	return []topology{
		{"single",
			func(t testing.TB) redis.UniversalClient { return single(t, false) },
			func(t testing.TB) redis.UniversalClient { return single(t, true) }},
		{"cluster",
			func(t testing.TB) redis.UniversalClient { return cluster(t, false) },
			func(t testing.TB) redis.UniversalClient { return cluster(t, true) }},
	}
}

// user is a realistic cached value: ten fields, about 300 bytes of msgpack.
type user struct {
	ID        int64
	Name      string
	Email     string
	Country   string
	Bio       string
	Tags      []string
	Score     float64
	Active    bool
	CreatedAt time.Time
	Visits    int
}

func sampleUser(id int64) user {
	return user{
		ID: id, Name: fmt.Sprintf("user %d", id), Email: fmt.Sprintf("user%d@example.com", id),
		Country: "NZ", Bio: strings.Repeat("likes caching; ", 10), Tags: []string{"a", "bb", "ccc"},
		Score: 4.5, Active: true, CreatedAt: time.UnixMilli(1_700_000_000_000).UTC(), Visits: 7,
	}
}

var userOptions = Options{Decode: decodeAs[user]()}

var keySeq atomic.Int64

// testKey returns a key no other test uses.
func testKey(t testing.TB) string {
	return fmt.Sprintf("test:%s:%d", strings.ReplaceAll(t.Name(), "/", "."), keySeq.Add(1))
}

// newStore returns a Store on cfg.Redis (the shared server when nil), with
// an L2Timeout of one second unless cfg sets one, closed at cleanup.
func newStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Redis == nil {
		cfg.Redis = shared.Client(t)
	}
	if cfg.L2Timeout == 0 {
		// Generous: the machine may be busy with other tests under -race;
		// tests of timeouts set their own.
		cfg.L2Timeout = time.Second
	}
	s, err := New(&cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// loader counts its calls and answers from fn.
type loader struct {
	calls atomic.Int64
	fn    func(ctx context.Context, key string) (any, error)
}

func (l *loader) load(ctx context.Context, key string) (any, error) {
	l.calls.Add(1)
	return l.fn(ctx, key)
}

func constLoader(v any) *loader {
	return &loader{fn: func(context.Context, string) (any, error) { return v, nil }}
}

func rawGet(t testing.TB, rdb redis.UniversalClient, key string) []byte {
	t.Helper()
	b, err := rdb.Get(context.Background(), key).Bytes()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		t.Fatalf("raw GET %q: %v", key, err)
	}
	return b
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startServer starts a redis-server of the test's own, for tests that stop,
// pause or restart it.
func startServer(t testing.TB) *redistest.Server { return redistest.Start(t) }

func startProxy(t testing.TB, target string) *redistest.Proxy {
	return redistest.StartProxy(t, target)
}

// newClient returns a client with the harness's options for addr.
func newClient(t testing.TB, addr string) *redis.Client {
	opt := redistest.ClientOptions(addr)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// l1Peek reports whether L1 holds a fresh entry for key, and its value: the
// read a Group's L1 hit makes, for a full key, without going further.
func l1Peek(s *Store, key string) (any, bool, error) {
	e, ok := s.l1.getKey(key)
	if !ok || s.clock.nanos() >= e.checkAt {
		return nil, false, nil
	}
	if e.negative {
		return nil, true, ErrNotFound
	}
	return e.value, true, nil
}
