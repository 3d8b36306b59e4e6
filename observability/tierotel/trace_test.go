package tierotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/internal/testsource"
	"github.com/tiercache/tiercache/observability/tierotel"
	"github.com/tiercache/tiercache/strategy"
	"github.com/tiercache/tiercache/tier"
)

// traced is a Tracer recording into an in-memory SpanRecorder, and the
// tracer the tests start their callers' spans with.
type traced struct {
	rec    *tracetest.SpanRecorder
	caller trace.Tracer
	tr     *tierotel.Tracer
}

func newTraced(t *testing.T) *traced {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr, err := tierotel.NewTracer(tp.Tracer("tiercache"))
	if err != nil {
		t.Fatal(err)
	}
	return &traced{rec: rec, caller: tp.Tracer("test"), tr: tr}
}

// newTracedStore returns a Store on rdb (nil: L1 only) that traces into tt.
func newTracedStore(t *testing.T, tt *traced, rdb redis.UniversalClient) *tier.Store {
	t.Helper()
	store, err := tier.New(&tier.Config{Redis: rdb, Tracer: tt.tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// ended returns the ended spans the Tracer made (named tiercache.*).
func (tt *traced) ended() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tt.rec.Ended() {
		if strings.HasPrefix(s.Name(), "tiercache.") {
			out = append(out, s)
		}
	}
	return out
}

// spanAttrs returns a span's attributes as strings.
func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// wantSpan is what a test expects of one span: its name, its parent (the
// name of another expected span, or "caller", or "" for a root) and the
// attributes it must carry (others may be there too, but for absent ones).
type wantSpan struct {
	name   string
	parent string
	attrs  map[string]string
	absent []string
}

// checkTree checks that spans are exactly want (in any order): names,
// attributes, parents (by span id) and one trace.
func checkTree(t *testing.T, spans []sdktrace.ReadOnlySpan, caller trace.SpanContext, want []wantSpan) {
	t.Helper()
	var names, wantNames []string
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		names = append(names, s.Name())
		byName[s.Name()] = s
	}
	for _, w := range want {
		wantNames = append(wantNames, w.name)
	}
	sort.Strings(names)
	sort.Strings(wantNames)
	if fmt.Sprint(names) != fmt.Sprint(wantNames) {
		t.Fatalf("spans %v; want %v", names, wantNames)
	}
	for _, w := range want {
		s := byName[w.name]
		var parent trace.SpanContext
		switch w.parent {
		case "caller":
			parent = caller
		case "":
		default:
			parent = byName[w.parent].SpanContext()
		}
		if got := s.Parent().SpanID(); got != parent.SpanID() {
			t.Errorf("%s: parent %v; want %v (%q)", w.name, got, parent.SpanID(), w.parent)
		}
		if parent.IsValid() && s.SpanContext().TraceID() != parent.TraceID() {
			t.Errorf("%s: trace %v; want its parent's, %v", w.name, s.SpanContext().TraceID(), parent.TraceID())
		}
		got := spanAttrs(s)
		for k, v := range w.attrs {
			if got[k] != v {
				t.Errorf("%s: %s = %q; want %q (attributes %v)", w.name, k, got[k], v, got)
			}
		}
		for _, k := range w.absent {
			if v, ok := got[k]; ok {
				t.Errorf("%s: %s = %q; want it absent", w.name, k, v)
			}
		}
		failed := w.attrs[tierotel.AttrOutcome] == tier.OutcomeError
		if st := s.Status().Code; (st == codes.Error) != failed {
			t.Errorf("%s: status %v; want Error only for outcome %q", w.name, st, tier.OutcomeError)
		}
		if failed && !hasException(s) {
			t.Errorf("%s: outcome error recorded no exception event", w.name)
		}
	}
}

func hasException(s sdktrace.ReadOnlySpan) bool {
	for _, e := range s.Events() {
		if e.Name == "exception" {
			return true
		}
	}
	return false
}

// wantAttrs builds the attribute map of a wantSpan.
func wantAttrs(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestTraceMiss reads ids no tier holds through a Group under a caller's
// span, and checks the span tree: tiercache.get under the caller, and under
// it the L2 read that took the fill lease, the load (whose context carries
// its span, so the source's own spans nest under it) and the L2 fill.
func TestTraceMiss(t *testing.T) {
	for _, tc := range []struct {
		id, outcome string
	}{
		{"1", tier.OutcomeOK},
		{"missing", tier.OutcomeNotFound},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			tt := newTraced(t)
			rdb := shared.Client(t)
			cmds := &spanHook{}
			rdb.AddHook(cmds)
			store := newTracedStore(t, tt, rdb)
			ns := testsource.UniqueNamespace("oteltrace")
			var mu sync.Mutex
			var loadParent trace.SpanID
			g, err := tier.NewGroup(store, tier.GroupConfig[string]{
				Namespace: ns, Entity: "user",
				Load: func(ctx context.Context, id string) (string, error) {
					mu.Lock()
					loadParent = trace.SpanContextFromContext(ctx).SpanID()
					mu.Unlock()
					if id == "missing" {
						return "", tier.ErrNotFound
					}
					return "ada", nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, caller := tt.caller.Start(context.Background(), "caller")
			_, got, err := g.Get(ctx, tc.id)
			caller.End()
			if got != tier.TierSource || (err != nil) != (tc.outcome == tier.OutcomeNotFound) {
				t.Fatalf("Get(%q) = tier %v, %v; want source", tc.id, got, err)
			}
			// The L2 fill lands after the reader has its value; Close waits
			// for it.
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			spans := tt.ended()
			checkTree(t, spans, caller.SpanContext(), []wantSpan{
				{name: "tiercache.get", parent: "caller", attrs: wantAttrs(
					tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrTier, "source",
					tierotel.AttrStale, "false", tierotel.AttrOutcome, tc.outcome)},
				{name: "tiercache.l2.read", parent: "tiercache.get", attrs: wantAttrs(
					tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrTier, "l2",
					tierotel.AttrOutcome, tier.OutcomeLease)},
				{name: "tiercache.load", parent: "tiercache.get", attrs: wantAttrs(
					tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrTier, "source",
					tierotel.AttrOutcome, tc.outcome)},
				{name: "tiercache.l2.fill", parent: "tiercache.get", attrs: wantAttrs(
					tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrTier, "l2",
					tierotel.AttrOutcome, tier.OutcomeOK)},
			})
			for _, s := range spans {
				id := s.SpanContext().SpanID()
				switch s.Name() {
				case "tiercache.load":
					mu.Lock()
					if loadParent != id {
						t.Errorf("the loader's context carries span %v; want the load span %v", loadParent, id)
					}
					mu.Unlock()
				case "tiercache.l2.read", "tiercache.l2.fill":
					// A Redis client instrumented for tracing records its
					// commands under these spans.
					if got := cmds.under(id); len(got) == 0 {
						t.Errorf("no Redis command ran with the context of %s", s.Name())
					}
				}
			}
		})
	}
}

// spanHook is a go-redis hook that records, for each command, the span its
// context carries.
type spanHook struct {
	mu   sync.Mutex
	cmds map[trace.SpanID][]string
}

func (h *spanHook) add(ctx context.Context, cmd redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmds == nil {
		h.cmds = map[trace.SpanID][]string{}
	}
	id := trace.SpanContextFromContext(ctx).SpanID()
	h.cmds[id] = append(h.cmds[id], cmd.Name())
}

// under returns the commands that ran under span id.
func (h *spanHook) under(id trace.SpanID) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cmds[id]
}

func (h *spanHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *spanHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(ctx, cmd)
		return next(ctx, cmd)
	}
}

func (h *spanHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.add(ctx, cmd)
		}
		return next(ctx, cmds)
	}
}

