package bench

import (
	"context"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/tier"
)

// BenchmarkTierTraced measures what OpenTelemetry tracing
// (tier.Config.Tracer, through tierotel) costs, off and on, for the paths of
// BenchmarkTier:
//
//   - L1Hit: a CacheAside Get answered by L1, which is never traced (target:
//     the same time and 0 allocs/op, on and off);
//   - L2Hit: a CacheAside Get answered by Redis with L1 disabled, which
//     makes two spans (tiercache.get and tiercache.l2.read).
//
// "on" records every span (AlwaysSample) with a span processor that only
// counts them: the cost of making the spans. "on-batcher" adds the SDK's
// batch processor (what production uses) with an exporter that discards
// what it is given: its goroutine wakes for the spans. Every read runs under
// a caller's span. spans/op is how many spans a read ended.
func BenchmarkTierTraced(b *testing.B) {
	const id = "p1"
	read := func(b *testing.B, cfg tier.Config, mode string, want tier.Tier) {
		ctx := context.Background()
		var ended atomic.Int64
		if mode != "off" {
			opts := []sdktrace.TracerProviderOption{
				sdktrace.WithSampler(sdktrace.AlwaysSample()),
				sdktrace.WithSpanProcessor(countEnded{&ended}),
			}
			if mode == "on-batcher" {
				opts = append(opts, sdktrace.WithBatcher(discardExporter{}))
			}
			tp := sdktrace.NewTracerProvider(opts...)
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			tr, err := tierotel.NewTracer(tp.Tracer("tiercache"))
			if err != nil {
				b.Fatal(err)
			}
			cfg.Tracer = tr
			var caller trace.Span
			ctx, caller = tp.Tracer("bench").Start(ctx, "caller")
			b.Cleanup(func() { caller.End() })
		}
		s, store := newStrategy(b, cfg)
		warm(b, s, store, id)
		store.WaitL1()
		if _, from, err := s.Lookup(ctx, id); err != nil || from != want {
			b.Fatalf("Lookup = %v, %v; want %v", from, err, want)
		}
		before := ended.Load()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.Get(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(ended.Load()-before)/float64(b.N), "spans/op")
	}
	for _, path := range []struct {
		name    string
		disable bool
		want    tier.Tier
	}{
		{"L1Hit", false, tier.TierL1},
		{"L2Hit", true, tier.TierL2},
	} {
		b.Run(path.name, func(b *testing.B) {
			for _, mode := range []string{"off", "on", "on-batcher"} {
				b.Run(mode, func(b *testing.B) {
					read(b, tier.Config{Redis: redisClient(b), DisableL1: path.disable}, mode, path.want)
				})
			}
		})
	}
}

// discardExporter is a span exporter that drops what it is given.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// countEnded is a span processor that counts the spans ended.
type countEnded struct{ n *atomic.Int64 }

func (countEnded) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c countEnded) OnEnd(sdktrace.ReadOnlySpan)                   { c.n.Add(1) }
func (countEnded) Shutdown(context.Context) error                  { return nil }
func (countEnded) ForceFlush(context.Context) error                { return nil }
