package middleware

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func httpDate(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }

// dateIn formats now+d, in UTC, with the given layout.
func dateIn(layout string, d time.Duration) string { return time.Now().Add(d).UTC().Format(layout) }

// TestStorageAndFreshness sends the same GET twice to an origin answering
// with the case's fields, and checks whether the second was served from
// the cache (and so how often the origin was called).
func TestStorageAndFreshness(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		fields    []string // response fields
		req       []string // request fields, on both requests
		wantHit   bool
		wantCalls int64
	}{
		{name: "max-age", fields: []string{"Cache-Control: max-age=60"}, wantHit: true, wantCalls: 1},
		{name: "s-maxage over max-age=0", fields: []string{"Cache-Control: max-age=0, s-maxage=60"}, wantHit: true, wantCalls: 1},
		{name: "max-age=0", fields: []string{"Cache-Control: max-age=0"}, wantCalls: 2},
		{name: "no-store", fields: []string{"Cache-Control: max-age=60, no-store"}, wantCalls: 2},
		{name: "private", fields: []string{"Cache-Control: private, max-age=60"}, wantCalls: 2},
		{name: "private field", fields: []string{`Cache-Control: private="X-User", max-age=60`, "X-User: alice"}, wantHit: true, wantCalls: 1},
		{name: "public no explicit lifetime", fields: []string{"Cache-Control: public"}, wantCalls: 2},
		{name: "Expires in the future", fields: []string{"Date: " + httpDate(0), "Expires: " + httpDate(time.Hour)}, wantHit: true, wantCalls: 1},
		{name: "Expires in the past", fields: []string{"Date: " + httpDate(0), "Expires: " + httpDate(-time.Hour)}, wantCalls: 2},
		{name: "invalid Expires is expired", fields: []string{"Expires: 0"}, wantCalls: 2},
		// HTTP-date exactly (RFC 9110 §5.6.7): anything else in Expires
		// means already expired.
		{name: "Expires IMF-fixdate", fields: []string{"Date: " + httpDate(0), "Expires: " + httpDate(time.Hour)}, wantHit: true, wantCalls: 1},
		{name: "Expires asctime", fields: []string{"Date: " + httpDate(0), "Expires: " + dateIn(time.ANSIC, time.Hour)}, wantHit: true, wantCalls: 1},
		{name: "Expires rfc850", fields: []string{"Date: " + httpDate(0), "Expires: " + dateIn("Monday, 02-Jan-06 15:04:05 GMT", time.Hour)}, wantHit: true, wantCalls: 1},
		{name: "Expires two spaces", fields: []string{"Date: " + httpDate(0), "Expires: " + strings.Replace(httpDate(time.Hour), " ", "  ", 1)}, wantCalls: 2},
		{name: "Expires one-digit hour", fields: []string{"Date: " + httpDate(0), "Expires: " + dateIn("Mon, 02 Jan 2006", 48*time.Hour) + " 9:00:00 GMT"}, wantCalls: 2},
		{name: "Expires lower-case gmt", fields: []string{"Date: " + httpDate(0), "Expires: " + strings.Replace(httpDate(time.Hour), "GMT", "gmt", 1)}, wantCalls: 2},
		{name: "Expires UTC", fields: []string{"Date: " + httpDate(0), "Expires: " + strings.Replace(httpDate(time.Hour), "GMT", "UTC", 1)}, wantCalls: 2},
		{name: "Expires lower-case day", fields: []string{"Date: " + httpDate(0), "Expires: " + strings.ToLower(httpDate(time.Hour)[:1]) + httpDate(time.Hour)[1:]}, wantCalls: 2},
		{name: "Expires several lines", fields: []string{"Date: " + httpDate(0), "Expires: " + httpDate(time.Hour), "Expires: " + httpDate(time.Hour)}, wantCalls: 2},
		{name: "Expires no such day", fields: []string{"Date: " + httpDate(0), "Expires: Thu, 31 Feb 2099 10:00:00 GMT"}, wantCalls: 2},
		// Age (RFC 9111 §5.1): anything but one non-negative integer makes
		// the response stale.
		{name: "Age list", fields: []string{"Cache-Control: max-age=60", "Age: old, 0"}, wantCalls: 2},
		{name: "Age two lines", fields: []string{"Cache-Control: max-age=60", "Age: 0", "Age: 0"}, wantCalls: 2},
		{name: "Age suffix", fields: []string{"Cache-Control: max-age=60", "Age: 5s"}, wantCalls: 2},
		{name: "Age parameter", fields: []string{"Cache-Control: max-age=60", "Age: 5;q=1"}, wantCalls: 2},
		{name: "Age negative", fields: []string{"Cache-Control: max-age=60", "Age: -5"}, wantCalls: 2},
		{name: "Age overflow saturates", fields: []string{"Cache-Control: max-age=99999999999", "Age: 99999999999999999999999"}, wantCalls: 2},
		{name: "invalid Date is the arrival time", fields: []string{"Cache-Control: max-age=60", "Date: yesterday"}, wantHit: true, wantCalls: 1},
		{name: "max-age wins over Expires", fields: []string{"Cache-Control: max-age=60", "Expires: 0"}, wantHit: true, wantCalls: 1},
		{name: "Age within max-age", fields: []string{"Cache-Control: max-age=60", "Age: 30"}, wantHit: true, wantCalls: 1},
		{name: "Age beyond max-age", fields: []string{"Cache-Control: max-age=60", "Age: 90"}, wantCalls: 2},
		{name: "old Date makes it stale", fields: []string{"Cache-Control: max-age=60", "Date: " + httpDate(-2*time.Minute)}, wantCalls: 2},
		{name: "malformed max-age is stale", fields: []string{"Cache-Control: max-age=abc"}, wantCalls: 2},
		{name: "negative max-age is stale", fields: []string{"Cache-Control: max-age=-5"}, wantCalls: 2},
		{name: "conflicting max-age is stale", fields: []string{"Cache-Control: max-age=60, max-age=0"}, wantCalls: 2},
		{name: "repeated equal max-age", fields: []string{"Cache-Control: max-age=60", "Cache-Control: max-age=60"}, wantHit: true, wantCalls: 1},
		{name: "quoted max-age", fields: []string{`Cache-Control: max-age="60"`}, wantHit: true, wantCalls: 1},
		{name: "garbage directives ignored", fields: []string{`Cache-Control: ,,;=x, "", max-age=60, foo=`}, wantHit: true, wantCalls: 1},
		{name: "huge max-age", fields: []string{"Cache-Control: max-age=99999999999999999999999"}, wantHit: true, wantCalls: 1},
		{name: "heuristic from Last-Modified", fields: []string{"Date: " + httpDate(0), "Last-Modified: " + httpDate(-240*time.Hour)}, wantHit: true, wantCalls: 1},
		{name: "no heuristic for 302", status: 302, fields: []string{"Location: /x", "Date: " + httpDate(0), "Last-Modified: " + httpDate(-240*time.Hour)}, wantCalls: 2},
		{name: "heuristic for 404", status: 404, fields: []string{"Date: " + httpDate(0), "Last-Modified: " + httpDate(-240*time.Hour)}, wantHit: true, wantCalls: 1},
		{name: "nothing says storable", fields: []string{"X-Foo: bar"}, wantCalls: 2},
		{name: "302 with max-age", status: 302, fields: []string{"Location: /x", "Cache-Control: max-age=60"}, wantHit: true, wantCalls: 1},
		{name: "500 with max-age", status: 500, fields: []string{"Cache-Control: max-age=60"}, wantHit: true, wantCalls: 1},
		{name: "206 never stored", status: 206, fields: []string{"Cache-Control: max-age=60", "Content-Range: bytes 0-1/10"}, wantCalls: 2},
		{name: "Vary star", fields: []string{"Cache-Control: max-age=60", "Vary: *"}, wantCalls: 2},
		{name: "Set-Cookie not stored", fields: []string{"Cache-Control: max-age=60", "Set-Cookie: a=b"}, wantCalls: 2},
		{name: "Authorization not shared", req: []string{"Authorization: Bearer x"}, fields: []string{"Cache-Control: max-age=60"}, wantCalls: 2},
		{name: "Authorization public", req: []string{"Authorization: Bearer x"}, fields: []string{"Cache-Control: public, max-age=60"}, wantHit: true, wantCalls: 1},
		{name: "Authorization s-maxage", req: []string{"Authorization: Bearer x"}, fields: []string{"Cache-Control: s-maxage=60"}, wantHit: true, wantCalls: 1},
		{name: "Authorization must-revalidate", req: []string{"Authorization: Bearer x"}, fields: []string{"Cache-Control: max-age=60, must-revalidate"}, wantHit: true, wantCalls: 1},
		{name: "Cookie not shared", req: []string{"Cookie: s=1"}, fields: []string{"Cache-Control: max-age=60"}, wantCalls: 2},
		{name: "Cookie public", req: []string{"Cookie: s=1"}, fields: []string{"Cache-Control: public, max-age=60"}, wantHit: true, wantCalls: 1},
		{name: "Cookie varied on", req: []string{"Cookie: s=1"}, fields: []string{"Cache-Control: max-age=60", "Vary: Cookie"}, wantHit: true, wantCalls: 1},
		{name: "request no-store", req: []string{"Cache-Control: no-store"}, fields: []string{"Cache-Control: max-age=60"}, wantCalls: 2},
		{name: "Trailer not stored", fields: []string{"Cache-Control: max-age=60", "Trailer: X-Sum"}, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = 200
			}
			e := newEnv(t, nil, respond(status, "body of "+tt.name, tt.fields...))
			first := e.get("/r", tt.req...)
			second := e.get("/r", tt.req...)
			if first.status != status || second.status != status {
				t.Errorf("statuses = %d, %d; want %d", first.status, second.status, status)
			}
			if second.body != first.body {
				t.Errorf("second body = %q; want %q", second.body, first.body)
			}
			if got := second.hit(); got != tt.wantHit {
				t.Errorf("second Cache-Status = %q; want hit %v", second.cacheStatus, tt.wantHit)
			}
			if got := e.calls.Load(); got != tt.wantCalls {
				t.Errorf("origin calls = %d; want %d", got, tt.wantCalls)
			}
			if !strings.HasPrefix(first.cacheStatus, "tiercache; fwd=uri-miss; fwd-status=") {
				t.Errorf("first Cache-Status = %q; want a uri-miss forward", first.cacheStatus)
			}
			if tt.wantHit && second.header.Get("Age") == "" {
				t.Errorf("hit without Age")
			}
			if tt.name == "private field" && second.header.Get("X-User") != "" {
				t.Errorf("private field X-User served from the cache: %q", second.header.Get("X-User"))
			}
		})
	}
}

