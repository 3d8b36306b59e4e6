package middleware

import (
	"net/http"
	"time"
)

// The HTTP-date grammar (RFC 9110 §5.6.7), which parseHTTPDate follows to
// the letter (http.ParseTime accepts more: other spacing, one-digit
// fields, any case of "GMT", and reads two-digit years otherwise):
//
//	HTTP-date    = IMF-fixdate / obs-date
//	IMF-fixdate  = day-name "," SP day SP month SP year SP time-of-day SP "GMT"
//	                 ; Sun, 06 Nov 1994 08:49:37 GMT
//	rfc850-date  = day-name-l "," SP day "-" month "-" 2DIGIT SP time-of-day SP "GMT"
//	                 ; Sunday, 06-Nov-94 08:49:37 GMT
//	asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year
//	                 ; Sun Nov  6 08:49:37 1994
//	day = 2DIGIT   year = 4DIGIT   time-of-day = 2DIGIT ":" 2DIGIT ":" 2DIGIT
//
// Names are case-sensitive. The day of the week must be a valid name but
// is not checked against the date; the date itself must exist (no 31 Feb),
// hours run to 23, minutes to 59, seconds to 60 (a leap second).

var (
	dayNames     = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames   = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// fieldDate returns the HTTP-date of header field name: false when it is
// absent, invalid, or given on more than one field line.
func fieldDate(h http.Header, name string) (time.Time, bool) {
	lines := h[name]
	if len(lines) != 1 {
		return time.Time{}, false
	}
	return parseHTTPDate(lines[0])
}

// parseHTTPDate parses an HTTP-date in any of its three formats, exactly
// as RFC 9110 §5.6.7 gives them.
func parseHTTPDate(s string) (time.Time, bool) {
	if len(s) >= 4 && s[3] == ',' {
		return parseIMFFixdate(s)
	}
	if len(s) >= 4 && s[3] == ' ' {
		return parseASCTime(s)
	}
	return parseRFC850(s, time.Now())
}

// parseIMFFixdate parses "Sun, 06 Nov 1994 08:49:37 GMT".
func parseIMFFixdate(s string) (time.Time, bool) {
	if len(s) != len("Sun, 06 Nov 1994 08:49:37 GMT") ||
		!isName(s[:3], dayNames[:]) || s[3:5] != ", " || s[7] != ' ' || s[11] != ' ' ||
		s[16] != ' ' || s[25:] != " GMT" {
		return time.Time{}, false
	}
	day, ok1 := digits(s[5:7])
	month, ok2 := monthOf(s[8:11])
	year, ok3 := digits(s[12:16])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return dateTime(year, month, day, s[17:25])
}

// parseRFC850 parses "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year
// that would be more than 50 years after now is the most recent past year
// with those digits (RFC 9110 §5.6.7).
func parseRFC850(s string, now time.Time) (time.Time, bool) {
	comma := 0
	for comma < len(s) && s[comma] != ',' {
		comma++
	}
	rest := s[min(comma, len(s)):]
	if comma == len(s) || !isName(s[:comma], longDayNames[:]) ||
		len(rest) != len(", 06-Nov-94 08:49:37 GMT") ||
		rest[:2] != ", " || rest[4] != '-' || rest[8] != '-' || rest[11] != ' ' || rest[20:] != " GMT" {
		return time.Time{}, false
	}
	day, ok1 := digits(rest[2:4])
	month, ok2 := monthOf(rest[5:8])
	yy, ok3 := digits(rest[9:11])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	current := now.UTC().Year()
	year := current - current%100 + yy
	if year > current+50 {
		year -= 100
	}
	return dateTime(year, month, day, rest[12:20])
}

// parseASCTime parses "Sun Nov  6 08:49:37 1994".
func parseASCTime(s string) (time.Time, bool) {
	if len(s) != len("Sun Nov  6 08:49:37 1994") ||
		!isName(s[:3], dayNames[:]) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' {
		return time.Time{}, false
	}
	month, ok1 := monthOf(s[4:7])
	dd := s[8:10]
	if dd[0] == ' ' {
		dd = dd[1:]
	}
	day, ok2 := digits(dd)
	year, ok3 := digits(s[20:24])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return dateTime(year, month, day, s[11:19])
}

// dateTime checks the date and the time-of-day "08:49:37" and returns the
// instant, in UTC.
func dateTime(year int, month time.Month, day int, tod string) (time.Time, bool) {
	if tod[2] != ':' || tod[5] != ':' {
		return time.Time{}, false
	}
	hour, ok1 := digits(tod[0:2])
	minute, ok2 := digits(tod[3:5])
	sec, ok3 := digits(tod[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || sec > 60 || day < 1 {
		return time.Time{}, false
	}
	if first := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC); day > first.AddDate(0, 1, -1).Day() {
		return time.Time{}, false // no such day in that month
	}
	return time.Date(year, month, day, hour, minute, sec, 0, time.UTC), true
}

// digits parses a fixed-width run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

func monthOf(s string) (time.Month, bool) {
	for i, m := range monthNames {
		if s == m {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

func isName(s string, names []string) bool {
	for _, n := range names {
		if s == n {
			return true
		}
	}
	return false
}
