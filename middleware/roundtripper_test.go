package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// clientEnv is an http.Client whose Transport is a Cache, in front of an
// upstream server.
type clientEnv struct {
	t        *testing.T
	calls    atomic.Int64
	upstream *httptest.Server
	cache    *Cache
	client   *http.Client
	handler  atomic.Pointer[http.HandlerFunc]
}

func newClientEnv(t *testing.T, cfg Config, h http.HandlerFunc) *clientEnv {
	cfg.KeyPrefix = fmt.Sprintf("rt%d:", prefixSeq.Add(1))
	e := &clientEnv{t: t}
	e.handler.Store(&h)
	e.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		(*e.handler.Load())(w, r)
	}))
	t.Cleanup(e.upstream.Close)
	c, err := New(newStore(t), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.cache = c
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	e.client = &http.Client{Transport: c.Transport(base)}
	return e
}

func (e *clientEnv) get(path string, fields ...string) (reply, error) {
	req, _ := http.NewRequest(http.MethodGet, e.upstream.URL+path, nil)
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		req.Header.Add(name, strings.TrimSpace(value))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), cacheStatus: resp.Header.Get("Cache-Status")}, err
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name      string
		private   bool
		fields    []string
		req       []string
		wantCalls int64
	}{
		{name: "shared max-age", fields: []string{"Cache-Control: max-age=60"}, wantCalls: 1},
		{name: "shared private", fields: []string{"Cache-Control: private, max-age=60"}, wantCalls: 2},
		{name: "private private", private: true, fields: []string{"Cache-Control: private, max-age=60"}, wantCalls: 1},
		{name: "shared Authorization", req: []string{"Authorization: Bearer a"}, fields: []string{"Cache-Control: max-age=60"}, wantCalls: 2},
		{name: "private Authorization", private: true, req: []string{"Authorization: Bearer a"}, fields: []string{"Cache-Control: max-age=60"}, wantCalls: 1},
		{name: "private ignores s-maxage", private: true, fields: []string{"Cache-Control: s-maxage=60, max-age=0"}, wantCalls: 2},
		{name: "no-store", fields: []string{"Cache-Control: no-store, max-age=60"}, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newClientEnv(t, Config{Private: tt.private}, respond(200, "api answer", tt.fields...))
			for i := range 2 {
				got, err := e.get("/api", tt.req...)
				if err != nil || got.status != 200 || got.body != "api answer" {
					t.Fatalf("request %d: %d %q %v", i, got.status, got.body, err)
				}
			}
			if n := e.calls.Load(); n != tt.wantCalls {
				t.Errorf("upstream calls = %d; want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	e := newClientEnv(t, Config{}, respond(200, "v1", "Cache-Control: max-age=10, stale-if-error=60", "Age: 20"))
	if got, err := e.get("/a"); err != nil || got.body != "v1" {
		t.Fatalf("first: %q %v", got.body, err)
	}
	e.upstream.Close() // the upstream is gone: round trips fail
	got, err := e.get("/a")
	if err != nil || got.body != "v1" || !contains(got.cacheStatus, "stale-if-error") {
		t.Errorf("stale-if-error: %q %q %v; want the stale v1", got.body, got.cacheStatus, err)
	}
	if _, err := e.get("/b"); err == nil {
		t.Errorf("a miss with the upstream gone: no error")
	}
	e.cache.Close()
	if _, err := e.get("/b"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v; want ErrClosed", err)
	}
}

// TestTransportStreams: a large response streams to the client while the
// upstream still writes, and an abandoned body ends the round trip.
func TestTransportStreams(t *testing.T) {
	release := make(chan struct{})
	e := newClientEnv(t, Config{MaxBodyBytes: 1024}, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 4096))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	resp, err := e.client.Get(e.upstream.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatalf("first 4096 bytes: %v", err)
	}
	resp.Body.Close() // abandoned before the end
	close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.upstream.URL+"/big", nil)
	if _, err := e.client.Do(req); err == nil {
		t.Errorf("a cancelled request succeeded")
	}
}
