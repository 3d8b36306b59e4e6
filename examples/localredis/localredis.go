// Package localredis gives the example programs their Redis: the one at
// REDIS_URL when it is set, else a throwaway redis-server of their own when
// one is on the PATH. It is example code, not part of tiercache's API; copy
// it along with an example, or use your own client.
package localredis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// ErrNotInstalled is returned by Start when redis-server is not on the PATH.
var ErrNotInstalled = errors.New("localredis: redis-server not found on PATH (install it: apt-get install -y redis-server)")

// readyTimeout bounds Start's wait for the new server to answer PING.
const readyTimeout = 10 * time.Second

// Server is a redis-server process Start started on 127.0.0.1. It saves
// nothing to disk.
type Server struct {
	addr string
	cmd  *exec.Cmd
	dir  string
}

// Start starts redis-server on a free port of 127.0.0.1, without
// persistence, and waits until it answers PING.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("localredis: find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return StartOn(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// StartOn is Start on the given host:port.
func StartOn(addr string) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("localredis: %w", err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", "localredis-")
	if err != nil {
		return nil, fmt.Errorf("localredis: %w", err)
	}
	s := &Server{addr: addr, dir: dir}
	s.cmd = exec.Command(bin, "--port", port, "--bind", host,
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("localredis: run %s: %w", bin, err)
	}
	if err := s.waitReady(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitReady waits until the server accepts connections (polling, quietly:
// go-redis would log each refused dial) and answers PING, or readyTimeout
// passes.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", s.addr)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localredis: redis-server on %s: %w", s.addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	rdb := s.NewClient()
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("localredis: redis-server on %s did not answer PING: %w", s.addr, err)
	}
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// NewClient returns a client of the server, with the options tiercache
// needs (see Options). The caller closes it.
func (s *Server) NewClient() *redis.Client {
	opt := &redis.Options{Addr: s.addr}
	Options(opt)
	return redis.NewClient(opt)
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	_ = s.cmd.Process.Kill() // it holds no data worth a clean shutdown
	_ = s.cmd.Wait()
	return os.RemoveAll(s.dir)
}

// Options sets what tiercache needs in a client's options: a context
// deadline bounds every command (tier.New requires it), the timeouts are
// short, and the client's retries fit in tier's L2Timeout (one dial per
// attempt, backoff of at most 8 ms), so that a failure reports its cause
// (connection refused, no such host) rather than only the deadline. It also
// turns off CLIENT SETINFO and maintenance notifications, which a Redis
// older than 7.2 does not know.
func Options(opt *redis.Options) {
	opt.ContextTimeoutEnabled = true
	opt.DialerRetries = 1
	opt.MaxRetryBackoff = 8 * time.Millisecond
	if opt.DialTimeout == 0 {
		opt.DialTimeout = time.Second
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = time.Second
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = time.Second
	}
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// Connect returns a client of the Redis at url, or at REDIS_URL when url is
// empty, or else of a redis-server it starts (when one is on the PATH).
// With none of these it returns a nil client, so the program runs with L1
// only, and writes a one-line notice to notice saying so and how to get an
// L2. The returned function releases what Connect made.
func Connect(url string, notice io.Writer) (redis.UniversalClient, func(), error) {
	if url == "" {
		url = os.Getenv("REDIS_URL")
	}
	if url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, fmt.Errorf("localredis: %w", err)
		}
		Options(opt)
		rdb := redis.NewClient(opt)
		return rdb, func() { rdb.Close() }, nil
	}
	srv, err := Start()
	if errors.Is(err, ErrNotInstalled) {
		fmt.Fprintln(notice, "no REDIS_URL and no redis-server on the PATH: running with L1 only, without the Redis L2 (for L2, apt-get install -y redis-server, or set REDIS_URL=redis://host:6379)")
		return nil, func() {}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	rdb := srv.NewClient()
	return rdb, func() { rdb.Close(); srv.Close() }, nil
}
