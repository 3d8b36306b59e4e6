package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/tier"
)

// TestCluster runs storage, Vary, tags and purges on a three-master Redis
// Cluster: every command the cache sends touches one key.
func TestCluster(t *testing.T) {
	cluster := redistest.StartClusterT(t)
	store, err := tier.New(&tier.Config{Redis: cluster.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cache, err := New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Close() })
	var calls atomic.Int64
	srv := httptest.NewServer(cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Surrogate-Key", "all "+r.URL.Path)
		fmt.Fprint(w, r.URL.Path)
	})))
	t.Cleanup(srv.Close)
	get := func(path string) reply {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept-Language", "en")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return reply{status: resp.StatusCode, cacheStatus: resp.Header.Get("Cache-Status")}
	}
	paths := []string{"/a", "/b", "/c", "/d", "/e", "/f"}
	for _, p := range paths {
		get(p)
	}
	store.ClearLocal() // read back from the cluster, not L1
	for _, p := range paths {
		if got := get(p); !contains(got.cacheStatus, "hit") || !contains(got.cacheStatus, "detail=l2") {
			t.Errorf("%s: %q; want an L2 hit", p, got.cacheStatus)
		}
	}
	n, err := cache.PurgeTag(context.Background(), "all")
	if err != nil || n != len(paths) {
		t.Fatalf("PurgeTag(all) = %d, %v; want %d, nil", n, err, len(paths))
	}
	for _, p := range paths {
		if got := get(p); contains(got.cacheStatus, "hit") {
			t.Errorf("%s after purge: %q; want a miss", p, got.cacheStatus)
		}
	}
	if err := cache.PurgeURL(context.Background(), srv.URL+"/a"); err != nil {
		t.Errorf("PurgeURL: %v", err)
	}
	if got := get("/a"); contains(got.cacheStatus, "hit") {
		t.Errorf("/a after PurgeURL: %q; want a miss", got.cacheStatus)
	}
	if got, want := calls.Load(), int64(2*len(paths)+1); got != want {
		t.Errorf("origin calls = %d; want %d", got, want)
	}
}
