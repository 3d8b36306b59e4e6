package middleware

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	const size = 100
	tests := []struct {
		in     string
		want   []byteRange
		wantOK bool
	}{
		{"bytes=0-9", []byteRange{{0, 10}}, true},
		{"BYTES=0-9", []byteRange{{0, 10}}, true},
		{"bytes=90-", []byteRange{{90, 10}}, true},
		{"bytes=-5", []byteRange{{95, 5}}, true},
		{"bytes=-500", []byteRange{{0, 100}}, true},
		{"bytes=95-200", []byteRange{{95, 5}}, true},
		{"bytes=0-0, -1", []byteRange{{0, 1}, {99, 1}}, true},
		{"bytes= 0-1 ,, 5-6 ", []byteRange{{0, 2}, {5, 2}}, true},
		{"bytes=100-", nil, true},
		{"bytes=-0", nil, true},
		{"bytes=100-200, 0-1", []byteRange{{0, 2}}, true},
		{"bytes=99999999999999999999999-", nil, true},
		{"bytes=5-4", nil, false},
		{"bytes=a-b", nil, false},
		{"bytes=1", nil, false},
		{"bytes=", nil, false},
		{"bytes=--1", nil, false},
		{"items=0-1", nil, false},
		{"bytes 0-1", nil, false},
		{"bytes=0x1-2", nil, false},
	}
	for _, tt := range tests {
		got, ok := parseRange([]string{tt.in}, size, nil)
		if ok != tt.wantOK || len(got) != len(tt.want) {
			t.Errorf("parseRange(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseRange(%q) = %v; want %v", tt.in, got, tt.want)
			}
		}
	}
	if _, ok := parseRange([]string{"bytes=0-1", "bytes=2-3"}, size, nil); ok {
		t.Errorf("parseRange of two field lines: ok; want ignored")
	}
}

// FuzzParseRange: any Range value parses without panic into ranges that
// lie inside the representation.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=90-", "bytes=0-0,-1", "bytes=5-4", "bytes=99999999999999999999-", "bytes=,,", "BYTES=1-2"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			size = -size
		}
		ranges, ok := parseRange([]string{s}, size, nil)
		if !ok && len(ranges) > 0 {
			t.Fatalf("parseRange(%q, %d) = %v, false", s, size, ranges)
		}
		for _, br := range ranges {
			if br.start < 0 || br.length <= 0 || br.start+br.length > size || br.start+br.length < br.start {
				t.Fatalf("parseRange(%q, %d): range %+v outside the representation", s, size, br)
			}
		}
	})
}

