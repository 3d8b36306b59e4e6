package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/tiercache/tiercache/internal/redistest"
)

// shared is the redis-server of the REDIS_URL case.
var shared *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &shared) }

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRun(t *testing.T) {
	l2 := []string{
		"first read:              teapot costs 1800, answered by the source",
		"second read:             teapot costs 1800, answered by L1",
		"after L1 cleared:        teapot costs 1800, answered by L2 (Redis)",
		"after a price change:    teapot costs 1500, answered by the source",
		"missing product:         not found, answered by the source",
		"answered by L1 1, L2 1, source 3",
	}
	l1Only := []string{
		"first read:              teapot costs 1800, answered by the source",
		"second read:             teapot costs 1800, answered by L1",
		"after L1 cleared:        teapot costs 1800, answered by the source",
		"after a price change:    teapot costs 1500, answered by the source",
		"missing product:         not found, answered by the source",
		"answered by L1 1, L2 0, source 4",
	}
	tests := []struct {
		name     string
		redisURL string
		path     string // "" keeps PATH (and its redis-server)
		wantOut  []string
		wantLogs []string
		notLogs  []string
	}{
		{name: "own redis-server", wantOut: l2, notLogs: []string{"L1 only"}},
		{name: "REDIS_URL", redisURL: shared.URL(), wantOut: l2, notLogs: []string{"L1 only"}},
		{
			name: "no redis-server", path: t.TempDir(), wantOut: l1Only,
			wantLogs: []string{"no REDIS_URL and no redis-server on the PATH: running with L1 only", "apt-get install -y redis-server", "REDIS_URL="},
		},
		{
			name: "REDIS_URL unreachable", redisURL: "redis://" + closedPort(t), wantOut: l1Only,
			wantLogs: []string{"connection refused", "price change saved; its cache invalidation waits for Redis"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REDIS_URL", tt.redisURL)
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			}
			var out, logs bytes.Buffer
			if err := run(context.Background(), &out, &logs); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			for _, want := range tt.wantLogs {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs lack %q:\n%s", want, logs.String())
				}
			}
			for _, bad := range tt.notLogs {
				if strings.Contains(logs.String(), bad) {
					t.Errorf("logs hold %q:\n%s", bad, logs.String())
				}
			}
		})
	}
}
