package strategy_test

import (
	"context"
	"testing"

	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// newWriteBehind builds a WriteBehind that is closed (flushed) at cleanup.
func newWriteBehind(t *testing.T, store *tier.Store, src strategy.Source[Profile], o strategy.Options, cfg strategy.WriteBehindConfig[Profile]) *strategy.WriteBehind[Profile] {
	t.Helper()
	w, err := strategy.NewWriteBehind(store, src, o, cfg)
	if err != nil {
		t.Fatalf("NewWriteBehind: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}
