package strategy_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tiercache/tiercache/middleware"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// TestErrClosedOneValue closes each layer and checks that the error it
// returns matches tier.ErrClosed (and so the other packages' ErrClosed),
// whichever layer returned it.
func TestErrClosedOneValue(t *testing.T) {
	ctx := ctxT(t)
	errs := map[string]func(t *testing.T) error{
		"tier.Store.Delete": func(t *testing.T) error {
			s, err := tier.New(nil)
			if err != nil {
				t.Fatalf("tier.New: %v", err)
			}
			s.Close()
			return s.Delete(ctx, "k")
		},
		"strategy.WriteBehind.Set": func(t *testing.T) error {
			wb, err := strategy.NewWriteBehind[Profile](newStore(t), newMemSource(), testOptions(t), &strategy.WriteBehindConfig[Profile]{})
			if err != nil {
				t.Fatalf("NewWriteBehind: %v", err)
			}
			if err := wb.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			return wb.Set(ctx, "1", Profile{ID: "1"})
		},
		"middleware.Transport.RoundTrip": func(t *testing.T) error {
			c, err := middleware.New(newStore(t), nil)
			if err != nil {
				t.Fatalf("middleware.New: %v", err)
			}
			rt := c.Transport(http.DefaultTransport)
			if err := c.Close(); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			return err
		},
	}
	for name, get := range errs {
		t.Run(name, func(t *testing.T) {
			err := get(t)
			for _, want := range []error{tier.ErrClosed, strategy.ErrClosed, middleware.ErrClosed} {
				if !errors.Is(err, want) {
					t.Errorf("err = %v; want errors.Is(err, %v)", err, want)
				}
			}
		})
	}
}
