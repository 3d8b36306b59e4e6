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

// SentinelMasterName is the name the Sentinels of a SentinelGroup monitor
// their master under.
const SentinelMasterName = "redistest"

// ErrSentinelNotReady is returned when a SentinelGroup does not reach the
// state asked for in time: formed at start, or failed over.
var ErrSentinelNotReady = errors.New("redistest: sentinel group not ready")

const (
	// sentinels is the number of Sentinels in a group; sentinelQuorum of
	// them must agree that the master is down.
	sentinels      = 3
	sentinelQuorum = 2
	// sentinelDownAfter is how long the master must not answer before a
	// Sentinel thinks it down (down-after-milliseconds): short, so that
	// a test's failover takes a few seconds.
	sentinelDownAfter = 500 * time.Millisecond
	// sentinelFailoverTimeout is Sentinel's failover-timeout: how long
	// before a failed failover is retried, among others.
	sentinelFailoverTimeout = 2 * time.Second
	// sentinelReadyTimeout bounds the wait for the group to form, and for
	// a failover to complete.
	sentinelReadyTimeout = 30 * time.Second
)

// SentinelGroup is a master, a replica of it, and three Sentinels
// monitoring them (quorum 2), each a process of its own on 127.0.0.1. The
// Sentinels are set to fail over within a few seconds of the master's
// death. Its methods are safe for concurrent use.
type SentinelGroup struct {
	data      []*Server // the master at start, then its replica
	sentinels []*Server
}

// StartSentinel starts a master, a replica (REPLICAOF the master) and three
// Sentinels, and waits until the replica is in sync and every Sentinel
// sees the master as healthy, with one replica and the two other
// Sentinels. It does not need a testing.TB.
func StartSentinel() (*SentinelGroup, error) {
	g := &SentinelGroup{}
	ctx, cancel := context.WithTimeout(context.Background(), sentinelReadyTimeout)
	defer cancel()
	if err := g.start(ctx); err != nil {
		_ = g.Close()
		return nil, err
	}
	return g, nil
}

// StartSentinelT is StartSentinel for a test: it calls tb.Fatal if the
// group cannot be started (it never skips) and closes it at cleanup.
func StartSentinelT(tb testing.TB) *SentinelGroup {
	tb.Helper()
	return startT(tb, "sentinel group", StartSentinel)
}

func (g *SentinelGroup) start(ctx context.Context) error {
	for i := range 2 {
		s, err := startServer(false)
		if err != nil {
			return fmt.Errorf("redistest: sentinel group data node %d: %w", i, err)
		}
		g.data = append(g.data, s)
	}
	master, replica := g.data[0], g.data[1]
	if _, err := replica.command(ctx, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.port)); err != nil {
		return err
	}
	if err := poll(ctx, ErrSentinelNotReady, func() string {
		info, err := replica.command(ctx, "INFO", "replication")
		if err != nil {
			return err.Error()
		}
		if v, _ := infoField(info, "master_link_status"); v != "up" {
			return fmt.Sprintf("replica %s: master_link_status %q", replica.Addr(), v)
		}
		return ""
	}); err != nil {
		return err
	}
	config := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d %[3]d\n"+
		"sentinel down-after-milliseconds %[1]s %[4]d\n"+
		"sentinel failover-timeout %[1]s %[5]d\n"+
		"sentinel parallel-syncs %[1]s 1\n",
		SentinelMasterName, master.port, sentinelQuorum, sentinelDownAfter.Milliseconds(), sentinelFailoverTimeout.Milliseconds())
	for i := range sentinels {
		s, err := startProcess(false, config)
		if err != nil {
			return fmt.Errorf("redistest: sentinel %d: %w", i, err)
		}
		g.sentinels = append(g.sentinels, s)
	}
	want := fmt.Sprintf("status=ok,address=%s,slaves=1,sentinels=%d", master.Addr(), sentinels)
	return poll(ctx, ErrSentinelNotReady, func() string {
		for _, s := range g.sentinels {
			if got, err := s.sentinelMaster(ctx); err != nil || !strings.Contains(got, want) {
				return fmt.Sprintf("sentinel %s sees %q, %v; want %q", s.Addr(), got, err, want)
			}
		}
		return ""
	})
}

