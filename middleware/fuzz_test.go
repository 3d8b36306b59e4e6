package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		in   string
		want func(cc cacheControl) bool
	}{
		{"max-age=60", func(cc cacheControl) bool { return cc.maxAge.set && cc.maxAge.least == 60 && !cc.maxAge.invalid }},
		{"MAX-AGE=60", func(cc cacheControl) bool { return cc.maxAge.least == 60 }},
		{`max-age="60"`, func(cc cacheControl) bool { return cc.maxAge.least == 60 && !cc.maxAge.invalid }},
		{"max-age=", func(cc cacheControl) bool { return cc.maxAge.invalid }},
		{"max-age", func(cc cacheControl) bool { return cc.maxAge.invalid }},
		{"max-age=1.5", func(cc cacheControl) bool { return cc.maxAge.invalid }},
		{"max-age=99999999999999999999", func(cc cacheControl) bool { return cc.maxAge.least == maxDeltaSeconds }},
		{"max-age=5, max-age=6", func(cc cacheControl) bool { return cc.maxAge.duration() == 0 }},
		{"no-cache, no-store , private,public", func(cc cacheControl) bool { return cc.noCache && cc.noStore && cc.private && cc.public }},
		{`private="Set-Cookie, x-user", no-cache="x-a"`, func(cc cacheControl) bool {
			return !cc.private && !cc.noCache && len(cc.privateFields) == 2 && cc.privateFields[1] == "X-User" && cc.noCacheFields[0] == "X-A"
		}},
		{"max-stale", func(cc cacheControl) bool { return cc.maxStale.set && cc.maxStale.least == maxDeltaSeconds }},
		{"max-stale=5", func(cc cacheControl) bool { return cc.maxStale.least == 5 }},
		{"stale-while-revalidate=30, stale-if-error=60", func(cc cacheControl) bool {
			return cc.staleWhileRevalidate.least == 30 && cc.staleIfError.least == 60
		}},
		{"foo bar, max-age=3", func(cc cacheControl) bool { return cc.maxAge.least == 3 }},
		// Duplicates and conflicts (RFC 9111 §4.2.1): the most restrictive
		// reading wins.
		{"max-age=5, max-age=5", func(cc cacheControl) bool { return cc.maxAge.duration() == 5*time.Second }},
		{"max-age=5, max-age=x", func(cc cacheControl) bool { return cc.maxAge.duration() == 0 }},
		{"max-age=60 junk", func(cc cacheControl) bool { return cc.maxAge.set && cc.maxAge.duration() == 0 }},
		{"max-age = 60", func(cc cacheControl) bool { return cc.maxAge.set && cc.maxAge.duration() == 0 }},
		{"max-age=60, max-age=-1", func(cc cacheControl) bool { return cc.maxAge.duration() == 0 }},
		{"min-fresh=5, min-fresh=9", func(cc cacheControl) bool { return cc.minFresh.lower() == 9*time.Second }},
		{"min-fresh=abc", func(cc cacheControl) bool { return cc.minFresh.lower() == maxDelta }},
		{"max-stale, max-stale=7", func(cc cacheControl) bool { return cc.maxStale.upper() == 7*time.Second }},
		{"max-stale=7 x", func(cc cacheControl) bool { return cc.maxStale.set && cc.maxStale.upper() == 0 }},
		{"stale-while-revalidate=30, stale-while-revalidate=10", func(cc cacheControl) bool {
			return cc.staleWhileRevalidate.upper() == 10*time.Second
		}},
		{"no-store junk, public junk", func(cc cacheControl) bool { return cc.noStore && !cc.public }},
		{"private x, must-revalidate=", func(cc cacheControl) bool { return cc.private && cc.mustRevalidate }},
		{"public, private", func(cc cacheControl) bool { return cc.public && cc.private }},
		{`ext="a,b", max-age=3`, func(cc cacheControl) bool { return cc.maxAge.least == 3 }},
		{`ext="unterminated, max-age=3`, func(cc cacheControl) bool { return !cc.maxAge.set }},
		{"must-revalidate, proxy-revalidate, only-if-cached, immutable", func(cc cacheControl) bool {
			return cc.mustRevalidate && cc.proxyRevalidate && cc.onlyIfCached && cc.immutable
		}},
	}
	for _, tt := range tests {
		if cc := parseCacheControl([]string{tt.in}); !tt.want(cc) {
			t.Errorf("parseCacheControl(%q) = %+v", tt.in, cc)
		}
	}
}

// FuzzParseCacheControl: any field value parses without panic into
// directives with sane arguments, and a response carrying it is answered
// (never with a 5xx the origin did not send).
func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", `private="a,b"`, `x="\"`, "max-stale", "s-maxage=1, max-age=2, max-age=3", ",,,=,", "no-cache=\"", "max-age=-1"} {
		f.Add(s)
	}
	store := newStore(f)
	c, err := New(store, &Config{KeyPrefix: "fuzz-cc:"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { c.Close() })
	f.Fuzz(func(t *testing.T, s string) {
		cc := parseCacheControl([]string{s})
		for _, d := range []delta{cc.maxAge, cc.sMaxAge, cc.minFresh, cc.maxStale, cc.staleWhileRevalidate, cc.staleIfError} {
			if d.least < 0 || d.most > maxDeltaSeconds || d.least > d.most || d.duration() < 0 || d.upper() < 0 || d.lower() < 0 {
				t.Fatalf("parseCacheControl(%q): delta %+v out of range", s, d)
			}
		}
		for _, f := range append(cc.privateFields, cc.noCacheFields...) {
			if !validToken(f) {
				t.Fatalf("parseCacheControl(%q): field name %q is not a token", s, f)
			}
		}
		if !validHeaderValue(s) {
			return
		}
		h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", s)
			w.Write([]byte("ok"))
		}))
		for range 2 {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/fuzz", nil)
			req.Header.Set("Cache-Control", s)
			h.ServeHTTP(rec, req)
			if rec.Code != 200 && rec.Code != http.StatusGatewayTimeout {
				t.Fatalf("Cache-Control %q: status %d", s, rec.Code)
			}
		}
	})
}

// FuzzParseVary: any Vary value parses without panic into sorted, distinct
// names, and selectors of different requests never collide.
func FuzzParseVary(f *testing.F) {
	for _, s := range []string{"Accept-Encoding", "*", "a, b, A", " , ,", "accept-language,*,x"} {
		f.Add(s, "en", "fr")
	}
	f.Fuzz(func(t *testing.T, vary, v1, v2 string) {
		names, _ := parseVary([]string{vary})
		for i := 1; i < len(names); i++ {
			if names[i-1] >= names[i] {
				t.Fatalf("parseVary(%q) = %q: not sorted and distinct", vary, names)
			}
		}
		if len(names) == 0 {
			return
		}
		a := http.Header{names[0]: {v1}}
		b := http.Header{names[0]: {v2}}
		norm := func(v string) string {
			parts := strings.Split(v, ",")
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			return strings.Join(parts, ",")
		}
		if same := varySelector(a, names) == varySelector(b, names); same != (norm(v1) == norm(v2)) {
			t.Fatalf("selectors of %q and %q: same = %v", v1, v2, same)
		}
	})
}

// validHeaderValue reports whether s can be sent as a field value.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
