package middleware

import (
	"errors"
	"fmt"
	"github.com/tiercache/tiercache/internal/testsource"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestLeaderPanics: when the handler panics in the request whose forward
// others wait for, the waiters are released and forward on their own.
func TestLeaderPanics(t *testing.T) {
	const n = 8
	joined := make(chan struct{}, n)
	var once sync.Once
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			for range n - 1 {
				<-joined
			}
			panic(http.ErrAbortHandler) // net/http closes the connection quietly
		}
		respond(200, "ok", "Cache-Control: max-age=60")(w, r)
	})
	e.cache.flights.onWait = func() { joined <- struct{}{} }
	e.client.Transport = &http.Transport{MaxIdleConnsPerHost: n}
	t.Cleanup(e.client.Transport.(*http.Transport).CloseIdleConnections)
	var wg sync.WaitGroup
	var mu sync.Mutex
	oks := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.client.Get(e.srv.URL + "/boom")
			if err != nil {
				return // the panicking leader's client
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) == "ok" {
				mu.Lock()
				oks++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if oks != n-1 {
		t.Errorf("%d waiters got a response; want %d", oks, n-1)
	}
}

// TestCacheStatusEverywhere: every response through the middleware names
// the cache in Cache-Status, whatever path it took.
func TestCacheStatusEverywhere(t *testing.T) {
	e := newEnv(t, nil, respond(200, "x", "Cache-Control: max-age=60"))
	tests := []struct {
		method string
		fields []string
		want   string
	}{
		{"GET", nil, "tiercache; fwd=uri-miss; fwd-status=200; stored"},
		{"GET", nil, "tiercache; hit; ttl="},
		{"HEAD", nil, "tiercache; hit; ttl="},
		{"GET", []string{"Range: bytes=0-0"}, "tiercache; hit; ttl="},
		{"GET", []string{"Upgrade: websocket", "Connection: Upgrade"}, "tiercache; fwd=bypass"},
		{"OPTIONS", nil, "tiercache; fwd=method"},
		{"GET", []string{"Cache-Control: no-cache"}, "tiercache; fwd=request; fwd-status=200; stored"},
		{"POST", nil, "tiercache; fwd=method"},
		{"GET", nil, "tiercache; fwd=uri-miss"},
	}
	for i, tt := range tests {
		got := e.do(tt.method, "/cs", tt.fields...)
		if !strings.HasPrefix(got.cacheStatus, tt.want) {
			t.Errorf("%d: %s %q: Cache-Status %q; want %q...", i, tt.method, tt.fields, got.cacheStatus, tt.want)
		}
	}
}

// TestCacheStatusOrder: the cache appends its member after those of the
// caches behind it (RFC 9211 §2), and does not store theirs.
func TestCacheStatusOrder(t *testing.T) {
	e := newEnv(t, nil, respond(200, "x", "Cache-Control: max-age=60", "Cache-Status: origin-cache; hit"))
	tests := []struct {
		method string
		want   []string
	}{
		{"GET", []string{"origin-cache; hit", "tiercache; fwd=uri-miss; fwd-status=200; stored"}},
		{"POST", []string{"origin-cache; hit", "tiercache; fwd=method"}},
		{"OPTIONS", []string{"origin-cache; hit", "tiercache; fwd=method"}},
	}
	for _, tt := range tests {
		got := e.do(tt.method, "/order").header.Values("Cache-Status")
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: Cache-Status %q; want %q", tt.method, got, tt.want)
		}
	}
	e.get("/order2")
	if got := e.get("/order2").header.Values("Cache-Status"); len(got) != 1 || !strings.HasPrefix(got[0], "tiercache; hit") {
		t.Errorf("hit: Cache-Status %q; want only this cache's hit", got)
	}
}

// TestBackgroundRevalidationPanic: a handler that panics during a
// background revalidation (a goroutine the Cache owns, with no client
// waiting) does not crash the process; the panic is counted and logged,
// and the stale response stays servable.
func TestBackgroundRevalidationPanic(t *testing.T) {
	var logs testsource.LogBuffer
	cfg := &Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	e := newEnv(t, cfg, respond(200, "v1", "Cache-Control: max-age=10, stale-while-revalidate=60", "Age: 20"))
	e.get("/p")
	e.setOrigin(func(w http.ResponseWriter, r *http.Request) { panic("revalidation boom") })
	if got := e.get("/p"); got.body != "v1" || !got.hit() {
		t.Fatalf("stale read: %q %q; want v1 served stale", got.body, got.cacheStatus)
	}
	e.cache.Close() // waits for the background revalidation
	if got := e.cache.Stats().Panics; got != 1 {
		t.Errorf("Stats().Panics = %d; want 1", got)
	}
	if out := logs.String(); !strings.Contains(out, "revalidation boom") || !strings.Contains(out, "panic_test.go") {
		t.Errorf("log lacks the panic value and stack:\n%s", out)
	}
	if got := e.get("/p"); got.body != "v1" || !got.hit() {
		t.Errorf("after the panic: %q %q; want v1 still served", got.body, got.cacheStatus)
	}
}

// TestTransportPanic: a base RoundTripper that panics on the round trip's
// goroutine (owned by the Cache) makes RoundTrip return ErrHandlerPanic
// instead of crashing the process.
func TestTransportPanic(t *testing.T) {
	c, err := New(newStore(t), &Config{KeyPrefix: fmt.Sprintf("rtp%d:", prefixSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := &http.Client{Transport: c.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		panic("base boom")
	}))}
	_, err = client.Get("http://example.com/x")
	if !errors.Is(err, ErrHandlerPanic) || !strings.Contains(err.Error(), "base boom") {
		t.Errorf("Get = %v; want an error wrapping ErrHandlerPanic with the panic value", err)
	}
	if got := c.Stats().Panics; got != 1 {
		t.Errorf("Stats().Panics = %d; want 1", got)
	}
}

// roundTripFunc is a RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
