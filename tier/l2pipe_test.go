package tier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// cmdLog is a go-redis hook that records how the reads of keys under a
// prefix travel: one by one or in pipelines. gate, when set, holds the
// first single read of the prefix until it is closed.
type cmdLog struct {
	prefix string
	gate   chan struct{}
	// pipeGate, when set, holds every pipeline of reads of the prefix until
	// it is closed; pipeEntered is closed when the first one is held.
	pipeGate, pipeEntered chan struct{}

	mu        sync.Mutex
	singles   []string   // keys read on their own
	pipelines [][]string // keys read together, per pipeline
	gated     bool
}

func (h *cmdLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *cmdLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if k, ok := h.key(cmd); ok {
			h.mu.Lock()
			h.singles = append(h.singles, k)
			hold := h.gate != nil && !h.gated
			h.gated = h.gated || hold
			h.mu.Unlock()
			if hold {
				<-h.gate
			}
		}
		return next(ctx, cmd)
	}
}

func (h *cmdLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var ks []string
		for _, cmd := range cmds {
			if k, ok := h.key(cmd); ok {
				ks = append(ks, k)
			}
		}
		if len(ks) > 0 {
			h.mu.Lock()
			h.pipelines = append(h.pipelines, ks)
			first := len(h.pipelines) == 1
			h.mu.Unlock()
			if h.pipeGate != nil {
				if first {
					close(h.pipeEntered)
				}
				<-h.pipeGate
			}
		}
		return next(ctx, cmds)
	}
}

// key returns the key of a read (GET, or SET NX GET) under the prefix.
func (h *cmdLog) key(cmd redis.Cmder) (string, bool) {
	args := cmd.Args()
	if len(args) < 2 {
		return "", false
	}
	k, _ := args[1].(string)
	read := cmd.Name() == "get" || (cmd.Name() == "set" && len(args) > 4 && fmt.Sprint(args[4]) == "get")
	return k, read && strings.HasPrefix(k, h.prefix)
}

// queued returns how many reads wait in s's read pipe.
func queued(s *Store) int {
	p := s.l2.pipe
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.queue == nil {
		return 0
	}
	return len(p.queue.reads)
}

// Reads of different keys issued while another read is in flight go out
// together in one pipeline, and each reader gets its own key's value; a
// read with nothing else in flight goes out alone, at once.
func TestReadsSharePipelines(t *testing.T) {
	ctx := ctxT(t)
	prefix := testKey(t) + ":"
	h := &cmdLog{prefix: prefix, gate: make(chan struct{})}
	rdb := newClient(t, shared.Addr())
	rdb.AddHook(h)
	s := newStore(t, Config{Redis: rdb, DisableBus: true})
	const n = 20
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%d", prefix, i)
		if err := s.Set(ctx, keys[i], sampleUser(int64(i)), &userOptions); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	s.ClearLocal()
	l := constLoader(sampleUser(-1))

	type answer struct {
		r   Result
		err error
	}
	answers := make([]chan answer, n)
	read := func(i int) {
		answers[i] = make(chan answer, 1)
		go func() {
			r, err := s.Get(ctx, keys[i], &userOptions, l.load)
			answers[i] <- answer{r, err}
		}()
	}
	read(0) // goes alone, held at the gate
	waitFor(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.gated
	})
	for i := 1; i < n; i++ {
		read(i)
	}
	waitFor(t, func() bool { return queued(s) == n-1 })
	close(h.gate)
	for i := range n {
		a := <-answers[i]
		if a.err != nil || a.r.Tier != TierL2 || a.r.Value.(user).ID != int64(i) {
			t.Errorf("Get(%q) = %v, %v, %v; want user %d from L2", keys[i], a.r.Value, a.r.Tier, a.err, i)
		}
	}
	if got := l.calls.Load(); got != 0 {
		t.Errorf("loads = %d; want 0 (every key is in L2)", got)
	}
	h.mu.Lock()
	singles, pipelines := h.singles, h.pipelines
	h.mu.Unlock()
	if len(singles) != 1 || singles[0] != keys[0] {
		t.Errorf("reads sent alone = %q; want only %q", singles, keys[0])
	}
	if len(pipelines) != 1 || len(pipelines[0]) != n-1 {
		t.Fatalf("pipelines = %q; want one of the %d queued reads", pipelines, n-1)
	}

	// Idle again: a read goes out alone, not in a pipeline.
	s.ClearLocal()
	if _, err := s.Get(ctx, keys[1], &userOptions, l.load); err != nil {
		t.Fatalf("Get: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.singles) != 2 || len(h.pipelines) != 1 {
		t.Errorf("after an idle read: %d single reads, %d pipelines; want 2 and 1", len(h.singles), len(h.pipelines))
	}
}

