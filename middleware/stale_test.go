package middleware

import (
	"net/http"
	"sync/atomic"
	"testing"
)

// TestStaleWhileRevalidate: a response stale within its
// stale-while-revalidate window is served at once, and one background
// revalidation replaces it.
func TestStaleWhileRevalidate(t *testing.T) {
	// Age: 20 with max-age=10 makes the response stale on arrival, 10 s
	// into its 60 s stale-while-revalidate window.
	e := newEnv(t, nil, respond(200, "v1", "Cache-Control: max-age=10, stale-while-revalidate=60", "Age: 20"))
	e.get("/swr")
	revalidated := make(chan error, 1)
	e.setOrigin(func(w http.ResponseWriter, r *http.Request) {
		revalidated <- r.Context().Err() // detached: never the client's cancellation
		respond(200, "v2", "Cache-Control: max-age=60")(w, r)
	})
	got := e.get("/swr")
	if got.body != "v1" || !got.hit() || !contains(got.cacheStatus, "ttl=-") {
		t.Errorf("stale read: %q %q; want v1 served stale (negative ttl)", got.body, got.cacheStatus)
	}
	if err := <-revalidated; err != nil {
		t.Errorf("background revalidation's context is done: %v", err)
	}
	e.cache.Close() // waits for the background revalidation to finish
	got = e.get("/swr")
	if got.body != "v2" || !got.hit() {
		t.Errorf("after revalidation: %q %q; want v2 from the cache", got.body, got.cacheStatus)
	}
	if n := e.calls.Load(); n != 2 {
		t.Errorf("origin calls = %d; want 2", n)
	}
}

func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name     string
		fields   []string
		wantBody string
		wantCode int
	}{
		{"within window", []string{"Cache-Control: max-age=10, stale-if-error=60", "Age: 20"}, "v1", 200},
		{"beyond window", []string{"Cache-Control: max-age=10, stale-if-error=5", "Age: 20", `ETag: "x"`}, "down", 503},
		{"must-revalidate forbids", []string{"Cache-Control: max-age=10, stale-if-error=60, must-revalidate", "Age: 20"}, "down", 503},
		{"with validators", []string{"Cache-Control: max-age=10, stale-if-error=60", "Age: 20", `ETag: "x"`}, "v1", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, respond(200, "v1", tt.fields...))
			e.get("/sie")
			e.setOrigin(respond(503, "down"))
			got := e.get("/sie")
			if got.status != tt.wantCode || got.body != tt.wantBody {
				t.Errorf("got %d %q (%q); want %d %q", got.status, got.body, got.cacheStatus, tt.wantCode, tt.wantBody)
			}
			if tt.wantCode == 200 && !contains(got.cacheStatus, "fwd-status=503; detail=stale-if-error") {
				t.Errorf("Cache-Status %q; want fwd-status=503; detail=stale-if-error", got.cacheStatus)
			}
		})
	}
}

// TestStaleIfErrorFailures: within stale-if-error, the stored response
// replaces every server error and a handler that fails mid-response (as
// httputil.ReverseProxy panics with http.ErrAbortHandler when the origin's
// connection breaks); a request's own stale-if-error opens the window too.
func TestStaleIfErrorFailures(t *testing.T) {
	abort := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.Write([]byte("partial"))
		panic(http.ErrAbortHandler)
	}
	tests := []struct {
		name   string
		stored string // the stored response's Cache-Control
		req    []string
		origin http.HandlerFunc
		want   string // Cache-Status parameter
	}{
		{"500", "max-age=1, stale-if-error=600", nil, respond(500, "down"), "fwd-status=500; detail=stale-if-error"},
		{"502", "max-age=1, stale-if-error=600", nil, respond(502, "down"), "fwd-status=502; detail=stale-if-error"},
		{"504", "max-age=1, stale-if-error=600", nil, respond(504, "down"), "fwd-status=504; detail=stale-if-error"},
		{"connection failure", "max-age=1, stale-if-error=600", nil, abort, "fwd-status=502; detail=stale-if-error"},
		{"request directive", "max-age=1", []string{"Cache-Control: stale-if-error=600"}, respond(503, "down"), "fwd-status=503; detail=stale-if-error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, respond(200, "v1", "Cache-Control: "+tt.stored, "Age: 20", `ETag: "v1"`))
			e.get("/f")
			e.setOrigin(tt.origin)
			got := e.get("/f", tt.req...)
			if got.status != 200 || got.body != "v1" || !contains(got.cacheStatus, tt.want) {
				t.Errorf("got %d %q (%q); want the stale v1 with %q", got.status, got.body, got.cacheStatus, tt.want)
			}
		})
	}
}

// TestCloseWaitsForRevalidation: Close returns only after the background
// revalidation it started has ended, and cancels it.
func TestCloseWaitsForRevalidation(t *testing.T) {
	e := newEnv(t, nil, respond(200, "v1", "Cache-Control: max-age=10, stale-while-revalidate=60", "Age: 20"))
	e.get("/c")
	started := make(chan struct{})
	var ended atomic.Bool
	e.setOrigin(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // held until Close cancels it
		ended.Store(true)
	})
	e.get("/c")
	<-started
	e.cache.Close()
	if !ended.Load() {
		t.Errorf("Close returned before the background revalidation ended")
	}
}
