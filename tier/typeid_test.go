package tier

import (
	"context"
	"testing"
	"time"

	"github.com/tiercache/tiercache/codec"
)

type product struct {
	Name  string
	Price int
}

// notProduct shares a field name with product: msgpack decodes one into
// the other without an error.
type notProduct struct {
	Name  string
	Extra int
}

// TestWrongTypeIsMiss: an entry written under a key for another type, or
// for another SchemaVersion of the same type, is a miss for a Group (counted
// and reloaded), never decoded into a forged value; an entry of the Group's
// own type and version is an L2 hit, and one written in envelope format 1
// (no type recorded) is still read.
func TestWrongTypeIsMiss(t *testing.T) {
	msgpack := codec.Default()
	v1Payload, err := msgpack.Marshal(product{Name: "v1", Price: 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		// write puts the entry of id in L2 through writer.
		write     func(ctx context.Context, writer *Store, id string) error
		schema    uint32 // the reading Group's SchemaVersion
		want      product
		wantTier  Tier
		wantWrong uint64
	}{
		{"another type", func(ctx context.Context, w *Store, id string) error {
			g, err := NewGroup(w, GroupConfig[notProduct]{Namespace: "shop", Entity: "p"})
			if err != nil {
				return err
			}
			return g.Set(ctx, id, notProduct{Name: "forged", Extra: 9})
		}, 0, product{Name: "loaded", Price: 42}, TierSource, 1},
		{"another type, through Store.Set", func(ctx context.Context, w *Store, id string) error {
			return w.Set(ctx, "shop:p:"+id, notProduct{Name: "forged", Extra: 9}, nil)
		}, 0, product{Name: "loaded", Price: 42}, TierSource, 1},
		{"another schema version", func(ctx context.Context, w *Store, id string) error {
			g, err := NewGroup(w, GroupConfig[product]{Namespace: "shop", Entity: "p", Options: Options{SchemaVersion: 1}})
			if err != nil {
				return err
			}
			return g.Set(ctx, id, product{Name: "old layout", Price: 7})
		}, 2, product{Name: "loaded", Price: 42}, TierSource, 1},
		{"same type and version", func(ctx context.Context, w *Store, id string) error {
			g, err := NewGroup(w, GroupConfig[product]{Namespace: "shop", Entity: "p", Options: Options{SchemaVersion: 2}})
			if err != nil {
				return err
			}
			return g.Set(ctx, id, product{Name: "cached", Price: 3})
		}, 2, product{Name: "cached", Price: 3}, TierL2, 0},
		{"format version 1", func(ctx context.Context, w *Store, id string) error {
			now := time.Now()
			raw := appendEnvelope(nil, envelope{format: envelopeV1, codecID: msgpack.ID(), createdAt: now, freshUntil: now.Add(time.Hour), payload: v1Payload})
			return w.Redis().Set(ctx, "shop:p:"+id, raw, time.Hour).Err()
		}, 0, product{Name: "v1", Price: 1}, TierL2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxT(t)
			writer, reader := newStore(t, Config{}), newStore(t, Config{})
			id := testKey(t)
			if err := c.write(ctx, writer, id); err != nil {
				t.Fatalf("write: %v", err)
			}
			g, err := NewGroup(reader, GroupConfig[product]{
				Namespace: "shop", Entity: "p", Options: Options{SchemaVersion: c.schema},
				Load: func(context.Context, string) (product, error) { return product{Name: "loaded", Price: 42}, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			got, tier, err := g.Get(ctx, id)
			if err != nil || got != c.want || tier != c.wantTier {
				t.Errorf("Get = %+v, %v, %v; want %+v, %v, nil", got, tier, err, c.want, c.wantTier)
			}
			if st := reader.Stats(); st.WrongType != c.wantWrong || st.Corrupt != 0 {
				t.Errorf("WrongType, Corrupt = %d, %d; want %d, 0", st.WrongType, st.Corrupt, c.wantWrong)
			}
		})
	}
}
