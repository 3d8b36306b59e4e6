package redistest

import (
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

const (
	// clientDialTimeout is the harness clients' DialTimeout.
	clientDialTimeout = time.Second
	// clientIOTimeout is the harness clients' ReadTimeout and WriteTimeout.
	clientIOTimeout = time.Second
	// clientPoolTimeout is the harness clients' PoolTimeout.
	clientPoolTimeout = 2 * time.Second
)

// ClientOptions returns the options of the clients Server.Client and
// Server.NewClient make, for addr (a Server's or a Proxy's address). A test
// may change them before redis.NewClient. They are:
//
//   - ContextTimeoutEnabled, so a context deadline bounds every command;
//   - DialTimeout, ReadTimeout and WriteTimeout of 1s, and PoolTimeout of 2s,
//     so a stopped or paused server fails a command quickly;
//   - DialerRetries 1 (one dial per attempt), as a test injects faults on
//     purpose and wants to see them; command retries keep their default;
//   - no CLIENT SETINFO and no maintenance notifications, commands Redis 7.0
//     does not know.
func ClientOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:                     addr,
		DialTimeout:              clientDialTimeout,
		DialerRetries:            1,
		ReadTimeout:              clientIOTimeout,
		WriteTimeout:             clientIOTimeout,
		PoolTimeout:              clientPoolTimeout,
		ContextTimeoutEnabled:    true,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// ClusterClientOptions returns the options of the clients Cluster.Client and
// Cluster.NewClient make, for the cluster nodes at addrs. They are those of
// ClientOptions.
func ClusterClientOptions(addrs []string) *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs:                    addrs,
		DialTimeout:              clientDialTimeout,
		DialerRetries:            1,
		ReadTimeout:              clientIOTimeout,
		WriteTimeout:             clientIOTimeout,
		PoolTimeout:              clientPoolTimeout,
		ContextTimeoutEnabled:    true,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}
