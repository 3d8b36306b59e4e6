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
		h.pass(w, r, cacheStatus{fwd: fwdMethod})
		return
	default:
		h.serveUnsafe(w, r)
		return
	}
	if _, ok := r.Header["Upgrade"]; ok {
		h.pass(w, r, cacheStatus{fwd: fwdBypass})
		return
	}
	reqCC := requestCacheControl(r)
	key := c.primaryKey(r)
	since := time.Now() // when the lookup began; also "now" for a hit
	lk := c.lookup(r.Context(), r, key)
	st := cacheStatus{fwd: fwdURIMiss}
	if lk.marker != nil {
		st.fwd = fwdVaryMiss
	}
	if lk.e != nil {
		now := since
		u, why := c.decide(lk.e, &reqCC, now)
		switch u {
		case useFresh:
			c.serveHit(w, r, &lk, now)
			return
		case useRevalidate:
			c.serveHit(w, r, &lk, now)
			h.revalidateAsync(r, key, lk)
			return
		}
		st = why
	}
	if reqCC.onlyIfCached {
		st := cacheStatus{fwd: fwdMiss, detail: "only-if-cached"}
		w.Header().Add("Cache-Status", st.format(c.cfg.Name))
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	}
	if r.Method == http.MethodHead {
		h.pass(w, r, st) // HEAD is answered from a stored GET only
		return
	}
	if _, ok := r.Header["Range"]; ok && lk.e == nil {
		// A range of a response the cache does not hold goes to the origin
		// as it is: fetching the whole representation for it could cost
		// far more than the range. A full GET fills the cache.
		st.detail = "range"
		h.pass(w, r, st)
		return
	}
	fwdCC := reqCC // only a forward moves the directives to the heap
	x := &exchange{w: w, r: r, key: key, lk: lk, reqCC: &fwdCC, status: st}
	fl, leader := c.flights.join(key)
	if !leader {
		if !c.awaitFlight(x, fl, since) {
			h.forward(x) // the leader's response cannot answer this request
		}
		return
	}
	var (
		shared   *entry
		selector string
	)
	defer func() { c.flights.finish(key, fl, shared, selector) }() // also if next panics
	shared, selector = h.forward(x)
}

// awaitFlight waits for another request's forward of x's key and answers
// x with its response when that may answer x. It reports whether it
// answered (or the client went away).
func (c *Cache) awaitFlight(x *exchange, fl *flight, since time.Time) bool {
	if c.flights.onWait != nil {
		c.flights.onWait()
	}
	select {
	case <-fl.done:
	case <-x.r.Context().Done():
		return true // the client went away
	}
	now := time.Now()
	// A flight that finished before this request's lookup began is, for it,
	// a stored response: it must be fresh enough.
	late := fl.finished.Before(since)
	e := fl.e
	if e == nil || varySelector(x.r.Header, e.m.vary) != fl.selector {
		return false
	}
	if u, _ := c.decide(e, x.reqCC, now); late && u != useFresh {
		return false
	}
	st := x.status
	st.fwdStatus, st.collapsed = e.Status, true
	c.serveEntry(x.w, x.r, e, st.format(c.cfg.Name), now)
	return true
}

