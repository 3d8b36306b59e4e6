package tier

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// callLoader calls load for r's id. A panic in it never leaves the call: it
// becomes an error wrapping ErrPanic, with the panic's value and stack,
// counted in Stats.LoadPanics and reported through the logger. So a
// panicking loader behaves the same on the caller's goroutine and on one of
// the Store's (a flight, a background reload): every reader of the flight
// gets the error and the process goes on.
func (s *Store) callLoader(ctx context.Context, load Loader, key, id string) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, panicError(p)
			s.stats.loadPanics.Add(1)
			s.report("loader panic", key, err)
		}
	}()
	return load(ctx, id)
}

// callBatchLoader calls loadMany for ids as callLoader calls a Loader: a
// panic in it fails every id with an error wrapping ErrPanic, and the
// panics of single loads it ran for some ids (see batchLoaderOf), which
// come back as those ids' errors, are counted and reported as well.
func (s *Store) callBatchLoader(ctx context.Context, loadMany BatchLoader, ids []string) (vals map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			vals, err = nil, panicError(p)
			s.stats.loadPanics.Add(1)
			s.report("batch loader panic", "", err)
		}
	}()
	vals, err = loadMany(ctx, ids)
	var per *BatchError
	if errors.As(err, &per) {
		for id, e := range per.Errs {
			if errors.Is(e, ErrPanic) {
				s.stats.loadPanics.Add(1)
				s.report("loader panic", id, e)
			}
		}
	}
	return vals, err
}

// panicError is the error that stands for a recovered panic: its value
// and the stack of the goroutine that panicked.
func panicError(p any) error {
	return fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack())
}

// recoverInto sets *err to the error of a panic in progress, if any. It
// must be deferred directly.
func recoverInto(err *error) {
	if p := recover(); p != nil {
		*err = panicError(p)
	}
}
