package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrClusterNotReady is returned by StartCluster when the nodes do not agree
// on a healthy cluster in time.
var ErrClusterNotReady = errors.New("redistest: cluster did not become ready")

const (
	// clusterMasters is the number of masters in a Cluster.
	clusterMasters = 3
	// clusterSlots is the number of hash slots of Redis Cluster.
	clusterSlots = 16384
	// clusterReadyTimeout bounds the wait for the nodes to agree.
	clusterReadyTimeout = 20 * time.Second
)

// Cluster is a Redis Cluster of three masters without replicas, each a Server
// with cluster mode on, listening on 127.0.0.1.
type Cluster struct {
	servers []*Server
}

// StartCluster starts three cluster-enabled servers, gives each a third of
// the hash slots (CLUSTER ADDSLOTSRANGE), joins them (CLUSTER MEET) and waits
// until every node reports cluster_state:ok and all agree on the slot map.
// It does not need redis-cli or a testing.TB.
func StartCluster() (*Cluster, error) {
	c := &Cluster{}
	for i := range clusterMasters {
		s, err := startServer(true)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("redistest: cluster node %d: %w", i, err)
		}
		c.servers = append(c.servers, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterReadyTimeout)
	defer cancel()
	if err := c.form(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// StartClusterT is StartCluster for a test: it calls tb.Fatal if the cluster
// cannot be started (it never skips) and closes the cluster at cleanup.
func StartClusterT(tb testing.TB) *Cluster {
	tb.Helper()
	return startT(tb, "cluster", StartCluster)
}

// slotRange returns the first and last slot of master i.
func slotRange(i int) (first, last int) {
	first = i * clusterSlots / clusterMasters
	last = (i+1)*clusterSlots/clusterMasters - 1
	return first, last
}

// form assigns the slots, joins the nodes and waits until they agree.
func (c *Cluster) form(ctx context.Context) error {
	for i, s := range c.servers {
		// Distinct epochs up front, as redis-cli does, spare the nodes an
		// epoch collision round.
		if _, err := s.command(ctx, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return err
		}
		first, last := slotRange(i)
		if _, err := s.command(ctx, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(first), strconv.Itoa(last)); err != nil {
			return err
		}
	}
	for _, s := range c.servers[1:] {
		if _, err := c.servers[0].command(ctx, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(s.port), strconv.Itoa(s.busPort)); err != nil {
			return err
		}
	}
	return c.waitReady(ctx)
}

// waitReady waits until the nodes agree on a healthy cluster (see notReady).
func (c *Cluster) waitReady(ctx context.Context) error {
	return poll(ctx, ErrClusterNotReady, func() string { return c.notReady(ctx) })
}

// notReady returns why the cluster is not ready yet, or "" once every node
// says cluster_state:ok, knows all nodes, and sees the expected slot map.
func (c *Cluster) notReady(ctx context.Context) string {
	want := make(map[int]string, len(c.servers)) // port -> "first-last"
	for i, s := range c.servers {
		first, last := slotRange(i)
		want[s.port] = fmt.Sprintf("%d-%d", first, last)
	}
	for _, s := range c.servers {
		info, err := s.command(ctx, "CLUSTER", "INFO")
		if err != nil {
			return err.Error()
		}
		for field, v := range map[string]string{
			"cluster_state":          "ok",
			"cluster_slots_assigned": strconv.Itoa(clusterSlots),
			"cluster_slots_ok":       strconv.Itoa(clusterSlots),
			"cluster_known_nodes":    strconv.Itoa(clusterMasters),
			"cluster_size":           strconv.Itoa(clusterMasters),
		} {
			if got, _ := infoField(info, field); got != v {
				return fmt.Sprintf("%s: %s is %q, want %q", s.Addr(), field, got, v)
			}
		}
		nodes, err := s.command(ctx, "CLUSTER", "NODES")
		if err != nil {
			return err.Error()
		}
		got, err := parseSlotMap(nodes)
		if err != nil {
			return fmt.Sprintf("%s: %v", s.Addr(), err)
		}
		for port, slots := range want {
			if got[port] != slots {
				return fmt.Sprintf("%s: sees slots %q on port %d, want %q", s.Addr(), got[port], port, slots)
			}
		}
	}
	return ""
}

// parseSlotMap reads CLUSTER NODES output into port -> slots of the healthy,
// connected masters. A line is
// "id ip:port@cport[,hostname] flags master ping pong epoch link slot...".
func parseSlotMap(nodes string) (map[int]string, error) {
	m := make(map[int]string)
	for line := range strings.Lines(nodes) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		port, err := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
		if err != nil {
			return nil, fmt.Errorf("%w: CLUSTER NODES line %q", errProtocol, line)
		}
		flags := f[2]
		if !strings.Contains(flags, "master") || strings.Contains(flags, "fail") ||
			strings.Contains(flags, "handshake") || strings.Contains(flags, "noaddr") || f[7] != "connected" {
			continue
		}
		m[port] = strings.Join(f[8:], " ")
	}
	return m, nil
}

// RestartNode stops node i (in the order of Servers) and starts it again on
// the same ports with the same cluster config file (nodes.conf in its
// directory), so it comes back as the same node, owning the same slots; it
// then waits until every node agrees on a healthy cluster again. The
// node's keys are gone: nothing else is persisted.
func (c *Cluster) RestartNode(i int) error {
	if i < 0 || i >= len(c.servers) {
		return fmt.Errorf("redistest: no cluster node %d", i)
	}
	if err := c.servers[i].Restart(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterReadyTimeout)
	defer cancel()
	return c.waitReady(ctx)
}

// Addrs returns the addresses of the masters, "127.0.0.1:port".
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.servers))
	for i, s := range c.servers {
		addrs[i] = s.Addr()
	}
	return addrs
}

// Servers returns the masters, in slot order: the first serves the lowest
// slots. The slice is a copy; the servers are the cluster's own.
func (c *Cluster) Servers() []*Server {
	return append([]*Server(nil), c.servers...)
}

// Client returns a new cluster client with the options of
// ClusterClientOptions, and closes it at tb's cleanup.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := c.NewClient()
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// NewClient returns a new cluster client with the options of
// ClusterClientOptions. The caller closes it.
func (c *Cluster) NewClient() *redis.ClusterClient {
	return redis.NewClusterClient(ClusterClientOptions(c.Addrs()))
}

// Close stops every node and removes their temporary directories. Closing a
// closed cluster does nothing.
func (c *Cluster) Close() error {
	var errs []error
	for _, s := range c.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
