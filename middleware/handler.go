package middleware

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tiercache/tiercache/tier"
)

// handler is a wrapped http.Handler.
type handler struct {
	c    *Cache
	next http.Handler
}

var _ http.Handler = (*handler)(nil)

// use is what a stored response may be used for, for one request.
type use uint8

const (
	useNone       use = iota // forward: revalidate or fetch
	useFresh                 // serve it (fresh, or stale as max-stale allows)
	useRevalidate            // serve it stale and revalidate in the background
)

// ServeHTTP answers r from the cache or from the wrapped handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions, http.MethodTrace, "CONNECT":
		h.pass(w, r, "method")
		return
	default:
		h.serveUnsafe(w, r)
		return
	}
	if _, ok := r.Header["Range"]; ok {
		h.pass(w, r, "bypass") // ranges are not served from the cache
		return
	}
	if _, ok := r.Header["Upgrade"]; ok {
		h.pass(w, r, "bypass")
		return
	}
	var reqCC cacheControl
	if lines, ok := r.Header["Cache-Control"]; ok {
		reqCC = parseCacheControl(lines)
	} else if pragmaNoCache(r.Header["Pragma"]) {
		reqCC.noCache = true // RFC 9111 §5.4
	}
	key := c.primaryKey(r)
	since := time.Now() // when the lookup began; also "now" for a hit
	lk := c.lookup(r.Context(), r, key)
	reason := "uri-miss"
	if lk.marker != nil {
		reason = "vary-miss"
	}
	if lk.e != nil {
		now := since
		u, why := c.decide(lk.e, &reqCC, now)
		switch u {
		case useFresh:
			c.serveEntry(w, r, lk.e, c.hitStatus(&lk, now), now)
			return
		case useRevalidate:
			c.serveEntry(w, r, lk.e, c.hitStatus(&lk, now), now)
			h.revalidateAsync(r, key, lk)
			return
		}
		reason = why
	}
	if reqCC.onlyIfCached {
		w.Header().Add("Cache-Status", c.cfg.Name+"; fwd=miss; detail=only-if-cached")
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	}
	if r.Method == http.MethodHead {
		h.pass(w, r, reason) // HEAD is answered from a stored GET only
		return
	}
	fl, leader := c.flights.join(key)
	if !leader {
		if c.flights.onWait != nil {
			c.flights.onWait()
		}
		select {
		case <-fl.done:
		case <-r.Context().Done():
			return // the client went away
		}
		now := time.Now()
		// A flight that finished before this request's lookup began is, for
		// it, a stored response: it must be fresh enough.
		late := fl.finished.Before(since)
		if e := fl.e; e != nil && varySelector(r.Header, e.m.vary) == fl.selector {
			if u, _ := c.decide(e, &reqCC, now); !late || u == useFresh {
				c.serveEntry(w, r, e, c.cfg.Name+"; fwd="+reason+"; fwd-status="+strconv.Itoa(e.Status)+"; collapsed", now)
				return
			}
		}
		// The leader's response cannot answer this request: forward it.
		h.forward(w, r, key, lk, &reqCC, reason)
		return
	}
	var (
		shared   *entry
		selector string
	)
	defer func() { c.flights.finish(key, fl, shared, selector) }() // also if next panics
	shared, selector = h.forward(w, r, key, lk, &reqCC, reason)
}

// pragmaNoCache reports a Pragma: no-cache request field.
func pragmaNoCache(lines []string) bool {
	for _, l := range lines {
		if directives := parseCacheControl([]string{l}); directives.noCache {
			return true
		}
	}
	return false
}

// hitStatus returns the Cache-Status member of a hit.
func (c *Cache) hitStatus(lk *lookupResult, now time.Time) string {
	detail := "; detail=l1"
	if lk.tier != tier.TierL1 {
		detail = "; detail=l2"
	}
	return c.hitPrefix + strconv.FormatInt(int64(lk.e.ttl(now)/time.Second), 10) + detail
}

