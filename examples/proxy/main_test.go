package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/debugpage"
	"github.com/tiercache/tiercache/internal/testsource"
)

// TestRun runs the proxy end to end: an upstream, the proxy on a free port
// with its own redis-server, and a client.
func TestRun(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	var calls atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Surrogate-Key", "pages")
		io.WriteString(w, "page "+r.URL.Path)
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type addrs struct{ proxy, admin string }
	ready := make(chan addrs, 1)
	var logs testsource.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{
			listen:    "127.0.0.1:0",
			admin:     "127.0.0.1:0",
			upstream:  upstream.URL,
			ready:     func(p, a, _ string) { ready <- addrs{p, a} },
			l2Timeout: testL2Timeout,
		}, &logs)
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	get := func(path string) (string, string) {
		t.Helper()
		resp, err := client.Get("http://" + a.proxy + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get("Cache-Status")
	}
	steps := []struct {
		path, wantBody, wantStatus string
	}{
		{"/a", "page /a", "tiercache; fwd=uri-miss; fwd-status=200; stored"},
		{"/a", "page /a", "tiercache; hit"},
		{"/b", "page /b", "tiercache; fwd=uri-miss"},
		{"/b", "page /b", "tiercache; hit"},
	}
	for _, s := range steps {
		body, status := get(s.path)
		if body != s.wantBody || !strings.HasPrefix(status, s.wantStatus) {
			t.Errorf("GET %s = %q, %q; want %q, %q...", s.path, body, status, s.wantBody, s.wantStatus)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d; want 2", n)
	}
	resp, err := client.PostForm("http://"+a.admin+"/purge", url.Values{"tag": {"pages"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("purge: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, status := get("/a"); !strings.HasPrefix(status, "tiercache; fwd=uri-miss") {
		t.Errorf("after purge: %q; want a miss", status)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "msg=request"); n != 5 {
		t.Errorf("%d request log lines; want 5:\n%s", n, out)
	}
	if !strings.Contains(out, `cache_status="tiercache; hit; ttl=`) || !strings.Contains(out, "cache=hit why=l1") {
		t.Errorf("log lacks a hit's Cache-Status:\n%s", out)
	}
	if !strings.Contains(out, `msg="proxy stopped" reason=signal requests=5 hits=2`) {
		t.Errorf("log lacks the shutdown line:\n%s", out)
	}
}

// testL2Timeout is the proxies' L2Timeout in tests: generous, as the tests
// are about what is cached and served, not about timeouts (a fresh proxy's
// first Redis call on a loaded machine has taken longer than the default
// 100 ms, and TestNewcomer's second proxy then missed the shared entry).
const testL2Timeout = 2 * time.Second

// startProxy runs the proxy with o (its own redis-server unless o says
// otherwise, and an L2Timeout of testL2Timeout unless it sets one) in front
// of upstream until the test ends, and returns its address and its log.
func startProxy(t *testing.T, o options) (string, *testsource.LogBuffer) {
	t.Helper()
	proxy, _, logs := startProxyDebug(t, o)
	return proxy, logs
}

// startProxyDebug is startProxy that also returns the address of the
// debug page (empty without o.debugAddr).
func startProxyDebug(t *testing.T, o options) (string, string, *testsource.LogBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ proxy, debug string }
	ready := make(chan addrs, 1)
	logs := &testsource.LogBuffer{}
	done := make(chan error, 1)
	o.listen = "127.0.0.1:0"
	o.ready = func(p, _, d string) { ready <- addrs{p, d} }
	if o.l2Timeout == 0 {
		o.l2Timeout = testL2Timeout
	}
	go func() { done <- run(ctx, o, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case a := <-ready:
		return a.proxy, a.debug, logs
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return "", "", nil
}

// get sends a GET through the proxy and returns the body and Cache-Status.
func get(t *testing.T, url string) (string, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.Header.Get("Cache-Status")
}

// TestNewcomer: what a first-time user meets. CDN-Cache-Control governs by
// default; a response that is not stored says why in the log and in
// Cache-Status; when the origin goes down, a response within
// stale-if-error is served; the proxy starts its redis-server where
// -redis-listen says.
func TestNewcomer(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cdn":
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("CDN-Cache-Control", "max-age=60")
		case "/plain": // no freshness information at all
		case "/sie":
			w.Header().Set("Cache-Control", "max-age=1, stale-if-error=600")
			w.Header().Set("Age", "5")
			w.Header().Set("ETag", `"v1"`)
		}
		io.WriteString(w, "page "+r.URL.Path)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redisAddr := ln.Addr().String()
	ln.Close()
	proxy, logs := startProxy(t, options{upstream: upstream.URL, redisListen: redisAddr, targetedField: "CDN-Cache-Control"})
	if !strings.Contains(logs.String(), `msg="started redis-server" addr=`+redisAddr) {
		t.Errorf("log does not show the redis-server on %s:\n%s", redisAddr, logs.String())
	}

	get(t, "http://"+proxy+"/cdn")
	if _, status := get(t, "http://"+proxy+"/cdn"); !strings.HasPrefix(status, "tiercache; hit") {
		t.Errorf("CDN-Cache-Control max-age over Cache-Control no-store: %q; want a hit", status)
	}
	if _, status := get(t, "http://"+proxy+"/plain"); status != "tiercache; fwd=uri-miss; fwd-status=200; detail=no-freshness" {
		t.Errorf("no freshness: Cache-Status %q; want the reason no-freshness", status)
	}
	if !strings.Contains(logs.String(), "url=/plain status=200 cache=uri-miss why=no-freshness") {
		t.Errorf("log line lacks the reason:\n%s", logs.String())
	}

	// A second proxy on the same Redis, named by a bare host:port, shares
	// the stored responses.
	t.Setenv("REDIS_URL", "")
	other, _ := startProxy(t, options{upstream: upstream.URL, redisURL: redisAddr, targetedField: "CDN-Cache-Control"})
	req, _ := http.NewRequest("GET", "http://"+other+"/cdn", nil)
	req.Host = proxy // the key names the host the client asked for
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if status := resp.Header.Get("Cache-Status"); !strings.HasPrefix(status, "tiercache; hit") || !strings.HasSuffix(status, "detail=l2") {
		t.Errorf("second proxy on -redis %s: %q; want an L2 hit", redisAddr, status)
	}

	get(t, "http://"+proxy+"/sie") // stored, stale already
	upstream.Close()               // the origin goes away
	if body, status := get(t, "http://"+proxy+"/sie"); body != "page /sie" || !strings.Contains(status, "fwd-status=502; detail=stale-if-error") {
		t.Errorf("origin down: %q %q; want the stale page with stale-if-error", body, status)
	}
}

// TestDebugPage runs the proxy with -debug-addr: the debug page and its
// JSON form are served there and show the proxy's Store with the reads
// just made (one miss, then one L1 hit).
func TestDebugPage(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "page "+r.URL.Path)
	}))
	defer upstream.Close()
	proxy, debug, _ := startProxyDebug(t, options{upstream: upstream.URL, debugAddr: "127.0.0.1:0"})
	get(t, "http://"+proxy+"/a")
	if _, status := get(t, "http://"+proxy+"/a"); !strings.HasPrefix(status, "tiercache; hit") {
		t.Fatalf("second GET: %q; want a hit", status)
	}

	body, _ := get(t, "http://"+debug+"/debug/tiercache?format=json")
	var snap debugpage.Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatalf("debug page JSON: %v\n%s", err, body)
	}
	// The hit is L1's once ristretto has applied the first read's set
	// (asynchronous), else L2's.
	if len(snap.Stores) != 1 || snap.Stores[0].Name != "proxy" || snap.Stores[0].Stats.L1Hits+snap.Stores[0].Stats.L2Hits != 1 || snap.Stores[0].Stats.L2Misses != 1 {
		t.Fatalf("debug page JSON = %+v; want the Store proxy with 1 hit (L1 or L2) and 1 L2 miss", snap.Stores)
	}
	l1 := snap.Stores[0].Stats.L1Hits
	page, _ := get(t, "http://"+debug+"/debug/tiercache")
	for _, want := range []string{`<svg class="chart"`, `data-label="all reads (Store)" data-total="2"`, fmt.Sprintf(`data-tier="l1" data-count="%d"`, l1)} {
		if !strings.Contains(page, want) {
			t.Errorf("debug page lacks %s:\n%s", want, page)
		}
	}
}
