package tier

import (
	"fmt"
	"testing"
	"time"

	"github.com/tiercache/tiercache/keys"
)

// TestNamespaceVersionLostKey deletes a namespace's version key in Redis
// (as an allkeys-* eviction would) and checks that no Store, old or new,
// goes back to a version it used before, so that no older entry comes
// back; and that the key carries a TTL that each use renews.
func TestNamespaceVersionLostKey(t *testing.T) {
	ctx := ctxT(t)
	rdb := shared.Client(t)
	name := fmt.Sprintf("lk%d", keySeq.Add(1))
	vkey := versionKeyPrefix + name
	ns, _ := keys.NewNamespace(name)
	s := newStore(t, Config{Redis: rdb, L1TTLCap: 200 * time.Millisecond})

	v0, err := s.NamespaceVersion(name).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, vkey).Val(); ttl < versionTTL-time.Minute {
		t.Errorf("version key TTL after first use = %v; want about %v", ttl, versionTTL)
	}
	// An entry under v0, then a bump and an entry under v1: both in Redis.
	k0, _ := ns.Versioned(v0).Key("user", "1")
	if err := s.Set(ctx, k0, sampleUser(1), &userOptions); err != nil {
		t.Fatal(err)
	}
	v1, err := s.NamespaceVersion(name).Bump(ctx)
	if err != nil || v1 <= v0 {
		t.Fatalf("Bump = %d, %v; want more than %d", v1, err, v0)
	}
	k1, _ := ns.Versioned(v1).Key("user", "1")
	if err := s.Set(ctx, k1, sampleUser(2), &userOptions); err != nil {
		t.Fatal(err)
	}

	if err := rdb.Del(ctx, vkey).Err(); err != nil { // lost
		t.Fatal(err)
	}
	late := newStore(t, Config{Redis: rdb})
	v2, err := late.NamespaceVersion(name).Get(ctx)
	if err != nil || v2 <= v1 {
		t.Fatalf("version after the key was lost = %d, %v; want more than %d (never a version used before)", v2, err, v1)
	}
	k2, _ := ns.Versioned(v2).Key("user", "1")
	if r, err := late.Get(ctx, k2, &userOptions, constLoader(sampleUser(3)).load); err != nil || r.Value.(user).ID != 3 || r.Tier != TierSource {
		t.Errorf("Get under the new version = %+v, %v; want user 3 from the source (no older entry)", r, err)
	}
	// The Store that was running moves to the new version too, once it
	// reads the version again (every L1TTLCap).
	waitFor(t, func() bool { got, _ := s.NamespaceVersion(name).Get(ctx); return got == v2 })

	// Use renews the TTL.
	if err := rdb.PExpire(ctx, vkey, 5*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	third := newStore(t, Config{Redis: rdb})
	if _, err := third.NamespaceVersion(name).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, vkey).Val(); ttl < versionTTL-time.Minute {
		t.Errorf("version key TTL after a read = %v; want it renewed to about %v", ttl, versionTTL)
	}
	if err := rdb.PExpire(ctx, vkey, 5*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := third.NamespaceVersion(name).Bump(ctx); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, vkey).Val(); ttl < versionTTL-time.Minute {
		t.Errorf("version key TTL after a bump = %v; want it renewed to about %v", ttl, versionTTL)
	}
}
