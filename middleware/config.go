package middleware

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultName              = "tiercache"
	DefaultKeyPrefix         = "tiercache:http:"
	DefaultMaxBodyBytes      = 1 << 20
	DefaultMaxTTL            = 24 * time.Hour
	DefaultRevalidateKeep    = 10 * time.Minute
	DefaultHeuristicFraction = 0.1
	DefaultMaxHeuristic      = time.Hour
	DefaultRevalidateTimeout = 30 * time.Second
)

const (
	// tagTTLSlack is how much longer than its longest-lived response a tag
	// set lives.
	tagTTLSlack = time.Minute
	// defaultPurgeBatch is how many keys a tag purge pops and deletes at once.
	defaultPurgeBatch = 512
	// defaultMaxPurgeRequestBody bounds the body of a purge request.
	defaultMaxPurgeRequestBody = 64 << 10
)

// SetCookiePolicy says what the cache does with a response that sets a
// cookie.
type SetCookiePolicy uint8

// The Set-Cookie policies.
const (
	// SetCookieBypass does not store responses that set cookies (the
	// default): a cookie meant for one client is never given to another.
	SetCookieBypass SetCookiePolicy = iota
	// SetCookieStrip stores such a response without its Set-Cookie fields:
	// the client that caused the fill receives its cookie, later clients
	// receive the response without it.
	SetCookieStrip
	// SetCookieStore stores and serves the Set-Cookie fields with the
	// response, to every client. Use it only for cookies that are the same
	// for everyone.
	SetCookieStore
)

// Config configures a Cache. A nil *Config, and every zero field, means the
// documented default.
type Config struct {
	// Name is the cache's name in Cache-Status fields. Empty means
	// DefaultName ("tiercache").
	Name string
	// KeyPrefix starts every key the cache writes to the Store and Redis.
	// Empty means DefaultKeyPrefix.
	KeyPrefix string
	// MaxBodyBytes is the largest response body stored; a larger response
	// streams through to the client unbuffered and is not stored. Zero
	// means DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// MaxTTL bounds how long any response is kept, whatever its freshness
	// lifetime says. Zero means DefaultMaxTTL (24 h).
	MaxTTL time.Duration
	// RevalidateKeep is how long past the end of its freshness a response
	// with a validator (ETag or Last-Modified) is kept so that it can be
	// revalidated with a conditional request instead of fetched again.
	// Zero means DefaultRevalidateKeep (10 min); negative keeps nothing past
	// freshness (beyond the stale-while-revalidate and stale-if-error
	// windows the response grants).
	RevalidateKeep time.Duration
	// HeuristicFraction is the fraction of the time since Last-Modified
	// that a response without explicit freshness is considered fresh for,
	// where RFC 9111 §4.2.2 allows a heuristic. Zero means
	// DefaultHeuristicFraction (10 %); negative disables heuristic
	// freshness.
	HeuristicFraction float64
	// MaxHeuristic caps heuristic freshness. Zero means DefaultMaxHeuristic
	// (1 h).
	MaxHeuristic time.Duration
	// SortQuery orders query parameters by name in keys, so that ?a=1&b=2
	// and ?b=2&a=1 share a stored response. Off by default: an origin may
	// answer them differently.
	SortQuery bool
	// TargetedField names a targeted cache-control field (RFC 9213), such as
	// "CDN-Cache-Control", that takes precedence over Cache-Control when a
	// response carries it. Empty means none: only Cache-Control is read.
	TargetedField string
	// Private makes the cache a private cache (RFC 9111 §1): it stores
	// responses marked private, stores responses to requests with
	// Authorization, and ignores s-maxage and proxy-revalidate. Use it only
	// for a cache that serves a single user, such as a client Transport.
	Private bool
	// SetCookie says what to do with responses that set cookies. The zero
	// value is SetCookieBypass: they are not stored.
	SetCookie SetCookiePolicy
	// ShareCookieResponses stores responses to requests that carry a
	// Cookie under the plain RFC 9111 rules. By default (false) such a
	// response is stored only when it is explicitly shareable (public or
	// s-maxage) or varies on Cookie, since origins often personalise by
	// cookie without saying so.
	ShareCookieResponses bool
	// NeverShareAuthorization makes a shared cache store no response to a
	// request with Authorization, whatever the response says. By default
	// (false) such a response is stored where RFC 9111 §3.5 allows it: when
	// it says public, s-maxage or must-revalidate, and then it is served to
	// other requests for the same URL (with or without Authorization).
	NeverShareAuthorization bool
	// TrustHeaders names request fields of the unkeyed list (see
	// docs/http.md: X-Forwarded-Host, X-Original-URL, X-Rewrite-URL, X-Host
	// and others that origins use to rebuild URLs) that the handler may
	// see although they are not part of the key. By default the cache
	// removes every listed field from the requests whose responses it may
	// store, so that no request can poison a stored response with them.
	// Trust only a field that a proxy in front of this one sets itself,
	// overwriting what clients send.
	TrustHeaders []string
	// KeyHeaders names request fields that select a stored response as if
	// every response listed them in Vary: each value gets its own stored
	// response. A field of the unkeyed list named here reaches the handler.
	KeyHeaders []string
	// TrustedProxies are the peers (by the request's RemoteAddr) whose
	// X-Forwarded-Proto names the scheme of the request, as a TLS
	// terminator in front of the cache sets it: "https" and "http" are then
	// keyed apart, and the field reaches the handler. From any other peer,
	// X-Forwarded-Proto is removed and the scheme is that of the connection.
	TrustedProxies []netip.Prefix
	// RevalidateTimeout bounds a background revalidation
	// (stale-while-revalidate). Zero means DefaultRevalidateTimeout (30 s).
	RevalidateTimeout time.Duration
	// Logger receives reports of cache errors (Redis failures while storing
	// or purging). Nil means silent.
	Logger *slog.Logger
}

func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.Name == "" {
		out.Name = DefaultName
	}
	if out.KeyPrefix == "" {
		out.KeyPrefix = DefaultKeyPrefix
	}
	if out.MaxBodyBytes <= 0 {
		out.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if out.MaxTTL <= 0 {
		out.MaxTTL = DefaultMaxTTL
	}
	switch {
	case out.RevalidateKeep == 0:
		out.RevalidateKeep = DefaultRevalidateKeep
	case out.RevalidateKeep < 0:
		out.RevalidateKeep = 0
	}
	if out.HeuristicFraction == 0 {
		out.HeuristicFraction = DefaultHeuristicFraction
	}
	if out.MaxHeuristic <= 0 {
		out.MaxHeuristic = DefaultMaxHeuristic
	}
	out.TrustHeaders = canonicalNames(out.TrustHeaders)
	out.KeyHeaders = canonicalNames(out.KeyHeaders)
	if out.RevalidateTimeout <= 0 {
		out.RevalidateTimeout = DefaultRevalidateTimeout
	}
	return out
}

// canonicalNames returns a copy of names in canonical header case.
func canonicalNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = http.CanonicalHeaderKey(n)
	}
	return out
}
