// Command proxy is a caching reverse proxy: httputil.ReverseProxy behind
// the tiercache middleware, keeping responses in L1 and Redis.
//
//	go run ./examples/proxy -listen 127.0.0.1:8081 -upstream http://127.0.0.1:8000
//
// Redis comes from -redis or REDIS_URL; with neither, the proxy starts its
// own redis-server (which must be on PATH). It logs one line per request
// with its Cache-Status. With -admin, a purge endpoint listens there:
//
//	curl -X POST 'http://127.0.0.1:8082/purge?url=http://127.0.0.1:8081/page&tag=product-42'
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
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/examples/localredis"
	"github.com/tiercache/tiercache/middleware"
	"github.com/tiercache/tiercache/tier"
)

// options are the proxy's settings, from its flags.
type options struct {
	listen   string // address of the proxy
	admin    string // address of the purge endpoint; empty: none
	upstream string // URL of the origin
	redisURL string // empty: REDIS_URL, else a redis-server of our own
	// ready, when set, is called with the proxy's and the admin
	// endpoint's addresses once they accept connections.
	ready func(proxy, admin string)
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address to serve the proxy on")
	flag.StringVar(&o.admin, "admin", "", "address to serve the purge endpoint on (empty: none)")
	flag.StringVar(&o.upstream, "upstream", "", "origin URL, such as http://127.0.0.1:8000")
	flag.StringVar(&o.redisURL, "redis", "", "Redis URL (default $REDIS_URL; with neither, start a redis-server)")
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

	rdb, closeRedis, err := connect(o.redisURL)
	if err != nil {
		return err
	}
	defer closeRedis()
	store, err := tier.New(&tier.Config{Redis: rdb, Logger: log})
	if err != nil {
		return err
	}
	defer store.Close()
	cache, err := middleware.New(store, &middleware.Config{Logger: log})
	if err != nil {
		return err
	}
	defer cache.Close()

	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.SetXForwarded()
	}}
	srv := &http.Server{Handler: logRequests(log, cache.Handler(proxy)), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	adminAddr := ""
	if o.admin != "" {
		mux := http.NewServeMux()
		mux.Handle("/purge", cache.PurgeHandler()) // put your authentication in front of it
		aln, err := net.Listen("tcp", o.admin)
		if err != nil {
			ln.Close()
			return err
		}
		adminAddr = aln.Addr().String()
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, aln)
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(listeners[i]) }()
	}
	log.Info("proxy listening", "addr", ln.Addr().String(), "upstream", target.String(), "admin", adminAddr)
	if o.ready != nil {
		o.ready(ln.Addr().String(), adminAddr)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
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
	return serveErr
}

// logRequests logs one line per request with its status and Cache-Status.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "url", r.URL.String(), "status", sw.status,
			"cache_status", w.Header().Get("Cache-Status"), "duration", time.Since(start))
	})
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

// connect returns a client for redisURL or REDIS_URL, or starts a
// redis-server.
func connect(redisURL string) (redis.UniversalClient, func(), error) {
	if redisURL == "" {
		redisURL = os.Getenv("REDIS_URL")
	}
	if redisURL != "" {
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return nil, nil, err
		}
		opt.ContextTimeoutEnabled = true // tier.New requires it
		rdb := redis.NewClient(opt)
		return rdb, func() { rdb.Close() }, nil
	}
	srv, err := localredis.Start()
	if err != nil {
		return nil, nil, err
	}
	rdb := srv.NewClient()
	return rdb, func() { rdb.Close(); srv.Close() }, nil
}
