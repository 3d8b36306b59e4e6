package middleware

import (
	"net/http"
	"testing"
)

func TestUnsafeInvalidation(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		status     int
		fields     []string // the unsafe response's fields
		invalidate []string // paths whose stored responses must be gone
		keep       []string // paths whose stored responses must stay
	}{
		{name: "POST target", method: "POST", path: "/a", status: 200, invalidate: []string{"/a"}, keep: []string{"/b"}},
		{name: "PUT target", method: "PUT", path: "/a", status: 204, invalidate: []string{"/a"}},
		{name: "DELETE target", method: "DELETE", path: "/a", status: 200, invalidate: []string{"/a"}},
		{name: "PATCH target", method: "PATCH", path: "/a", status: 200, invalidate: []string{"/a"}},
		{name: "redirect status", method: "POST", path: "/a", status: 303, fields: []string{"Location: /b"}, invalidate: []string{"/a", "/b"}},
		{name: "Location relative", method: "POST", path: "/a", status: 201, fields: []string{"Location: b"}, invalidate: []string{"/a", "/b"}},
		{name: "Content-Location", method: "POST", path: "/a", status: 200, fields: []string{"Content-Location: /b"}, invalidate: []string{"/a", "/b"}},
		{name: "other origin Location", method: "POST", path: "/a", status: 201, fields: []string{"Location: http://elsewhere.example/b"}, invalidate: []string{"/a"}, keep: []string{"/b"}},
		{name: "error status", method: "POST", path: "/a", status: 500, fields: []string{"Location: /b"}, keep: []string{"/a", "/b"}},
		{name: "client error", method: "DELETE", path: "/a", status: 404, keep: []string{"/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := respond(200, "stored", "Cache-Control: max-age=60")
			unsafe := respond(tt.status, "", tt.fields...)
			e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					get(w, r)
					return
				}
				unsafe(w, r)
			})
			for _, p := range append(append([]string{}, tt.invalidate...), tt.keep...) {
				e.get(p)
				if got := e.get(p); !got.hit() {
					t.Fatalf("setup: %s not stored (%q)", p, got.cacheStatus)
				}
			}
			if got := e.do(tt.method, tt.path); got.status != tt.status || !contains(got.cacheStatus, "fwd=method") {
				t.Errorf("%s %s: %d %q; want %d fwd=method", tt.method, tt.path, got.status, got.cacheStatus, tt.status)
			}
			for _, p := range tt.invalidate {
				if got := e.get(p); got.hit() {
					t.Errorf("%s still served from the cache after %s (%q)", p, tt.method, got.cacheStatus)
				}
			}
			for _, p := range tt.keep {
				if got := e.get(p); !got.hit() {
					t.Errorf("%s invalidated by %s; want it kept (%q)", p, tt.method, got.cacheStatus)
				}
			}
		})
	}
}
