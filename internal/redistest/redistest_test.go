package redistest_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, redistest.LeakOptions()...)
}

// ctxTimeout returns a context that ends after d and is canceled at cleanup.
func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// isTimeout reports whether err is a deadline or network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

func TestNoRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	s, err := redistest.StartServer()
	if !errors.Is(err, redistest.ErrNoRedisServer) {
		if s != nil {
			_ = s.Close()
		}
		t.Fatalf("StartServer() with empty PATH = %v; want ErrNoRedisServer", err)
	}
	if !strings.Contains(err.Error(), "apt-get install -y redis-server") {
		t.Errorf("ErrNoRedisServer = %q; want the install hint", err)
	}
}

func TestServerConfig(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := ctxTimeout(t, 5*time.Second)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.Addr() == "127.0.0.1:6379" {
		t.Errorf("Addr() = %q; want 127.0.0.1 and a port other than 6379", s.Addr())
	}
	if want := "redis://" + s.Addr(); s.URL() != want {
		t.Errorf("URL() = %q; want %q", s.URL(), want)
	}
	opt, err := redis.ParseURL(s.URL())
	if err != nil || opt.Addr != s.Addr() {
		t.Errorf("redis.ParseURL(%q) = %v, %v; want Addr %q", s.URL(), opt, err, s.Addr())
	}
	for _, tc := range []struct{ key, want string }{
		{"save", ""},
		{"appendonly", "no"},
		{"bind", "127.0.0.1"},
		{"protected-mode", "no"},
		{"dir", s.Dir()},
	} {
		got, err := rdb.ConfigGet(ctx, tc.key).Result()
		if err != nil || got[tc.key] != tc.want {
			t.Errorf("CONFIG GET %s = %v, %v; want %q", tc.key, got, err, tc.want)
		}
	}
}

func TestServerStopRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := ctxTimeout(t, 10*time.Second)
	addr := s.Addr()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET k = %v; want nil", err)
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop() = %v; want nil", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop() = %v; want nil", err)
	}
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Errorf("PING after Stop = nil; want an error")
	}
	if err := s.Pause(); !errors.Is(err, redistest.ErrNotRunning) {
		t.Errorf("Pause() after Stop = %v; want ErrNotRunning", err)
	}

	if err := s.Restart(); err != nil {
		t.Fatalf("Restart() = %v; want nil", err)
	}
	if s.Addr() != addr {
		t.Errorf("Addr() after Restart = %q; want %q", s.Addr(), addr)
	}
	if got, err := rdb.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET k after Restart = %q, %v; want redis.Nil", got, err)
	}
	// Restart of a running server stops it first.
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET k = %v; want nil", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart() of a running server = %v; want nil", err)
	}
	if got, err := rdb.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET k after second Restart = %q, %v; want redis.Nil", got, err)
	}
}

func TestServerRestartWaitsForPort(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	ln, err := net.Listen("tcp", s.Addr()) // someone holds the port for a while
	if err != nil {
		t.Fatalf("listen on %s: %v", s.Addr(), err)
	}
	release := time.AfterFunc(300*time.Millisecond, func() { _ = ln.Close() })
	defer release.Stop()
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart() while the port is held for 300ms = %v; want nil", err)
	}
	if err := s.Client(t).Ping(ctxTimeout(t, time.Second)).Err(); err != nil {
		t.Errorf("PING after Restart = %v; want nil", err)
	}
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	s, err := redistest.StartServer()
	if err != nil {
		t.Fatalf("StartServer() = %v", err)
	}
	if err := s.Pause(); err != nil { // Close must also end a paused server
		t.Fatalf("Pause() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v; want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%q) after Close = %v; want ErrNotExist", s.Dir(), err)
	}
	if err := s.Restart(); !errors.Is(err, redistest.ErrClosed) {
		t.Errorf("Restart() after Close = %v; want ErrClosed", err)
	}
	conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err == nil {
		_ = conn.Close()
		t.Errorf("dial %s after Close = nil; want an error", s.Addr())
	}
}

