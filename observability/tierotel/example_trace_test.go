package tierotel_test

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/tier"
)

func ExampleNewTracer() {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder() // in production: sdktrace.WithBatcher(exporter)
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer provider.Shutdown(ctx)
	tr, _ := tierotel.NewTracer(provider.Tracer("tiercache"))

	// L1 only here (no Redis needed): a miss goes straight to the loader.
	store, _ := tier.New(&tier.Config{Tracer: tr})
	defer store.Close()
	load := func(context.Context, string) (any, error) { return "teapot", nil }

	ctx, caller := provider.Tracer("shop").Start(ctx, "GET /product/42")
	_, _ = store.Get(ctx, "shop:product:42", nil, load) // a miss: traced
	store.WaitL1()
	_, _ = store.Get(ctx, "shop:product:42", nil, load) // an L1 hit: no span
	caller.End()

	names := map[trace.SpanID]string{}
	for _, s := range rec.Ended() {
		names[s.SpanContext().SpanID()] = s.Name()
	}
	for _, s := range rec.Ended() {
		if !strings.HasPrefix(s.Name(), "tiercache.") {
			continue
		}
		attrs := attribute.NewSet(s.Attributes()...)
		fmt.Printf("%s under %q:", s.Name(), names[s.Parent().SpanID()])
		for _, k := range []string{tierotel.AttrNamespace, tierotel.AttrEntity, tierotel.AttrTier, tierotel.AttrOutcome} {
			v, _ := attrs.Value(attribute.Key(k))
			fmt.Printf(" %s=%s", k, v.Emit())
		}
		fmt.Println()
	}
	// Output:
	// tiercache.load under "tiercache.get": tiercache.namespace=shop tiercache.entity=product tiercache.tier=source tiercache.outcome=ok
	// tiercache.get under "GET /product/42": tiercache.namespace=shop tiercache.entity=product tiercache.tier=source tiercache.outcome=ok
}