// requestCacheControl returns the directives of a request: its
// Cache-Control, or Pragma: no-cache without one (RFC 9111 §5.4).
func requestCacheControl(r *http.Request) cacheControl {
	var reqCC cacheControl
	if lines, ok := r.Header["Cache-Control"]; ok {
		reqCC = parseCacheControl(lines)
	} else if pragmaNoCache(r.Header["Pragma"]) {
		reqCC.noCache = true
	}
	return reqCC
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

// hitFields are the Age and Cache-Status values of the hits on one stored
// response during one second from one tier. The entry keeps the latest,
// so that a hit allocates none. The slices are shared by the responses
// that carry them: each has length and capacity 1, so that appending to
// them copies.
type hitFields struct {
	age, ttl int64 // seconds
	tier     tier.Tier
	ageValue []string
	status   []string
}

// hitFields returns the Age and Cache-Status values of a hit on lk.e at
// now.
func (c *Cache) hitFields(lk *lookupResult, now time.Time) *hitFields {
	e := lk.e
	age := e.age(now)
	ageSecs, ttlSecs := int64(age/time.Second), int64((e.m.lifetime-age)/time.Second)
	if hf := e.m.hits.Load(); hf != nil && hf.age == ageSecs && hf.ttl == ttlSecs && hf.tier == lk.tier {
		return hf
	}
	st := cacheStatus{hit: true, ttl: time.Duration(ttlSecs) * time.Second, detail: "l1"}
	if lk.tier != tier.TierL1 {
		st.detail = "l2"
	}
	hf := &hitFields{
		age: ageSecs, ttl: ttlSecs, tier: lk.tier,
		ageValue: []string{strconv.FormatInt(ageSecs, 10)},
		status:   []string{st.format(c.cfg.Name)},
	}
	e.m.hits.Store(hf)
	return hf
}

// serveHit answers r with the stored response lk.e, a hit.
func (c *Cache) serveHit(w http.ResponseWriter, r *http.Request, lk *lookupResult, now time.Time) {
	hf := c.hitFields(lk, now)
	c.writeEntry(w, r, lk.e, hf.ageValue, hf.status)
}

// decide says what a stored response may be used for (RFC 9111 §4.2, §5.2.1
// and RFC 5861), and when it may not, the Cache-Status forward reason and
// detail.
func (c *Cache) decide(e *entry, reqCC *cacheControl, now time.Time) (use, cacheStatus) {
	age := e.age(now)
	left := e.m.lifetime - age
	switch {
	case reqCC.noCache:
		return useNone, cacheStatus{fwd: fwdRequest, detail: "no-cache"}
	case e.m.noCache:
		return useNone, cacheStatus{fwd: fwdStale, detail: "no-cache"}
	case reqCC.maxAge.set && age > reqCC.maxAge.upper():
		return useNone, cacheStatus{fwd: fwdRequest, detail: "max-age"}
	case reqCC.minFresh.set && left < reqCC.minFresh.lower():
		return useNone, cacheStatus{fwd: fwdRequest, detail: "min-fresh"}
	case left > 0:
		return useFresh, cacheStatus{}
	case e.m.mustRevalidate:
		return useNone, cacheStatus{fwd: fwdStale, detail: "must-revalidate"}
	case reqCC.maxStale.set && -left <= reqCC.maxStale.upper():
		return useFresh, cacheStatus{}
	case -left < e.m.cc.staleWhileRevalidate.upper():
		return useRevalidate, cacheStatus{}
	case e.m.heuristic:
		return useNone, cacheStatus{fwd: fwdStale, detail: "heuristic-expired"}
	}
	return useNone, cacheStatus{fwd: fwdStale, detail: "expired"}
}

// staleIfError reports whether e may replace an error answer to a request
// with directives reqCC (RFC 5861 §4): within the response's
// stale-if-error window, or the request's.
func (c *Cache) staleIfError(e *entry, reqCC *cacheControl, now time.Time) bool {
	if e == nil || e.m.mustRevalidate || e.m.noCache {
		return false
	}
	window := max(e.m.cc.staleIfError.upper(), reqCC.staleIfError.upper())
	return e.ttl(now) > -window
}

// hasRange reports a request with a Range field.
func hasRange(r *http.Request) bool {
	_, ok := r.Header["Range"]
	return ok
}

// serveEntry writes the stored response e with its Age at now and the
// given Cache-Status member: see writeEntry.
func (c *Cache) serveEntry(w http.ResponseWriter, r *http.Request, e *entry, status string, now time.Time) {
	age := []string{strconv.FormatInt(int64(e.age(now)/time.Second), 10)} // at most 2^31 (RFC 9111 §5.1)
	c.writeEntry(w, r, e, age, []string{status})
}

// writeEntry writes the stored response e (or a 304 when r's preconditions
// allow one, or the ranges r asks for: see serveRange) with the given Age
// value and Cache-Status member (each a one-element slice).
func (c *Cache) writeEntry(w http.ResponseWriter, r *http.Request, e *entry, age, status []string) {
	h := w.Header()
	if prev := h["Cache-Status"]; len(prev) > 0 {
		status = append(slices.Clip(prev), status[0]) // after the members of caches behind us
	}
	if notModified(r, e) {
		for _, f := range [...]string{"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Last-Modified", "Vary"} {
			if v, ok := e.Header[f]; ok {
				h[f] = v
			}
		}
		h["Age"] = age
		h["Cache-Status"] = status
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if hasRange(r) && c.serveRange(w, r, e, age, status) {
		return
	}
	for _, f := range e.m.fields {
		h[f.name] = f.values
	}
	h["Content-Length"] = e.m.contentLength
	h["Age"] = age
	h["Cache-Status"] = status
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead && len(e.Body) > 0 {
		_, _ = w.Write(e.Body) // a client gone away is not the cache's error
	}
}

// exchange is one forward of a request to the wrapped handler: what it
// started from, then what came back.
type exchange struct {
	w      http.ResponseWriter // the client; nil for a background revalidation
	r      *http.Request       // the client's request
	key    string              // its primary key
	lk     lookupResult        // what the lookup found
	reqCC  *cacheControl       // the request's directives
	status cacheStatus         // the Cache-Status member so far

	// Set by call.
	validated    *entry // the stored response the handler was asked to validate, or nil
	rec          *recorder
	requestTime  time.Time
	responseTime time.Time
}

// forward calls the wrapped handler for x.r, revalidating the stored
// response when it has validators, stores what may be stored and answers
// the client. It returns the response waiters may share, with x.r's Vary
// selection, or nil.
func (h *handler) forward(x *exchange) (*entry, string) {
	c := h.c
	for {
		h.call(x)
		if !x.rec.held {
			break
		}
		if x.rec.code != http.StatusNotModified || x.validated == nil {
			c.serveStaleIfError(x)
			return nil, ""
		}
		if n, ok := c.refreshed(x.validated, x.rec.snapshot, x.requestTime, x.responseTime); ok {
			return c.answerRefreshed(x, n)
		}
		// The 304 is about another representation: fetch afresh.
		x.lk = lookupResult{marker: x.lk.marker, markerUntil: x.lk.markerUntil}
	}
	e := c.build(x)
	stored := c.keep(x, e)
	if x.w != nil {
		x.status.stored = stored
		if e != nil && !x.rec.committed && (notModified(x.r, e) || hasRange(x.r)) {
			c.serveEntry(x.w, x.r, e, x.status.format(c.cfg.Name), time.Now())
		} else {
			x.rec.status = x.status
			x.rec.commit(true)
		}
	}
	if e == nil {
		return nil, ""
	}
	return e, varySelector(x.r.Header, e.m.vary)
}

// call sends x.r to the wrapped handler: conditional on the stored
// response's validators when it has them, and held back from the client
// when the cache may answer instead (a 304 that refreshes the stored
// response, an error that stale-if-error replaces).
func (h *handler) call(x *exchange) {
	c := h.c
	x.validated = x.lk.e
	if x.validated != nil && !x.validated.hasValidator() {
		x.validated = nil
	}
	req := c.stripUnkeyed(x.r)
	if hasRange(req) {
		// The whole representation, to store; the cache answers the range.
		if req == x.r {
			req = req.Clone(req.Context())
		}
		delete(req.Header, "Range")
		delete(req.Header, "If-Range")
	}
	if x.validated != nil || req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "" {
		req = revalidation(req.Context(), req, x.validated)
	}
	x.rec = newRecorder(x.w, c.cfg.MaxBodyBytes, c.cfg.Name, x.status)
	x.rec.hold, x.rec.revalidating = x.validated != nil, x.validated != nil
	if c.staleIfError(x.lk.e, x.reqCC, time.Now()) {
		x.rec.hold, x.rec.staleOK = true, true
	}
	x.requestTime = time.Now()
	if x.rec.staleOK {
		h.serveOrFail(x.rec, req)
	} else {
		h.next.ServeHTTP(x.rec, req)
	}
	x.responseTime = time.Now()
	x.rec.finish()
	x.status = x.rec.status
}

// serveOrFail calls the handler when a stale response may replace an
// error. A handler that panics before any of its response reached the
// client (as httputil.ReverseProxy does with http.ErrAbortHandler when the
// origin's connection fails mid-response) has failed like a 502: the stale
// response answers instead. A panic after the client got something goes
// on up, as it would without the cache.
func (h *handler) serveOrFail(rec *recorder, req *http.Request) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if rec.committed {
			panic(v)
		}
		_ = h.c.recovered("handler of "+req.URL.String(), v)
		rec.wrote, rec.held, rec.code = true, true, http.StatusBadGateway
		rec.status.fwdStatus = http.StatusBadGateway
	}()
	h.next.ServeHTTP(rec, req)
}

