package strategy_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tiercache/tiercache/internal/testsource"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// panicSource panics in its writers while panics > 0 (counting down),
// then writes to a memSource.
type panicSource struct {
	*memSource
	panics atomic.Int64
}

func (p *panicSource) maybePanic(what string) {
	if p.panics.Add(-1) >= 0 {
		panic("source exploded in " + what)
	}
}

func (p *panicSource) Store(ctx context.Context, id string, v Profile) error {
	p.maybePanic("Store")
	return p.memSource.Store(ctx, id, v)
}

func (p *panicSource) Remove(ctx context.Context, id string) error {
	p.maybePanic("Remove")
	return p.memSource.Remove(ctx, id)
}

// panicBatchSource is a panicSource with a batch writer.
type panicBatchSource struct{ *panicSource }

func (p panicBatchSource) StoreBatch(ctx context.Context, items map[string]Profile) error {
	p.maybePanic("StoreBatch")
	for id, v := range items {
		if err := p.memSource.Store(ctx, id, v); err != nil {
			return err
		}
	}
	return nil
}

// TestWriteBehindSourcePanics checks that a panic in the source's Store,
// Remove or StoreBatch, run by the flusher, does not crash the process: it
// is an error wrapping tier.ErrPanic with the panic's value and stack, which
// is retried and then dead-lettered like any failed write, counted, and
// logged.
func TestWriteBehindSourcePanics(t *testing.T) {
	cases := []struct {
		name   string
		batch  bool
		del    bool
		panics int64 // how many calls panic
		dead   bool  // given up (MaxAttempts is 2)
	}{
		{"Store panics once, then writes", false, false, 1, false},
		{"Store always panics", false, false, 1 << 40, true},
		{"Remove always panics", false, true, 1 << 40, true},
		{"StoreBatch always panics", true, false, 1 << 40, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxT(t)
			ps := &panicSource{memSource: newMemSource()}
			ps.panics.Store(c.panics)
			var src strategy.Source[Profile] = ps
			if c.batch {
				src = panicBatchSource{ps}
			}
			var (
				mu   sync.Mutex
				dead []strategy.FailedWrite[Profile]
				logs testsource.LogBuffer
			)
			w := newWriteBehind(t, newStore(t), src, testOptions(t), &strategy.WriteBehindConfig[Profile]{
				MaxAttempts: 2,
				DeadLetter: func(f strategy.FailedWrite[Profile]) {
					mu.Lock()
					defer mu.Unlock()
					dead = append(dead, f)
				},
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			ids := []string{"p1", "p2"}
			for _, id := range ids {
				var err error
				if c.del {
					err = w.Delete(ctx, id)
				} else {
					err = w.Set(ctx, id, Profile{ID: id, Name: "n"})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatalf("Flush = %v; want nil (the writes end written or dead-lettered)", err)
			}
			st := w.Stats()
			if st.Panics == 0 {
				t.Errorf("Stats.Panics = 0; want the panics counted")
			}
			if !strings.Contains(logs.String(), "panic in write-behind") {
				t.Errorf("log = %q; want a line for the panic", logs.String())
			}
			mu.Lock()
			defer mu.Unlock()
			if !c.dead {
				if len(dead) != 0 || st.Written != uint64(len(ids)) {
					t.Errorf("dead letters %d, written %d; want 0 and %d (a panic once is retried)", len(dead), st.Written, len(ids))
				}
				for _, id := range ids {
					if _, err := ps.Load(ctx, id); err != nil {
						t.Errorf("source Load(%q) after the retry = %v; want the write", id, err)
					}
				}
				return
			}
			if len(dead) != len(ids) {
				t.Fatalf("dead letters = %d; want %d", len(dead), len(ids))
			}
			for _, f := range dead {
				if !errors.Is(f.Err, tier.ErrPanic) || !strings.Contains(f.Err.Error(), "source exploded") ||
					!strings.Contains(f.Err.Error(), "goroutine") || f.Attempts != 2 {
					t.Errorf("dead letter %s: attempts %d, err %v; want 2 attempts and an error wrapping ErrPanic with the panic value and stack", f.ID, f.Attempts, f.Err)
				}
			}
		})
	}
}

// TestWriteBehindDeadLetterPanics checks that a panic in the DeadLetter
// hook is recovered and counted: the flusher goes on writing.
func TestWriteBehindDeadLetterPanics(t *testing.T) {
	ctx := ctxT(t)
	ps := &panicSource{memSource: newMemSource()}
	ps.panics.Store(2) // both attempts of the first write
	w := newWriteBehind(t, newStore(t), ps, testOptions(t), &strategy.WriteBehindConfig[Profile]{
		MaxAttempts: 2,
		DeadLetter:  func(strategy.FailedWrite[Profile]) { panic("hook exploded") },
	})
	if err := w.Set(ctx, "a", Profile{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "b", Profile{ID: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Load(ctx, "b"); err != nil {
		t.Errorf("source Load(b) after a panicking hook = %v; want the write", err)
	}
	if st := w.Stats(); st.Panics != 3 || st.DeadLettered != 1 {
		t.Errorf("Panics %d, DeadLettered %d; want 3 (two writes, one hook) and 1", st.Panics, st.DeadLettered)
	}
}
