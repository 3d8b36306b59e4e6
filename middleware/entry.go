package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// entry is what the cache stores under a key: a response, or (when Nonce is
// set) a variant marker that lists the fields a URL's responses vary on.
// Entries are shared, read-only, between the requests that read them from
// L1; a change makes a new entry.
type entry struct {
	Status int         `msgpack:"s"`
	Header http.Header `msgpack:"h"`
	Body   []byte      `msgpack:"b"`
	// RequestTime and ResponseTime (unix nanoseconds) bracket the exchange
	// that produced the response (RFC 9111 §4.2.3).
	RequestTime  int64 `msgpack:"rq"`
	ResponseTime int64 `msgpack:"rs"`

	// Nonce, on a variant marker, names the generation of the URL's
	// variants: purging the marker orphans them all.
	Nonce string `msgpack:"n,omitempty"`
	// Vary lists the normalised field names of a marker.
	Vary []string `msgpack:"v,omitempty"`

	m meta // derived from the fields above by derive
}

// meta is what the cache derives from a stored response once, so that a hit
// parses nothing.
type meta struct {
	cc             cacheControl
	initialAge     time.Duration // corrected_initial_age
	responseTime   time.Time
	lifetime       time.Duration // freshness_lifetime
	heuristic      bool          // lifetime is heuristic (RFC 9111 §4.2.2): no explicit one
	vary           []string
	etag           string
	date           time.Time // the Date field, or the response time when it is invalid
	lastModified   time.Time // zero when absent or invalid
	noCache        bool      // every use needs revalidation
	mustRevalidate bool      // never served stale
	contentLength  []string
	fields         []headerField // Header as a list: a hit copies it without iterating a map

	hits      atomic.Pointer[hitFields] // the latest hit's fields, reused within a second
	lastRange atomic.Pointer[rangeMemo] // the latest single-range answer
}

// headerField is one field of a stored header.
type headerField struct {
	name   string
	values []string
}

// hasValidator reports whether the response can be revalidated.
func (e *entry) hasValidator() bool { return e.m.etag != "" || !e.m.lastModified.IsZero() }

// age returns the response's current_age at now (RFC 9111 §4.2.3), at
// most maxDelta (RFC 9111 §1.2.2: a calculation that overflows is 2^31 s).
func (e *entry) age(now time.Time) time.Duration {
	return min(e.m.initialAge+max(now.Sub(e.m.responseTime), 0), maxDelta)
}

// parseAge returns the value of an Age field (RFC 9111 §5.1): zero when
// absent; false unless it is one field line holding one delta-seconds.
func parseAge(lines []string) (time.Duration, bool) {
	switch len(lines) {
	case 0:
		return 0, true
	case 1:
		secs, ok := parseDelta(lines[0])
		return time.Duration(secs) * time.Second, ok
	}
	return 0, false
}

// ttl returns the remaining freshness at now; negative when stale.
func (e *entry) ttl(now time.Time) time.Duration { return e.m.lifetime - e.age(now) }

// derive computes the entry's meta for cache c. It also clips the header's
// value slices, so that a caller appending to a served header copies it
// instead of writing into the shared entry.
func (e *entry) derive(c *Cache) {
	if e.Nonce != "" {
		return
	}
	m := &e.m
	m.fields = make([]headerField, 0, len(e.Header))
	for k, v := range e.Header {
		e.Header[k] = slices.Clip(v)
		m.fields = append(m.fields, headerField{k, e.Header[k]})
	}
	m.cc = c.responseCacheControl(e.Header)
	m.responseTime = time.Unix(0, e.ResponseTime)
	requestTime := time.Unix(0, e.RequestTime)
	date, ok := fieldDate(e.Header, "Date")
	if !ok {
		date = m.responseTime // no usable Date: the response is as old as its receipt
	}
	m.date = date
	apparentAge := max(m.responseTime.Sub(date), 0)
	responseDelay := max(m.responseTime.Sub(requestTime), 0)
	if ageValue, ok := parseAge(e.Header["Age"]); ok {
		m.initialAge = min(max(apparentAge, ageValue+responseDelay), maxDelta)
	} else {
		m.initialAge = maxDelta // an invalid Age makes the response stale
	}
	m.lifetime, m.heuristic = c.lifetime(e.Status, e.Header, &m.cc, date)
	m.vary = c.varyOf(e.Header)
	m.etag = e.Header.Get("Etag")
	m.lastModified, _ = fieldDate(e.Header, "Last-Modified")
	m.noCache = m.cc.noCache
	m.mustRevalidate = m.cc.mustRevalidate || !c.cfg.Private && (m.cc.proxyRevalidate || m.cc.sMaxAge.set)
	m.contentLength = []string{strconv.Itoa(len(e.Body))}
}

