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
	})
	ctx := ctxT(t)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	l := constLoader(1)
	for i := 0; i < 20; i++ {
		if _, err := s.Get(ctx, testKey(t), nil, l.load); err != nil {
			t.Fatalf("Get with Redis down: %v", err)
		}
	}
	if errs := s.Stats().L2Errors; errs < 20 {
		t.Errorf("L2Errors = %d; want at least 20", errs)
	}
	lines := strings.Count(out.String(), "\n")
	if lines != 1 {
		t.Errorf("logged %d lines for 20 failures within a second; want 1:\n%s", lines, out.String())
	}
	if !strings.Contains(out.String(), "level=WARN") || !strings.Contains(out.String(), "tier: redis get") {
		t.Errorf("log line %q lacks the level or the failed call", out.String())
	}
}
