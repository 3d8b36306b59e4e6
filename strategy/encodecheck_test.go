package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/tier"
)

// pickyCodec is msgpack, except that it cannot encode a Profile named
// "unencodable", as a codec cannot encode some values (a NaN for JSON, a
// func field for msgpack).
type pickyCodec struct{ codec.MsgPack }

func (c pickyCodec) Marshal(v any) ([]byte, error) {
	if p, ok := v.(Profile); ok && p.Name == "unencodable" {
		return nil, fmt.Errorf("%w: picky: %q", codec.ErrEncode, p.Name)
	}
	return c.MsgPack.Marshal(v)
}

// TestSetRejectsUnencodable: a Set of a value the codec cannot encode fails
// with an error wrapping codec.ErrEncode before anything is written: the
// source keeps its value and the cache its entry.
func TestSetRejectsUnencodable(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			ctx := ctxT(t)
			store := newStore(t)
			src := newMemSource()
			old := Profile{ID: "1", Name: "ada", Version: 1}
			src.put(old)
			o := testOptions(t)
			o.Codec = pickyCodec{}
			s, _ := impl.make(t, store, src, o)
			if got, err := s.Get(ctx, "1"); err != nil || got != old {
				t.Fatalf("Get = %+v, %v; want %+v", got, err, old)
			}
			store.WaitL1()
			key, err := o.Key("1")
			if err != nil {
				t.Fatal(err)
			}
			// The read's L2 fill lands after it answered: wait for the value
			// to replace the fill lease.
			before := landedL2(t, ctx, store.Redis(), key)
			err = s.Set(ctx, "1", Profile{ID: "1", Name: "unencodable", Version: 2})
			if !errors.Is(err, codec.ErrEncode) {
				t.Fatalf("Set(unencodable) = %v; want an error wrapping codec.ErrEncode", err)
			}
			if f, ok := s.(interface{ Flush(context.Context) error }); ok {
				if err := f.Flush(ctx); err != nil { // a write-behind: nothing was queued
					t.Fatal(err)
				}
			}
			if got, _ := src.get("1"); got != old || src.stores.Load() != 0 {
				t.Errorf("source holds %+v after %d stores; want %+v, 0 stores", got, src.stores.Load(), old)
			}
			if after := store.Redis().Get(ctx, key).Val(); after != before || before == "" {
				t.Errorf("L2 entry changed from %q to %q; want it untouched", before, after)
			}
			if got, tr, err := s.(interface {
				Lookup(context.Context, string) (Profile, tier.Tier, error)
			}).Lookup(ctx, "1"); err != nil || got != old || tr != tier.TierL1 {
				t.Errorf("Lookup after the refused Set = %+v, %v, %v; want %+v from L1", got, tr, err, old)
			}
		})
	}
}
