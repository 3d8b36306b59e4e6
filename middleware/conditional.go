package middleware

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// conditionalFields are the request fields that make a GET conditional on
// the client's own copy. The cache answers them itself: it forwards a
// request without them (or with the stored response's validators instead).
var conditionalFields = [...]string{"If-None-Match", "If-Modified-Since"}

// notModified reports whether a GET or HEAD request's preconditions let the
// cache answer 304 from the stored response e (RFC 9110 §13.2.2, RFC 9111
// §4.3.2): If-None-Match by weak comparison, else If-Modified-Since against
// Last-Modified (or Date when there is none).
func notModified(r *http.Request, e *entry) bool {
	// Direct map reads: the hit path should not canonicalise field names.
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		return etagListMatches(inm, e.m.etag)
	}
	ims := r.Header["If-Modified-Since"]
	if len(ims) == 0 || ims[0] == "" {
		return false
	}
	since, ok := parseHTTPDate(ims[0])
	if len(ims) != 1 || !ok {
		return false // an invalid date is ignored (RFC 9110 §13.1.3)
	}
	lm := e.m.lastModified
	if lm.IsZero() {
		lm = e.m.date
	}
	return !lm.After(since)
}

// etagListMatches reports whether an If-None-Match field lists "*" or an
// entity tag that weakly matches etag.
func etagListMatches(lines []string, etag string) bool {
	for _, line := range lines {
		for tag := range strings.SplitSeq(line, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return true
			}
			if etag != "" && tag != "" && opaqueTag(tag) == opaqueTag(etag) {
				return true
			}
		}
	}
	return false
}

// opaqueTag strips the weakness indicator from an entity tag, for weak
// comparison.
func opaqueTag(t string) string { return strings.TrimPrefix(t, "W/") }

// revalidation returns a copy of r, on ctx, that asks the origin whether the
// stored response e is still current: the client's own preconditions are
// replaced by e's validators.
func revalidation(ctx context.Context, r *http.Request, e *entry) *http.Request {
	rr := r.Clone(ctx)
	if e == nil {
		for _, f := range conditionalFields {
			delete(rr.Header, f)
		}
		return rr
	}
	rr.Method = http.MethodGet
	rr.Body = http.NoBody
	rr.ContentLength = 0
	for _, f := range conditionalFields {
		delete(rr.Header, f)
	}
	if e.m.etag != "" {
		rr.Header["If-None-Match"] = []string{e.m.etag}
	}
	if lm := e.Header.Get("Last-Modified"); lm != "" {
		rr.Header["If-Modified-Since"] = []string{lm}
	}
	return rr
}

// refreshed returns the stored response e updated with the header of a 304
// answering its revalidation (RFC 9111 §4.3.4), or false when the 304 names
// another representation (its strong ETag differs) and so cannot refresh e.
func (c *Cache) refreshed(e *entry, h http.Header, requestTime, responseTime time.Time) (*entry, bool) {
	if tag := h.Get("Etag"); tag != "" && e.m.etag != "" && !strings.HasPrefix(tag, "W/") && tag != e.m.etag {
		return nil, false
	}
	n := &entry{
		Status:       e.Status,
		Header:       e.Header.Clone(),
		Body:         e.Body,
		RequestTime:  requestTime.UnixNano(),
		ResponseTime: responseTime.UnixNano(),
	}
	cc := c.responseCacheControl(h)
	for k, v := range c.storedHeader(h, &cc) {
		n.Header[k] = v
	}
	if _, ok := h["Age"]; !ok {
		delete(n.Header, "Age")
	}
	n.derive(c)
	return n, true
}