// serveStaleIfError answers the client with the stored response in place
// of the error the handler answered (RFC 5861 §4).
func (c *Cache) serveStaleIfError(x *exchange) {
	if x.w == nil {
		return // a background revalidation: the stored response stays
	}
	x.status.detail = "stale-if-error"
	c.serveEntry(x.w, x.r, x.lk.e, x.status.format(c.cfg.Name), time.Now())
}

// answerRefreshed stores n, the stored response refreshed by a 304, and
// answers the client with it.
func (c *Cache) answerRefreshed(x *exchange, n *entry) (*entry, string) {
	stored := c.save(context.WithoutCancel(x.r.Context()), x.r, x.key, x.lk, n)
	if x.w != nil {
		x.status.stored = stored
		c.serveEntry(x.w, x.r, n, x.status.format(c.cfg.Name), time.Now())
	}
	return n, varySelector(x.r.Header, n.m.vary)
}

// build returns the entry to store for the handler's response to x, or nil
// when it may not (or need not) be stored.
func (c *Cache) build(x *exchange) *entry {
	rec := x.rec
	cc := c.responseCacheControl(rec.snapshot)
	if !rec.complete() {
		x.status.detail = whyIncomplete
		if rec.overflow {
			x.status.detail = whyTooLarge
		}
		return nil
	}
	if why := c.notStorable(x.r, x.reqCC, rec.code, rec.snapshot, &cc); why != "" {
		x.status.detail = why
		return nil
	}
	e := &entry{
		Status:       rec.code,
		Header:       c.storedHeader(rec.snapshot, &cc),
		Body:         rec.buf,
		RequestTime:  x.requestTime.UnixNano(),
		ResponseTime: x.responseTime.UnixNano(),
	}
	if _, ok := e.Header["Date"]; !ok {
		// RFC 9110 §6.6.1: a cache stores a Date-less response with the
		// time it was received, so that later hits carry its true date.
		e.Header["Date"] = []string{x.responseTime.UTC().Format(http.TimeFormat)}
	}
	e.derive(c)
	if c.storeTTL(e, x.responseTime) <= 0 {
		x.status.detail = whyStale
		if e.m.lifetime == 0 && e.m.heuristic {
			x.status.detail = whyNoFreshness
		}
		return nil
	}
	if e.m.heuristic && e.ttl(x.responseTime) > 0 {
		x.status.detail = "heuristic" // fresh only by RFC 9111 §4.2.2's heuristic
	}
	return e
}

