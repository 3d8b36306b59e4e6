package redistest_test

import (
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestSentinelFailover starts a group, stops its master, and checks that the
// Sentinels promote the replica and a failover client writes to it.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	g := redistest.StartSentinelT(t)
	ctx := ctxTimeout(t, 60*time.Second)
	data := g.Servers()
	if got, want := len(g.SentinelAddrs()), 3; got != want {
		t.Fatalf("len(SentinelAddrs()) = %d; want %d", got, want)
	}
	master, err := g.Master(ctx)
	if err != nil || master != data[0] {
		t.Fatalf("Master() = %v, %v; want the first data node %s", master, err, data[0].Addr())
	}
	rdb := g.FailoverClient(t)
	if err := rdb.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatalf("SET before the failover = %v; want nil", err)
	}
	replica := data[1].Client(t)
	if n, err := rdb.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want 1 replica to have the write", n, err)
	}

	start := time.Now()
	if err := master.Stop(); err != nil {
		t.Fatalf("Stop(master) = %v", err)
	}
	newMaster, err := g.Master(ctx)
	if err != nil || newMaster != data[1] {
		t.Fatalf("Master() after stopping the master = %v, %v; want the replica %s", newMaster, err, data[1].Addr())
	}
	t.Logf("failover took %v", time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := rdb.Set(ctx, "k", "after", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SET through the failover client after the failover = %v; want nil within 10s", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := replica.Get(ctx, "k").Result(); err != nil || got != "after" {
		t.Errorf("GET k on the new master = %q, %v; want \"after\"", got, err)
	}
}
