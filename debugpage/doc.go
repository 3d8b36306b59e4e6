// Package debugpage serves a live page of the state of tiercache Stores: an
// http.Handler a service mounts next to its other debug endpoints,
//
//	reg := &metrics.Registry{} // or the Registry of a tierprom.Collector or tierotel.Metrics
//	_ = reg.Add("shop", store)
//	_ = reg.AddQueue("carts", carts) // a strategy.WriteBehind
//	mux.Handle("/debug/tiercache", debugpage.New(debugpage.Config{Registry: reg}))
//
// For each registered Store it shows the reads by the tier that answered,
// as a bar chart drawn on the server (inline SVG): one bar for the whole
// Store (tier.Stats: L1 hits, L2 hits, L2 misses), then one per data type
// (tier.Store.TypeStats: L1, L2, source, failed); per data type, the read
// latency percentiles p50, p90 and p99 estimated from its histogram, loads,
// load errors, stale and not-found reads; the L1's fill (tier.Store.L1Cost
// against Config.L1MaxCostBytes), the circuit breaker's state, and the
// invalidation bus's subscriptions and messages. For each registered
// write-behind queue it shows the depth and the oldest write's age
// (metrics.QueueReader).
//
// The page is one html/template document with no script and no external
// asset; it reloads itself every Config.Refresh with a meta refresh. The
// same figures are served as JSON (Snapshot) for ?format=json or a request
// that accepts application/json.
//
// The page shows counts and names of namespaces and data types, never keys
// or values; still, mount it where only operators reach it.
package debugpage
