package middleware

import (
	"net/http"
	"testing"
	"time"
)

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC)
	tests := []struct {
		in string
		ok bool
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"Sun Nov  6 08:49:37 1994", true},
		{"Mon, 06 Nov 1994 08:49:37 GMT", true}, // the day name is not checked against the date
		{"Sun, 06 Nov 1994 08:49:37 gmt", false},
		{"Sun, 06 Nov 1994 08:49:37 UTC", false},
		{"Sun, 06 Nov 1994 08:49:37 +0000", false},
		{"sun, 06 Nov 1994 08:49:37 GMT", false},
		{"Sun, 06 nov 1994 08:49:37 GMT", false},
		{"Sun,  06 Nov 1994 08:49:37 GMT", false},
		{"Sun, 6 Nov 1994 08:49:37 GMT", false},
		{"Sun, 06 Nov 1994 8:49:37 GMT", false},
		{"Sun, 06 Nov 94 08:49:37 GMT", false},
		{"Sun, 06 Nov 1994 08:49:37 GMT ", false},
		{" Sun, 06 Nov 1994 08:49:37 GMT", false},
		{"Sun, 06 Nov 1994 24:00:00 GMT", false},
		{"Sun, 06 Nov 1994 08:60:00 GMT", false},
		{"Sun, 31 Nov 1994 08:49:37 GMT", false},
		{"Sun, 00 Nov 1994 08:49:37 GMT", false},
		{"Sun, 06 Nov 1994 08-49-37 GMT", false},
		{"Sunday, 06-Nov-1994 08:49:37 GMT", false},
		{"Sun, 06-Nov-94 08:49:37 GMT", false},
		{"Sun Nov 06 08:49:37 1994", true},
		{"Sun Nov 6 08:49:37 1994", false},
		{"Sun Nov  6 08:49:37 94", false},
		{"0", false},
		{"", false},
	}
	for _, tt := range tests {
		got, ok := parseHTTPDate(tt.in)
		if ok != tt.ok || ok && !got.Equal(want) {
			t.Errorf("parseHTTPDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, want, tt.ok)
		}
	}
	if _, ok := parseHTTPDate("Sun, 29 Feb 1996 00:00:00 GMT"); !ok {
		t.Errorf("parseHTTPDate(29 Feb 1996) failed; want a leap day")
	}
	if got, ok := parseHTTPDate("Sun, 31 Dec 1995 23:59:60 GMT"); !ok || !got.Equal(time.Date(1996, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("parseHTTPDate(leap second) = %v, %v; want 1996-01-01, true", got, ok)
	}
}

// TestRFC850Century: a two-digit year more than 50 years ahead is the
// most recent past year with those digits (RFC 9110 §5.6.7).
func TestRFC850Century(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		year int
	}{
		{"Friday, 01-Jan-27 00:00:00 GMT", 2027},
		{"Friday, 01-Jan-76 00:00:00 GMT", 2076},
		{"Friday, 01-Jan-77 00:00:00 GMT", 1977},
		{"Friday, 01-Jan-99 00:00:00 GMT", 1999},
		{"Friday, 01-Jan-00 00:00:00 GMT", 2000},
	}
	for _, tt := range tests {
		got, ok := parseRFC850(tt.in, now)
		if !ok || got.Year() != tt.year {
			t.Errorf("parseRFC850(%q) = %v, %v; want year %d", tt.in, got, ok, tt.year)
		}
	}
}

// FuzzParseHTTPDate: whatever parses is an instant that formats back to an
// IMF-fixdate that parses to the same instant; an accepted IMF-fixdate is
// byte for byte the canonical form of its instant (but for the day name);
// and http.ParseTime, which is more lenient, accepts the same IMF-fixdate
// with the same meaning.
func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Sun,  06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 gmt",
		"Thu, 31 Feb 2099 10:00:00 GMT", "Sun, 31 Dec 1995 23:59:60 GMT", "0", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseHTTPDate(s)
		if !ok {
			return
		}
		if got.Location() != time.UTC || got.Nanosecond() != 0 {
			t.Fatalf("parseHTTPDate(%q) = %v; want a whole second in UTC", s, got)
		}
		canon := got.Format(http.TimeFormat)
		if again, ok := parseHTTPDate(canon); !ok || !again.Equal(got) {
			t.Fatalf("parseHTTPDate(%q) = %v; its canonical form %q parses to %v, %v", s, got, canon, again, ok)
		}
		if len(s) < 4 || s[3] != ',' || s[23:25] == "60" {
			return // not an IMF-fixdate, or a leap second (normalised)
		}
		if s[3:] != canon[3:] {
			t.Fatalf("parseHTTPDate accepted %q; the canonical form of %v is %q", s, got, canon)
		}
		if lenient, err := http.ParseTime(s); err != nil || !lenient.Equal(got) {
			t.Fatalf("parseHTTPDate(%q) = %v; http.ParseTime = %v, %v", s, got, lenient, err)
		}
	})
}
