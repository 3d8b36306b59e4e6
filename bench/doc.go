// Package bench holds tiercache's benchmarks: the tiers, the strategies, the
// HTTP middleware and the peer libraries, measured side by side in one
// `go test -bench . -benchmem` run against a redis-server the harness starts
// on loopback. It is a module of its own so that peer libraries never enter
// the library's dependency graph.
package bench
