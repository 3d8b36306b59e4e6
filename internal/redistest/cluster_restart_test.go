package redistest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestClusterRestartNode restarts one node of a running cluster: it must
// come back as the same node (same id, same slots, from its nodes.conf),
// the cluster must be healthy again, the other nodes' keys must be intact,
// and the cluster must serve the restarted node's slots again.
func TestClusterRestartNode(t *testing.T) {
	t.Parallel()
	c := redistest.StartClusterT(t)
	rdb := c.Client(t)
	ctx := ctxTimeout(t, 60*time.Second)
	const restarted = 1
	node := c.Servers()[restarted]
	nodeClient := node.Client(t)
	idBefore, err := nodeClient.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatalf("CLUSTER MYID = %v", err)
	}

	const keys = 100
	for i := range keys {
		if err := rdb.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key:%d = %v; want nil", i, err)
		}
	}
	onNode, err := nodeClient.DBSize(ctx).Result()
	if err != nil || onNode == 0 {
		t.Fatalf("DBSIZE on the node to restart = %d, %v; want > 0, nil", onNode, err)
	}

	if err := c.RestartNode(restarted); err != nil {
		t.Fatalf("RestartNode(%d) = %v; want nil (the node back in the cluster)", restarted, err)
	}

	idAfter, err := nodeClient.ClusterMyID(ctx).Result()
	if err != nil || idAfter != idBefore {
		t.Errorf("CLUSTER MYID after the restart = %q, %v; want %q (the same node)", idAfter, err, idBefore)
	}
	if n, err := nodeClient.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("DBSIZE on the restarted node = %d, %v; want 0 (nothing persisted)", n, err)
	}
	// Every key is either intact (other nodes) or gone (the restarted
	// node's slots), and those slots take writes again.
	var gone int64
	for i := range keys {
		k := fmt.Sprintf("key:%d", i)
		got, err := rdb.Get(ctx, k).Int()
		switch {
		case err == nil && got == i:
		case errors.Is(err, redis.Nil):
			gone++
		default:
			t.Fatalf("GET %s after the restart = %d, %v; want %d or redis.Nil", k, got, err, i)
		}
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s after the restart = %v; want nil", k, err)
		}
	}
	if gone != onNode {
		t.Errorf("keys gone after the restart = %d; want %d (those the restarted node held)", gone, onNode)
	}
	if n, err := nodeClient.DBSize(ctx).Result(); err != nil || n != onNode {
		t.Errorf("DBSIZE on the restarted node after rewriting = %d, %v; want %d", n, err, onNode)
	}
	for _, i := range []int{-1, len(c.Servers())} {
		if err := c.RestartNode(i); err == nil {
			t.Errorf("RestartNode(%d) = nil; want an error", i)
		}
	}
}
