package background

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Close cancels the Group's context, waits for what Go started, and
// refuses new work afterwards; the zero Group is ready to use.
func TestGroupCloseCancelsAndWaits(t *testing.T) {
	var g Group
	started, ended := make(chan struct{}), make(chan struct{})
	if !g.Go(func() {
		close(started)
		<-g.Context().Done()
		close(ended)
	}) {
		t.Fatal("Go on a new Group = false; want true")
	}
	<-started
	if !g.Close() {
		t.Error("first Close = false; want true")
	}
	select {
	case <-ended:
	default:
		t.Fatal("Close returned before the goroutine ended")
	}
	if g.Go(func() { t.Error("a goroutine ran after Close") }) {
		t.Error("Go after Close = true; want false")
	}
	if g.Start() {
		t.Error("Start after Close = true; want false")
	}
	if !g.Closed() {
		t.Error("Closed after Close = false; want true")
	}
	if g.Close() {
		t.Error("second Close = true; want false")
	}
}

// Close waits for work registered with Start until Done.
func TestGroupStartDone(t *testing.T) {
	var g Group
	if !g.Start() {
		t.Fatal("Start = false; want true")
	}
	closed := make(chan struct{})
	go func() {
		g.Close()
		close(closed)
	}()
	<-g.Context().Done() // Close has begun
	select {
	case <-closed:
		t.Fatal("Close returned before Done")
	case <-time.After(20 * time.Millisecond):
	}
	g.Done()
	<-closed
}

// Detach keeps the caller's values, not its cancellation, and ends at its
// timeout or at Close.
func TestGroupDetach(t *testing.T) {
	type key struct{}
	var g Group
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	ctx, cancel := g.Detach(parent, time.Hour)
	defer cancel()
	cancelParent()
	if err := ctx.Err(); err != nil {
		t.Fatalf("detached ctx after the parent's cancel: %v; want nil", err)
	}
	if got := ctx.Value(key{}); got != "v" {
		t.Errorf("detached ctx value = %v; want v", got)
	}
	g.Close()
	<-ctx.Done() // Close cancels it from another goroutine
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("detached ctx after Close: %v; want context.Canceled", err)
	}

	var g2 Group
	short, cancel2 := g2.Detach(context.Background(), time.Millisecond)
	defer cancel2()
	<-short.Done()
	if err := short.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("detached ctx after its timeout: %v; want context.DeadlineExceeded", err)
	}
	g2.Close()
}