// The pipe keeps every key on its node on a cluster: concurrent reads of
// keys spread over all masters each get their own value.
func TestReadsSharePipelinesCluster(t *testing.T) {
	ctx := ctxT(t)
	rdb := topologies()[1].client(t)
	s := newStore(t, Config{Redis: rdb, DisableBus: true})
	prefix := testKey(t) + ":"
	const n = 200
	for i := range n {
		if err := s.Set(ctx, fmt.Sprintf("%s%d", prefix, i), sampleUser(int64(i)), &userOptions); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	s.ClearLocal()
	l := constLoader(sampleUser(-1))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("%s%d", prefix, i)
			r, err := s.Get(ctx, key, &userOptions, l.load)
			if err != nil || r.Value.(user).ID != int64(i) {
				t.Errorf("Get(%q) = %v, %v; want user %d", key, r.Value, err, i)
			}
		})
	}
	wg.Wait()
	if got := l.calls.Load(); got != 0 {
		t.Errorf("loads = %d; want 0", got)
	}
}

// A read queued behind one that hangs is bounded by its own L2Timeout from
// when it was issued, not by the hung read's plus its own: while Redis
// does not answer, every reader has the source's answer within about one
// L2Timeout.
func TestQueuedReadBoundedByL2Timeout(t *testing.T) {
	ctx := ctxT(t)
	srv := startServer(t)
	proxy := startProxy(t, srv.Addr())
	const timeout = 500 * time.Millisecond
	s := newStore(t, Config{Redis: newClient(t, proxy.Addr()), L2Timeout: timeout, DisableBus: true, BreakerFailures: -1})
	l := constLoader(sampleUser(7))
	key := testKey(t)
	if _, err := s.Get(ctx, key+":warm", &userOptions, l.load); err != nil {
		t.Fatalf("warm-up Get: %v", err)
	}
	proxy.SetBlackhole(true)
	const n = 8
	took := make(chan time.Duration, n)
	first := make(chan struct{})
	go func() {
		start := time.Now()
		close(first)
		if _, err := s.Get(ctx, key+":0", &userOptions, l.load); err != nil {
			t.Errorf("Get: %v", err)
		}
		took <- time.Since(start)
	}()
	<-first
	waitFor(t, func() bool {
		p := s.l2.pipe
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.busy
	})
	for i := 1; i < n; i++ {
		go func() {
			start := time.Now()
			if _, err := s.Get(ctx, fmt.Sprintf("%s:%d", key, i), &userOptions, l.load); err != nil {
				t.Errorf("Get: %v", err)
			}
			took <- time.Since(start)
		}()
	}
	// Every one of them queued behind the hung read, not sent alone after it.
	waitFor(t, func() bool { return queued(s) == n-1 })
	var worst time.Duration
	for range n {
		worst = max(worst, <-took)
	}
	// Queued behind the hung read and then sent with a whole L2Timeout of
	// their own, reads would take two L2Timeouts.
	if worst >= timeout*3/2 {
		t.Errorf("slowest read took %v; want under 1.5 x L2Timeout (%v)", worst, timeout)
	}
	proxy.SetBlackhole(false)
}

// A reader that leaves while its lease-taking read is in a pipeline on its
// way gets an error at once; the lease the read takes when it lands is
// released after it, not left for FillLockTTL to make every reader of the
// key wait.
func TestQueuedLeaseReleasedWhenReaderLeaves(t *testing.T) {
	ctx := ctxT(t)
	prefix := testKey(t) + ":"
	h := &cmdLog{prefix: prefix, gate: make(chan struct{}), pipeGate: make(chan struct{}), pipeEntered: make(chan struct{})}
	rdb := newClient(t, shared.Addr())
	rdb.AddHook(h)
	s := newStore(t, Config{Redis: rdb, DisableBus: true, FillLockTTL: time.Minute})
	l := constLoader(sampleUser(1))
	first := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx, prefix+"first", &userOptions, l.load)
		first <- err
	}()
	waitFor(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.gated
	})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	key := prefix + "left"
	left := make(chan error, 1)
	go func() {
		_, err := s.Get(rctx, key, &userOptions, l.load)
		left <- err
	}()
	waitFor(t, func() bool { return queued(s) == 1 })
	close(h.gate)   // the first read returns; the queued one is sent, held in its pipeline
	<-h.pipeEntered // sent: the reader leaves before the answer
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("Get of a reader that left = %v; want context.Canceled", err)
	}
	close(h.pipeGate) // the SET NX GET lands and takes the lease
	if err := <-first; err != nil {
		t.Fatalf("first Get: %v", err)
	}
	waitFor(t, func() bool { return rawGet(t, rdb, key) == nil })
}
