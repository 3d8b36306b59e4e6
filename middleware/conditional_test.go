package middleware

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestConditionalFromCache(t *testing.T) {
	lm := httpDate(-time.Hour)
	fields := []string{"Cache-Control: max-age=60", `ETag: "v1"`, "Last-Modified: " + lm}
	tests := []struct {
		name       string
		req        []string
		wantStatus int
	}{
		{"If-None-Match strong", []string{`If-None-Match: "v1"`}, 304},
		{"If-None-Match weak compare", []string{`If-None-Match: W/"v1"`}, 304},
		{"If-None-Match list", []string{`If-None-Match: "x", "v1"`}, 304},
		{"If-None-Match star", []string{`If-None-Match: *`}, 304},
		{"If-None-Match other", []string{`If-None-Match: "v2"`}, 200},
		{"If-Modified-Since later", []string{"If-Modified-Since: " + httpDate(0)}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since: " + httpDate(-2*time.Hour)}, 200},
		{"If-Modified-Since invalid", []string{"If-Modified-Since: yesterday"}, 200},
		{"If-None-Match wins", []string{`If-None-Match: "v2"`, "If-Modified-Since: " + httpDate(0)}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, respond(200, "body", fields...))
			e.get("/c")
			got := e.get("/c", tt.req...)
			if got.status != tt.wantStatus || !got.hit() {
				t.Errorf("status %d, Cache-Status %q; want %d from the cache", got.status, got.cacheStatus, tt.wantStatus)
			}
			if tt.wantStatus == 304 && (got.body != "" || got.header.Get("Etag") != `"v1"`) {
				t.Errorf("304 body %q, ETag %q; want empty, \"v1\"", got.body, got.header.Get("Etag"))
			}
			if e.calls.Load() != 1 {
				t.Errorf("origin calls = %d; want 1", e.calls.Load())
			}
		})
	}
}

// TestConditionalMiss: a conditional request that misses is forwarded
// unconditionally, so that the response can be stored, and the client still
// gets its 304.
func TestConditionalMiss(t *testing.T) {
	var sawINM atomic.Value
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		sawINM.Store(r.Header.Get("If-None-Match"))
		respond(200, "body", "Cache-Control: max-age=60", `ETag: "v1"`)(w, r)
	})
	got := e.get("/m", `If-None-Match: "v1"`)
	if got.status != 304 || !strings.Contains(got.cacheStatus, "stored") {
		t.Errorf("status %d, Cache-Status %q; want 304, stored", got.status, got.cacheStatus)
	}
	if s := sawINM.Load().(string); s != "" {
		t.Errorf("origin saw If-None-Match %q; want none", s)
	}
	if got := e.get("/m"); got.status != 200 || got.body != "body" || !got.hit() {
		t.Errorf("then %d %q %q; want 200 body hit", got.status, got.body, got.cacheStatus)
	}
}

// TestRevalidation: a stale response with validators is revalidated with
// the origin; a 304 refreshes its header and freshness (RFC 9111 §4.3.4).
func TestRevalidation(t *testing.T) {
	var sawINM, sawIMS atomic.Value
	lm := httpDate(-time.Hour)
	e := newEnv(t, nil, respond(200, "body v1", "Cache-Control: max-age=0", `ETag: "v1"`, "Last-Modified: "+lm, "X-Version: 1"))
	if got := e.get("/rv"); got.body != "body v1" {
		t.Fatalf("first body %q", got.body)
	}
	e.setOrigin(func(w http.ResponseWriter, r *http.Request) {
		sawINM.Store(r.Header.Get("If-None-Match"))
		sawIMS.Store(r.Header.Get("If-Modified-Since"))
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("X-Version", "2")
		w.WriteHeader(http.StatusNotModified)
	})
	got := e.get("/rv", `If-None-Match: "client-copy"`)
	if got.status != 200 || got.body != "body v1" || got.header.Get("X-Version") != "2" {
		t.Errorf("revalidated: %d %q X-Version %q; want 200 \"body v1\" 2", got.status, got.body, got.header.Get("X-Version"))
	}
	if !strings.Contains(got.cacheStatus, "fwd=stale; fwd-status=304; stored") {
		t.Errorf("Cache-Status %q; want fwd=stale; fwd-status=304; stored", got.cacheStatus)
	}
	if sawINM.Load() != `"v1"` || sawIMS.Load() != lm {
		t.Errorf("origin saw If-None-Match %q, If-Modified-Since %q; want the stored validators", sawINM.Load(), sawIMS.Load())
	}
	// Refreshed: fresh for 60 s now.
	got = e.get("/rv")
	if !got.hit() || got.body != "body v1" || got.header.Get("X-Version") != "2" {
		t.Errorf("after refresh: %q %q X-Version %q; want a hit of the refreshed response", got.body, got.cacheStatus, got.header.Get("X-Version"))
	}
	if n := e.calls.Load(); n != 2 {
		t.Errorf("origin calls = %d; want 2", n)
	}
	// A changed representation replaces it.
	e.setOrigin(respond(200, "body v2", "Cache-Control: max-age=60", `ETag: "v2"`))
	if got := e.get("/rv", "Cache-Control: no-cache"); got.body != "body v2" {
		t.Errorf("after change: %q; want body v2", got.body)
	}
	if got := e.get("/rv"); got.body != "body v2" || !got.hit() {
		t.Errorf("then %q %q; want body v2 hit", got.body, got.cacheStatus)
	}
}

// TestRevalidationOtherRepresentation: a 304 whose strong ETag names
// another representation cannot refresh the stored one: the cache fetches
// afresh.
func TestRevalidationOtherRepresentation(t *testing.T) {
	e := newEnv(t, nil, respond(200, "old", "Cache-Control: no-cache", `ETag: "v1"`))
	e.get("/o")
	e.setOrigin(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			w.Header().Set("ETag", `"v9"`)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		respond(200, "new", "Cache-Control: no-cache", `ETag: "v9"`)(w, r)
	})
	if got := e.get("/o"); got.status != 200 || got.body != "new" {
		t.Errorf("got %d %q; want 200 new", got.status, got.body)
	}
}

func TestHEAD(t *testing.T) {
	e := newEnv(t, nil, respond(200, "0123456789", "Cache-Control: max-age=60"))
	if got := e.do(http.MethodHead, "/h"); got.hit() || got.body != "" {
		t.Errorf("HEAD miss: %q %q; want a forward", got.cacheStatus, got.body)
	}
	e.get("/h")
	got := e.do(http.MethodHead, "/h")
	if !got.hit() || got.body != "" || got.header.Get("Content-Length") != "10" {
		t.Errorf("HEAD after GET: %q body %q Content-Length %q; want hit, no body, 10", got.cacheStatus, got.body, got.header.Get("Content-Length"))
	}
	if n := e.calls.Load(); n != 2 {
		t.Errorf("origin calls = %d; want 2", n)
	}
}