// keep stores e (when not nil) and reports whether the Store took it. When
// the handler's answer may not be stored, the stored response it replaces
// is dropped: the origin no longer lets it be stored.
func (c *Cache) keep(x *exchange, e *entry) bool {
	ctx := context.WithoutCancel(x.r.Context())
	if e != nil {
		if !c.save(ctx, x.r, x.key, x.lk, e) {
			x.status.detail = whyStoreError
			return false
		}
		return true
	}
	if x.lk.e != nil && x.rec.code < 500 {
		if err := c.store.Delete(ctx, x.lk.key); err != nil {
			c.logError("delete", x.lk.key, err)
		} else if tags := surrogateKeys(x.lk.e.Header); len(tags) > 0 && x.lk.marker == nil {
			// Its tags no longer name it. (A variant's tags name the primary
			// key, which its other variants may still hold.)
			if err := c.tags.remove(ctx, c, tags, x.key); err != nil {
				c.logError("untag", x.key, err)
			}
		}
	}
	return false
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
		// A panic here would end the process: nobody's request is waiting.
		defer func() { _ = c.recovered("background revalidation of "+lk.key, recover()) }()
		h.forward(&exchange{r: req, key: key, lk: lk, reqCC: &cacheControl{}, status: cacheStatus{fwd: fwdStale}})
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
