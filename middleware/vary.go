package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// parseVary returns the normalised field names a Vary field lists (canonical
// case, sorted, without duplicates) and whether it lists "*". Names that are
// not tokens are kept as written: no request carries such a header, so they
// select nothing, but they still make the response a variant.
func parseVary(lines []string) (names []string, star bool) {
	for _, line := range lines {
		for f := range strings.SplitSeq(line, ",") {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
			case f == "*":
				star = true
			default:
				names = append(names, http.CanonicalHeaderKey(f))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), star
}

// varyOf returns the request fields that select among a response's
// variants: those its Vary names and Config.KeyHeaders.
func (c *Cache) varyOf(h http.Header) []string {
	names, _ := parseVary(h["Vary"])
	if len(c.cfg.KeyHeaders) == 0 {
		return names
	}
	names = append(names, c.cfg.KeyHeaders...)
	slices.Sort(names)
	return slices.Compact(names)
}

// varySelector returns the secondary key part that the request's values of
// the named fields select. Each field's lines are combined, split on commas
// and trimmed (RFC 9111 §4.1 lets a cache normalise whitespace and the
// combination of field lines); every value is length-prefixed, and an absent
// field differs from an empty one, so that no two selections collide.
func varySelector(h http.Header, names []string) string {
	var b strings.Builder
	for _, name := range names {
		lines, ok := h[name]
		if !ok {
			b.WriteString("-;")
			continue
		}
		var parts []string
		for _, line := range lines {
			for p := range strings.SplitSeq(line, ",") {
				parts = append(parts, strings.TrimSpace(p))
			}
		}
		v := strings.Join(parts, ",")
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
		b.WriteByte(';')
	}
	return b.String()
}
