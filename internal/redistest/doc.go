// Package redistest starts real redis-server processes for tests: a single
// Server, a three-master Cluster, and a fault-injecting TCP Proxy to put in
// front of either.
//
// Nothing here is a fake. StartServer runs the redis-server found on PATH
// (apt-get install -y redis-server) on a free port of 127.0.0.1, without
// persistence, in its own temporary directory, and waits until it answers
// PING. The Redis that may already listen on 127.0.0.1:6379 is never used.
//
// A test usually needs only Start and Client:
//
//	func TestSomething(t *testing.T) {
//		srv := redistest.Start(t) // stopped and removed at cleanup
//		rdb := srv.Client(t)      // closed at cleanup
//		...
//	}
//
// A TestMain uses StartServer and Close instead, as
// they have no testing.TB to register cleanups with.
//
// Server can Stop, Restart (same port, empty data), Pause (SIGSTOP: the socket
// stays open but nothing answers) and Resume the process, and read command
// counters from INFO commandstats with CommandCalls. StartCluster builds a
// Redis Cluster of three masters, assigning the slots itself; RestartNode
// restarts one of them, which comes back as the same node with its slots
// (its nodes.conf stays in its directory). StartSentinel starts a master, a
// replica and three Sentinels (redis-server --sentinel) set to fail over
// within seconds; Master names the master they agree on, and
// NewFailoverClient connects through them. NewProxy
// forwards TCP to a target and can add latency, cut connections, blackhole
// traffic or refuse connections.
//
// Every goroutine and process the package starts is stopped by the Close of
// the value that started it. VerifyNoLeaks and LeakOptions check that with
// go.uber.org/goleak.
package redistest
