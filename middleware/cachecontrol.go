package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxDeltaSeconds is the largest delta-seconds value kept: RFC 9111 §1.2.2
// says a larger value is to be taken as 2147483648 (about 68 years).
const maxDeltaSeconds = 2147483648

// maxDelta is maxDeltaSeconds as a Duration: ages and lifetimes saturate
// there.
const maxDelta = maxDeltaSeconds * time.Second

// delta is a delta-seconds directive argument, as given by every
// occurrence of the directive.
type delta struct {
	set     bool  // the directive is present
	invalid bool  // an occurrence's argument is missing or malformed
	valid   bool  // an occurrence has a valid argument: least and most hold
	least   int64 // the smallest valid argument
	most    int64 // the largest valid argument
}

// duration returns the directive's value where it sets a freshness
// lifetime: zero when it is invalid or its occurrences disagree (RFC 9111
// §4.2.1: such a response is considered stale).
func (d delta) duration() time.Duration {
	if !d.set || d.invalid || d.least != d.most {
		return 0
	}
	return time.Duration(d.least) * time.Second
}

// upper returns the directive's value where it bounds what may be used
// (max-age and max-stale in a request, the stale-while-revalidate and
// stale-if-error windows): the most restrictive reading, the smallest
// value, zero when any occurrence is invalid (RFC 9111 §4.2.1).
func (d delta) upper() time.Duration {
	if !d.set || d.invalid {
		return 0
	}
	return time.Duration(d.least) * time.Second
}

// lower returns the directive's value where it is a lower bound (min-fresh
// in a request): the largest value, maxDelta when any occurrence is
// invalid.
func (d delta) lower() time.Duration {
	if !d.set {
		return 0
	}
	if d.invalid {
		return maxDelta
	}
	return time.Duration(d.most) * time.Second
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
	// targeted: the directives come from a targeted field (RFC 9213), so
	// the response's Expires is ignored too.
	targeted bool
	// noCacheFields and privateFields are the field names of the qualified
	// forms no-cache="..." and private="..."; the unqualified forms set
	// noCache and private instead.
	noCacheFields, privateFields []string
}

// parseCacheControl parses the field lines of a Cache-Control field
// (RFC 9111 §5.2: cache-directive = token [ "=" ( token / quoted-string ) ],
// no whitespace around "="). It never fails. Every occurrence of a
// directive counts, and conflicts resolve to the most restrictive reading
// (§4.2.1): see delta. A malformed directive with a known name is read as
// restrictively as it can be: a delta-seconds directive becomes invalid,
// no-store, no-cache, private, must-revalidate and proxy-revalidate apply,
// and the permissive ones (public, immutable) are ignored, as are unknown
// directives (§5.2.3).
func parseCacheControl(lines []string) cacheControl {
	var cc cacheControl
	for _, line := range lines {
		for len(line) > 0 {
			var d directive
			d, line = nextDirective(line)
			if d.name == "" {
				continue
			}
			d.name = strings.ToLower(d.name)
			cc.apply(d)
		}
	}
	return cc
}

// directive is one cache-directive as written.
type directive struct {
	name      string
	arg       string
	hasArg    bool
	malformed bool // something other than whitespace follows it before the next comma
}

// nextDirective splits the first directive off s.
func nextDirective(s string) (d directive, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	d.name, s = s[:i], s[i:]
	if len(s) > 0 && s[0] == '=' {
		d.hasArg = true
		s = s[1:]
		if len(s) > 0 && s[0] == '"' {
			var b strings.Builder
			j := 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			d.arg = b.String()
			if j < len(s) {
				j++ // closing quote
			} else {
				d.malformed = true // unterminated
			}
			s = s[j:]
		} else {
			j := 0
			for j < len(s) && isTokenChar(s[j]) {
				j++
			}
			d.arg, s = s[:j], s[j:]
		}
	}
	// Skip whatever is left of a malformed directive, up to the next comma.
	k := strings.IndexByte(s, ',')
	if k < 0 {
		k = len(s)
	}
	if strings.TrimLeft(s[:k], " \t") != "" {
		d.malformed = true
	}
	return d, s[min(k+1, len(s)):]
}

func (cc *cacheControl) apply(d directive) {
	if d.malformed {
		d.hasArg, d.arg = false, "" // restrictive readings below
	}
	switch d.name {
	case "max-age":
		cc.maxAge.merge(d)
	case "s-maxage":
		cc.sMaxAge.merge(d)
	case "min-fresh":
		cc.minFresh.merge(d)
	case "max-stale":
		if !d.hasArg && !d.malformed {
			d.hasArg, d.arg = true, strconv.Itoa(maxDeltaSeconds) // any staleness
		}
		cc.maxStale.merge(d)
	case "stale-while-revalidate":
		cc.staleWhileRevalidate.merge(d)
	case "stale-if-error":
		cc.staleIfError.merge(d)
	case "no-store":
		cc.noStore = true
	case "no-cache":
		if d.hasArg && d.arg != "" {
			cc.noCacheFields = append(cc.noCacheFields, fieldNames(d.arg)...)
		} else {
			cc.noCache = true
		}
	case "private":
		if d.hasArg && d.arg != "" {
			cc.privateFields = append(cc.privateFields, fieldNames(d.arg)...)
		} else {
			cc.private = true
		}
	case "must-revalidate":
		cc.mustRevalidate = true
	case "proxy-revalidate":
		cc.proxyRevalidate = true
	}
	if d.malformed {
		return
	}
	switch d.name {
	case "public":
		cc.public = true
	case "only-if-cached":
		cc.onlyIfCached = true
	case "immutable":
		cc.immutable = true
	}
}

// merge records one occurrence of a delta-seconds directive: its argument
// joins the range of valid values, or makes the directive invalid.
func (d *delta) merge(dir directive) {
	d.set = true
	secs, ok := parseDelta(dir.arg)
	if !dir.hasArg || !ok {
		d.invalid = true
		return
	}
	if !d.valid {
		d.valid, d.least, d.most = true, secs, secs
		return
	}
	d.least, d.most = min(d.least, secs), max(d.most, secs)
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
