// Command proxy is a caching reverse proxy: httputil.ReverseProxy behind
// the tiercache middleware, keeping responses in L1 and Redis.
//
//	go run ./examples/proxy -listen 127.0.0.1:8081 -upstream http://127.0.0.1:8000
//
// Redis comes from -redis (a URL) or REDIS_URL; with neither, the proxy
// starts its own redis-server (which must be on PATH), on -redis-listen or
// a free loopback port. It logs one line per request with its
// Cache-Status and, for a request not answered from the cache, why; and
// one line when it stops. CDN-Cache-Control (RFC 9213) governs the
// responses that carry it, as it would in a CDN (-targeted-field "" turns
// that off). With -admin, a purge endpoint listens there:
//
//	curl -X POST 'http://127.0.0.1:8082/purge?url=http://127.0.0.1:8081/page&tag=product-42'
//
// With -debug-addr, the cache's live debug page (package debugpage) is
// served there, at /debug/tiercache (?format=json for its JSON form):
//
//	go run ./examples/proxy -upstream http://127.0.0.1:8000 -debug-addr 127.0.0.1:6060
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/debugpage"
	"github.com/tiercache/tiercache/examples/localredis"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/middleware"
	"github.com/tiercache/tiercache/tier"
)

// options are the proxy's settings, from its flags.
type options struct {
	listen      string // address of the proxy
	admin       string // address of the purge endpoint; empty: none
	debugAddr   string // address of the debug page; empty: none
	upstream    string // URL of the origin
	redisURL    string // empty: REDIS_URL, else a redis-server of our own
	redisListen string // address of the redis-server we start; empty: a free loopback port
	// targetedField is the targeted cache-control field (RFC 9213);
	// empty: Cache-Control only.
	targetedField string
	// neverShareAuthorization stores no response to a request with
	// Authorization.
	neverShareAuthorization bool
	// trustedProxies are the peers whose X-Forwarded-Proto is believed.
	trustedProxies []netip.Prefix
	// ready, when set, is called with the addresses of the proxy, the
	// admin endpoint and the debug page once they accept connections.
	ready func(proxy, admin, debug string)
	// l2Timeout is the Store's L2Timeout; zero: tier's default. Tests set
	// a generous one: a loaded machine running the race detector can take
	// longer than the default for a Redis call, and the response then goes
	// uncached or unread from Redis.
	l2Timeout time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address to serve the proxy on")
	flag.StringVar(&o.admin, "admin", "", "address to serve the purge endpoint on (empty: none)")
	flag.StringVar(&o.debugAddr, "debug-addr", "", "address to serve the debug page on, at /debug/tiercache (empty: none)")
	flag.StringVar(&o.upstream, "upstream", "", "origin URL, such as http://127.0.0.1:8000")
	flag.StringVar(&o.redisURL, "redis", "", "Redis to use: a URL such as redis://127.0.0.1:6379/0, or host:port (default $REDIS_URL; with neither, start a redis-server)")
	flag.StringVar(&o.redisListen, "redis-listen", "", "address of the redis-server the proxy starts when it is given no Redis (empty: a free 127.0.0.1 port)")
	flag.StringVar(&o.targetedField, "targeted-field", "CDN-Cache-Control", `targeted cache-control field that takes precedence over Cache-Control (RFC 9213); "" for none`)
	flag.BoolVar(&o.neverShareAuthorization, "never-share-authorization", false, "never store a response to a request with Authorization, even where RFC 9111 allows it")
	flag.Func("trusted-proxies", "comma-separated CIDRs of peers (TLS terminators) whose X-Forwarded-Proto is trusted", func(v string) error {
		for p := range strings.SplitSeq(v, ",") {
			prefix, err := netip.ParsePrefix(strings.TrimSpace(p))
			if err != nil {
				return err
			}
			o.trustedProxies = append(o.trustedProxies, prefix)
		}
		return nil
	})
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

// run serves the proxy until ctx is done.
func run(ctx context.Context, o options, logOut io.Writer) error {
	if o.upstream == "" {
		return errors.New("-upstream is required")
	}
	target, err := url.Parse(o.upstream)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return fmt.Errorf("-upstream %q: want an absolute URL", o.upstream)
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))

	rdb, closeRedis, err := connect(o.redisURL, o.redisListen, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	store, err := tier.New(&tier.Config{Redis: rdb, Logger: log, L2Timeout: o.l2Timeout})
	if err != nil {
		return err
	}
	defer store.Close()
	cache, err := middleware.New(store, &middleware.Config{
		Logger:                  log,
		TargetedField:           o.targetedField,
		NeverShareAuthorization: o.neverShareAuthorization,
		TrustedProxies:          o.trustedProxies,
	})
	if err != nil {
		return err
	}
	defer cache.Close()

	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.SetXForwarded()
		if proto := r.In.Header.Get("X-Forwarded-Proto"); proto != "" {
			// The middleware lets it through only from -trusted-proxies.
			r.Out.Header.Set("X-Forwarded-Proto", proto)
		}
	}}
	var count counts
	srv := &http.Server{Handler: logRequests(log, &count, cache.Handler(proxy)), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	// serve adds a server of mux on addr, and returns the address it
	// listens on.
	serve := func(addr string, mux *http.ServeMux) (string, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return "", err
		}
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, l)
		return l.Addr().String(), nil
	}
	adminAddr, debugAddr := "", ""
	if o.admin != "" {
		mux := http.NewServeMux()
		mux.Handle("/purge", cache.PurgeHandler()) // put your authentication in front of it
		if adminAddr, err = serve(o.admin, mux); err != nil {
			return err
		}
	}
	if o.debugAddr != "" {
		reg := &metrics.Registry{}
		if err := reg.Add("proxy", store); err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/debug/tiercache", debugpage.New(debugpage.Config{Registry: reg})) // operators only
		if debugAddr, err = serve(o.debugAddr, mux); err != nil {
			return err
		}
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(listeners[i]) }()
	}
	log.Info("proxy listening", "addr", ln.Addr().String(), "upstream", target.String(), "admin", adminAddr, "debug", debugAddr)
	if o.ready != nil {
		o.ready(ln.Addr().String(), adminAddr, debugAddr)
	}

	var serveErr error
	reason := "signal"
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		reason = "server error"
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil && serveErr == nil {
			serveErr = err
		}
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	attrs := []any{"reason", reason, "requests", count.requests.Load(), "hits", count.hits.Load(),
		"handler_panics", cache.Stats().Panics}
	if serveErr != nil {
		attrs = append(attrs, "error", serveErr.Error())
	}
	log.Info("proxy stopped", attrs...)
	return serveErr
}

