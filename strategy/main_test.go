package strategy_test

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
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// shared is the redis-server the package's tests share.
var shared *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &shared) }

// Profile is the value type of the tests.
type Profile struct {
	ID      string
	Name    string
	Version int
}

// memSource is an in-memory system of record that counts its calls. It is
// the source of truth of the tests, not a stand-in for Redis.
type memSource struct {
	mu      sync.Mutex
	rows    map[string]Profile
	loads   atomic.Int64
	stores  atomic.Int64
	removes atomic.Int64
	// failStore, when set, makes Store fail with it.
	failStore error
}

func newMemSource() *memSource { return &memSource{rows: map[string]Profile{}} }

func (m *memSource) Load(_ context.Context, id string) (Profile, error) {
	m.loads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.rows[id]
	if !ok {
		return Profile{}, strategy.ErrNotFound
	}
	return p, nil
}

func (m *memSource) Store(_ context.Context, id string, p Profile) error {
	m.stores.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failStore != nil {
		return m.failStore
	}
	m.rows[id] = p
	return nil
}

func (m *memSource) Remove(_ context.Context, id string) error {
	m.removes.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, id)
	return nil
}

func (m *memSource) get(id string) (Profile, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.rows[id]
	return p, ok
}

func (m *memSource) put(p Profile) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[p.ID] = p
}

var nsSeq atomic.Int64

// testOptions returns Options in a namespace no other test uses.
func testOptions(t testing.TB) strategy.Options {
	name := strings.NewReplacer("/", ".", "#", ".", " ", ".", ":", ".").Replace(t.Name())
	return strategy.Options{Namespace: fmt.Sprintf("t%d-%s", nsSeq.Add(1), name), Entity: "profile", Options: tier.Options{TTL: time.Minute}}
}

// newStore returns a Store on the shared Redis, closed at cleanup. Its
// L2Timeout is generous: these tests are about strategies, and on a loaded
// test machine running the race detector a Redis call can take longer than
// the default 100 ms; the Store then rightly skips an L2 write or read a
// test counts on (TestSetRejectsUnencodable waited in vain for a read's L2
// fill). Tests of timeouts make Stores of their own.
func newStore(t testing.TB) *tier.Store {
	t.Helper()
	s, err := tier.New(&tier.Config{Redis: shared.Client(t), L2Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("tier.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// landedL2 waits until Redis holds key's value (not the fill lease of the
// read that loaded it) and returns the raw entry: a read's L2 fill lands
// after the read has answered, and nothing signals it.
func landedL2(t *testing.T, ctx context.Context, rdb redis.UniversalClient, key string) string {
	t.Helper()
	var raw string
	eventually(t, "the read's L2 fill of "+key, func() bool {
		raw = rdb.Get(ctx, key).Val()
		return raw != "" && raw[1]&4 == 0 // not a lease (see tier's envelope flags)
	})
	return raw
}