// TestCacheStatusTiers: a hit names the tier that answered.
func TestCacheStatusTiers(t *testing.T) {
	e := newEnv(t, nil, respond(200, "x", "Cache-Control: max-age=60"))
	e.get("/t")
	e.store.WaitL1()
	if got := e.get("/t"); !strings.HasPrefix(got.cacheStatus, "tiercache; hit; ttl=") || !strings.HasSuffix(got.cacheStatus, "; detail=l1") {
		t.Errorf("after WaitL1: %q; want an L1 hit", got.cacheStatus)
	}
	e.store.ClearLocal()
	if got := e.get("/t"); !strings.HasSuffix(got.cacheStatus, "; detail=l2") {
		t.Errorf("after ClearLocal: %q; want an L2 hit", got.cacheStatus)
	}
}

// TestTargetedField: a configured targeted field (RFC 9213) takes
// precedence over Cache-Control; without the setting it is ignored.
func TestTargetedField(t *testing.T) {
	cdn := &Config{TargetedField: "CDN-Cache-Control"}
	tests := []struct {
		name    string
		cfg     *Config
		fields  []string
		wantHit bool
	}{
		{"targeted allows", cdn, []string{"Cache-Control: no-store", "CDN-Cache-Control: max-age=60"}, true},
		{"targeted forbids", cdn, []string{"Cache-Control: max-age=60", "CDN-Cache-Control: no-store"}, false},
		{"targeted absent", cdn, []string{"Cache-Control: max-age=60"}, true},
		{"targeted private wins", cdn, []string{"Cache-Control: public, max-age=60", "CDN-Cache-Control: private"}, false},
		{"not configured", nil, []string{"Cache-Control: no-store", "CDN-Cache-Control: max-age=60"}, false},
		{"targeted max-age over Cache-Control", cdn, []string{"Cache-Control: max-age=0", "CDN-Cache-Control: max-age=60"}, true},
		{"targeted no-cache over Cache-Control", cdn, []string{"Cache-Control: max-age=60", "CDN-Cache-Control: no-cache", `ETag: "e"`}, false},
		{"targeted ignores Expires", cdn, []string{"Date: " + httpDate(0), "Expires: " + httpDate(time.Hour), "CDN-Cache-Control: must-revalidate"}, false},
		{"invalid targeted falls back", cdn, []string{"Cache-Control: max-age=60", "CDN-Cache-Control: Max-Age=0"}, true},
		{"empty targeted falls back", cdn, []string{"Cache-Control: max-age=60", "CDN-Cache-Control: "}, true},
		{"targeted with parameters", cdn, []string{"Cache-Control: no-store", `CDN-Cache-Control: max-age=60, x="a";p=1, y=?1`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, respond(200, "x", tt.fields...))
			e.get("/cdn")
			if got := e.get("/cdn"); got.hit() != tt.wantHit {
				t.Errorf("second: %q; want hit %v", got.cacheStatus, tt.wantHit)
			}
		})
	}
}

