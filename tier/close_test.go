package tier

import (
	"context"
	"errors"
	"testing"
)

// Close cancels a load in flight and returns only once it has ended, so that
// no goroutine of the Store outlives it.
func TestCloseWaitsForFlight(t *testing.T) {
	s, err := New(&Config{Redis: shared.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	started, ended := make(chan struct{}), make(chan struct{})
	l := &loader{fn: func(ctx context.Context, _ string) (any, error) {
		close(started)
		<-ctx.Done()
		close(ended)
		return nil, ctx.Err()
	}}
	done := make(chan error, 1)
	go func() {
		_, err := s.Get(context.Background(), testKey(t), nil, l.load)
		done <- err
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	default:
		t.Fatal("Close returned while the load was still running")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Get during Close: %v; want context.Canceled", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
