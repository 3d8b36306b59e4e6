package middleware

import (
	"strconv"
	"time"
)

// The forward reasons of a Cache-Status member's fwd parameter (RFC 9211
// §2.2).
const (
	fwdBypass   = "bypass"    // the cache was configured not to handle the request
	fwdMethod   = "method"    // the request method is not cacheable
	fwdURIMiss  = "uri-miss"  // nothing stored for the target URI
	fwdVaryMiss = "vary-miss" // stored responses, none for this Vary selection
	fwdMiss     = "miss"      // not in the cache (only-if-cached)
	fwdRequest  = "request"   // the request's directives ruled the stored response out
	fwdStale    = "stale"     // the stored response was stale (or no-cache)
)

// cacheStatus is one member of the Cache-Status field (RFC 9211 §2): what
// this cache did with a request. Its String is the only place that writes
// the field's syntax.
type cacheStatus struct {
	hit       bool
	ttl       time.Duration // with hit: remaining freshness
	fwd       string        // why the request went to the handler; empty for a hit
	fwdStatus int           // the handler's status; 0 when not (yet) known
	stored    bool          // the response was stored
	collapsed bool          // answered by another request's forward
	// detail is an implementation-specific token: the tier that answered a
	// hit, or one short reason why a response was not stored or not served.
	detail string
}

// format returns the member for the cache named name.
func (s *cacheStatus) format(name string) string {
	b := make([]byte, 0, len(name)+64)
	b = append(b, name...)
	if s.hit {
		b = append(b, "; hit; ttl="...)
		b = strconv.AppendInt(b, int64(s.ttl/time.Second), 10)
	} else {
		b = append(b, "; fwd="...)
		b = append(b, s.fwd...)
		if s.fwdStatus != 0 {
			b = append(b, "; fwd-status="...)
			b = strconv.AppendInt(b, int64(s.fwdStatus), 10)
		}
		if s.stored {
			b = append(b, "; stored"...)
		}
		if s.collapsed {
			b = append(b, "; collapsed"...)
		}
	}
	if s.detail != "" {
		b = append(b, "; detail="...)
		b = append(b, s.detail...)
	}
	return string(b)
}
