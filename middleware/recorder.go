package middleware

import (
	"maps"
	"net/http"
	"strconv"
	"strings"
)

// recorder is the ResponseWriter the wrapped handler writes to on a
// forward. It buffers the response (up to MaxBodyBytes) so that it can be
// stored and shared, and passes it on to the client: at once when the
// handler flushes or the body outgrows the cap (the rest then streams
// through), else when the handler returns. In hold mode (a revalidation) it
// keeps a 304, or an error that stale-if-error lets the cache replace, from
// the client.
type recorder struct {
	client   http.ResponseWriter // nil for a background revalidation
	maxBytes int64
	header   http.Header // what the handler writes to
	snapshot http.Header // header as of WriteHeader
	code     int         // the final status the handler wrote
	wrote    bool
	buf      []byte
	overflow bool // body beyond maxBytes: streamed, not stored
	// committed: the status and header have gone to the client; later
	// body bytes go straight through.
	committed    bool
	hold         bool // hold back a 304 (revalidating) or a servable error
	revalidating bool // in hold mode, a 304 is held back
	staleOK      bool // in hold mode, a 5xx is held back
	held         bool // the response was held back
	written      int64
	// name is the cache's name; status its Cache-Status member so far
	// (the forward reason), completed with the handler's status.
	name   string
	status cacheStatus
}

// Compile-time checks: the recorder flushes and unwraps, so that
// http.Flusher and http.ResponseController work through the middleware.
var (
	_ http.Flusher                              = (*recorder)(nil)
	_ interface{ FlushError() error }           = (*recorder)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*recorder)(nil)
)

func newRecorder(client http.ResponseWriter, maxBytes int64, name string, st cacheStatus) *recorder {
	return &recorder{client: client, maxBytes: maxBytes, header: http.Header{}, name: name, status: st}
}

// Header returns the handler's header map.
func (r *recorder) Header() http.Header { return r.header }

// Unwrap returns the client's ResponseWriter, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.client }

// WriteHeader records the status and header; informational statuses pass
// through at once.
func (r *recorder) WriteHeader(code int) {
	if r.wrote {
		return
	}
	if code < 200 {
		if r.client != nil && !r.hold && code != http.StatusSwitchingProtocols {
			r.interim(code)
		}
		return
	}
	r.wrote, r.code = true, code
	r.status.fwdStatus = code
	r.snapshot = r.header.Clone()
	if r.hold {
		if code == http.StatusNotModified && r.revalidating || code >= 500 && r.staleOK {
			r.held = true
			return
		}
		r.hold = false
	}
}

// interim sends an informational response (such as 103 Early Hints) with
// the handler's current header, then restores the client's header: net/http
// keeps the fields of a 1xx in the header map, and they must not leak into
// the final response.
func (r *recorder) interim(code int) {
	h := r.client.Header()
	before := maps.Clone(h)
	maps.Copy(h, r.header)
	r.client.WriteHeader(code)
	clear(h)
	maps.Copy(h, before)
}

// Write buffers p, or passes it on once the response streams.
func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	r.written += int64(len(p))
	if r.held {
		return len(p), nil
	}
	if !r.overflow && int64(len(r.buf)+len(p)) > r.maxBytes {
		r.overflow = true
		r.status.detail = whyTooLarge
		if !r.committed {
			r.commit(false)
		}
		r.buf = nil
	}
	if r.overflow {
		if r.client == nil {
			return len(p), nil
		}
		return r.client.Write(p)
	}
	r.buf = append(r.buf, p...)
	if r.committed && r.client != nil {
		return r.client.Write(p)
	}
	return len(p), nil
}

// FlushError sends what the handler has written so far to the client. The
// response is still stored if it completes within the cap.
func (r *recorder) FlushError() error {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if r.client == nil || r.held {
		return nil
	}
	if !r.committed {
		r.commit(false)
	}
	return http.NewResponseController(r.client).Flush()
}

// Flush is FlushError without the error, for http.Flusher.
func (r *recorder) Flush() { _ = r.FlushError() }

// finish completes the response once the handler has returned: a handler
// that wrote nothing sent an empty 200.
func (r *recorder) finish() {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
}

// complete reports whether the whole body was received: a handler that
// declared a Content-Length and wrote less (or more) was cut short.
func (r *recorder) complete() bool {
	if r.overflow {
		return false
	}
	if cl := r.snapshot.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		return err == nil && n == r.written
	}
	return true
}

// commit sends the status, header and buffered body to the client, with
// the recorder's Cache-Status member added to the Cache-Status field. The
// final commit, once the handler has returned, also sets Content-Length
// (or, when the response already streams, passes on trailers).
func (r *recorder) commit(final bool) {
	if r.client == nil {
		r.committed = true
		return
	}
	if r.committed {
		r.trailers()
		return
	}
	r.committed = true
	h := r.client.Header()
	for k, v := range r.snapshot {
		h[k] = v
	}
	h["Cache-Status"] = append(h["Cache-Status"], r.status.format(r.name))
	if final && !r.overflow {
		if _, ok := h["Content-Length"]; !ok {
			if _, chunked := h["Trailer"]; !chunked {
				h["Content-Length"] = []string{strconv.Itoa(len(r.buf))}
			}
		}
	}
	r.client.WriteHeader(r.code)
	if len(r.buf) > 0 {
		_, _ = r.client.Write(r.buf) // a client gone away is not the cache's error
	}
}

// trailers passes on the trailer fields the handler set after its header.
func (r *recorder) trailers() {
	h := r.client.Header()
	for k, v := range r.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			h[k] = v
		}
	}
	for _, line := range r.snapshot["Trailer"] {
		for f := range strings.SplitSeq(line, ",") {
			f = http.CanonicalHeaderKey(strings.TrimSpace(f))
			if v, ok := r.header[f]; ok {
				h[f] = v
			}
		}
	}
}
