// Package middleware caches HTTP responses in a tier.Store, as an RFC 9111
// shared cache in front of an http.Handler, or as a private or shared cache
// in an http.Client's Transport.
//
//	store, _ := tier.New(&tier.Config{Redis: rdb})
//	cache, _ := middleware.New(store, nil)
//	defer cache.Close()
//	http.ListenAndServe(addr, cache.Handler(app))
//
// # What is stored
//
// A response to a GET is stored when RFC 9111 §3 allows it: its status is
// final (not 206 or 304), neither the request nor the response says
// no-store, the response is not private, and something makes it storable
// (public, max-age, s-maxage, Expires, or a heuristically cacheable status).
// On top of that, safe defaults: a response to a request with Authorization
// is stored only when it says public, s-maxage or must-revalidate (never,
// with Config.NeverShareAuthorization); a
// response to a request with a Cookie only when it says public or s-maxage
// or varies on Cookie (Config.ShareCookieResponses); a response that sets a
// cookie is not stored (Config.SetCookie); a response larger than
// Config.MaxBodyBytes streams through and is not stored; Vary: * is never
// stored.
//
// # Keys
//
// A stored response is found by the request's method, scheme, host, path
// and query (parameters sorted with Config.SortQuery) and by the values of
// the request fields its Vary (and Config.KeyHeaders) names, normalised;
// nothing else of the request selects it. Request fields that origins use
// to rebuild the URL the client "really" asked for (X-Forwarded-Host,
// X-Original-URL, X-Rewrite-URL, X-Host and others; see Config.TrustHeaders)
// are removed before the handler sees a request whose response may be
// stored, so that no request can poison a stored response with them.
// X-Forwarded-Proto names the scheme only from Config.TrustedProxies.
//
// # Serving
//
// A fresh response is served with its Age; a stale one is revalidated with
// the wrapped handler using its validators (a 304 refreshes it), served
// stale while it revalidates in the background (stale-while-revalidate), or
// served in place of a 5xx or a failed handler (stale-if-error). Range
// requests are answered from a stored 200 (206, multipart, 416). Concurrent
// misses of one URL call the handler once. Every response carries a Cache-Status field (RFC
// 9211) naming the cache and saying whether it was a hit, from which tier
// (detail=l1, detail=l2), or why it was forwarded and, in its detail, why
// the response was not stored or the stored one not served.
//
// # Purge
//
// Cache.PurgeURL and Cache.PurgeTag (the tags of the Surrogate-Key response
// field) delete through tier.Store.Delete, reaching Redis and every
// instance's L1; Cache.PurgeHandler serves them over HTTP. Unsafe requests
// (POST, PUT, DELETE, PATCH) answered with a non-error status invalidate
// their target and same-origin Location and Content-Location.
package middleware
