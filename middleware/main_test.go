package middleware

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/tier"
)

// shared is the redis-server the package's tests share.
var shared *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &shared) }

var prefixSeq atomic.Int64

// newStore returns a Store on the shared Redis, closed at cleanup. Its
// L2Timeout is generous: these tests are about HTTP semantics, and a Redis
// call of a loaded CI machine running the race detector can exceed the
// default 100 ms, which makes a store fail and the response go uncached.
func newStore(t testing.TB) *tier.Store {
	t.Helper()
	s, err := tier.New(&tier.Config{Redis: shared.Client(t), L2Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("tier.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// env is a cache in front of an origin handler, served on loopback.
type env struct {
	t      testing.TB
	store  *tier.Store
	cache  *Cache
	calls  atomic.Int64
	origin atomic.Pointer[http.HandlerFunc]
	srv    *httptest.Server
	client *http.Client
}

// newEnv starts a cache (its own key prefix, so tests do not share keys)
// in front of origin.
func newEnv(t testing.TB, cfg *Config, origin http.HandlerFunc) *env {
	t.Helper()
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = fmt.Sprintf("test%d:", prefixSeq.Add(1))
	}
	e := &env{t: t, store: newStore(t)}
	cache, err := New(e.store, &c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.cache = cache
	t.Cleanup(func() { cache.Close() })
	e.origin.Store(&origin)
	e.srv = httptest.NewServer(cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		(*e.origin.Load())(w, r)
	})))
	t.Cleanup(e.srv.Close)
	e.client = e.srv.Client()
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e
}

// setOrigin replaces the origin handler.
func (e *env) setOrigin(h http.HandlerFunc) { e.origin.Store(&h) }

// reply is a response as the client saw it.
type reply struct {
	status      int
	header      http.Header
	body        string
	cacheStatus string
}

func (r reply) hit() bool { return strings.Contains(r.cacheStatus, "; hit") }

// do sends a request with the given header fields ("Name: value" lines).
func (e *env) do(method, path string, fields ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatalf("NewRequest: %v", err)
	}
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		if strings.EqualFold(name, "Host") {
			req.Host = strings.TrimSpace(value)
			continue
		}
		req.Header.Add(name, strings.TrimSpace(value))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), cacheStatus: resp.Header.Get("Cache-Status")}
}

func (e *env) get(path string, fields ...string) reply {
	e.t.Helper()
	return e.do(http.MethodGet, path, fields...)
}

// respond returns an origin handler that writes the given header fields
// ("Name: value") and body.
func respond(status int, body string, fields ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, f := range fields {
			name, value, _ := strings.Cut(f, ":")
			w.Header().Add(name, strings.TrimSpace(value))
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