// sentinelMaster returns the Sentinel's line about its master, from INFO
// sentinel: "name=...,status=ok,address=host:port,slaves=1,sentinels=3".
func (s *Server) sentinelMaster(ctx context.Context) (string, error) {
	info, err := s.command(ctx, "INFO", "sentinel")
	if err != nil {
		return "", err
	}
	line, ok := infoField(info, "master0")
	if !ok {
		return "", fmt.Errorf("%w: INFO sentinel of %s has no master0", errProtocol, s.Addr())
	}
	return line, nil
}

// Servers returns the data nodes: the master at start, then its replica.
// The slice is a copy; the servers are the group's own.
func (g *SentinelGroup) Servers() []*Server {
	return append([]*Server(nil), g.data...)
}

// SentinelAddrs returns the Sentinels' addresses, "127.0.0.1:port".
func (g *SentinelGroup) SentinelAddrs() []string {
	addrs := make([]string, len(g.sentinels))
	for i, s := range g.sentinels {
		addrs[i] = s.Addr()
	}
	return addrs
}

// Master returns the data node every Sentinel names as the master, once
// that node also says it is a master (INFO replication role:master). It
// waits for that agreement, across a failover, until ctx ends or for at
// most a failover's worth of time.
func (g *SentinelGroup) Master(ctx context.Context) (*Server, error) {
	ctx, cancel := context.WithTimeout(ctx, sentinelReadyTimeout)
	defer cancel()
	var master *Server
	err := poll(ctx, ErrSentinelNotReady, func() string {
		master = nil
		var addr string
		for _, s := range g.sentinels {
			line, err := s.sentinelMaster(ctx)
			if err != nil {
				return err.Error()
			}
			a := sentinelField(line, "address")
			if addr != "" && a != addr {
				return fmt.Sprintf("sentinels disagree: %s and %s", addr, a)
			}
			addr = a
		}
		for _, d := range g.data {
			if d.Addr() == addr {
				master = d
			}
		}
		if master == nil {
			return fmt.Sprintf("sentinels name %s, not a data node of the group", addr)
		}
		info, err := master.command(ctx, "INFO", "replication")
		if err != nil {
			return err.Error()
		}
		if role, _ := infoField(info, "role"); role != "master" {
			return fmt.Sprintf("%s, named master, says role:%s", addr, role)
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	return master, nil
}

// sentinelField returns field's value in a "k=v,k=v" line.
func sentinelField(line, field string) string {
	for kv := range strings.SplitSeq(line, ",") {
		if v, ok := strings.CutPrefix(kv, field+"="); ok {
			return v
		}
	}
	return ""
}

// FailoverOptions returns the options of the clients FailoverClient and
// NewFailoverClient make: those of ClientOptions, for the group's master
// as its Sentinels name it.
func (g *SentinelGroup) FailoverOptions() *redis.FailoverOptions {
	o := ClientOptions("")
	return &redis.FailoverOptions{
		MasterName:            SentinelMasterName,
		SentinelAddrs:         g.SentinelAddrs(),
		DialTimeout:           o.DialTimeout,
		DialerRetries:         o.DialerRetries,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		PoolTimeout:           o.PoolTimeout,
		ContextTimeoutEnabled: o.ContextTimeoutEnabled,
		DisableIdentity:       o.DisableIdentity,
	}
}

// NewFailoverClient returns a client of the group's master, found through
// its Sentinels (redis.NewFailoverClient), with FailoverOptions. The caller
// closes it.
func (g *SentinelGroup) NewFailoverClient() *redis.Client {
	return redis.NewFailoverClient(g.FailoverOptions())
}

// FailoverClient is NewFailoverClient, closed at tb's cleanup.
func (g *SentinelGroup) FailoverClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := g.NewFailoverClient()
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Close stops every process of the group and removes their directories.
// Closing a closed group does nothing.
func (g *SentinelGroup) Close() error {
	var errs []error
	for _, s := range append(g.sentinels, g.data...) {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
