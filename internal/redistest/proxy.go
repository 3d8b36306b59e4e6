package redistest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

const (
	// proxyDialTimeout bounds the proxy's dial of its target.
	proxyDialTimeout = time.Second
	// proxyChunkBytes is the most the proxy reads at once.
	proxyChunkBytes = 32 << 10
	// proxyQueuedChunks is how many chunks per direction may wait for their
	// latency or the end of a blackhole before the proxy stops reading.
	proxyQueuedChunks = 64
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a target address, which a
// test uses to inject faults: latency, cut connections, a blackhole, refused
// connections. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup // every goroutine of the proxy

	mu        sync.Mutex
	conns     map[*proxyConn]struct{}
	latency   time.Duration
	blackhole bool
	unblocked chan struct{} // closed while blackhole is off
	refuse    bool
	closed    bool
}

// proxyConn is one proxied connection: the client's and the target's sides.
type proxyConn struct {
	client, server net.Conn
	done           chan struct{} // closed by close
	once           sync.Once
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.client.Close()
		_ = c.server.Close()
	})
}

// chunk is data read from one side, with the time it was read.
type chunk struct {
	data []byte
	at   time.Time
}

// NewProxy starts a proxy listening on 127.0.0.1 (a free port) that forwards
// every connection to target. Close stops it.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("redistest: proxy listen: %w", err)
	}
	unblocked := make(chan struct{})
	close(unblocked)
	p := &Proxy{
		target:    target,
		ln:        ln,
		conns:     make(map[*proxyConn]struct{}),
		unblocked: unblocked,
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// StartProxy is NewProxy for a test: it calls tb.Fatal on error and closes
// the proxy at cleanup.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := NewProxy(target)
	if err != nil {
		tb.Fatalf("redistest: start proxy to %s: %v", target, err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("redistest: close proxy: %v", err)
		}
	})
	return p
}

// Addr returns the address the proxy listens on, "127.0.0.1:port".
func (p *Proxy) Addr() string {
	return p.ln.Addr().String()
}

// SetLatency delays every chunk of data forwarded, in either direction, by d
// after it was read; 0 removes the delay. Order is kept, so a request and its
// reply each take d longer: a round trip at least 2d.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = max(d, 0)
}

// Cut closes every connection open now, on both sides. New connections are
// still accepted.
func (p *Proxy) Cut() {
	for _, c := range p.takeConns() {
		c.close()
	}
}

// SetBlackhole turns the blackhole on or off. While it is on, connections,
// old and new, forward nothing in either direction: data is held (in the
// proxy, then in the kernel) and forwarded, in order, once it is turned off,
// if the connection is still open. New connections are still accepted.
func (p *Proxy) SetBlackhole(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.blackhole {
		return
	}
	p.blackhole = on
	if on {
		p.unblocked = make(chan struct{})
	} else {
		close(p.unblocked)
	}
}

// SetRefuse turns refusing on or off. While it is on, new connections are
// closed as soon as they are accepted; open ones are untouched.
func (p *Proxy) SetRefuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// Conns returns the number of connections open through the proxy now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops listening, closes every connection and waits for all of the
// proxy's goroutines to return. Closing a closed proxy does nothing.
func (p *Proxy) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	var err error
	if !already {
		if err = p.ln.Close(); errors.Is(err, net.ErrClosed) {
			err = nil
		}
	}
	p.Cut()
	p.wg.Wait()
	return err
}

// takeConns removes and returns every open connection.
func (p *Proxy) takeConns() []*proxyConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	clear(p.conns)
	return conns
}

// drop closes c and forgets it.
func (p *Proxy) drop(c *proxyConn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of descriptors
			continue
		}
		p.mu.Lock()
		refuse := p.refuse || p.closed
		p.mu.Unlock()
		if refuse {
			_ = conn.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(conn)
	}
}

// serve connects client to the target and starts forwarding.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, proxyDialTimeout)
	if err != nil {
		_ = client.Close()
		return
	}
	c := &proxyConn{client: client, server: server, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	for _, dir := range [][2]net.Conn{{client, server}, {server, client}} {
		chunks := make(chan chunk, proxyQueuedChunks)
		p.wg.Add(2)
		go p.read(c, dir[0], chunks)
		go p.write(c, dir[1], chunks)
	}
}

// read reads src into chunks until src ends. At end of file it closes chunks
// so that write forwards what is queued and then closes the connection; on
// any other error it closes the connection at once.
func (p *Proxy) read(c *proxyConn, src net.Conn, chunks chan<- chunk) {
	defer p.wg.Done()
	defer close(chunks)
	buf := make([]byte, proxyChunkBytes)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			ch := chunk{data: append([]byte(nil), buf[:n]...), at: time.Now()}
			select {
			case chunks <- ch:
			case <-c.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.drop(c)
			}
			return
		}
	}
}

// write forwards chunks to dst once their latency has passed and no
// blackhole is on. It closes the connection when it returns.
func (p *Proxy) write(c *proxyConn, dst net.Conn, chunks <-chan chunk) {
	defer p.wg.Done()
	defer p.drop(c)
	for {
		var ch chunk
		var ok bool
		select {
		case ch, ok = <-chunks:
			if !ok {
				return
			}
		case <-c.done:
			return
		}
		if !p.hold(c, ch.at) {
			return
		}
		if _, err := dst.Write(ch.data); err != nil {
			return
		}
	}
}

// hold waits until a chunk read at "at" may be forwarded: no blackhole, and
// the latency passed. It returns false if the connection closes first.
func (p *Proxy) hold(c *proxyConn, at time.Time) bool {
	for {
		p.mu.Lock()
		unblocked, latency := p.unblocked, p.latency
		p.mu.Unlock()
		select {
		case <-unblocked:
		case <-c.done:
			return false
		}
		wait := time.Until(at.Add(latency))
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return false
		}
		// Look again: the blackhole or the latency may have changed.
	}
}
