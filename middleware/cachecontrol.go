package middleware

import (
	"net/http"
	"strings"
	"time"
)

// maxDeltaSeconds is the largest delta-seconds value kept: RFC 9111 §1.2.2
// says a larger value is to be taken as 2147483648 (about 68 years).
const maxDeltaSeconds = 2147483648

// delta is a delta-seconds directive argument.
type delta struct {
	set     bool  // the directive is present
	invalid bool  // its argument is missing, malformed or repeated with another value
	secs    int64 // valid when set && !invalid
}

// duration returns the directive's value; an invalid argument is zero (RFC
// 9111 §4.2.1: invalid freshness information makes a response stale).
func (d delta) duration() time.Duration {
	if !d.set || d.invalid {
		return 0
	}
	return time.Duration(d.secs) * time.Second
}

// cacheControl is a parsed Cache-Control (or CDN-Cache-Control) field.
// Unknown directives are ignored, as RFC 9111 §5.2.3 requires.
type cacheControl struct {
	maxAge, sMaxAge, minFresh     delta
	maxStale                      delta // set without an argument means any staleness
	staleWhileRevalidate          delta // RFC 5861
	staleIfError                  delta // RFC 5861
	noStore, noCache, private     bool
	public, mustRevalidate        bool
	proxyRevalidate, onlyIfCached bool
	immutable                     bool
	// noCacheFields and privateFields are the field names of the qualified
	// forms no-cache="..." and private="..."; the unqualified forms set
	// noCache and private instead.
	noCacheFields, privateFields []string
}

// parseCacheControl parses the field lines of a Cache-Control field. It
// never fails: malformed directives are skipped, malformed arguments make
// the directive invalid.
func parseCacheControl(lines []string) cacheControl {
	var cc cacheControl
	for _, line := range lines {
		for len(line) > 0 {
			var name, arg string
			var hasArg bool
			name, arg, hasArg, line = nextDirective(line)
			if name == "" {
				continue
			}
			cc.apply(strings.ToLower(name), arg, hasArg)
		}
	}
	return cc
}

// nextDirective splits the first directive off s.
func nextDirective(s string) (name, arg string, hasArg bool, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	name, s = s[:i], s[i:]
	s = strings.TrimLeft(s, " \t")
	if len(s) > 0 && s[0] == '=' {
		hasArg = true
		s = strings.TrimLeft(s[1:], " \t")
		if len(s) > 0 && s[0] == '"' {
			var b strings.Builder
			j := 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			arg = b.String()
			if j < len(s) {
				j++ // closing quote
			}
			s = s[j:]
		} else {
			j := 0
			for j < len(s) && isTokenChar(s[j]) {
				j++
			}
			arg, s = s[:j], s[j:]
		}
	}
	// Skip whatever is left of a malformed directive, up to the next comma.
	if k := strings.IndexByte(s, ','); k >= 0 {
		if strings.TrimSpace(s[:k]) != "" {
			name = "" // junk after the directive: ignore it whole
		}
		s = s[k+1:]
	} else {
		if strings.TrimSpace(s) != "" {
			name = ""
		}
		s = ""
	}
	return name, arg, hasArg, s
}

func (cc *cacheControl) apply(name, arg string, hasArg bool) {
	switch name {
	case "max-age":
		cc.maxAge.merge(arg, hasArg)
	case "s-maxage":
		cc.sMaxAge.merge(arg, hasArg)
	case "min-fresh":
		cc.minFresh.merge(arg, hasArg)
	case "max-stale":
		if !hasArg {
			cc.maxStale.set = true
			cc.maxStale.secs = maxDeltaSeconds
			return
		}
		cc.maxStale.merge(arg, hasArg)
	case "stale-while-revalidate":
		cc.staleWhileRevalidate.merge(arg, hasArg)
	case "stale-if-error":
		cc.staleIfError.merge(arg, hasArg)
	case "no-store":
		cc.noStore = true
	case "no-cache":
		if hasArg && arg != "" {
			cc.noCacheFields = append(cc.noCacheFields, fieldNames(arg)...)
		} else {
			cc.noCache = true
		}
	case "private":
		if hasArg && arg != "" {
			cc.privateFields = append(cc.privateFields, fieldNames(arg)...)
		} else {
			cc.private = true
		}
	case "public":
		cc.public = true
	case "must-revalidate":
		cc.mustRevalidate = true
	case "proxy-revalidate":
		cc.proxyRevalidate = true
	case "only-if-cached":
		cc.onlyIfCached = true
	case "immutable":
		cc.immutable = true
	}
}

// merge records one occurrence of a delta-seconds directive. A repeated
// directive with a different value is invalid (RFC 9111 §4.2.1 lets a cache
// consider such a response stale).
func (d *delta) merge(arg string, hasArg bool) {
	secs, ok := parseDelta(arg)
	if !hasArg {
		ok = false
	}
	switch {
	case !d.set:
		d.set, d.secs, d.invalid = true, secs, !ok
	case d.invalid || !ok || d.secs != secs:
		d.invalid = true
	}
}

// parseDelta parses delta-seconds (RFC 9111 §1.2.2): digits only, values
// beyond 2^31 capped.
func parseDelta(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDeltaSeconds {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDeltaSeconds), true
}

// fieldNames splits the argument of a qualified no-cache or private
// directive into canonical field names.
func fieldNames(arg string) []string {
	var names []string
	for f := range strings.SplitSeq(arg, ",") {
		f = strings.TrimSpace(f)
		if f != "" && validToken(f) {
			names = append(names, http.CanonicalHeaderKey(f))
		}
	}
	return names
}

func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