// TestTraceL2Hit reads a key L2 holds and L1 does not: one tiercache.get
// answered by L2, with one L2 read that hit, and no load.
func TestTraceL2Hit(t *testing.T) {
	tt := newTraced(t)
	store := newTracedStore(t, tt, shared.Client(t))
	ns := testsource.UniqueNamespace("oteltrace")
	key := ns + ":user:2"
	if err := store.Set(context.Background(), key, "bob", nil); err != nil {
		t.Fatal(err)
	}
	store.ClearLocal()
	tt.rec.Reset()
	ctx, caller := tt.caller.Start(context.Background(), "caller")
	r, err := store.Get(ctx, key, nil, func(context.Context, string) (any, error) {
		return nil, errors.New("loaded; want an L2 hit")
	})
	caller.End()
	if err != nil || r.Tier != tier.TierL2 {
		t.Fatalf("Get = tier %v, %v; want l2, nil", r.Tier, err)
	}
	checkTree(t, tt.ended(), caller.SpanContext(), []wantSpan{
		{name: "tiercache.get", parent: "caller", attrs: wantAttrs(
			tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrTier, "l2",
			tierotel.AttrStale, "false", tierotel.AttrOutcome, tier.OutcomeOK)},
		{name: "tiercache.l2.read", parent: "tiercache.get", attrs: wantAttrs(
			tierotel.AttrTier, "l2", tierotel.AttrOutcome, tier.OutcomeHit)},
	})
}

