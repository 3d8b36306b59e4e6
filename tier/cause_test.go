package tier

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestRedisErrorNamesCause reaches Redis in ways that fail (a closed port, a
// server that wants a password) and checks that Set's error and the
// logger's report of a read name the cause, not only a deadline.
func TestRedisErrorNamesCause(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	secured := startServer(t)
	admin := newClient(t, secured.Addr())
	if err := admin.ConfigSet(ctxT(t), "requirepass", "s3cret").Err(); err != nil {
		t.Fatalf("CONFIG SET requirepass: %v", err)
	}

	// retriesWithin is what the README asks of a client: its retries fit
	// in L2Timeout, so the cause of a failure is what it returns.
	retriesWithin := func(opt *redis.Options) *redis.Options {
		opt.MaxRetryBackoff = 8 * time.Millisecond
		return opt
	}
	// A client whose retries fit gets a second for them: its few
	// milliseconds of backoff, on a loaded machine under -race, have taken
	// longer than 100 ms (and the Set then named only the deadline).
	const patient = time.Second
	tests := []struct {
		name      string
		opt       *redis.Options
		l2Timeout time.Duration
		want      string
	}{
		{"closed port", retriesWithin(redistest.ClientOptions(closed)), patient, "connection refused"},
		// With go-redis's default retries the deadline comes first, and
		// the error says whose deadline it was and why the cause is gone.
		{"closed port, default retries", &redis.Options{Addr: closed, ContextTimeoutEnabled: true}, 100 * time.Millisecond, "no reply within L2Timeout (100ms)"},
		{"no password", retriesWithin(redistest.ClientOptions(secured.Addr())), patient, "NOAUTH"},
		{"wrong password", func() *redis.Options {
			o := retriesWithin(redistest.ClientOptions(secured.Addr()))
			o.Password = "wrong"
			return o
		}(), patient, "WRONGPASS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := redis.NewClient(tt.opt)
			t.Cleanup(func() { rdb.Close() })
			var logs syncBuffer
			s := newStore(t, Config{
				Redis:      rdb,
				L2Timeout:  tt.l2Timeout,
				Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
				DisableBus: true,
			})
			ctx := ctxT(t)
			if err := s.Set(ctx, "k", "v", nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Set = %v; want an error naming %q", err, tt.want)
			}
			r, err := s.Get(ctx, "k2", nil, constLoader("loaded").load)
			if err != nil || r.Value != "loaded" || r.Tier != TierSource {
				t.Fatalf("Get = %+v, %v; want the loader's value from the source", r, err)
			}
			if !strings.Contains(logs.String(), tt.want) {
				t.Errorf("log = %q; want it to name %q", logs.String(), tt.want)
			}
		})
	}
}
