package strategy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// The environment of the child process of the SIGKILL test.
const (
	childRedisEnv     = "TIERCACHE_WB_CHILD_REDIS"
	childNamespaceEnv = "TIERCACHE_WB_CHILD_NAMESPACE"
	childDefaultsEnv  = "TIERCACHE_WB_CHILD_DEFAULTS" // "1": default ClaimIdle and WriteTimeout
	childWrites       = 600
	childKeys         = 25
)

// hashSource is a system of record both processes of the SIGKILL test can
// see: a Redis hash on the test server (field: id, value: version), standing
// in for a database. Each write takes delay per item. With hangAfter set,
// the writes after the first hangAfter wait until their context ends and
// fail: the child of the SIGKILL test is killed with writes pending however
// late its parent gets to kill it (with 2 ms per item alone, a parent that
// a loaded machine kept waiting found the child had written everything).
type hashSource struct {
	rdb       redis.UniversalClient
	hash      string
	delay     time.Duration
	hangAfter int64
	writes    atomic.Int64
}

// hang makes a write past the first hangAfter wait until ctx ends, and
// reports whether it did.
func (h *hashSource) hang(ctx context.Context) bool {
	if h.hangAfter <= 0 || h.writes.Add(1) <= h.hangAfter {
		return false
	}
	<-ctx.Done()
	return true
}

var _ strategy.BatchStorer[Profile] = (*hashSource)(nil)

func (h *hashSource) Load(ctx context.Context, id string) (Profile, error) {
	s, err := h.rdb.HGet(ctx, h.hash, id).Result()
	if errors.Is(err, redis.Nil) {
		return Profile{}, strategy.ErrNotFound
	}
	if err != nil {
		return Profile{}, err
	}
	v, err := strconv.Atoi(s)
	return Profile{ID: id, Version: v}, err
}

func (h *hashSource) wait(ctx context.Context, n int) error {
	if h.delay == 0 {
		return nil
	}
	t := time.NewTimer(h.delay * time.Duration(n))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hashSource) Store(ctx context.Context, id string, p Profile) error {
	if h.hang(ctx) {
		return ctx.Err()
	}
	if err := h.wait(ctx, 1); err != nil {
		return err
	}
	return h.rdb.HSet(ctx, h.hash, id, p.Version).Err()
}

func (h *hashSource) StoreBatch(ctx context.Context, items map[string]Profile) error {
	if h.hang(ctx) {
		return ctx.Err()
	}
	if err := h.wait(ctx, len(items)); err != nil {
		return err
	}
	fields := make(map[string]any, len(items))
	for id, p := range items {
		fields[id] = p.Version
	}
	return h.rdb.HSet(ctx, h.hash, fields).Err()
}

func (h *hashSource) Remove(ctx context.Context, id string) error {
	return h.rdb.HDel(ctx, h.hash, id).Err()
}

// journalOf returns the stream key a durable WriteBehind with o uses.
func journalOf(o strategy.Options) string {
	return "{" + o.Namespace + ":" + o.Entity + "}\x1fjournal"
}

func sourceHash(o strategy.Options) string { return "db:" + o.Namespace }