// TestRangeFromCache: Range requests for a stored complete 200 are answered
// from the cache (RFC 9110 §14): one range, several, suffixes, If-Range,
// 416; an invalid Range gets the whole response.
func TestRangeFromCache(t *testing.T) {
	const body = "0123456789abcdefghij"
	lm := httpDate(-time.Hour)
	e := newEnv(t, nil, respond(200, body, "Cache-Control: max-age=60", `ETag: "v1"`, "Last-Modified: "+lm, "Content-Type: text/plain"))
	e.get("/r")
	tests := []struct {
		name       string
		req        []string
		wantStatus int
		wantBody   string
		wantRange  string
	}{
		{"single", []string{"Range: bytes=0-4"}, 206, "01234", "bytes 0-4/20"},
		{"single again (kept on the entry)", []string{"Range: bytes=0-4"}, 206, "01234", "bytes 0-4/20"},
		{"kept range, If-Range other ETag", []string{"Range: bytes=0-4", `If-Range: "v2"`}, 200, body, ""},
		{"open-ended", []string{"Range: bytes=15-"}, 206, "fghij", "bytes 15-19/20"},
		{"suffix", []string{"Range: bytes=-3"}, 206, "hij", "bytes 17-19/20"},
		{"beyond the end clipped", []string{"Range: bytes=18-99"}, 206, "ij", "bytes 18-19/20"},
		{"unsatisfiable", []string{"Range: bytes=20-"}, 416, "", "bytes */20"},
		{"invalid ignored", []string{"Range: bytes=5-1"}, 200, body, ""},
		{"other unit ignored", []string{"Range: items=0-1"}, 200, body, ""},
		{"If-Range strong ETag", []string{"Range: bytes=0-1", `If-Range: "v1"`}, 206, "01", "bytes 0-1/20"},
		{"If-Range other ETag", []string{"Range: bytes=0-1", `If-Range: "v2"`}, 200, body, ""},
		{"If-Range weak ETag", []string{"Range: bytes=0-1", `If-Range: W/"v1"`}, 200, body, ""},
		{"If-Range date", []string{"Range: bytes=0-1", "If-Range: " + lm}, 206, "01", "bytes 0-1/20"},
		{"If-Range other date", []string{"Range: bytes=0-1", "If-Range: " + httpDate(-2*time.Hour)}, 200, body, ""},
		{"If-None-Match first", []string{"Range: bytes=0-1", `If-None-Match: "v1"`}, 304, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.get("/r", tt.req...)
			if got.status != tt.wantStatus || got.body != tt.wantBody || got.header.Get("Content-Range") != tt.wantRange || !got.hit() {
				t.Errorf("got %d %q Content-Range %q (%q); want %d %q %q from the cache",
					got.status, got.body, got.header.Get("Content-Range"), got.cacheStatus, tt.wantStatus, tt.wantBody, tt.wantRange)
			}
		})
	}
	t.Run("multiple", func(t *testing.T) {
		got := e.get("/r", "Range: bytes=0-1, -2")
		mt, params, err := mime.ParseMediaType(got.header.Get("Content-Type"))
		if got.status != 206 || err != nil || mt != "multipart/byteranges" || !got.hit() {
			t.Fatalf("got %d %q (%q); want a multipart/byteranges 206 from the cache", got.status, got.header.Get("Content-Type"), got.cacheStatus)
		}
		mr := multipart.NewReader(strings.NewReader(got.body), params["boundary"])
		var parts []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, p.Header.Get("Content-Range")+" "+p.Header.Get("Content-Type")+" "+string(b))
		}
		want := []string{"bytes 0-1/20 text/plain 01", "bytes 18-19/20 text/plain ij"}
		if strings.Join(parts, "|") != strings.Join(want, "|") {
			t.Errorf("parts %q; want %q", parts, want)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		got := e.do("HEAD", "/r", "Range: bytes=0-4")
		if got.status != 206 || got.body != "" || got.header.Get("Content-Length") != "5" {
			t.Errorf("HEAD: %d %q Content-Length %q; want 206, no body, 5", got.status, got.body, got.header.Get("Content-Length"))
		}
	})
	if n := e.calls.Load(); n != 1 {
		t.Errorf("origin calls = %d; want 1", n)
	}
}

// TestRangeMissAndStale: a Range request for a response the cache does not
// hold goes to the origin as it is (its 206 is not stored); one for a stale
// stored response revalidates it and is answered from the refreshed one.
func TestRangeMissAndStale(t *testing.T) {
	var sawRange []string
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		sawRange = append(sawRange, r.Header.Get("Range"))
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(304)
			return
		}
		if r.Header.Get("Range") != "" {
			w.Header().Set("Content-Range", "bytes 0-1/10")
			w.WriteHeader(206)
			io.WriteString(w, "01")
			return
		}
		w.Header().Set("Cache-Control", "max-age=1")
		w.Header().Set("Age", "5")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, "0123456789")
	})
	if got := e.get("/m", "Range: bytes=0-1"); got.status != 206 || got.hit() || !contains(got.cacheStatus, "detail=range") {
		t.Errorf("miss: %d %q; want the origin's 206 with detail=range", got.status, got.cacheStatus)
	}
	e.get("/m") // stored, already stale (Age 5 > max-age 1)
	got := e.get("/m", "Range: bytes=8-")
	if got.status != 206 || got.body != "89" || !contains(got.cacheStatus, "fwd=stale; fwd-status=304") {
		t.Errorf("stale: %d %q (%q); want 206 89 after a 304 revalidation", got.status, got.body, got.cacheStatus)
	}
	if want := []string{"bytes=0-1", "", ""}; strings.Join(sawRange, "|") != strings.Join(want, "|") {
		t.Errorf("origin saw Range %q; want %q", sawRange, want)
	}
}
