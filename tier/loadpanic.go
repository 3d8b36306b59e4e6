package tier

import (
	"context"
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
			v, err = nil, fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack())
			s.stats.loadPanics.Add(1)
			s.report("loader panic", key, err)
		}
	}()
	return load(ctx, id)
}
