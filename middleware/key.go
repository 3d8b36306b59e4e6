package middleware

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// primaryKey returns the key of the stored GET response to the target of r:
// the method, scheme, host, path and query, and nothing else. Every part is
// length-prefixed, so that no two targets share a key.
func (c *Cache) primaryKey(r *http.Request) string {
	return c.keyFor(c.scheme(r), r.Host, r.URL)
}

// keyFor returns the primary key of a GET of scheme://host with u's path and
// query.
func (c *Cache) keyFor(scheme, host string, u *url.URL) string {
	query := u.RawQuery
	if c.cfg.SortQuery && query != "" {
		query = sortQuery(query)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	var scratch [20]byte
	parts := [...]string{"GET", scheme, host, path, query}
	n := len(c.cfg.KeyPrefix)
	for _, part := range parts {
		n += decimalLen(len(part)) + 1 + len(part)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(c.cfg.KeyPrefix)
	for i, part := range parts {
		b.Write(appendLen(scratch[:0], len(part)))
		b.WriteByte(':')
		if i == 1 || i == 2 { // scheme and host are case-insensitive (RFC 3986 §6.2.2.1)
			writeLower(&b, part)
		} else {
			b.WriteString(part)
		}
	}
	return b.String()
}

// appendLen appends n >= 0 in decimal; lengths below 100, the common case,
// without strconv's general path.
func appendLen(b []byte, n int) []byte {
	switch {
	case n < 10:
		return append(b, byte('0'+n))
	case n < 100:
		return append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// decimalLen returns the number of decimal digits of n >= 0.
func decimalLen(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// writeLower writes s to b in ASCII lower case.
func writeLower(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b.WriteString(strings.ToLower(s))
			return
		}
	}
	b.WriteString(s)
}

// variantKey returns the key of the variant of primary (whose marker holds
// nonce) that selector selects.
func variantKey(primary, nonce, selector string) string {
	return primary + "|v" + strconv.Itoa(len(nonce)) + ":" + nonce + "|" + selector
}

// scheme is the scheme of r's target: the one an absolute target names
// (a client request), else the one a trusted proxy names in
// X-Forwarded-Proto (Config.TrustedProxies), else "https" for a request
// that came over TLS and "http" for the others.
func (c *Cache) scheme(r *http.Request) string {
	if r.URL.Scheme != "" {
		return r.URL.Scheme
	}
	if s := c.forwardedProto(r); s != "" {
		return s
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// sortQuery orders the query's parameters by name (stable, so repeated
// names keep their order), leaving their encoding as it was.
func sortQuery(q string) string {
	parts := strings.Split(q, "&")
	slices.SortStableFunc(parts, func(a, b string) int {
		an, _, _ := strings.Cut(a, "=")
		bn, _, _ := strings.Cut(b, "=")
		return strings.Compare(an, bn)
	})
	return strings.Join(parts, "&")
}