// TestTraceL1HitNoSpan reads keys L1 holds, through a Store, a Group and
// GetMany: none of these reads starts a span.
func TestTraceL1HitNoSpan(t *testing.T) {
	ctx := context.Background()
	tt := newTraced(t)
	store := newTracedStore(t, tt, shared.Client(t))
	ns := testsource.UniqueNamespace("oteltrace")
	g, err := tier.NewGroup(store, tier.GroupConfig[string]{
		Namespace: ns, Entity: "user",
		Load: func(context.Context, string) (string, error) { return "", errors.New("loaded; want an L1 hit") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetMany(ctx, map[string]string{"1": "ada", "2": "bob"}); err != nil {
		t.Fatal(err)
	}
	store.WaitL1()
	tt.rec.Reset()
	if r, err := store.Get(ctx, ns+":user:1", nil, nil); err != nil || r.Tier != tier.TierL1 {
		t.Errorf("Store.Get = tier %v, %v; want l1, nil", r.Tier, err)
	}
	if _, got, err := g.Get(ctx, "2"); err != nil || got != tier.TierL1 {
		t.Errorf("Group.Get = tier %v, %v; want l1, nil", got, err)
	}
	if m, err := g.GetMany(ctx, []string{"1", "2"}); err != nil || len(m) != 2 {
		t.Errorf("GetMany = %v, %v; want both ids, nil", m, err)
	}
	if started := tt.rec.Started(); len(started) != 0 {
		t.Errorf("L1 hits started %d spans (first %q); want none", len(started), started[0].Name())
	}
}

// TestTraceFillWait reads a key whose fill lease another Store (another
// process) holds: the L2 read finds the lease ("leased"), the reader waits
// for the fill (tiercache.fill.wait) and is answered by L2 once it lands.
func TestTraceFillWait(t *testing.T) {
	tt := newTraced(t)
	holder, err := tier.New(&tier.Config{Redis: shared.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	reader := newTracedStore(t, tt, shared.Client(t))
	key := testsource.UniqueNamespace("oteltrace") + ":user:5"

	loading, release := make(chan struct{}, 1), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := holder.Get(context.Background(), key, nil, func(context.Context, string) (any, error) {
			loading <- struct{}{}
			<-release
			return "eve", nil
		})
		held <- err
	}()
	<-loading // the holder's lease is in the key

	ctx, caller := tt.caller.Start(context.Background(), "caller")
	type answer struct {
		r   tier.Result
		err error
	}
	read := make(chan answer, 1)
	go func() {
		r, err := reader.Get(ctx, key, nil, func(context.Context, string) (any, error) {
			return nil, errors.New("loaded; want the other process's fill")
		})
		read <- answer{r, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for reader.Stats().FillWaits == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reader did not wait for the fill within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatalf("holder's Get: %v", err)
	}
	a := <-read
	caller.End()
	if a.err != nil || a.r.Tier != tier.TierL2 {
		t.Fatalf("reader's Get = tier %v, %v; want l2, nil", a.r.Tier, a.err)
	}
	var get sdktrace.ReadOnlySpan
	var reads, waits []sdktrace.ReadOnlySpan
	for _, s := range tt.ended() {
		switch s.Name() {
		case "tiercache.get":
			get = s
		case "tiercache.l2.read":
			reads = append(reads, s)
		case "tiercache.fill.wait":
			waits = append(waits, s)
		default:
			t.Errorf("span %s; want only tiercache.get, tiercache.l2.read and tiercache.fill.wait", s.Name())
		}
	}
	if get == nil || get.Parent().SpanID() != caller.SpanContext().SpanID() {
		t.Fatalf("no tiercache.get under the caller's span (spans %v)", tt.ended())
	}
	if got := spanAttrs(get); got[tierotel.AttrTier] != "l2" || got[tierotel.AttrOutcome] != tier.OutcomeOK {
		t.Errorf("tiercache.get: attributes %v; want tier l2, outcome ok", got)
	}
	if len(reads) != 1 || spanAttrs(reads[0])[tierotel.AttrOutcome] != tier.OutcomeLeased {
		t.Errorf("%d tiercache.l2.read spans (%v); want one, outcome %q", len(reads), reads, tier.OutcomeLeased)
	}
	if len(waits) == 0 {
		t.Error("no tiercache.fill.wait span")
	}
	for _, s := range append(reads, waits...) {
		if s.Parent().SpanID() != get.SpanContext().SpanID() {
			t.Errorf("%s: parent %v; want tiercache.get", s.Name(), s.Parent().SpanID())
		}
		if got := spanAttrs(s); got[tierotel.AttrTier] != "l2" {
			t.Errorf("%s: attributes %v; want tier l2", s.Name(), got)
		}
	}
	for _, s := range waits {
		if got := spanAttrs(s)[tierotel.AttrOutcome]; got != tier.OutcomeOK {
			t.Errorf("tiercache.fill.wait: outcome %q; want ok", got)
		}
	}
}

// TestTraceRedisFailure reads and writes through a Store whose Redis
// refuses connections: the L2 read records an error outcome (status Error,
// an exception event), the read is still answered by the loader (its
// tiercache.get succeeds), and no L2 fill is tried; the Set records its
// error.
func TestTraceRedisFailure(t *testing.T) {
	tt := newTraced(t)
	proxy := redistest.StartProxy(t, shared.Addr())
	proxy.SetRefuse(true)
	rdb := redis.NewClient(redistest.ClientOptions(proxy.Addr()))
	t.Cleanup(func() { _ = rdb.Close() })
	store, err := tier.New(&tier.Config{Redis: rdb, Tracer: tt.tr, DisableBus: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	key := testsource.UniqueNamespace("oteltrace") + ":user:3"

	ctx, caller := tt.caller.Start(context.Background(), "caller")
	r, err := store.Get(ctx, key, nil, func(context.Context, string) (any, error) { return "cy", nil })
	if err != nil || r.Tier != tier.TierSource {
		t.Fatalf("Get = tier %v, %v; want source, nil", r.Tier, err)
	}
	checkTree(t, tt.ended(), caller.SpanContext(), []wantSpan{
		{name: "tiercache.get", parent: "caller", attrs: wantAttrs(
			tierotel.AttrTier, "source", tierotel.AttrOutcome, tier.OutcomeOK)},
		{name: "tiercache.l2.read", parent: "tiercache.get", attrs: wantAttrs(
			tierotel.AttrTier, "l2", tierotel.AttrOutcome, tier.OutcomeError)},
		{name: "tiercache.load", parent: "tiercache.get", attrs: wantAttrs(
			tierotel.AttrTier, "source", tierotel.AttrOutcome, tier.OutcomeOK)},
	})

	tt.rec.Reset()
	if err := store.Set(ctx, key, "dee", nil); err == nil {
		t.Fatal("Set through a refusing Redis succeeded; want an error")
	}
	caller.End()
	checkTree(t, tt.ended(), caller.SpanContext(), []wantSpan{
		{name: "tiercache.set", parent: "caller", attrs: wantAttrs(tierotel.AttrOutcome, tier.OutcomeError)},
	})
}

// TestTraceWrites makes each kind of write under a caller's span, and
// checks that each makes one span, a child of the caller's, with its
// namespace, entity, count and outcome.
func TestTraceWrites(t *testing.T) {
	tt := newTraced(t)
	store := newTracedStore(t, tt, shared.Client(t))
	ns := testsource.UniqueNamespace("oteltrace")
	g, err := tier.NewGroup(store, tier.GroupConfig[string]{Namespace: ns, Entity: "user"})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := strategy.NewWriteThrough[string](store, testsource.NewStrings(nil), strategy.Options{Namespace: ns, Entity: "profile"})
	if err != nil {
		t.Fatal(err)
	}
	ok := tier.OutcomeOK
	for _, tc := range []struct {
		name  string
		write func(ctx context.Context) error
		want  wantSpan
	}{
		{"Set", func(ctx context.Context) error { return store.Set(ctx, ns+"@v3:user:1", "ada", nil) },
			wantSpan{name: "tiercache.set", attrs: wantAttrs(tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrOutcome, ok),
				absent: []string{tierotel.AttrCount, tierotel.AttrTier}}},
		{"SetMany", func(ctx context.Context) error { return g.SetMany(ctx, map[string]string{"2": "bob", "3": "cy"}) },
			wantSpan{name: "tiercache.set_many", attrs: wantAttrs(tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrCount, "2", tierotel.AttrOutcome, ok)}},
		{"Delete", func(ctx context.Context) error { return store.Delete(ctx, ns+":user:2", ns+":user:9") },
			wantSpan{name: "tiercache.delete", attrs: wantAttrs(tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrCount, "2", tierotel.AttrOutcome, ok)}},
		{"DeletePattern", func(ctx context.Context) error {
			n, err := store.DeletePattern(ctx, ns+":user:*")
			if err == nil && n != 1 {
				err = fmt.Errorf("DeletePattern deleted %d keys; want 1", n)
			}
			return err
		}, wantSpan{name: "tiercache.delete_pattern", attrs: wantAttrs(tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrCount, "1", tierotel.AttrOutcome, ok)}},
		{"WriteThrough.Set", func(ctx context.Context) error { return wt.Set(ctx, "7", "eve") },
			wantSpan{name: "tiercache.set", attrs: wantAttrs(tierotel.AttrNamespace, ns, tierotel.AttrEntity, "profile", tierotel.AttrOutcome, ok)}},
		{"a key without entity", func(ctx context.Context) error { return store.Set(ctx, ns+":flag", "on", nil) },
			wantSpan{name: "tiercache.set", attrs: wantAttrs(tierotel.AttrNamespace, ns, tierotel.AttrOutcome, ok),
				absent: []string{tierotel.AttrEntity}}},
		{"a key without namespace", func(ctx context.Context) error { return store.Set(ctx, ns+"-flag", "on", nil) },
			wantSpan{name: "tiercache.set", attrs: wantAttrs(tierotel.AttrOutcome, ok),
				absent: []string{tierotel.AttrNamespace, tierotel.AttrEntity}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt.rec.Reset()
			ctx, caller := tt.caller.Start(context.Background(), "caller")
			err := tc.write(ctx)
			caller.End()
			if err != nil {
				t.Fatal(err)
			}
			tc.want.parent = "caller"
			checkTree(t, tt.ended(), caller.SpanContext(), []wantSpan{tc.want})
		})
	}
	_ = store.Delete(context.Background(), ns+"-flag", ns+":flag")
}

// TestTraceGetMany reads a batch of ids L1 does not hold: one
// tiercache.get_many span under the caller's, counting the ids.
func TestTraceGetMany(t *testing.T) {
	tt := newTraced(t)
	store := newTracedStore(t, tt, shared.Client(t))
	ns := testsource.UniqueNamespace("oteltrace")
	g, err := tier.NewGroup(store, tier.GroupConfig[string]{
		Namespace: ns, Entity: "user",
		LoadMany: func(_ context.Context, ids []string) (map[string]string, error) {
			out := map[string]string{}
			for _, id := range ids {
				out[id] = "v" + id
			}
			return out, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, caller := tt.caller.Start(context.Background(), "caller")
	m, err := g.GetMany(ctx, []string{"1", "2", "3"})
	caller.End()
	if err != nil || len(m) != 3 {
		t.Fatalf("GetMany = %v, %v; want 3 ids", m, err)
	}
	checkTree(t, tt.ended(), caller.SpanContext(), []wantSpan{
		{name: "tiercache.get_many", parent: "caller", attrs: wantAttrs(
			tierotel.AttrNamespace, ns, tierotel.AttrEntity, "user", tierotel.AttrCount, "3", tierotel.AttrOutcome, tier.OutcomeOK)},
	})
}

// TestTraceRefreshAhead reads a key past its refresh point: the reads are
// L1 hits (no span), and the background reload they start records its L2
// read, load and fill under the caller's span.
func TestTraceRefreshAhead(t *testing.T) {
	ctx := context.Background()
	tt := newTraced(t)
	store := newTracedStore(t, tt, shared.Client(t))
	ns := testsource.UniqueNamespace("oteltrace")
	// The reload's load waits for release, so that no read after it can
	// start another.
	loading, release := make(chan struct{}, 1), make(chan struct{})
	g, err := tier.NewGroup(store, tier.GroupConfig[string]{
		Namespace: ns, Entity: "user",
		// Due for refresh a millisecond after it is written.
		Options: tier.Options{TTL: time.Minute, RefreshAfter: 1.0 / 60000},
		Load: func(context.Context, string) (string, error) {
			loading <- struct{}{}
			<-release
			return "ada v2", nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Set(ctx, "1", "ada"); err != nil {
		t.Fatal(err)
	}
	store.WaitL1()
	tt.rec.Reset()
	cctx, caller := tt.caller.Start(ctx, "caller")
	deadline := time.Now().Add(10 * time.Second)
	for started := false; !started; {
		if _, got, err := g.Get(cctx, "1"); err != nil || got != tier.TierL1 {
			t.Fatalf("Get = tier %v, %v; want l1, nil", got, err)
		}
		select {
		case <-loading:
			started = true
		case <-time.After(time.Millisecond): // until the entry is due: no event tells it
			if time.Now().After(deadline) {
				t.Fatal("no background reload within 10s")
			}
		}
	}
	close(release)
	caller.End()
	// Counted once its fill has landed (Close would cancel it).
	for store.Stats().Refreshes == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background reload did not finish within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	checkTree(t, tt.ended(), caller.SpanContext(), []wantSpan{
		{name: "tiercache.l2.read", parent: "caller", attrs: wantAttrs(tierotel.AttrOutcome, tier.OutcomeHit)},
		{name: "tiercache.load", parent: "caller", attrs: wantAttrs(tierotel.AttrOutcome, tier.OutcomeOK)},
		{name: "tiercache.l2.fill", parent: "caller", attrs: wantAttrs(tierotel.AttrOutcome, tier.OutcomeOK)},
	})
}

// failingSource is a source whose writes fail.
type failingSource struct{ *testsource.Strings }

var errSourceDown = errors.New("source down")

func (failingSource) Store(context.Context, string, string) error { return errSourceDown }

// TestTraceWriteBehind sets ids through write-behind strategies: the Set
// makes a tiercache.set span under the caller's, and the flusher's batch
// makes a root tiercache.writebehind.flush span with the batch size and the
// batch's outcome (an error when the source refuses it).
func TestTraceWriteBehind(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     strategy.Source[string]
		outcome string
	}{
		{"ok", testsource.NewStrings(nil), tier.OutcomeOK},
		{"source error", failingSource{testsource.NewStrings(nil)}, tier.OutcomeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTraced(t)
			store := newTracedStore(t, tt, shared.Client(t))
			ns := testsource.UniqueNamespace("oteltrace")
			w, err := strategy.NewWriteBehind(store, tc.src, strategy.Options{Namespace: ns, Entity: "session"},
				// No tick during the test: the two Sets make one batch, which
				// Shutdown flushes.
				&strategy.WriteBehindConfig[string]{MaxAttempts: 1, FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			ctx, caller := tt.caller.Start(context.Background(), "caller")
			for _, id := range []string{"a", "b"} {
				if err := w.Set(ctx, id, "v"+id); err != nil {
					t.Fatal(err)
				}
			}
			caller.End()
			// Shutdown writes the queue and waits for the flusher, whose
			// span has then ended.
			if err := w.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			var sets, flushes []sdktrace.ReadOnlySpan
			for _, s := range tt.ended() {
				switch s.Name() {
				case "tiercache.set":
					sets = append(sets, s)
				case "tiercache.writebehind.flush":
					flushes = append(flushes, s)
				}
			}
			if len(sets) != 2 {
				t.Errorf("%d tiercache.set spans; want 2", len(sets))
			}
			for _, s := range sets {
				if s.Parent().SpanID() != caller.SpanContext().SpanID() {
					t.Errorf("tiercache.set: parent %v; want the caller's span", s.Parent().SpanID())
				}
			}
			checkTree(t, flushes, trace.SpanContext{}, []wantSpan{
				{name: "tiercache.writebehind.flush", attrs: wantAttrs(
					tierotel.AttrNamespace, ns, tierotel.AttrEntity, "session", tierotel.AttrCount, "2",
					tierotel.AttrOutcome, tc.outcome)},
			})
		})
	}
}

// TestNewTracerNil checks that NewTracer refuses a nil trace.Tracer.
func TestNewTracerNil(t *testing.T) {
	if _, err := tierotel.NewTracer(nil); !errors.Is(err, tierotel.ErrNoTracer) {
		t.Errorf("NewTracer(nil) = %v; want ErrNoTracer", err)
	}
}
