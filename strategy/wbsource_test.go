package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// newWriteBehind builds a WriteBehind that is shut down (flushed) at cleanup.
func newWriteBehind(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options, cfg *strategy.WriteBehindConfig[Profile]) *strategy.WriteBehind[Profile] {
	t.Helper()
	w, err := strategy.NewWriteBehind(store, src, o, cfg)
	if err != nil {
		t.Fatalf("NewWriteBehind: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return w
}

// wbSource is a source for write-behind tests: it records every write and
// batch, and can fail or hold writes.
type wbSource struct {
	*memSource
	mu      sync.Mutex
	batches []int          // sizes of StoreBatch calls
	fail    map[string]int // id → how many more writes of it fail (-1: all)
	gate    chan struct{}  // when not nil, writes wait until it is closed
	entered chan struct{}  // when not nil, writes signal it on entry
	calls   map[string]int // id → write attempts
}

func newWBSource() *wbSource {
	return &wbSource{memSource: newMemSource(), fail: map[string]int{}, calls: map[string]int{}}
}

var errWrite = errors.New("source write failed")

// enter runs at the start of every write: it counts the attempt, waits at
// the gate, and decides whether the write fails.
func (s *wbSource) enter(ctx context.Context, id string) error {
	s.mu.Lock()
	s.calls[id]++
	gate, entered := s.gate, s.entered
	failing := s.fail[id]
	if failing > 0 {
		s.fail[id]--
	}
	s.mu.Unlock()
	if entered != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if failing != 0 {
		return fmt.Errorf("%w: %s", errWrite, id)
	}
	return nil
}

func (s *wbSource) Store(ctx context.Context, id string, p Profile) error {
	if err := s.enter(ctx, id); err != nil {
		return err
	}
	return s.memSource.Store(ctx, id, p)
}

func (s *wbSource) Remove(ctx context.Context, id string) error {
	if err := s.enter(ctx, id); err != nil {
		return err
	}
	return s.memSource.Remove(ctx, id)
}

func (s *wbSource) attempts(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// batchSource is a wbSource with a batch writer.
type batchSource struct{ *wbSource }

var _ strategy.BatchStorer[Profile] = batchSource{}

func (s batchSource) StoreBatch(ctx context.Context, items map[string]Profile) error {
	s.mu.Lock()
	s.batches = append(s.batches, len(items))
	s.mu.Unlock()
	for id, p := range items {
		if err := s.Store(ctx, id, p); err != nil {
			return err
		}
	}
	return nil
}
