package middleware

import (
	"net/http"
	"slices"
	"testing"
)

func TestParseVary(t *testing.T) {
	tests := []struct {
		lines    []string
		want     []string
		wantStar bool
	}{
		{lines: nil, want: nil},
		{lines: []string{"accept-encoding"}, want: []string{"Accept-Encoding"}},
		{lines: []string{" Accept-Language ,accept-encoding", "ACCEPT-language"}, want: []string{"Accept-Encoding", "Accept-Language"}},
		{lines: []string{"Accept, *"}, want: []string{"Accept"}, wantStar: true},
		{lines: []string{",,"}, want: nil},
	}
	for _, tt := range tests {
		got, star := parseVary(tt.lines)
		if !slices.Equal(got, tt.want) || star != tt.wantStar {
			t.Errorf("parseVary(%q) = %q, %v; want %q, %v", tt.lines, got, star, tt.want, tt.wantStar)
		}
	}
}

func TestVarySelector(t *testing.T) {
	names := []string{"Accept-Encoding", "Accept-Language"}
	tests := []struct {
		name string
		a, b http.Header
		same bool
	}{
		{"whitespace", http.Header{"Accept-Language": {"en, fr"}}, http.Header{"Accept-Language": {"en,fr"}}, true},
		{"lines combined", http.Header{"Accept-Language": {"en", "fr"}}, http.Header{"Accept-Language": {"en, fr"}}, true},
		{"other values", http.Header{"Accept-Language": {"en"}}, http.Header{"Accept-Language": {"fr"}}, false},
		{"absent vs empty", http.Header{}, http.Header{"Accept-Language": {""}}, false},
		{"no shifting between fields", http.Header{"Accept-Encoding": {"a;1:b"}}, http.Header{"Accept-Encoding": {"a"}, "Accept-Language": {"b"}}, false},
		{"unlisted fields ignored", http.Header{"X-Other": {"1"}}, http.Header{"X-Other": {"2"}}, true},
	}
	for _, tt := range tests {
		a, b := varySelector(tt.a, names), varySelector(tt.b, names)
		if (a == b) != tt.same {
			t.Errorf("%s: selectors %q and %q; want same %v", tt.name, a, b, tt.same)
		}
	}
}

// TestVary serves two languages of one URL and checks each is stored and
// served to its own requests only.
func TestVary(t *testing.T) {
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Write([]byte("lang=" + r.Header.Get("Accept-Language")))
	})
	steps := []struct {
		lang     string
		wantBody string
		wantHit  bool
	}{
		{"en", "lang=en", false},
		{"fr", "lang=fr", false},
		{"en", "lang=en", true},
		{"fr", "lang=fr", true},
		{"", "lang=", false},
		{"", "lang=", true},
	}
	for i, s := range steps {
		var fields []string
		if s.lang != "" {
			fields = append(fields, "Accept-Language: "+s.lang)
		}
		got := e.get("/v", fields...)
		if got.body != s.wantBody || got.hit() != s.wantHit {
			t.Errorf("step %d (%q): body %q, Cache-Status %q; want %q, hit %v", i, s.lang, got.body, got.cacheStatus, s.wantBody, s.wantHit)
		}
	}
	if n := e.calls.Load(); n != 3 {
		t.Errorf("origin calls = %d; want 3", n)
	}
	if got := e.get("/v", "Accept-Language: de"); got.hit() || !contains(got.cacheStatus, "fwd=vary-miss") {
		t.Errorf("new variant: Cache-Status %q; want fwd=vary-miss", got.cacheStatus)
	}
}

func TestVaryStarNeverServed(t *testing.T) {
	e := newEnv(t, nil, respond(200, "x", "Cache-Control: public, max-age=60", "Vary: *"))
	for i := range 3 {
		if got := e.get("/s"); got.hit() {
			t.Errorf("request %d: Cache-Status %q; Vary: * must not be served from the cache", i, got.cacheStatus)
		}
	}
	if n := e.calls.Load(); n != 3 {
		t.Errorf("origin calls = %d; want 3", n)
	}
}