func TestValidTargeted(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"max-age=60", true},
		{"no-store", true},
		{`private, max-age=60, foo="bar", b=:aGk=:, t=tok/x:y, d=1.5, l=(1 "a");p, f=?0`, true},
		{"max-age=60;x", true},
		{"", false},
		{"  ", false},
		{"Max-Age=60", false},
		{"max-age=60,", false},
		{"max-age==60", false},
		{"max-age=1234567890123456", false},
		{`x="unterminated`, false},
		{"x=?2", false},
		{"max-age = 60", false},
		{"a=1 b=2", false},
	}
	for _, tt := range tests {
		if got := validTargeted([]string{tt.in}); got != tt.want {
			t.Errorf("validTargeted(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzValidTargeted: any targeted field value is judged without panic, and
// a value judged valid stays valid with spaces after its commas (RFC 8941
// allows them) and invalid with a trailing comma.
func FuzzValidTargeted(f *testing.F) {
	for _, s := range []string{"max-age=60", `private, x="a";p=1, l=(1 2)`, "Max-Age=0", "a=?1,b=:aGk=:", "max-age=60,", `x="\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validTargeted([]string{s}) {
			return
		}
		if validTargeted([]string{s + ","}) {
			t.Fatalf("validTargeted(%q + \",\") = true; want false", s)
		}
		if !validTargeted([]string{s, "a"}) {
			t.Fatalf("validTargeted(%q, \"a\") = false; want true (two lines join with a comma)", s)
		}
	})
}
