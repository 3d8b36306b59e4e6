package tier

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoaderPanic: a panic in a loader never crashes the process, whatever
// the caller's context and whoever runs the load (the reader, a flight's
// goroutine, a background reload): every reader of the flight gets an error
// wrapping ErrPanic with the panic's value and stack, the lease of the
// panicking load is released, and the panic is counted and logged.
func TestLoaderPanic(t *testing.T) {
	type reader func(ctx context.Context, s *Store, key string, load Loader) error
	storeGet := func(ctx context.Context, s *Store, key string, load Loader) error {
		_, err := s.Get(ctx, key, nil, load)
		return err
	}
	groupGet := func(ctx context.Context, s *Store, key string, load Loader) error {
		g, err := NewGroup(s, GroupConfig[string]{Namespace: "panic", Entity: "e", Load: func(ctx context.Context, id string) (string, error) {
			v, err := load(ctx, id)
			s, _ := v.(string)
			return s, err
		}})
		if err != nil {
			return err
		}
		_, _, err = g.Get(ctx, key)
		return err
	}
	cases := []struct {
		name     string
		read     reader
		group    bool
		deadline bool // the readers' context has a deadline (the load runs on a goroutine of the Store's)
	}{
		{"Store.Get/deadline", storeGet, false, true},
		{"Store.Get/background", storeGet, false, false},
		{"Group.Get/deadline", groupGet, true, true},
		{"Group.Get/background", groupGet, true, false},
	}
	const readers = 3
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out syncBuffer
			s := newStore(t, Config{Logger: slog.New(slog.NewTextHandler(&out, nil))})
			rdb := s.Redis()
			id := testKey(t)
			key := id
			if c.group {
				key = "panic:e:" + id
			}
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			load := func(context.Context, string) (any, error) {
				once.Do(func() { close(entered) })
				<-release
				panic("loader exploded")
			}
			ctx := context.Background()
			if c.deadline {
				ctx = ctxT(t)
			}
			errs := make(chan error, readers)
			go func() { errs <- c.read(ctx, s, id, load) }()
			<-entered
			for i := 1; i < readers; i++ {
				go func() { errs <- c.read(ctx, s, id, load) }()
			}
			waitFor(t, func() bool { return s.Stats().L1Misses == readers })
			close(release)
			for i := 0; i < readers; i++ {
				err := <-errs
				if !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "loader exploded") || !strings.Contains(err.Error(), "goroutine ") {
					t.Errorf("read %d: error %v; want one wrapping ErrPanic with the panic value and stack", i, err)
				}
			}
			if got := s.Stats().LoadPanics; got != 1 {
				t.Errorf("LoadPanics = %d; want 1", got)
			}
			if raw := rawGet(t, rdb, key); raw != nil {
				t.Errorf("key holds %x after the panicking load; want its lease released", raw)
			}
			if !strings.Contains(out.String(), "loader panic") || !strings.Contains(out.String(), "loader exploded") {
				t.Errorf("log %q does not report the panic", out.String())
			}
			// The next read loads again and succeeds.
			if _, err := s.Get(ctxT(t), key, nil, constLoader("ok").load); err != nil {
				t.Errorf("Get after the panic: %v", err)
			}
		})
	}
}

// TestBackgroundReloadPanic: a panic in a refresh-ahead or
// stale-while-revalidate reload, which runs on a goroutine of the Store's,
// is counted and logged and never crashes the process; readers keep the
// cached value.
func TestBackgroundReloadPanic(t *testing.T) {
	cases := []struct {
		name string
		o    Options
	}{
		{"refresh-ahead", Options{TTL: 10 * time.Second, TTLJitter: -1, RefreshAfter: 0.0001}},
		{"stale-while-revalidate", Options{TTL: time.Millisecond, TTLJitter: -1, StaleWhileRevalidate: time.Minute}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out syncBuffer
			s := newStore(t, Config{Logger: slog.New(slog.NewTextHandler(&out, nil))})
			ctx := ctxT(t)
			key := testKey(t)
			if err := s.Set(ctx, key, "cached", &c.o); err != nil {
				t.Fatal(err)
			}
			pastCheckAt(t, key, s) // past the refresh point or the fresh time
			called := make(chan struct{})
			load := func(context.Context, string) (any, error) {
				close(called)
				panic("reload exploded")
			}
			r, err := s.Get(ctx, key, &c.o, load)
			if err != nil || r.Value != "cached" {
				t.Fatalf("Get = %v, %v; want the cached value", r.Value, err)
			}
			select {
			case <-called:
			case <-ctx.Done():
				t.Fatal("the read started no background reload")
			}
			s.Close() // waits for the reload
			st := s.Stats()
			if st.LoadPanics != 1 || st.RefreshErrors != 1 {
				t.Errorf("LoadPanics, RefreshErrors = %d, %d; want 1, 1", st.LoadPanics, st.RefreshErrors)
			}
			if !strings.Contains(out.String(), "reload exploded") {
				t.Errorf("log %q does not report the panic", out.String())
			}
		})
	}
}

// TestBatchLoaderPanic: a panic in a batch load (a LoadMany, or one of the
// single Loads GetMany runs concurrently without one) never crashes the
// process, whatever the caller's context: the ids it was loading come back
// as errors wrapping ErrPanic, named in a *BatchError, the other ids are
// served, and the panics are counted and logged.
func TestBatchLoaderPanic(t *testing.T) {
	for _, c := range []struct {
		name     string
		single   bool // Load run concurrently, no LoadMany
		deadline bool
	}{
		{"LoadMany/background", false, false},
		{"LoadMany/deadline", false, true},
		{"Load/background", true, false},
		{"Load/deadline", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out syncBuffer
			s := newStore(t, Config{Logger: slog.New(slog.NewTextHandler(&out, nil))})
			ok, bad := testKey(t)+"ok", testKey(t)+"bad"
			cfg := GroupConfig[string]{Namespace: batchNamespace(), Entity: "e"}
			if c.single {
				cfg.Load = func(_ context.Context, id string) (string, error) {
					if id == bad {
						panic("boom in Load")
					}
					return "v-" + id, nil
				}
			} else {
				cfg.LoadMany = func(_ context.Context, ids []string) (map[string]string, error) {
					for _, id := range ids {
						if id == bad {
							panic("boom in LoadMany")
						}
					}
					out := map[string]string{}
					for _, id := range ids {
						out[id] = "v-" + id
					}
					return out, nil
				}
			}
			g, err := NewGroup(s, cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if c.deadline {
				ctx = ctxT(t)
			}
			got, err := g.GetMany(ctx, []string{ok, bad})
			var be *BatchError
			if !errors.As(err, &be) || !errors.Is(be.Errs[bad], ErrPanic) || !strings.Contains(be.Errs[bad].Error(), "boom") {
				t.Fatalf("GetMany error = %v; want a *BatchError naming %q with ErrPanic", err, bad)
			}
			if _, served := got[bad]; served {
				t.Errorf("GetMany served %q, whose load panicked", bad)
			}
			if c.single && got[ok] != "v-"+ok {
				t.Errorf("GetMany[%q] = %q; want %q (its own load did not panic)", ok, got[ok], "v-"+ok)
			}
			if n := s.Stats().LoadPanics; n != 1 {
				t.Errorf("Stats.LoadPanics = %d; want 1", n)
			}
			if !strings.Contains(out.String(), "boom") {
				t.Errorf("log = %q; want the panic reported", out.String())
			}
		})
	}
}
