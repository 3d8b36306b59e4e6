package redistest

import (
	"testing"

	"go.uber.org/goleak"
)

// LeakOptions returns the goleak options for tests of code that uses
// go-redis: it ignores two goroutines go-redis starts on its own and that
// end by themselves after the client is closed: the cluster client's lazy
// topology reload (within 200ms), and the pool's background dialer, which a
// pool starts once more dials have failed than it has connections (a
// server that refuses them) and which checks every second whether its pool
// was closed. The goroutines of redistest, of a closed go-redis client, and
// of a closed ristretto cache need no exception.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9.(*clusterStateHolder).LazyReload.func1"),
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"),
	}
}

// VerifyNoLeaks runs the tests of m and then fails if goroutines are left,
// with LeakOptions and opts; it calls os.Exit. Use it as the whole TestMain:
//
//	func TestMain(m *testing.M) { redistest.VerifyNoLeaks(m) }
func VerifyNoLeaks(m *testing.M, opts ...goleak.Option) {
	goleak.VerifyTestMain(m, append(LeakOptions(), opts...)...)
}
