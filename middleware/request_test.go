package middleware

import (
	"net/http"
	"strings"
	"testing"
)

// TestRequestDirectives stores a response (the first request) and checks
// what a second request with directives gets.
func TestRequestDirectives(t *testing.T) {
	tests := []struct {
		name       string
		fields     []string // response fields
		req        []string // second request's fields
		wantStatus int
		wantHit    bool
		wantCalls  int64
		wantFwd    string // Cache-Status forward reason of the second
	}{
		{name: "plain", fields: []string{"Cache-Control: max-age=60"}, wantHit: true, wantCalls: 1},
		{name: "no-cache", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: no-cache"}, wantCalls: 2, wantFwd: "request"},
		{name: "Pragma no-cache", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Pragma: no-cache"}, wantCalls: 2, wantFwd: "request"},
		{name: "Pragma ignored with Cache-Control", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Pragma: no-cache", "Cache-Control: max-stale"}, wantHit: true, wantCalls: 1},
		{name: "max-age=0", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: max-age=0"}, wantCalls: 2, wantFwd: "request"},
		{name: "max-age large", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: max-age=3600"}, wantHit: true, wantCalls: 1},
		{name: "min-fresh beyond lifetime", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: min-fresh=120"}, wantCalls: 2, wantFwd: "request"},
		{name: "min-fresh within", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: min-fresh=10"}, wantHit: true, wantCalls: 1},
		{name: "malformed max-age", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: max-age=x"}, wantCalls: 2, wantFwd: "request"},
		{name: "max-stale serves stale", fields: []string{"Cache-Control: max-age=60", "Age: 100", "ETag: \"v\""}, req: []string{"Cache-Control: max-stale=3600"}, wantHit: true, wantCalls: 1},
		{name: "max-stale without value", fields: []string{"Cache-Control: max-age=60", "Age: 100", "ETag: \"v\""}, req: []string{"Cache-Control: max-stale"}, wantHit: true, wantCalls: 1},
		{name: "max-stale too small", fields: []string{"Cache-Control: max-age=60", "Age: 100", "ETag: \"v\""}, req: []string{"Cache-Control: max-stale=10"}, wantCalls: 2, wantFwd: "stale"},
		{name: "max-stale vs must-revalidate", fields: []string{"Cache-Control: max-age=60, must-revalidate", "Age: 100", "ETag: \"v\""}, req: []string{"Cache-Control: max-stale"}, wantCalls: 2, wantFwd: "stale"},
		{name: "max-stale vs proxy-revalidate", fields: []string{"Cache-Control: max-age=60, proxy-revalidate", "Age: 100", "ETag: \"v\""}, req: []string{"Cache-Control: max-stale"}, wantCalls: 2, wantFwd: "stale"},
		{name: "max-stale vs s-maxage", fields: []string{"Cache-Control: s-maxage=60", "Age: 100", "ETag: \"v\""}, req: []string{"Cache-Control: max-stale"}, wantCalls: 2, wantFwd: "stale"},
		{name: "only-if-cached hit", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: only-if-cached"}, wantHit: true, wantCalls: 1},
		{name: "response no-cache", fields: []string{"Cache-Control: max-age=60, no-cache", "ETag: \"v\""}, wantCalls: 2, wantFwd: "stale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, respond(200, "v1", tt.fields...))
			e.get("/r")
			got := e.get("/r", tt.req...)
			want := tt.wantStatus
			if want == 0 {
				want = 200
			}
			if got.status != want {
				t.Errorf("status = %d; want %d", got.status, want)
			}
			if got.hit() != tt.wantHit {
				t.Errorf("Cache-Status = %q; want hit %v", got.cacheStatus, tt.wantHit)
			}
			if tt.wantFwd != "" && !strings.Contains(got.cacheStatus, "fwd="+tt.wantFwd) {
				t.Errorf("Cache-Status = %q; want fwd=%s", got.cacheStatus, tt.wantFwd)
			}
			if n := e.calls.Load(); n != tt.wantCalls {
				t.Errorf("origin calls = %d; want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestOnlyIfCachedMiss(t *testing.T) {
	e := newEnv(t, nil, respond(200, "v1", "Cache-Control: max-age=60"))
	got := e.get("/nothing", "Cache-Control: only-if-cached")
	if got.status != http.StatusGatewayTimeout {
		t.Errorf("status = %d; want 504", got.status)
	}
	if e.calls.Load() != 0 {
		t.Errorf("origin called %d times; want 0", e.calls.Load())
	}
	if !strings.HasPrefix(got.cacheStatus, "tiercache;") {
		t.Errorf("Cache-Status = %q", got.cacheStatus)
	}
}
