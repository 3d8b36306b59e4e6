package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the proxy's concurrent log writes.
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

// TestRun runs the proxy end to end: an upstream, the proxy on a free port
// with its own redis-server, and a client.
func TestRun(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	var calls atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Surrogate-Key", "pages")
		io.WriteString(w, "page "+r.URL.Path)
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type addrs struct{ proxy, admin string }
	ready := make(chan addrs, 1)
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{
			listen:   "127.0.0.1:0",
			admin:    "127.0.0.1:0",
			upstream: upstream.URL,
			ready:    func(p, a string) { ready <- addrs{p, a} },
		}, &logs)
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	get := func(path string) (string, string) {
		t.Helper()
		resp, err := client.Get("http://" + a.proxy + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get("Cache-Status")
	}
	steps := []struct {
		path, wantBody, wantStatus string
	}{
		{"/a", "page /a", "tiercache; fwd=uri-miss; fwd-status=200; stored"},
		{"/a", "page /a", "tiercache; hit"},
		{"/b", "page /b", "tiercache; fwd=uri-miss"},
		{"/b", "page /b", "tiercache; hit"},
	}
	for _, s := range steps {
		body, status := get(s.path)
		if body != s.wantBody || !strings.HasPrefix(status, s.wantStatus) {
			t.Errorf("GET %s = %q, %q; want %q, %q...", s.path, body, status, s.wantBody, s.wantStatus)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d; want 2", n)
	}
	resp, err := client.PostForm("http://"+a.admin+"/purge", url.Values{"tag": {"pages"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("purge: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, status := get("/a"); !strings.HasPrefix(status, "tiercache; fwd=uri-miss") {
		t.Errorf("after purge: %q; want a miss", status)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "msg=request"); n != 5 {
		t.Errorf("%d request log lines; want 5:\n%s", n, out)
	}
	if !strings.Contains(out, `cache_status="tiercache; hit; ttl=`) {
		t.Errorf("log lacks a hit's Cache-Status:\n%s", out)
	}
}
