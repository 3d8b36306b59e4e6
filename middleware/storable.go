package middleware

import (
	"net/http"
	"slices"
	"time"
)

// storable reports whether the response to req with this status, header
// and directives may be stored (RFC 9111 §3, with the cache's safety
// defaults).
func (c *Cache) storable(req *http.Request, reqCC *cacheControl, status int, h http.Header, cc *cacheControl) bool {
	if req.Method != http.MethodGet || reqCC.noStore || cc.noStore {
		return false
	}
	if status < 200 || status == http.StatusPartialContent || status == http.StatusNotModified {
		return false
	}
	shared := !c.cfg.Private
	if shared && cc.private {
		return false
	}
	if _, ok := h["Trailer"]; ok {
		return false
	}
	vary, star := parseVary(h["Vary"])
	if star {
		return false // Vary: * never matches a later request
	}
	if _, ok := h["Set-Cookie"]; ok && c.cfg.SetCookie == SetCookieBypass {
		return false
	}
	explicitlyShared := cc.public || shared && cc.sMaxAge.set
	if shared && req.Header.Get("Authorization") != "" &&
		(c.cfg.NeverShareAuthorization || !explicitlyShared && !cc.mustRevalidate) {
		return false // RFC 9111 §3.5
	}
	if shared && !c.cfg.ShareCookieResponses && req.Header.Get("Cookie") != "" &&
		!explicitlyShared && !slices.Contains(vary, "Cookie") {
		return false
	}
	// RFC 9111 §3: something must say the response may be stored.
	_, expires := h["Expires"]
	expires = expires && !cc.targeted // RFC 9213 §2.1
	return cc.public || cc.maxAge.set || shared && cc.sMaxAge.set || expires ||
		heuristicallyCacheable(status) || c.cfg.Private && cc.private
}

// storeTTL returns how long to keep e: its remaining freshness, plus the
// stale-while-revalidate and stale-if-error windows it grants, plus
// RevalidateKeep when it can be revalidated; bounded by MaxTTL. Zero means
// storing it is of no use.
func (c *Cache) storeTTL(e *entry, now time.Time) time.Duration {
	ttl := max(e.ttl(now), 0)
	if !e.m.mustRevalidate {
		ttl += max(e.m.cc.staleWhileRevalidate.upper(), e.m.cc.staleIfError.upper())
	}
	if e.hasValidator() {
		ttl += c.cfg.RevalidateKeep
	}
	return min(ttl, c.cfg.MaxTTL)
}
