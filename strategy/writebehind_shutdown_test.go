package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tiercache/tiercache/strategy"
)

func TestWriteBehindFlushAndShutdown(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newWBSource()
	w, err := strategy.NewWriteBehind(store, src, testOptions(t), &strategy.WriteBehindConfig[Profile]{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.Set(ctx, fmt.Sprint(i), Profile{Version: i}); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.stores.Load(); n != 0 {
		t.Fatalf("source writes before Flush = %d; want 0 (interval is an hour)", n)
	}
	if got, err := w.Get(ctx, "3"); err != nil || got.Version != 3 {
		t.Errorf("Get of a queued write = %+v, %v; want version 3", got, err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := src.stores.Load(); n != 5 {
		t.Errorf("source writes after Flush = %d; want 5", n)
	}
	// A Delete after a Set of the same id wins, and Shutdown flushes it.
	if err := w.Set(ctx, "9", Profile{Version: 9}); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "2", Profile{Version: 20}); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, "2"); err != nil {
		t.Fatal(err)
	}
	if err := w.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range []struct {
		id   string
		want bool
	}{{"9", true}, {"1", false}, {"2", false}, {"0", true}} {
		if _, ok := src.get(c.id); ok != c.want {
			t.Errorf("after Shutdown, source holds %s: %v; want %v", c.id, ok, c.want)
		}
	}
	if n := src.stores.Load(); n != 6 {
		t.Errorf("source writes = %d; want 6 (the Set of 2 was replaced by its Delete)", n)
	}
	if err := w.Set(ctx, "x", Profile{}); !errors.Is(err, strategy.ErrClosed) {
		t.Errorf("Set after Shutdown = %v; want ErrClosed", err)
	}
	if err := w.Delete(ctx, "x"); !errors.Is(err, strategy.ErrClosed) {
		t.Errorf("Delete after Shutdown = %v; want ErrClosed", err)
	}
	if err := w.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v; want nil", err)
	}
}

func TestWriteBehindShutdownHandsUnfinishedWritesToDeadLetter(t *testing.T) {
	ctx := ctxT(t)
	store := newStore(t)
	src := newWBSource()
	src.gate = make(chan struct{}) // never opened: the source hangs
	var dead []strategy.FailedWrite[Profile]
	w, err := strategy.NewWriteBehind(store, src, testOptions(t), &strategy.WriteBehindConfig[Profile]{
		FlushInterval: time.Millisecond,
		DeadLetter:    func(f strategy.FailedWrite[Profile]) { dead = append(dead, f) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "1", Profile{Version: 1}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := w.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a hung source = %v; want context.DeadlineExceeded", err)
	}
	if len(dead) != 1 || dead[0].ID != "1" || !errors.Is(dead[0].Err, strategy.ErrClosed) {
		t.Errorf("dead letters = %+v; want write 1 wrapping ErrClosed", dead)
	}
}
