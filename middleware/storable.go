package middleware

import (
	"net/http"
	"slices"
	"time"
)

// Why a response was not stored: the Cache-Status detail of a forward
// whose response the cache did not keep (docs/http.md lists them).
const (
	whyRequestNoStore = "request-no-store" // the request said no-store
	whyNoStore        = "no-store"         // the response said no-store
	whyStatus         = "status"           // 206, 304 or an interim status
	whyPrivate        = "private"          // the response said private
	whyTrailer        = "trailer"          // the response has trailers
	whyVaryStar       = "vary-star"        // Vary: *
	whySetCookie      = "set-cookie"       // it sets a cookie (Config.SetCookie)
	whyAuthorization  = "authorization"    // RFC 9111 §3.5, Config.NeverShareAuthorization
	whyCookie         = "cookie"           // a request with Cookie (Config.ShareCookieResponses)
	whyNoFreshness    = "no-freshness"     // nothing makes it storable: no max-age, Expires, ...
	whyStale          = "stale-on-arrival" // no freshness left, no validator, no stale window
	whyIncomplete     = "incomplete"       // shorter (or longer) than its Content-Length
	whyTooLarge       = "too-large"        // body over MaxBodyBytes
	whyStoreError     = "store-error"      // the Store failed (Redis down): see the Logger
)

// notStorable returns why the response to req with this status, header
// and directives may not be stored (RFC 9111 §3, with the cache's safety
// defaults), or "" when it may.
func (c *Cache) notStorable(req *http.Request, reqCC *cacheControl, status int, h http.Header, cc *cacheControl) string {
	shared := !c.cfg.Private
	vary, star := parseVary(h["Vary"])
	explicitlyShared := cc.public || shared && cc.sMaxAge.set
	_, expires := h["Expires"]
	expires = expires && !cc.targeted // RFC 9213 §2.1
	switch {
	case reqCC.noStore:
		return whyRequestNoStore
	case cc.noStore:
		return whyNoStore
	case status < 200 || status == http.StatusPartialContent || status == http.StatusNotModified:
		return whyStatus
	case shared && cc.private:
		return whyPrivate
	case len(h["Trailer"]) > 0:
		return whyTrailer
	case star:
		return whyVaryStar // Vary: * never matches a later request
	case len(h["Set-Cookie"]) > 0 && c.cfg.SetCookie == SetCookieBypass:
		return whySetCookie
	case shared && req.Header.Get("Authorization") != "" &&
		(c.cfg.NeverShareAuthorization || !explicitlyShared && !cc.mustRevalidate):
		return whyAuthorization // RFC 9111 §3.5
	case shared && !c.cfg.ShareCookieResponses && req.Header.Get("Cookie") != "" &&
		!explicitlyShared && !slices.Contains(vary, "Cookie"):
		return whyCookie
	}
	// RFC 9111 §3: something must say the response may be stored.
	if cc.public || cc.maxAge.set || shared && cc.sMaxAge.set || expires ||
		heuristicallyCacheable(status) || c.cfg.Private && cc.private {
		return ""
	}
	return whyNoFreshness
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
