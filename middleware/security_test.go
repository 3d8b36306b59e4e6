package middleware

import (
	"context"
	"io"
	"net/http"
	"net/netip"
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

// TestPoisoningHeaders: for every field of the unkeyed list, a request
// that carries it and fills the cache cannot make the origin's reflection
// of it reach a later client: the handler never sees the field. A field
// named in TrustHeaders reaches the handler; one in KeyHeaders reaches it
// and keys the response.
func TestPoisoningHeaders(t *testing.T) {
	for _, f := range unkeyedHeaders {
		t.Run(f, func(t *testing.T) {
			reflect := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "saw="+r.Header.Get(f))
			}
			e := newEnv(t, nil, reflect)
			attack := e.get("/home", f+": evil.example")
			if attack.body != "saw=" {
				t.Errorf("attacker's request: handler saw %q; want the field removed", attack.body)
			}
			if got := e.get("/home"); got.body != "saw=" || !got.hit() {
				t.Errorf("victim: %q (%q); want the clean stored response", got.body, got.cacheStatus)
			}

			trusted := newEnv(t, &Config{TrustHeaders: []string{strings.ToLower(f)}}, reflect)
			if got := trusted.get("/home", f+": proxy.example"); got.body != "saw=proxy.example" {
				t.Errorf("TrustHeaders: handler saw %q; want the field", got.body)
			}

			keyed := newEnv(t, &Config{KeyHeaders: []string{f}}, reflect)
			keyed.get("/home", f+": a.example")
			if got := keyed.get("/home", f+": b.example"); got.body != "saw=b.example" || got.hit() {
				t.Errorf("KeyHeaders, other value: %q (%q); want its own response", got.body, got.cacheStatus)
			}
			if got := keyed.get("/home"); got.body != "saw=" || got.hit() {
				t.Errorf("KeyHeaders, absent: %q (%q); want its own response", got.body, got.cacheStatus)
			}
			if got := keyed.get("/home", f+": a.example"); got.body != "saw=a.example" || !got.hit() {
				t.Errorf("KeyHeaders, same value: %q (%q); want the stored response", got.body, got.cacheStatus)
			}
		})
	}
}

// TestTrustedProxies: X-Forwarded-Proto from a trusted peer keys https and
// http apart and reaches the handler; from any other peer it is removed.
func TestTrustedProxies(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "proto="+r.Header.Get("X-Forwarded-Proto"))
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	trusted := newEnv(t, &Config{TrustedProxies: loopback}, echo)
	if got := trusted.get("/s", "X-Forwarded-Proto: https"); got.body != "proto=https" {
		t.Errorf("trusted https: %q; want proto=https", got.body)
	}
	if got := trusted.get("/s", "X-Forwarded-Proto: http"); got.body != "proto=http" || got.hit() {
		t.Errorf("trusted http after https: %q (%q); want its own response", got.body, got.cacheStatus)
	}
	if got := trusted.get("/s", "X-Forwarded-Proto: HTTPS"); got.body != "proto=https" || !got.hit() {
		t.Errorf("trusted HTTPS again: %q (%q); want the stored https response", got.body, got.cacheStatus)
	}
	if err := trusted.cache.PurgeURL(context.Background(), "https://"+strings.TrimPrefix(trusted.srv.URL, "http://")+"/s"); err != nil {
		t.Fatal(err)
	}
	if got := trusted.get("/s", "X-Forwarded-Proto: https"); got.hit() {
		t.Errorf("after purging the https URL: %q; want a miss", got.cacheStatus)
	}

	other := newEnv(t, &Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, echo)
	if got := other.get("/s", "X-Forwarded-Proto: https"); got.body != "proto=" {
		t.Errorf("untrusted peer: handler saw %q; want the field removed", got.body)
	}
	if got := other.get("/s"); !got.hit() {
		t.Errorf("untrusted peer's https and plain http: %q; want one key", got.cacheStatus)
	}
}

// TestAuthorizationSharing: by default a response to a request with
// Authorization is shared where RFC 9111 §3.5 allows it (here,
// must-revalidate); NeverShareAuthorization stores none.
func TestAuthorizationSharing(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *Config
		fields string
		shared bool
	}{
		{"default must-revalidate", nil, "max-age=60, must-revalidate", true},
		{"default public", nil, "public, max-age=60", true},
		{"default s-maxage", nil, "s-maxage=60", true},
		{"default max-age", nil, "max-age=60", false},
		{"never must-revalidate", &Config{NeverShareAuthorization: true}, "max-age=60, must-revalidate", false},
		{"never public", &Config{NeverShareAuthorization: true}, "public, max-age=60", false},
		{"never s-maxage", &Config{NeverShareAuthorization: true}, "s-maxage=60", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, whoami("Cache-Control: "+tt.fields))
			e.get("/me", "Authorization: Bearer alice")
			got := e.get("/me", "Authorization: Bearer bob")
			if shared := strings.Contains(got.body, "alice"); shared != tt.shared {
				t.Errorf("bob got %q (%q); want alice's response shared: %v", got.body, got.cacheStatus, tt.shared)
			}
		})
	}
}

// TestSetCookiePolicies: by default a response that sets a cookie is not
// stored; SetCookieStore stores it and replays its Set-Cookie to every
// client (RFC 9111 §3.1 allows it), SetCookieStrip stores it without.
func TestSetCookiePolicies(t *testing.T) {
	tests := []struct {
		name       string
		policy     SetCookiePolicy
		wantHit    bool
		wantCookie string
	}{
		{"bypass", SetCookieBypass, false, "lang=en"},
		{"store", SetCookieStore, true, "lang=en"},
		{"strip", SetCookieStrip, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &Config{SetCookie: tt.policy}, respond(200, "x", "Cache-Control: max-age=60", "Set-Cookie: lang=en"))
			if got := e.get("/sc"); got.header.Get("Set-Cookie") != "lang=en" {
				t.Errorf("first: Set-Cookie %q; want lang=en", got.header.Get("Set-Cookie"))
			}
			got := e.get("/sc")
			if got.hit() != tt.wantHit || got.header.Get("Set-Cookie") != tt.wantCookie {
				t.Errorf("second: %q Set-Cookie %q; want hit %v, %q", got.cacheStatus, got.header.Get("Set-Cookie"), tt.wantHit, tt.wantCookie)
			}
		})
	}
}