func TestServerPauseResume(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	if err := rdb.Set(ctxTimeout(t, time.Second), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET k = %v; want nil", err)
	}

	if err := s.Pause(); err != nil {
		t.Fatalf("Pause() = %v", err)
	}
	start := time.Now()
	got, err := rdb.Get(ctxTimeout(t, 100*time.Millisecond), "k").Result()
	if !isTimeout(err) {
		t.Errorf("GET k on a paused server = %q, %v; want a timeout", got, err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("GET k on a paused server took %v; want about 100ms", elapsed)
	}

	if err := s.Resume(); err != nil {
		t.Fatalf("Resume() = %v", err)
	}
	if got, err := rdb.Get(ctxTimeout(t, time.Second), "k").Result(); err != nil || got != "v" {
		t.Errorf("GET k after Resume = %q, %v; want %q, nil", got, err, "v")
	}
}

func TestCommandCalls(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := ctxTimeout(t, 5*time.Second)
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING = %v", err)
	}
	if err := s.ResetStats(ctx); err != nil {
		t.Fatalf("ResetStats() = %v", err)
	}
	for range 3 {
		_ = rdb.Get(ctx, "missing").Err()
	}
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET k = %v", err)
	}
	for _, tc := range []struct {
		command string
		want    int64
	}{
		{"get", 3},
		{"GET", 3},
		{"set", 1},
		{"del", 0},
	} {
		if got, err := s.CommandCalls(ctx, tc.command); err != nil || got != tc.want {
			t.Errorf("CommandCalls(%q) = %d, %v; want %d, nil", tc.command, got, err, tc.want)
		}
	}
	if err := s.ResetStats(ctx); err != nil {
		t.Fatalf("ResetStats() = %v", err)
	}
	if got, err := s.CommandCalls(ctx, "get"); err != nil || got != 0 {
		t.Errorf("CommandCalls(get) after ResetStats = %d, %v; want 0, nil", got, err)
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartClusterT(t)
	if got := len(c.Addrs()); got != 3 {
		t.Fatalf("len(Addrs()) = %d; want 3", got)
	}
	rdb := c.Client(t)
	ctx := ctxTimeout(t, 10*time.Second)
	const keys = 100
	for i := range keys {
		k := fmt.Sprintf("key:%d", i)
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s = %v; want nil", k, err)
		}
	}
	for i := range keys {
		k := fmt.Sprintf("key:%d", i)
		if got, err := rdb.Get(ctx, k).Int(); err != nil || got != i {
			t.Fatalf("GET %s = %d, %v; want %d, nil", k, got, err, i)
		}
	}
	var total int64
	for _, s := range c.Servers() {
		n, err := s.Client(t).DBSize(ctx).Result()
		if err != nil || n == 0 {
			t.Errorf("DBSIZE on %s = %d, %v; want > 0, nil", s.Addr(), n, err)
		}
		total += n
	}
	if total != keys {
		t.Errorf("sum of DBSIZE = %d; want %d", total, keys)
	}
}

// rawPing sends PING on conn and returns the reply line.
func rawPing(conn net.Conn, r *bufio.Reader, d time.Duration) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(d)); err != nil {
		return "", err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	return r.ReadString('\n')
}

// proxyClient starts a server, a proxy in front of it, and a client of the
// proxy.
func proxyClient(t *testing.T) (*redistest.Server, *redistest.Proxy, *redis.Client) {
	t.Helper()
	s := redistest.Start(t)
	p := redistest.StartProxy(t, s.Addr())
	rdb := redis.NewClient(redistest.ClientOptions(p.Addr()))
	t.Cleanup(func() { _ = rdb.Close() })
	return s, p, rdb
}

func TestProxyPassthrough(t *testing.T) {
	t.Parallel()
	_, p, rdb := proxyClient(t)
	ctx := ctxTimeout(t, 5*time.Second)
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() = %q; want 127.0.0.1", p.Addr())
	}
	big := strings.Repeat("x", 1<<20) // more than one chunk each way
	if err := rdb.Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatalf("SET big = %v", err)
	}
	if got, err := rdb.Get(ctx, "big").Result(); err != nil || got != big {
		t.Errorf("GET big = %d bytes, %v; want %d bytes, nil", len(got), err, len(big))
	}
	if got := p.Conns(); got != 1 {
		t.Errorf("Conns() = %d; want 1", got)
	}
}

