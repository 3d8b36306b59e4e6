package redistest

import (
	"context"
	"fmt"
	"time"
)

// poll calls notReady every 50 ms until it returns "" or ctx ends; the
// error then wraps errNotReady and says what was not ready.
func poll(ctx context.Context, errNotReady error, notReady func() string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		why := notReady()
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", errNotReady, why)
		case <-tick.C:
		}
	}
}