// decide says what a stored response may be used for (RFC 9111 §4.2, §5.2.1
// and RFC 5861), and when it may not, the Cache-Status forward reason.
func (c *Cache) decide(e *entry, reqCC *cacheControl, now time.Time) (use, string) {
	age := e.age(now)
	left := e.m.lifetime - age
	switch {
	case reqCC.noCache:
		return useNone, "request"
	case e.m.noCache:
		return useNone, "stale"
	case reqCC.maxAge.set && age > reqCC.maxAge.duration():
		return useNone, "request"
	case reqCC.minFresh.set && left < reqCC.minFresh.duration():
		return useNone, "request"
	case left > 0:
		return useFresh, ""
	case e.m.mustRevalidate:
		return useNone, "stale"
	case reqCC.maxStale.set && -left <= reqCC.maxStale.duration():
		return useFresh, ""
	case -left < e.m.cc.staleWhileRevalidate.duration():
		return useRevalidate, ""
	}
	return useNone, "stale"
}

// staleIfError reports whether e may replace an error answer (RFC 5861 §4).
func (c *Cache) staleIfError(e *entry, now time.Time) bool {
	if e == nil || e.m.mustRevalidate || e.m.noCache {
		return false
	}
	return e.ttl(now) > -e.m.cc.staleIfError.duration()
}

// serveEntry writes the stored response e (or a 304 when r's preconditions
// allow one) with its Age and the given Cache-Status member.
func (c *Cache) serveEntry(w http.ResponseWriter, r *http.Request, e *entry, status string, now time.Time) {
	h := w.Header()
	age := []string{strconv.FormatInt(int64(e.age(now)/time.Second), 10)}
	if notModified(r, e) {
		for _, f := range [...]string{"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Last-Modified", "Vary"} {
			if v, ok := e.Header[f]; ok {
				h[f] = v
			}
		}
		h["Age"] = age
		h["Cache-Status"] = append(h["Cache-Status"], status)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, v := range e.Header {
		h[k] = v
	}
	h["Content-Length"] = e.m.contentLength
	h["Age"] = age
	h["Cache-Status"] = append(h["Cache-Status"], status)
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead && len(e.Body) > 0 {
		_, _ = w.Write(e.Body) // a client gone away is not the cache's error
	}
}

// forward calls the wrapped handler for r (w nil: a background
// revalidation), revalidating lk.e when it has validators, stores what may
// be stored and answers the client. It returns the response waiters may
// share, with r's Vary selection, or nil.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, key string, lk lookupResult, reqCC *cacheControl, reason string) (*entry, string) {
	c := h.c
	stale := lk.e
	if stale != nil && !stale.hasValidator() {
		stale = nil
	}
	req := r
	if stale != nil || r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
		req = revalidation(r.Context(), r, stale)
	}
	fwd := c.cfg.Name + "; fwd=" + reason
	rec := newRecorder(w, c.cfg.MaxBodyBytes, fwd)
	rec.hold, rec.revalidating = stale != nil, stale != nil
	if c.staleIfError(lk.e, time.Now()) {
		rec.hold, rec.staleOK = true, true
	}
	requestTime := time.Now()
	h.next.ServeHTTP(rec, req)
	responseTime := time.Now()
	rec.finish()
	ctx := context.WithoutCancel(r.Context())

	if rec.held {
		if rec.status == http.StatusNotModified && stale != nil {
			if n, ok := c.refreshed(stale, rec.snapshot, requestTime, responseTime); ok {
				stored := c.save(ctx, r, key, lk, n)
				if w != nil {
					c.serveEntry(w, r, n, fwd+"; fwd-status=304"+storedParam(stored), time.Now())
				}
				return n, varySelector(r.Header, n.m.vary)
			}
			// The 304 is about another representation: fetch afresh.
			return h.forward(w, r, key, lookupResult{marker: lk.marker, markerUntil: lk.markerUntil}, reqCC, reason)
		}
		if w != nil { // an error, replaced by the stale response
			c.serveEntry(w, r, lk.e, fwd+"; fwd-status="+strconv.Itoa(rec.status)+"; detail=stale-if-error", time.Now())
		}
		return nil, ""
	}

	cc := c.responseCacheControl(rec.snapshot)
	var e *entry
	if rec.complete() && c.storable(r, reqCC, rec.status, rec.snapshot, &cc) {
		e = &entry{
			Status:       rec.status,
			Header:       c.storedHeader(rec.snapshot, &cc),
			Body:         rec.buf,
			RequestTime:  requestTime.UnixNano(),
			ResponseTime: responseTime.UnixNano(),
		}
		if _, ok := e.Header["Date"]; !ok {
			// RFC 9110 §6.6.1: a cache stores a Date-less response with the
			// time it was received, so that later hits carry its true date.
			e.Header["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
		}
		e.derive(c)
		if c.storeTTL(e, responseTime) <= 0 {
			e = nil
		}
	}
	stored := e != nil && c.save(ctx, r, key, lk, e)
	if e == nil && lk.e != nil && rec.status < 500 {
		// The origin no longer lets this response be stored: drop the old one.
		if err := c.store.Delete(ctx, lk.key); err != nil {
			c.logError("delete", lk.key, err)
		}
	}
	if w != nil {
		status := fwd + "; fwd-status=" + strconv.Itoa(rec.status) + storedParam(stored)
		if e != nil && !rec.committed && notModified(r, e) {
			c.serveEntry(w, r, e, status, time.Now())
		} else {
			rec.commit(status, true)
		}
	}
	if e == nil {
		return nil, ""
	}
	return e, varySelector(r.Header, e.m.vary)
}