// TestProxyLatency: SetLatency delays each direction of a round trip by its
// latency, and SetLatency(0) takes the delay away. The latency is 250 ms, so
// that "less than two latencies" without it leaves room for a loaded
// machine's stalls (at 50 ms, a PING without latency took 101.7 ms), and
// the round trip with it stays well within the client's 1 s ReadTimeout.
func TestProxyLatency(t *testing.T) {
	t.Parallel()
	_, p, rdb := proxyClient(t)
	ctx := ctxTimeout(t, 5*time.Second)
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING = %v", err)
	}
	const d = 250 * time.Millisecond
	p.SetLatency(d)
	start := time.Now()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING with latency = %v", err)
	}
	if rtt := time.Since(start); rtt < 2*d {
		t.Errorf("PING round trip with latency %v = %v; want at least %v", d, rtt, 2*d)
	}
	p.SetLatency(0)
	start = time.Now()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING without latency = %v", err)
	}
	if rtt := time.Since(start); rtt >= 2*d {
		t.Errorf("PING round trip without latency = %v; want less than %v", rtt, 2*d)
	}
}

func TestProxyCut(t *testing.T) {
	t.Parallel()
	_, p, rdb := proxyClient(t)
	ctx := ctxTimeout(t, 5*time.Second)

	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if got, err := rawPing(conn, r, time.Second); err != nil || got != "+PONG\r\n" {
		t.Fatalf("PING = %q, %v; want +PONG", got, err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("client PING = %v", err)
	}
	if got := p.Conns(); got != 2 {
		t.Errorf("Conns() = %d; want 2", got)
	}

	p.Cut()
	if got := p.Conns(); got != 0 {
		t.Errorf("Conns() after Cut = %d; want 0", got)
	}
	if got, err := rawPing(conn, r, time.Second); err == nil || isTimeout(err) {
		t.Errorf("PING on a cut connection = %q, %v; want a connection error", got, err)
	}
	// The client notices the cut connection and dials a new one.
	var pingErr error
	for range 3 {
		if pingErr = rdb.Ping(ctx).Err(); pingErr == nil {
			break
		}
	}
	if pingErr != nil {
		t.Errorf("client PING after Cut = %v; want nil", pingErr)
	}
}

func TestProxyBlackhole(t *testing.T) {
	t.Parallel()
	_, p, rdb := proxyClient(t)
	if err := rdb.Set(ctxTimeout(t, time.Second), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET k = %v", err)
	}

	p.SetBlackhole(true)
	if got, err := rdb.Get(ctxTimeout(t, 100*time.Millisecond), "k").Result(); !isTimeout(err) {
		t.Errorf("GET k through a blackhole = %q, %v; want a timeout", got, err)
	}
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dial proxy with blackhole: %v; want accepted", err)
	}
	defer conn.Close()
	if got, err := rawPing(conn, bufio.NewReader(conn), 100*time.Millisecond); !isTimeout(err) {
		t.Errorf("PING on a new connection through a blackhole = %q, %v; want a timeout", got, err)
	}

	p.SetBlackhole(false)
	if got, err := rdb.Get(ctxTimeout(t, time.Second), "k").Result(); err != nil || got != "v" {
		t.Errorf("GET k after the blackhole = %q, %v; want %q, nil", got, err, "v")
	}
}

func TestProxyRefuse(t *testing.T) {
	t.Parallel()
	_, p, rdb := proxyClient(t)
	ctx := ctxTimeout(t, 5*time.Second)
	p.SetRefuse(true)
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Errorf("PING while refusing = nil; want an error")
	}
	p.SetRefuse(false)
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("PING after refusing = %v; want nil", err)
	}
}

func TestProxyClose(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	p, err := redistest.NewProxy(s.Addr())
	if err != nil {
		t.Fatalf("NewProxy() = %v", err)
	}
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	defer conn.Close()
	p.SetBlackhole(true) // Close must end held connections too
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		_ = c.Close()
		t.Errorf("dial %s after Close = nil; want an error", p.Addr())
	}
}
