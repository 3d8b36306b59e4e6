package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoRedisServer is returned when redis-server is not on PATH.
var ErrNoRedisServer = errors.New("redistest: redis-server not found on PATH (install it: apt-get install -y redis-server)")

// ErrNotReady is returned when a started redis-server exits, or does not
// answer PING in time. The error also carries the tail of the server's log.
var ErrNotReady = errors.New("redistest: redis-server did not become ready")

// ErrNotRunning is returned by Pause and Resume when the server is stopped.
var ErrNotRunning = errors.New("redistest: redis-server is not running")

// ErrExited is returned by Stop and Close when the server had exited on its
// own (crashed) before it was asked to stop.
var ErrExited = errors.New("redistest: redis-server exited unexpectedly")

// ErrClosed is returned by Restart after Close.
var ErrClosed = errors.New("redistest: server closed")

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("redistest: address already in use")

const (
	// readyTimeout bounds the wait for a new process to answer PING.
	readyTimeout = 10 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 5 * time.Second
	// rebindTimeout bounds Restart's retries while the old port is still taken.
	rebindTimeout = 5 * time.Second
	// startAttempts is how many fresh ports StartServer tries.
	startAttempts = 3
	// logTailLines is how much of the server log a startup error quotes.
	logTailLines = 20
)

// Server is a redis-server process listening on 127.0.0.1, without
// persistence, in its own temporary directory. Its methods are safe for
// concurrent use.
type Server struct {
	bin     string
	dir     string
	cluster bool
	// sentinelConf, when set, makes the process a Sentinel with this
	// config file (in dir, which Sentinel rewrites).
	sentinelConf string
	port         int // fixed once StartServer returns
	busPort      int // cluster bus port; 0 unless cluster

	mu       sync.Mutex
	proc     *process // nil while stopped
	logPath  string   // log of the current or last process
	launches int
	paused   bool
	closed   bool
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once Wait has returned
	err  error         // Wait's result, valid after done is closed
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StartServer starts redis-server on a free port of 127.0.0.1 and waits until
// it answers PING. The server saves nothing (--save "", --appendonly no) and
// keeps its log in its own temporary directory; Close stops it and removes the
// directory. StartServer does not need a testing.TB, so TestMain and example
// programs can use it.
func StartServer() (*Server, error) {
	return startServer(false)
}

// Start is StartServer for a test: it calls tb.Fatal if the server cannot be
// started (it never skips) and closes the server at cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return startT(tb, "redis-server", StartServer)
}

// startT runs start for a test: tb.Fatal if it fails (never a skip), and
// Close at cleanup.
func startT[T interface{ Close() error }](tb testing.TB, what string, start func() (T, error)) T {
	tb.Helper()
	v, err := start()
	if err != nil {
		tb.Fatalf("redistest: start %s: %v", what, err)
	}
	tb.Cleanup(func() {
		if err := v.Close(); err != nil {
			tb.Errorf("redistest: close %s: %v", what, err)
		}
	})
	return v
}

func startServer(cluster bool) (*Server, error) {
	return startProcess(cluster, "")
}

// startProcess starts a server (a cluster node if cluster is set), or a
// Sentinel when sentinelConfig, the lines of its config file, is not empty.
func startProcess(cluster bool, sentinelConfig string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedisServer
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: temp dir: %w", err)
	}
	s := &Server{bin: bin, dir: dir, cluster: cluster}
	if sentinelConfig != "" {
		s.sentinelConf = filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(s.sentinelConf, []byte(sentinelConfig), 0o600); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("redistest: sentinel config: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range startAttempts {
		n := 1
		if cluster {
			n = 2
		}
		var ports []int
		ports, err = freePorts(n)
		if err != nil {
			break
		}
		s.port = ports[0]
		if cluster {
			s.busPort = ports[1]
		}
		if err = s.launch(); err == nil || !errors.Is(err, errPortInUse) {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// freePorts returns n distinct ports of 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("redistest: find a free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// args is redis-server's command line.
func (s *Server) args() []string {
	if s.sentinelConf != "" {
		return []string{
			s.sentinelConf, "--sentinel",
			"--port", strconv.Itoa(s.port),
			"--bind", "127.0.0.1",
			"--protected-mode", "no",
			"--daemonize", "no",
			"--dir", s.dir,
			"--logfile", "",
		}
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--protected-mode", "no",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", s.dir,
		"--logfile", "", // log to stdout, which goes to the log file
	}
	if s.cluster {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.dir, "nodes.conf"),
			"--cluster-port", strconv.Itoa(s.busPort),
			"--cluster-announce-ip", "127.0.0.1",
		)
	}
	return args
}

// launch starts a process on s.port and waits until it is ready. It must be
// called with s.mu held and no process running.
func (s *Server) launch() error {
	s.launches++
	logPath := filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", s.launches))
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("redistest: create log: %w", err)
	}
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile // an *os.File: exec starts no copying goroutine
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	_ = logFile.Close() // the child has its own descriptor
	if err != nil {
		return fmt.Errorf("redistest: run %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitReady(s.Addr(), p); err != nil {
		_ = stopProcess(p)
		tail := logTail(logPath)
		if strings.Contains(tail, "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return fmt.Errorf("%w on %s: %w\n--- %s (tail) ---\n%s", ErrNotReady, s.Addr(), err, logPath, tail)
	}
	s.proc = p
	s.logPath = logPath
	s.paused = false
	return nil
}

// waitReady waits until the process p answers PING on addr, and checks that
// the answer came from p and not from some other process on that port.
func waitReady(addr string, p *process) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		pid, err := probe(ctx, addr)
		switch {
		case err != nil:
			lastErr = err
		case pid != p.cmd.Process.Pid:
			lastErr = fmt.Errorf("%w: another process (pid %d) answers on %s", errPortInUse, pid, addr)
		default:
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("no PONG within %v: %w", readyTimeout, lastErr)
		case <-tick.C:
		}
	}
}

