package middleware

import (
	"testing"
	"time"
)

// TestCacheStatusFormat: every member the cache writes has RFC 9211's
// syntax, with its parameters in one order.
func TestCacheStatusFormat(t *testing.T) {
	tests := []struct {
		st   cacheStatus
		want string
	}{
		{cacheStatus{hit: true, ttl: 42 * time.Second, detail: "l1"}, "c; hit; ttl=42; detail=l1"},
		{cacheStatus{hit: true, ttl: -3 * time.Second, detail: "l2"}, "c; hit; ttl=-3; detail=l2"},
		{cacheStatus{fwd: fwdURIMiss, fwdStatus: 200, stored: true}, "c; fwd=uri-miss; fwd-status=200; stored"},
		{cacheStatus{fwd: fwdStale, fwdStatus: 503, detail: "stale-if-error"}, "c; fwd=stale; fwd-status=503; detail=stale-if-error"},
		{cacheStatus{fwd: fwdVaryMiss, fwdStatus: 200, collapsed: true}, "c; fwd=vary-miss; fwd-status=200; collapsed"},
		{cacheStatus{fwd: fwdMethod}, "c; fwd=method"},
		{cacheStatus{fwd: fwdMiss, detail: "only-if-cached"}, "c; fwd=miss; detail=only-if-cached"},
	}
	for _, tt := range tests {
		if got := tt.st.format("c"); got != tt.want {
			t.Errorf("format(%+v) = %q; want %q", tt.st, got, tt.want)
		}
	}
}
