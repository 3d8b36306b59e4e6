package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// defaultCommandTimeout bounds a control command whose context has no deadline,
// so that a paused server cannot hang the harness.
const defaultCommandTimeout = 5 * time.Second

// errReply is an error reply ("-ERR ...") from Redis.
var errReply = errors.New("redistest: error reply")

// errProtocol is a reply the harness cannot parse.
var errProtocol = errors.New("redistest: protocol error")

// respConn is the harness's own minimal RESP2 connection, used for control
// commands (PING, INFO, CONFIG, CLUSTER) so that the harness itself starts no
// go-redis pools and sends nothing but the commands it names.
type respConn struct {
	nc net.Conn
	r  *bufio.Reader
}

// dialRESP connects to addr; the connection's deadline comes from ctx, or is
// defaultCommandTimeout from now.
func dialRESP(ctx context.Context, addr string) (*respConn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultCommandTimeout)
	}
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := nc.SetDeadline(deadline); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return &respConn{nc: nc, r: bufio.NewReader(nc)}, nil
}

func (c *respConn) close() error { return c.nc.Close() }

// do sends one command and reads its reply, which must be a simple string,
// an integer or a bulk string; it is returned as a string.
func (c *respConn) do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		return "", err
	}
	line, err := c.line()
	if err != nil {
		return "", err
	}
	if line == "" {
		return "", fmt.Errorf("%w: empty reply", errProtocol)
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("%w: %s", errReply, line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 {
			return "", fmt.Errorf("%w: bulk length %q", errProtocol, line)
		}
		if n == -1 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("%w: unexpected reply %q", errProtocol, line)
	}
}

// line reads one CRLF-terminated line without its terminator.
func (c *respConn) line() (string, error) {
	s, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r"), nil
}

// command runs one control command on addr over a fresh connection.
func command(ctx context.Context, addr string, args ...string) (string, error) {
	c, err := dialRESP(ctx, addr)
	if err != nil {
		return "", err
	}
	defer c.close()
	return c.do(args...)
}

// infoField returns the value of field in an INFO or CLUSTER INFO reply
// ("field:value" lines), and whether it was present.
func infoField(info, field string) (string, bool) {
	for line := range strings.Lines(info) {
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v, true
		}
	}
	return "", false
}
