package middleware

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// unkeyedHeaders are the request fields that the cache removes from every
// request whose response it may store, before the wrapped handler sees it,
// unless Config.TrustHeaders or Config.KeyHeaders names them. Origins and
// frameworks read them to rebuild the URL, host, scheme or method the
// client "really" asked for, so a response can reflect them (in links,
// redirects, script URLs) although the cache key does not include them:
// one request carrying them would then poison the stored response for
// every client (web cache poisoning; see James Kettle, "Practical Web
// Cache Poisoning", 2018, and "Web Cache Entanglement", 2020).
var unkeyedHeaders = [...]string{
	"Forwarded",              // RFC 7239: host, proto of the "original" request
	"Front-End-Https",        // scheme (Microsoft)
	"X-Forwarded-Host",       // host
	"X-Forwarded-Port",       // port in generated URLs
	"X-Forwarded-Prefix",     // path prefix in generated URLs
	"X-Forwarded-Proto",      // scheme (kept from Config.TrustedProxies)
	"X-Forwarded-Scheme",     // scheme
	"X-Forwarded-Server",     // host
	"X-Forwarded-Ssl",        // scheme
	"X-Host",                 // host
	"X-Http-Host-Override",   // host
	"X-Http-Method",          // method override
	"X-Http-Method-Override", // method override
	"X-Method-Override",      // method override
	"X-Original-Host",        // host
	"X-Original-Url",         // path (IIS, Symfony, Zend)
	"X-Override-Url",         // path
	"X-Rewrite-Url",          // path (IIS, Symfony, Zend)
	"X-Url-Scheme",           // scheme
}

// stripUnkeyed returns r without the unkeyed request fields the
// configuration does not trust or key, and without X-Forwarded-Proto
// unless a trusted proxy sent it. It returns r itself when there is
// nothing to remove.
func (c *Cache) stripUnkeyed(r *http.Request) *http.Request {
	var out *http.Request
	for _, f := range unkeyedHeaders {
		if _, ok := r.Header[f]; !ok || c.keeps(r, f) {
			continue
		}
		if out == nil {
			out = r.Clone(r.Context())
		}
		delete(out.Header, f)
	}
	if out == nil {
		return r
	}
	return out
}

// keeps reports whether the unkeyed field f of r passes to the handler.
func (c *Cache) keeps(r *http.Request, f string) bool {
	if f == "X-Forwarded-Proto" && c.fromTrustedProxy(r) {
		return true
	}
	return slices.Contains(c.cfg.TrustHeaders, f) || slices.Contains(c.cfg.KeyHeaders, f)
}

// fromTrustedProxy reports whether r came from one of Config.TrustedProxies.
func (c *Cache) fromTrustedProxy(r *http.Request) bool {
	if len(c.cfg.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range c.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// forwardedProto returns the scheme a trusted proxy names in
// X-Forwarded-Proto ("http" or "https", one field line), or "".
func (c *Cache) forwardedProto(r *http.Request) string {
	lines := r.Header["X-Forwarded-Proto"]
	if len(lines) != 1 || !c.fromTrustedProxy(r) {
		return ""
	}
	switch {
	case strings.EqualFold(lines[0], "https"):
		return "https"
	case strings.EqualFold(lines[0], "http"):
		return "http"
	}
	return ""
}