func storedParam(stored bool) string {
	if stored {
		return "; stored"
	}
	return ""
}

// revalidateAsync revalidates lk.e in the background (stale-while-
// revalidate), once per key at a time, on a context detached from r's.
func (h *handler) revalidateAsync(r *http.Request, key string, lk lookupResult) {
	c := h.c
	if _, busy := c.revalidating.LoadOrStore(lk.key, struct{}{}); busy {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.cfg.RevalidateTimeout)
	stop := context.AfterFunc(c.bg.Context(), cancel)
	req := revalidation(ctx, r, lk.e)
	started := c.goBackground(func() {
		defer c.revalidating.Delete(lk.key)
		defer cancel()
		defer stop()
		h.forward(nil, req, key, lk, &cacheControl{}, "stale")
	})
	if !started {
		stop()
		cancel()
		c.revalidating.Delete(lk.key)
	}
}

// save stores e as the response to r under key (or under its variant key
// when e varies), and indexes its surrogate keys. It reports whether the
// Store took it.
func (c *Cache) save(ctx context.Context, r *http.Request, key string, lk lookupResult, e *entry) bool {
	now := time.Now()
	ttl := c.storeTTL(e, now)
	if ttl <= 0 {
		return false
	}
	opts := c.writeOptions(ttl)
	var err error
	if len(e.m.vary) == 0 {
		err = c.store.Set(ctx, key, e, opts)
		if err != nil {
			c.logError("store", key, err)
		}
	} else {
		marker, mttl := lk.marker, ttl
		if marker == nil || !slices.Equal(marker.Vary, e.m.vary) {
			marker = &entry{Nonce: newNonce(), Vary: e.m.vary}
		} else {
			mttl = max(mttl, time.Until(lk.markerUntil))
		}
		if err = c.store.Set(ctx, key, marker, c.writeOptions(mttl)); err != nil {
			c.logError("store", key, err)
		} else {
			vk := variantKey(key, marker.Nonce, varySelector(r.Header, e.m.vary))
			if err = c.store.Set(ctx, vk, e, opts); err != nil {
				c.logError("store", vk, err)
			}
		}
	}
	if tags := surrogateKeys(e.Header); err == nil && len(tags) > 0 {
		if terr := c.tags.add(ctx, c, tags, key, ttl); terr != nil {
			c.logError("tag", key, terr)
		}
	}
	return err == nil
}

// logError reports a cache error through the configured logger.
func (c *Cache) logError(what, key string, err error) {
	if c.cfg.Logger != nil {
		c.cfg.Logger.Warn("tiercache/middleware: "+what, "key", key, "error", err.Error())
	}
}
