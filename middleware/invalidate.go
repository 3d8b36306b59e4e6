package middleware

import (
	"context"
	"net/http"
	"net/url"
)

// serveUnsafe forwards a request with an unsafe method and, when the
// handler answers with a non-error status, invalidates the stored responses
// of the target URI and of the same-origin Location and Content-Location
// URIs (RFC 9111 §4.4). The invalidation happens when the handler writes its
// status, before any of the response reaches the client, so that the
// client's next read cannot see the old response.
func (h *handler) serveUnsafe(w http.ResponseWriter, r *http.Request) {
	h.passThrough(w, r, cacheStatus{fwd: fwdMethod}, true)
}

// pass forwards r to the wrapped handler without caching.
func (h *handler) pass(w http.ResponseWriter, r *http.Request, st cacheStatus) {
	h.passThrough(w, r, st, false)
}

func (h *handler) passThrough(w http.ResponseWriter, r *http.Request, st cacheStatus, invalidate bool) {
	pw := &passWriter{ResponseWriter: w, c: h.c, r: r, member: st.format(h.c.cfg.Name), invalidate: invalidate}
	h.next.ServeHTTP(pw, r)
	if !pw.wrote {
		pw.WriteHeader(http.StatusOK)
	}
}

// passWriter is the writer of a request the cache does not store: it
// appends the cache's Cache-Status member to the handler's (after any the
// handler set, as RFC 9211 orders them), and for an unsafe method
// invalidates on a non-error status.
type passWriter struct {
	http.ResponseWriter
	c          *Cache
	r          *http.Request
	member     string
	invalidate bool
	wrote      bool
}

var (
	_ http.Flusher                              = (*passWriter)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*passWriter)(nil)
)

// WriteHeader adds the Cache-Status member, invalidates for an unsafe
// method's non-error final status, and passes the status on.
func (iw *passWriter) WriteHeader(code int) {
	if code >= 200 && !iw.wrote {
		iw.wrote = true
		h := iw.Header()
		h["Cache-Status"] = append(h["Cache-Status"], iw.member)
		if iw.invalidate && code < 400 {
			iw.c.invalidate(context.WithoutCancel(iw.r.Context()), iw.r, h)
		}
	}
	iw.ResponseWriter.WriteHeader(code)
}

// Write writes the body, after an implicit 200.
func (iw *passWriter) Write(p []byte) (int, error) {
	if !iw.wrote {
		iw.WriteHeader(http.StatusOK)
	}
	return iw.ResponseWriter.Write(p)
}

// Flush flushes the client's writer.
func (iw *passWriter) Flush() {
	if !iw.wrote {
		iw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(iw.ResponseWriter).Flush()
}

// Unwrap returns the client's writer, for http.ResponseController.
func (iw *passWriter) Unwrap() http.ResponseWriter { return iw.ResponseWriter }

// invalidate deletes the stored responses of r's target and of the
// same-origin URIs in the response's Location and Content-Location.
func (c *Cache) invalidate(ctx context.Context, r *http.Request, h http.Header) {
	scheme := c.scheme(r)
	keys := []string{c.keyFor(scheme, r.Host, r.URL)}
	base := &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath}
	for _, f := range [...]string{"Location", "Content-Location"} {
		v := h.Get(f)
		if v == "" {
			continue
		}
		u, err := base.Parse(v)
		if err != nil || u.Scheme != scheme || !sameHost(u.Host, r.Host) {
			continue // another origin: not ours to invalidate (RFC 9111 §4.4)
		}
		keys = append(keys, c.keyFor(scheme, r.Host, u))
	}
	c.flights.forget(keys...)
	if err := c.store.Delete(ctx, keys...); err != nil {
		c.logError("invalidate", keys[0], err)
	}
}

func sameHost(a, b string) bool {
	return len(a) == len(b) && (a == b || equalFold(a, b))
}

func equalFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