// lifetime returns the freshness lifetime of a response (RFC 9111 §4.2.1),
// with a heuristic only where §4.2.2 allows one; heuristic reports that
// the response gave no explicit lifetime.
func (c *Cache) lifetime(status int, h http.Header, cc *cacheControl, date time.Time) (d time.Duration, heuristic bool) {
	switch {
	case !c.cfg.Private && cc.sMaxAge.set:
		return cc.sMaxAge.duration(), false
	case cc.maxAge.set:
		return cc.maxAge.duration(), false
	}
	if _, ok := h["Expires"]; ok && !cc.targeted {
		exp, ok := fieldDate(h, "Expires")
		if !ok {
			return 0, false // an invalid Expires (or several) means "already expired"
		}
		return max(exp.Sub(date), 0), false
	}
	if c.cfg.HeuristicFraction < 0 || !heuristicallyCacheable(status) && !cc.public {
		return 0, true
	}
	lm, ok := fieldDate(h, "Last-Modified")
	if !ok || !lm.Before(date) {
		return 0, true
	}
	return min(time.Duration(float64(date.Sub(lm))*c.cfg.HeuristicFraction), c.cfg.MaxHeuristic), true
}

// heuristicallyCacheable reports the status codes RFC 9110 §15.1 defines as
// heuristically cacheable.
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// responseCacheControl returns the directives that govern a response: the
// configured targeted field (RFC 9213 §2.1) when the response carries it
// with a valid, non-empty value, and then Cache-Control and Expires are
// ignored; else Cache-Control.
func (c *Cache) responseCacheControl(h http.Header) cacheControl {
	if c.cfg.TargetedField != "" {
		if lines := h.Values(c.cfg.TargetedField); validTargeted(lines) {
			cc := parseCacheControl(lines)
			cc.targeted = true
			return cc
		}
	}
	return parseCacheControl(h["Cache-Control"])
}

// hopByHop lists the fields that describe one connection and are never
// stored (RFC 9110 §7.6.1), together with fields the cache computes itself.
var hopByHop = [...]string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Content-Length", "Cache-Status",
}

// storedHeader returns the header fields of a response that are stored with
// it: not the hop-by-hop fields, not fields named by private="..." or
// no-cache="...", and not Set-Cookie unless the policy keeps it.
func (c *Cache) storedHeader(h http.Header, cc *cacheControl) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, conn := range h["Connection"] {
		for f := range strings.SplitSeq(conn, ",") {
			delete(out, http.CanonicalHeaderKey(strings.TrimSpace(f)))
		}
	}
	for _, f := range hopByHop {
		delete(out, f)
	}
	if !c.cfg.Private {
		for _, f := range cc.privateFields {
			delete(out, f)
		}
	}
	for _, f := range cc.noCacheFields {
		delete(out, f)
	}
	if c.cfg.SetCookie != SetCookieStore {
		delete(out, "Set-Cookie")
	}
	return out
}

// decode is the Store Decoder of entries: it derives their meta before
// they are shared.
func (c *Cache) decode(cd codec.Codec, payload []byte) (any, error) {
	e := new(entry)
	if err := cd.Unmarshal(payload, e); err != nil {
		return nil, err
	}
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.derive(c)
	return e, nil
}