// counts are the proxy's request counters, for its shutdown line.
type counts struct {
	requests, hits atomic.Int64
}

// logRequests logs one line per request: its status, its Cache-Status,
// and what the cache did ("hit", or the forward reason) and why.
func logRequests(log *slog.Logger, count *counts, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		cacheStatus := w.Header().Values("Cache-Status")
		what, why := cacheOutcome(cacheStatus)
		count.requests.Add(1)
		if what == "hit" {
			count.hits.Add(1)
		}
		log.Info("request", "method", r.Method, "url", r.URL.String(), "status", sw.status,
			"cache", what, "why", why, "cache_status", strings.Join(cacheStatus, ", "), "duration", time.Since(start))
	})
}

// cacheOutcome reads this cache's member of Cache-Status (the last one,
// named middleware.DefaultName): "hit" or the forward reason, and its
// detail (the tier of a hit, or why the response was not stored or
// served).
func cacheOutcome(members []string) (what, why string) {
	if len(members) == 0 {
		return "", ""
	}
	params := strings.Split(members[len(members)-1], ";")
	if strings.TrimSpace(params[0]) != middleware.DefaultName {
		return "", ""
	}
	for _, p := range params[1:] {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "hit":
			what = "hit"
		case "fwd":
			what = value
		case "detail":
			why = value
		}
	}
	return what, why
}

// statusWriter records the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote && code >= 200 {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// connect returns a client for redisURL or REDIS_URL (a URL or a bare
// host:port), or starts a redis-server on listen (empty: a free loopback
// port).
func connect(redisURL, listen string, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if redisURL == "" {
		redisURL = os.Getenv("REDIS_URL")
	}
	if redisURL != "" {
		if !strings.Contains(redisURL, "://") {
			redisURL = "redis://" + redisURL // a bare host:port
		}
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return nil, nil, err
		}
		localredis.Options(opt) // tier.New requires ContextTimeoutEnabled
		rdb := redis.NewClient(opt)
		return rdb, func() { rdb.Close() }, nil
	}
	var srv *localredis.Server
	var err error
	if listen == "" {
		srv, err = localredis.Start()
	} else {
		srv, err = localredis.StartOn(listen)
	}
	if err != nil {
		return nil, nil, err
	}
	log.Info("started redis-server", "addr", srv.Addr())
	rdb := srv.NewClient()
	return rdb, func() { rdb.Close(); srv.Close() }, nil
}