// probe sends PING to addr and returns the process_id INFO reports.
func probe(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	c, err := dialRESP(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.close()
	pong, err := c.do("PING")
	if err != nil {
		return 0, err
	}
	if pong != "PONG" {
		return 0, fmt.Errorf("%w: PING answered %q", errProtocol, pong)
	}
	info, err := c.do("INFO", "server")
	if err != nil {
		return 0, err
	}
	v, _ := infoField(info, "process_id")
	pid, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: process_id %q", errProtocol, v)
	}
	return pid, nil
}

// logTail returns the last lines of the log at path.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// stopProcess sends SIGTERM (and SIGCONT, in case it is paused) to p by its
// own pid, waits up to stopTimeout, then sends SIGKILL and waits for it.
// It returns ErrExited if p had already exited on its own.
func stopProcess(p *process) error {
	if p.exited() {
		return fmt.Errorf("%w: %v", ErrExited, p.err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns the server's address as a URL, "redis://127.0.0.1:port".
func (s *Server) URL() string {
	return "redis://" + s.Addr()
}

// Dir returns the server's temporary directory, which holds its logs.
func (s *Server) Dir() string {
	return s.dir
}

// Client returns a new client for the server, with the options of
// ClientOptions, and closes it at tb's cleanup.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := s.NewClient()
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// NewClient returns a new client for the server, with the options of
// ClientOptions. The caller closes it.
func (s *Server) NewClient() *redis.Client {
	return redis.NewClient(ClientOptions(s.Addr()))
}

// Stop stops the server process: SIGTERM to its pid, then SIGKILL if it has
// not exited after a few seconds. It waits for the process to exit. Stopping a
// stopped server does nothing. Restart starts it again.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	s.paused = false
	if err := stopProcess(p); err != nil {
		return fmt.Errorf("redistest: stop %s: %w\n--- %s (tail) ---\n%s", s.Addr(), err, s.logPath, logTail(s.logPath))
	}
	return nil
}

// Restart stops the server if it runs and starts it again on the same port,
// retrying for a few seconds while the port is still taken, and waits until it
// answers PING. The data is gone: nothing is persisted.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	_ = s.stopLocked() // a crashed server restarts too
	deadline := time.Now().Add(rebindTimeout)
	for {
		err := s.launch()
		if err == nil || !errors.Is(err, errPortInUse) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pause stops the process with SIGSTOP: it keeps its socket, and the kernel
// still accepts connections, but nothing is answered until Resume.
func (s *Server) Pause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.exited() {
		return ErrNotRunning
	}
	if err := s.proc.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("redistest: pause %s: %w", s.Addr(), err)
	}
	s.paused = true
	waitStopped(s.proc.cmd.Process.Pid, time.Second)
	return nil
}

// Resume continues a paused process with SIGCONT.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.exited() {
		return ErrNotRunning
	}
	if err := s.proc.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("redistest: resume %s: %w", s.Addr(), err)
	}
	s.paused = false
	return nil
}

// Close stops the server and removes its temporary directory. Closing a
// closed server does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stopLocked()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("redistest: remove %s: %w", s.dir, rmErr))
	}
	return err
}

// CommandCalls returns how many times command (lower case: "get", "set",
// "client|setname") has been called since the start or the last ResetStats,
// from INFO commandstats. It is 0 for a command never called.
func (s *Server) CommandCalls(ctx context.Context, command string) (int64, error) {
	info, err := s.command(ctx, "INFO", "commandstats")
	if err != nil {
		return 0, err
	}
	return parseCommandCalls(info, command)
}

// parseCommandCalls finds "cmdstat_<command>:calls=N,..." in info.
func parseCommandCalls(info, command string) (int64, error) {
	stats, ok := infoField(info, "cmdstat_"+strings.ToLower(command))
	if !ok {
		return 0, nil
	}
	for kv := range strings.SplitSeq(stats, ",") {
		if v, ok := strings.CutPrefix(kv, "calls="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%w: cmdstat_%s %q", errProtocol, command, stats)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: cmdstat_%s has no calls: %q", errProtocol, command, stats)
}

// ResetStats runs CONFIG RESETSTAT, which zeroes the counters CommandCalls
// reads.
func (s *Server) ResetStats(ctx context.Context) error {
	_, err := s.command(ctx, "CONFIG", "RESETSTAT")
	return err
}

// command runs a control command on the server over a fresh connection.
func (s *Server) command(ctx context.Context, args ...string) (string, error) {
	reply, err := command(ctx, s.Addr(), args...)
	if err != nil {
		return "", fmt.Errorf("redistest: %s on %s: %w", strings.Join(args, " "), s.Addr(), err)
	}
	return reply, nil
}
