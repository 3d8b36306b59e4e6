package middleware

import (
	"log/slog"
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
	if out.RevalidateTimeout <= 0 {
		out.RevalidateTimeout = DefaultRevalidateTimeout
	}
	return out
}