// TestWriteBehindChild is the child process of
// TestWriteBehindDurableSurvivesSIGKILL: it does nothing in a normal run.
func TestWriteBehindChild(t *testing.T) {
	addr := os.Getenv(childRedisEnv)
	if addr == "" {
		return
	}
	ctx := context.Background()
	rdb := redis.NewClient(redistest.ClientOptions(addr))
	store, err := tier.New(&tier.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	o := strategy.Options{Namespace: os.Getenv(childNamespaceEnv), Entity: "profile", Options: tier.Options{TTL: time.Minute}}
	src := &hashSource{rdb: rdb, hash: sourceHash(o), delay: 2 * time.Millisecond, hangAfter: 1}
	cfg := &strategy.WriteBehindConfig[Profile]{
		Durable:       true,
		Consumer:      "child",
		BatchSize:     10,
		FlushInterval: 5 * time.Millisecond,
		ClaimIdle:     10 * time.Second,
		WriteTimeout:  2 * time.Second,
	}
	if os.Getenv(childDefaultsEnv) == "1" {
		cfg.ClaimIdle, cfg.WriteTimeout = 0, 0
	}
	w, err := strategy.NewWriteBehind(store, src, o, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= childWrites; i++ {
		id := fmt.Sprintf("k%d", i%childKeys)
		if err := w.Set(ctx, id, Profile{ID: id, Version: i}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "ack %s %d\n", id, i) // acknowledged: Set returned
	}
	fmt.Fprintln(os.Stdout, "done")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent kills us
}

// killChild runs TestWriteBehindChild in a child process for o's namespace
// (with the default ClaimIdle and WriteTimeout when defaults), kills it with
// SIGKILL once its flusher has written something, and returns the last
// acknowledged value of every key and when it was killed.
func killChild(t *testing.T, o strategy.Options, defaults bool) (map[string]string, time.Time) {
	t.Helper()
	ctx := ctxT(t)
	rdb := shared.Client(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestWriteBehindChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childRedisEnv+"="+shared.Addr(), childNamespaceEnv+"="+o.Namespace)
	if defaults {
		cmd.Env = append(cmd.Env, childDefaultsEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = stdin.Close()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(kill)

	want := map[string]string{} // the last acknowledged value of every key
	acks := 0
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) == 1 && f[0] == "done" {
			break
		}
		if len(f) == 3 && f[0] == "ack" {
			want[f[1]] = f[2]
			acks++
		}
	}
	if acks != childWrites {
		t.Fatalf("child acknowledged %d writes (%v); want %d", acks, lines.Err(), childWrites)
	}
	// Kill it mid-flush: once the source has some writes, while others
	// are still pending.
	eventually(t, "the child's flusher wrote something", func() bool { return rdb.HLen(ctx, sourceHash(o)).Val() > 0 })
	kill()
	killedAt := time.Now()
	stream := journalOf(o)
	pending, err := rdb.XPending(ctx, stream, "tiercache").Result()
	if err != nil {
		t.Fatal(err)
	}
	if pending.Count == 0 {
		t.Fatalf("no journaled write pending when the child died: the test proves nothing")
	}
	before, _ := rdb.HGetAll(ctx, sourceHash(o)).Result()
	t.Logf("killed the child with %d journal entries pending; the source had %d of %d keys, %d with their last value",
		pending.Count, len(before), len(want), countEqual(before, want))
	return want, killedAt
}

// TestWriteBehindDurableSurvivesSIGKILL runs a durable WriteBehind in a child
// process, kills it with SIGKILL while its flusher is writing, and checks
// that a second instance completes every acknowledged write: the source ends
// with exactly the last value of every key.
func TestWriteBehindDurableSurvivesSIGKILL(t *testing.T) {
	ctx := ctxT(t)
	o := testOptions(t)
	rdb := shared.Client(t)
	want, _ := killChild(t, o, false)
	stream := journalOf(o)

	store := newStore(t)
	w := newWriteBehind(t, store, &hashSource{rdb: rdb, hash: sourceHash(o)}, o, &strategy.WriteBehindConfig[Profile]{
		Durable:      true,
		ClaimIdle:    500 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond,
	})
	eventually(t, "the second instance completed the journal", func() bool {
		return rdb.XLen(ctx, stream).Val() == 0 && w.Stats().Pending == 0
	})
	got, err := rdb.HGetAll(ctx, sourceHash(o)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("source after recovery = %v; want %v", got, want)
	}
	if st := w.Stats(); st.Claimed == 0 {
		t.Errorf("Stats = %+v; want claimed writes", st)
	}
	// And the cache agrees with the source.
	for id, v := range want {
		p, err := w.Get(ctx, id)
		if err != nil || strconv.Itoa(p.Version) != v {
			t.Errorf("Get(%s) = %+v, %v; want version %s", id, p, err, v)
		}
	}
}

// TestWriteBehindDurableRecoversWithinTenSeconds kills a durable
// WriteBehind that runs with the default ClaimIdle and WriteTimeout, and
// checks that another instance, also with the defaults and already running,
// has put every acknowledged write in the source within 10 s of the kill.
func TestWriteBehindDurableRecoversWithinTenSeconds(t *testing.T) {
	ctx := ctxT(t)
	o := testOptions(t)
	rdb := shared.Client(t)
	newWriteBehind(t, newStore(t), &hashSource{rdb: rdb, hash: sourceHash(o)}, o,
		&strategy.WriteBehindConfig[Profile]{Durable: true})
	want, killedAt := killChild(t, o, true)
	const bound = 10 * time.Second
	for {
		got, err := rdb.HGetAll(ctx, sourceHash(o)).Result()
		if err == nil && maps.Equal(got, want) {
			break
		}
		if since := time.Since(killedAt); since > bound {
			t.Fatalf("source %v after the kill = %v (%d of %d keys with their last value); want %v within %v",
				since, got, countEqual(got, want), len(want), want, bound)
		}
		time.Sleep(20 * time.Millisecond) // polling the source: it has no signal
	}
	t.Logf("every acknowledged write was in the source %v after the kill", time.Since(killedAt))
}

func countEqual(got, want map[string]string) int {
	n := 0
	for k, v := range want {
		if got[k] == v {
			n++
		}
	}
	return n
}

// TestWriteBehindDurableClaimsAfterIdle stops an instance whose source hangs
// (its writes stay in the journal) and checks that another instance claims
// them only once idle, and completes them.
func TestWriteBehindDurableClaimsAfterIdle(t *testing.T) {
	ctx := ctxT(t)
	o := testOptions(t)
	rdb := shared.Client(t)
	hung := newWBSource()
	hung.gate = make(chan struct{}) // never opened
	cfg := &strategy.WriteBehindConfig[Profile]{
		Durable:       true,
		FlushInterval: time.Millisecond,
		ClaimIdle:     300 * time.Millisecond,
		WriteTimeout:  100 * time.Millisecond,
	}
	a, err := strategy.NewWriteBehind(newStore(t), hung, o, cfg)
	if err != nil {
		t.Fatal(err)
	}
	written := time.Now() // no entry can be idle for longer than since now
	for v := 1; v <= 3; v++ {
		for _, id := range []string{"x", "y"} {
			if err := a.Set(ctx, id, Profile{ID: id, Version: v}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Delete(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	stream := journalOf(o)
	if n := rdb.XLen(ctx, stream).Val(); n != 7 {
		t.Errorf("journal length = %d; want 7 (every write)", n)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := a.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a hung source = %v; want context.DeadlineExceeded", err)
	}

	src := newWBSource()
	src.put(Profile{ID: "y", Version: 0})
	b := newWriteBehind(t, newStore(t), src, o, cfg)
	eventually(t, "the journal is empty", func() bool { return rdb.XLen(ctx, stream).Val() == 0 && b.Stats().Pending == 0 })
	if d := time.Since(written); d < cfg.ClaimIdle {
		t.Errorf("writes claimed %v after they were written; want at least ClaimIdle %v", d, cfg.ClaimIdle)
	}
	if p, ok := src.get("x"); !ok || p.Version != 3 {
		t.Errorf("source holds %+v, %v for x; want version 3", p, ok)
	}
	if _, ok := src.get("y"); ok {
		t.Errorf("source holds y; want it removed (the last write was a Delete)")
	}
	if st := b.Stats(); st.Claimed != 7 || st.Written != 2 {
		t.Errorf("Stats = %+v; want 7 claimed, 2 written", st)
	}
	// The stopped instance's consumer goes once it is idle and empty.
	eventually(t, "the stopped instance's consumer is dropped", func() bool {
		cs, err := rdb.XInfoConsumers(ctx, stream, "tiercache").Result()
		return err == nil && len(cs) == 1
	})
}

// TestWriteBehindDurableOnCluster runs the journal on a Redis Cluster: its
// script and its multi-ID commands touch one key, so they never fail with
// CROSSSLOT.
func TestWriteBehindDurableOnCluster(t *testing.T) {
	ctx := ctxT(t)
	cluster := redistest.StartClusterT(t)
	rdb := cluster.Client(t)
	store, err := tier.New(&tier.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, entity := range []string{"session", "cart"} {
		o := testOptions(t)
		o.Entity = entity
		src := newWBSource()
		w := newWriteBehind(t, store, src, o, &strategy.WriteBehindConfig[Profile]{
			Durable:      true,
			ClaimIdle:    3 * time.Second, // heartbeats and claims run every second
			WriteTimeout: time.Second,
		})
		for i := range 50 {
			id := fmt.Sprintf("u%d", i%7)
			if err := w.Set(ctx, id, Profile{ID: id, Version: i}); err != nil {
				t.Fatalf("Set on a cluster: %v", err)
			}
		}
		if err := w.Delete(ctx, "u0"); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rdb.XLen(ctx, journalOf(o)).Val(); n != 0 {
			t.Errorf("%s: journal length after Flush = %d; want 0", entity, n)
		}
		if st := w.Stats(); st.JournalErrors != 0 {
			t.Errorf("%s: Stats = %+v; want no journal errors", entity, st)
		}
		for i := 1; i < 7; i++ {
			id := fmt.Sprintf("u%d", i)
			if p, err := w.Get(ctx, id); err != nil || p.Version != 49-(49-i)%7 {
				t.Errorf("%s: Get(%s) = %+v, %v; want version %d", entity, id, p, err, 49-(49-i)%7)
			}
		}
		if _, ok := src.get("u0"); ok {
			t.Errorf("%s: source holds u0 after its Delete", entity)
		}
	}
}
