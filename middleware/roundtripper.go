package middleware

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport returns an http.RoundTripper that answers requests from the
// cache and sends the others with base (nil means http.DefaultTransport):
// the same engine as Handler, for an http.Client calling slow APIs. Build
// the Cache with Config.Private for a cache that serves one user (it then
// stores private responses and responses to requests with Authorization);
// a shared Cache follows the shared-cache rules.
//
// A response body must be read to its end or closed, as always with an
// http.Client; Close cancels round trips still running.
func (c *Cache) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{c: c, base: base}
	t.h = c.Handler(http.HandlerFunc(t.origin))
	return t
}

// transport is a caching http.RoundTripper.
type transport struct {
	c    *Cache
	base http.RoundTripper
	h    http.Handler
}

var _ http.RoundTripper = (*transport)(nil)

// transportErrorField marks the response the origin handler writes when
// base fails, so that RoundTrip returns the error instead (unless the cache
// replaced it with a stale response).
const transportErrorField = "X-Tiercache-Transport-Error"

// roundTripState carries base's error from the origin handler back to
// RoundTrip, through the request's context.
type roundTripState struct {
	mu  sync.Mutex
	err error
}

type roundTripKey struct{}

// fail records the round trip's error; the first one stays.
func (s *roundTripState) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// origin is the handler the cache wraps: it sends the request with base and
// copies the response.
func (t *transport) origin(w http.ResponseWriter, r *http.Request) {
	r.RequestURI = "" // a client request must not have one
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		if st, ok := r.Context().Value(roundTripKey{}).(*roundTripState); ok {
			st.fail(err)
		}
		w.Header().Set(transportErrorField, "1")
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body) // a short body is not stored (Content-Length check)
}

// RoundTrip answers req from the cache or from base.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	st := &roundTripState{}
	ctx = context.WithValue(ctx, roundTripKey{}, st)
	r := req.Clone(ctx)
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	stop := context.AfterFunc(t.c.bg.Context(), cancel)
	started := t.c.goBackground(func() {
		defer stop()
		defer func() {
			if err := t.c.recovered("round trip of "+r.URL.String(), recover()); err != nil {
				st.fail(err)
				if !rw.wrote {
					rw.header = http.Header{transportErrorField: {"1"}}
					rw.WriteHeader(http.StatusBadGateway)
				}
				pw.CloseWithError(err)
			}
		}()
		t.h.ServeHTTP(rw, r)
		rw.WriteHeader(http.StatusOK) // no-op if the handler wrote one
		pw.Close()
	})
	if !started {
		stop()
		cancel()
		return nil, ErrClosed
	}
	select {
	case <-rw.ready:
	case <-ctx.Done():
		pr.CloseWithError(ctx.Err())
		cancel()
		return nil, ctx.Err()
	}
	if rw.sent.Get(transportErrorField) != "" {
		pr.Close()
		cancel()
		st.mu.Lock()
		err := st.err
		st.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("middleware: round trip failed")
		}
		return nil, err
	}
	resp := &http.Response{
		Status:        strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		ContentLength: -1,
		Request:       req,
		Body:          &pipeBody{PipeReader: pr, cancel: cancel},
	}
	if n, err := strconv.ParseInt(rw.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = n
	}
	if req.Method == http.MethodHead || rw.status == http.StatusNotModified || rw.status == http.StatusNoContent {
		resp.ContentLength = 0
	}
	return resp, nil
}

// pipeWriter is the ResponseWriter a round trip's handler writes to: the
// header goes to RoundTrip at WriteHeader, the body through a pipe.
type pipeWriter struct {
	header http.Header // what the handler writes to
	sent   http.Header // header as of WriteHeader, read by RoundTrip after ready
	status int
	wrote  bool
	pw     *io.PipeWriter
	ready  chan struct{}
}

// Header returns the response's header.
func (p *pipeWriter) Header() http.Header { return p.header }

// WriteHeader hands the status and header to RoundTrip.
func (p *pipeWriter) WriteHeader(code int) {
	if p.wrote || code < 200 {
		return
	}
	p.wrote, p.status = true, code
	p.sent = p.header.Clone() // later changes are not the response's
	close(p.ready)
}

// Write sends body bytes to the reader of the response body.
func (p *pipeWriter) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.pw.Write(b)
}

// Flush is a no-op: every Write reaches the reader.
func (p *pipeWriter) Flush() {}

// pipeBody is a response body that ends the round trip when closed.
type pipeBody struct {
	*io.PipeReader
	cancel context.CancelFunc
}

// Close closes the body and cancels what is left of the round trip.
func (b *pipeBody) Close() error {
	err := b.PipeReader.Close()
	b.cancel()
	return err
}
