package tier

import (
	"context"
	"testing"
)

// TestDeletePatternScope: DeletePattern drops the pattern's namespace from
// every instance's L1 and leaves other namespaces' entries there, read by
// key and through a Group.
func TestDeletePatternScope(t *testing.T) {
	ctx := ctxT(t)
	a, b := newStore(t, Config{}), newStore(t, Config{})
	id := testKey(t)
	cleared, kept := "pscope-a:user:"+id, "pscope-b:user:"+id
	subscribe(t, cleared, a, b)
	subscribe(t, kept, a, b)
	groups := map[*Store]*Group[string]{}
	for _, s := range []*Store{a, b} {
		g, err := NewGroup(s, GroupConfig[string]{Namespace: "pscope-b", Entity: "user",
			Load: func(context.Context, string) (string, error) { return "loaded", nil }})
		if err != nil {
			t.Fatal(err)
		}
		groups[s] = g
		for _, k := range []string{cleared, kept} {
			if _, err := s.Get(ctx, k, nil, constLoader("v").load); err != nil {
				t.Fatal(err)
			}
		}
		s.fills.Wait()
	}
	received := b.Stats().MessagesReceived
	if _, err := a.DeletePattern(ctx, "pscope-a:user:*"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return b.Stats().MessagesReceived > received })
	for name, s := range map[string]*Store{"a": a, "b": b} {
		if _, hit := inL1(s, cleared); hit {
			t.Errorf("%s's L1 still holds %q after DeletePattern of its namespace", name, cleared)
		}
		if _, hit := inL1(s, kept); !hit {
			t.Errorf("%s's L1 lost %q of another namespace", name, kept)
		}
		if _, tier, err := groups[s].Get(ctx, id); err != nil || tier != TierL1 {
			t.Errorf("%s: Group.Get(%q) = %v, %v; want an L1 hit", name, id, tier, err)
		}
	}
}
