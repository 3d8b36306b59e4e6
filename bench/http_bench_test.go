package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/middleware"
	"github.com/tiercache/tiercache/tier"
)

// body1KB is the response every HTTP benchmark serves.
var body1KB = []byte(strings.Repeat("0123456789abcdef", 64))

// originHandler writes the 1 KB body with a cacheable header.
func originHandler(calls *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		h := w.Header()
		h["Content-Type"] = []string{"text/plain"}
		h["Cache-Control"] = []string{"max-age=3600"}
		w.Write(body1KB)
	})
}

// newHTTPCache returns a Cache on the shared redis-server, closed at the
// end of the benchmark.
func newHTTPCache(b *testing.B, prefix string) (*tier.Store, *middleware.Cache) {
	b.Helper()
	rdb := redisServer.NewClient()
	b.Cleanup(func() { rdb.Close() })
	store, err := tier.New(&tier.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	cache, err := middleware.New(store, &middleware.Config{KeyPrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cache.Close() })
	return store, cache
}

// discardWriter is a ResponseWriter that keeps nothing, for in-process
// benchmarks.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

func (d *discardWriter) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(p), nil
}

// BenchmarkHTTPServeHit calls ServeHTTP directly (no network): the bare
// handler next to an L1 hit through the middleware, both writing the same
// 1 KB body, and a hit for a range of it (the first 100 bytes, answered
// 206 from the stored response). It measures the middleware's own cost.
func BenchmarkHTTPServeHit(b *testing.B) {
	for _, mode := range []string{"bare", "cached", "range"} {
		b.Run(mode, func(b *testing.B) {
			h := originHandler(nil)
			want := http.StatusOK
			if mode != "bare" {
				store, cache := newHTTPCache(b, fmt.Sprintf("bench-serve-%d:", time.Now().UnixNano()))
				h = cache.Handler(h)
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, httptest.NewRequest("GET", "http://example.com/page", nil))
				store.WaitL1()
			}
			req := httptest.NewRequest("GET", "http://example.com/page", nil)
			if mode == "range" {
				req.Header.Set("Range", "bytes=0-99")
				want = http.StatusPartialContent
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					w.status = 0
					h.ServeHTTP(w, req)
					if w.status != want {
						b.Errorf("status %d", w.status)
						return
					}
				}
			})
		})
	}
}

// BenchmarkHTTPHit serves over loopback HTTP (httptest.Server, keep-alive
// client, GOMAXPROCS*4 concurrent clients): the bare handler next to a
// cache hit through the middleware. It reports requests per second and the
// 99th percentile latency.
func BenchmarkHTTPHit(b *testing.B) {
	for _, mode := range []string{"bare", "cached"} {
		b.Run(mode, func(b *testing.B) {
			h := originHandler(nil)
			var store *tier.Store
			if mode == "cached" {
				var cache *middleware.Cache
				store, cache = newHTTPCache(b, fmt.Sprintf("bench-hit-%d:", time.Now().UnixNano()))
				h = cache.Handler(h)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 4 * runtime.GOMAXPROCS(0)}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			url := srv.URL + "/page"
			get := func() error {
				resp, err := client.Get(url)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return err
			}
			if err := get(); err != nil {
				b.Fatal(err)
			}
			if store != nil {
				store.WaitL1()
			}
			var mu sync.Mutex
			var all []time.Duration
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				lat := make([]time.Duration, 0, 1024)
				for pb.Next() {
					t0 := time.Now()
					if err := get(); err != nil {
						b.Error(err)
						return
					}
					lat = append(lat, time.Since(t0))
				}
				mu.Lock()
				all = append(all, lat...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// BenchmarkHTTPMissStorm sends 256 concurrent requests for one new key per
// iteration (over loopback HTTP, to an origin that takes 2 ms) and reports
// the origin calls per storm: coalescing makes it 1.
func BenchmarkHTTPMissStorm(b *testing.B) {
	const clients = 256
	var calls atomic.Int64
	_, cache := newHTTPCache(b, fmt.Sprintf("bench-storm-%d:", time.Now().UnixNano()))
	origin := originHandler(&calls)
	srv := httptest.NewServer(cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // the origin's own latency
		origin.ServeHTTP(w, r)
	})))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		url := fmt.Sprintf("%s/storm/%d", srv.URL, i)
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(calls.Load())/float64(b.N), "origin-calls/storm")
}
