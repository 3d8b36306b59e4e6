package tierotel

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/tier"
)

// ErrNoTracer is returned by NewTracer for a nil trace.Tracer.
var ErrNoTracer = errors.New("tierotel: nil tracer")

// The attributes of the spans a Tracer starts. Keys are never recorded:
// their ids may be personal data.
const (
	// AttrNamespace is the key's namespace, without its version
	// ("shop" for "shop@v3:user:42"); absent for a key without one.
	AttrNamespace = "tiercache.namespace"
	// AttrEntity is the key's entity ("user" for "shop:user:42"); absent
	// when the key has none.
	AttrEntity = "tiercache.entity"
	// AttrTier is the tier of the span's work: "l2" for tiercache.l2.read,
	// tiercache.l2.fill and tiercache.fill.wait, "source" for
	// tiercache.load, and, on tiercache.get, the tier that answered ("l1"
	// for a reader's own stale entry, "none" for a failed read).
	AttrTier = "tiercache.tier"
	// AttrOutcome is how the operation ended: one of tier's Outcome
	// constants ("ok", "error", "not_found", "hit", "miss", "lease",
	// "leased", "refused").
	AttrOutcome = "tiercache.outcome"
	// AttrStale, on tiercache.get, says the value was served stale.
	AttrStale = "tiercache.stale"
	// AttrCount is how many keys or ids the operation covered (see
	// tier.Span.SetCount): the batch size of a tiercache.writebehind.flush.
	AttrCount = "tiercache.count"
)

// Tracer is the tier.Tracer (tier.Config.Tracer) that records the Store's
// operations as OpenTelemetry spans, each a child of the span in the
// caller's context. A span is named "tiercache." followed by the operation
// (tiercache.get, tiercache.l2.read, tiercache.load, tiercache.l2.fill,
// tiercache.fill.wait, tiercache.get_many, tiercache.set,
// tiercache.delete, tiercache.set_many, tiercache.delete_pattern,
// tiercache.writebehind.flush) and carries the Attr attributes; a failed
// operation records its error and sets the span's status to Error. An L1
// hit starts no span. It is safe for concurrent use.
type Tracer struct {
	tracer trace.Tracer
	// names maps each tier operation to its span name, built once.
	names map[string]string
}

var (
	_ tier.Tracer = (*Tracer)(nil)
	_ tier.Span   = span{}
)

// tierOps are the operations a Store and a write-behind strategy trace.
var tierOps = [...]string{
	tier.OpGet, tier.OpL2Read, tier.OpFillWait, tier.OpLoad, tier.OpL2Fill, tier.OpGetMany,
	tier.OpSet, tier.OpDelete, tier.OpSetMany, tier.OpDeletePattern, tier.OpFlush,
}

// NewTracer returns a Tracer that starts its spans with t:
//
//	tr, err := tierotel.NewTracer(provider.Tracer("tiercache"))
//	store, err := tier.New(&tier.Config{Redis: rdb, Tracer: tr})
func NewTracer(t trace.Tracer) (*Tracer, error) {
	if t == nil {
		return nil, ErrNoTracer
	}
	tr := &Tracer{tracer: t, names: make(map[string]string, len(tierOps))}
	for _, op := range tierOps {
		tr.names[op] = spanName(op)
	}
	return tr, nil
}

func spanName(op string) string { return "tiercache." + op }

// Start starts the span of op on key (see tier.Tracer).
func (t *Tracer) Start(ctx context.Context, op string, key string) (context.Context, tier.Span) {
	name, ok := t.names[op]
	if !ok {
		name = spanName(op)
	}
	var buf [3]attribute.KeyValue
	attrs := buf[:0]
	ns, entity := splitKey(key)
	if ns != "" {
		attrs = append(attrs, attribute.String(AttrNamespace, ns))
	}
	if entity != "" {
		attrs = append(attrs, attribute.String(AttrEntity, entity))
	}
	switch op {
	case tier.OpL2Read, tier.OpL2Fill, tier.OpFillWait:
		attrs = append(attrs, attribute.String(AttrTier, tier.TierL2.String()))
	case tier.OpLoad:
		attrs = append(attrs, attribute.String(AttrTier, tier.TierSource.String()))
	}
	ctx, sp := t.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, span{sp}
}

// splitKey returns the namespace (without its version) and the entity of a
// key, a key prefix or a pattern built by package keys; either is empty
// when the key has none (or, for a pattern, when it is not literal).
func splitKey(key string) (ns, entity string) {
	i := strings.IndexByte(key, ':')
	if i < 0 {
		return "", ""
	}
	ns, rest := key[:i], key[i+1:]
	if j := strings.IndexByte(ns, '@'); j >= 0 {
		ns = ns[:j]
	}
	if j := strings.IndexAny(rest, ":#"); j >= 0 {
		entity = rest[:j]
	}
	if strings.ContainsAny(entity, `*?[]\`) {
		entity = ""
	}
	return ns, entity
}

// span is a tier.Span over an OpenTelemetry span.
type span struct{ s trace.Span }

func (s span) SetRead(t tier.Tier, stale bool) {
	s.s.SetAttributes(attribute.String(AttrTier, t.String()), attribute.Bool(AttrStale, stale))
}

func (s span) SetCount(n int) { s.s.SetAttributes(attribute.Int(AttrCount, n)) }

func (s span) End(outcome string, err error) {
	s.s.SetAttributes(attribute.String(AttrOutcome, outcome))
	if err != nil {
		s.s.RecordError(err)
		s.s.SetStatus(codes.Error, err.Error())
	}
	s.s.End()
}
