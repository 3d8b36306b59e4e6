package tier

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLoggerRateLimited(t *testing.T) {
	srv := startServer(t)
	var out syncBuffer
	s := newStore(t, Config{
		Redis:     srv.Client(t),
		L2Timeout: 50 * time.Millisecond,
		Logger:    slog.New(slog.NewTextHandler(&out, nil)),
		// Every read tries Redis, and only reads log.
		BreakerFailures: -1,
		DisableBus:      true,
	})
	ctx := ctxT(t)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	l := constLoader(1)
	start := time.Now()
	for i := 0; i < 20; i++ {
		if _, err := s.Get(ctx, testKey(t), nil, l.load); err != nil {
			t.Fatalf("Get with Redis down: %v", err)
		}
	}
	if errs := s.Stats().L2Errors; errs < 20 {
		t.Errorf("L2Errors = %d; want at least 20", errs)
	}
	// Each failure takes up to the L2 timeout: the 20 may span more than a
	// second, and then a line per second is allowed.
	lines := strings.Count(out.String(), "\n")
	if want := 1 + int(time.Since(start)/time.Second); lines < 1 || lines > want {
		t.Errorf("logged %d lines for 20 failures; want 1 to %d (one a second):\n%s", lines, want, out.String())
	}
	if !strings.Contains(out.String(), "level=WARN") || !strings.Contains(out.String(), "tier: redis") {
		t.Errorf("log line %q lacks the level or the failed call", out.String())
	}
}
