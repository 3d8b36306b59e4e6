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
	w.Header().Add("Cache-Status", h.c.cfg.Name+"; fwd=method")
	iw := &invalidatingWriter{ResponseWriter: w, c: h.c, r: r}
	h.next.ServeHTTP(iw, r)
	if !iw.wrote {
		iw.WriteHeader(http.StatusOK)
	}
}

// invalidatingWriter invalidates on the handler's WriteHeader.
type invalidatingWriter struct {
	http.ResponseWriter
	c     *Cache
	r     *http.Request
	wrote bool
}

var (
	_ http.Flusher                              = (*invalidatingWriter)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*invalidatingWriter)(nil)
)

// WriteHeader invalidates for a non-error final status and passes the
// status on.
func (iw *invalidatingWriter) WriteHeader(code int) {
	if code >= 200 && !iw.wrote {
		iw.wrote = true
		if code < 400 {
			iw.c.invalidate(context.WithoutCancel(iw.r.Context()), iw.r, iw.Header())
		}
	}
	iw.ResponseWriter.WriteHeader(code)
}

// Write writes the body, after an implicit 200.
func (iw *invalidatingWriter) Write(p []byte) (int, error) {
	if !iw.wrote {
		iw.WriteHeader(http.StatusOK)
	}
	return iw.ResponseWriter.Write(p)
}

// Flush flushes the client's writer.
func (iw *invalidatingWriter) Flush() {
	if !iw.wrote {
		iw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(iw.ResponseWriter).Flush()
}

// Unwrap returns the client's writer, for http.ResponseController.
func (iw *invalidatingWriter) Unwrap() http.ResponseWriter { return iw.ResponseWriter }

// invalidate deletes the stored responses of r's target and of the
// same-origin URIs in the response's Location and Content-Location.
func (c *Cache) invalidate(ctx context.Context, r *http.Request, h http.Header) {
	scheme := requestScheme(r)
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
