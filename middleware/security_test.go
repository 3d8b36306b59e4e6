package middleware

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// whoami is an origin that personalises its answer by Authorization and
// Cookie, and (carelessly) says it may be cached.
func whoami(fields ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, f := range fields {
			name, value, _ := strings.Cut(f, ":")
			w.Header().Add(name, strings.TrimSpace(value))
		}
		if c, err := r.Cookie("session"); err == nil {
			w.Header().Set("Set-Cookie", "seen="+c.Value)
		}
		io.WriteString(w, "auth="+r.Header.Get("Authorization")+" cookie="+r.Header.Get("Cookie"))
	}
}

// TestNoLeakAcrossUsers: a response produced for one Authorization or
// cookie is never served to a request with another (or none).
func TestNoLeakAcrossUsers(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *Config
		fields []string
		alice  []string
		others [][]string
	}{
		{name: "Authorization, max-age", fields: []string{"Cache-Control: max-age=60"},
			alice: []string{"Authorization: Bearer alice"}, others: [][]string{{"Authorization: Bearer bob"}, nil}},
		{name: "Authorization, no-cache", fields: []string{"Cache-Control: no-cache", `ETag: "e"`},
			alice: []string{"Authorization: Bearer alice"}, others: [][]string{{"Authorization: Bearer bob"}, nil}},
		{name: "Cookie, max-age", fields: []string{"Cache-Control: max-age=60"},
			alice: []string{"Cookie: session=alice"}, others: [][]string{{"Cookie: session=bob"}, nil}},
		{name: "Cookie varied on", fields: []string{"Cache-Control: max-age=60", "Vary: Cookie"}, cfg: &Config{SetCookie: SetCookieStrip},
			alice: []string{"Cookie: session=alice"}, others: [][]string{{"Cookie: session=bob"}, nil}},
		{name: "Set-Cookie stripped", fields: []string{"Cache-Control: max-age=60"}, cfg: &Config{SetCookie: SetCookieStrip, ShareCookieResponses: true},
			alice: []string{"Cookie: session=alice"}, others: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, whoami(tt.fields...))
			a := e.get("/me", tt.alice...)
			for _, other := range tt.others {
				got := e.get("/me", other...)
				if got.body == a.body {
					t.Errorf("request with %q got alice's response %q (%q)", other, got.body, got.cacheStatus)
				}
				if sc := got.header.Get("Set-Cookie"); sc == "seen=alice" {
					t.Errorf("request with %q got alice's cookie", other)
				}
			}
			if tt.name == "Set-Cookie stripped" {
				if a.header.Get("Set-Cookie") != "seen=alice" {
					t.Errorf("alice did not get her own cookie: %q", a.header.Get("Set-Cookie"))
				}
				got := e.get("/me")
				if !got.hit() || got.header.Get("Set-Cookie") != "" {
					t.Errorf("later request: %q Set-Cookie %q; want a hit without the cookie", got.cacheStatus, got.header.Get("Set-Cookie"))
				}
			}
		})
	}
}

// TestUnkeyedHeaders: once a response is stored, requests that differ only
// in headers the key does not use get that same stored response, and none
// of them changes it.
func TestUnkeyedHeaders(t *testing.T) {
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		// A careless origin reflecting headers it should not trust.
		io.WriteString(w, "xfh="+r.Header.Get("X-Forwarded-Host")+" xou="+r.Header.Get("X-Original-Url")+" ua="+r.UserAgent())
	})
	clean := e.get("/page")
	for _, fields := range [][]string{
		{"X-Forwarded-Host: evil.example"},
		{"X-Original-URL: /admin"},
		{"User-Agent: evil"},
		{"X-Forwarded-Proto: https", "X-Forwarded-Scheme: nothttp"},
		{"Accept-Encoding: evil"},
	} {
		got := e.get("/page", fields...)
		if got.body != clean.body || !got.hit() {
			t.Errorf("with %q: %q (%q); want the stored %q", fields, got.body, got.cacheStatus, clean.body)
		}
	}
	if got := e.get("/page"); got.body != clean.body {
		t.Errorf("stored response changed to %q", got.body)
	}
	if n := e.calls.Load(); n != 1 {
		t.Errorf("origin calls = %d; want 1", n)
	}
}

// TestKeyParts: the host, path and query select stored responses; query
// order only with SortQuery.
func TestKeyParts(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.Host+r.URL.RequestURI())
	}
	tests := []struct {
		name     string
		cfg      *Config
		first    []string // path, then fields
		second   []string
		wantSame bool
	}{
		{"other host", nil, []string{"/p", "Host: a.example"}, []string{"/p", "Host: b.example"}, false},
		{"host case", nil, []string{"/p", "Host: a.example"}, []string{"/p", "Host: A.EXAMPLE"}, true},
		{"other path", nil, []string{"/p"}, []string{"/q"}, false},
		{"escaped slash", nil, []string{"/a%2Fb"}, []string{"/a/b"}, false},
		{"other query", nil, []string{"/p?a=1"}, []string{"/p?a=2"}, false},
		{"query order", nil, []string{"/p?a=1&b=2"}, []string{"/p?b=2&a=1"}, false},
		{"query order sorted", &Config{SortQuery: true}, []string{"/p?a=1&b=2"}, []string{"/p?b=2&a=1"}, true},
		{"repeated names keep order", &Config{SortQuery: true}, []string{"/p?a=1&a=2"}, []string{"/p?a=2&a=1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, echo)
			e.get(tt.first[0], tt.first[1:]...)
			got := e.get(tt.second[0], tt.second[1:]...)
			if got.hit() != tt.wantSame {
				t.Errorf("second: %q (%q); want hit %v", got.body, got.cacheStatus, tt.wantSame)
			}
		})
	}
}
