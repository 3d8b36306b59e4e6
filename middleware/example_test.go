package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tiercache/tiercache/middleware"
	"github.com/tiercache/tiercache/tier"
)

// cacheStatus returns the Cache-Status of a response without its ttl
// parameter (which depends on timing).
func cacheStatus(resp *http.Response) string {
	var kept []string
	for _, p := range strings.Split(resp.Header.Get("Cache-Status"), "; ") {
		if !strings.HasPrefix(p, "ttl=") {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "; ")
}

// Wrap a handler: the first request is forwarded and stored, the second is
// answered from the cache. Without Config.Redis the Store is an L1 cache;
// in a service, give it your Redis client and every instance shares the
// responses.
func ExampleCache_Handler() {
	store, err := tier.New(&tier.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	cache, err := middleware.New(store, nil)
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	})
	srv := httptest.NewServer(cache.Handler(app))
	defer srv.Close()

	for range 2 {
		resp, err := http.Get(srv.URL + "/greeting")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %s\n", body, cacheStatus(resp))
		store.WaitL1() // L1 sets are asynchronous
	}
	// Output:
	// hello: tiercache; fwd=uri-miss; fwd-status=200; stored
	// hello: tiercache; hit; detail=l1
}

// Purge by tag: responses list their tags in Surrogate-Key.
func ExampleCache_PurgeTag() {
	store, _ := tier.New(&tier.Config{})
	defer store.Close()
	cache, _ := middleware.New(store, nil)
	defer cache.Close()

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "product-42 catalogue")
		io.WriteString(w, "teapot")
	})
	srv := httptest.NewServer(cache.Handler(app))
	defer srv.Close()

	get := func() {
		resp, err := http.Get(srv.URL + "/products/42")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(cacheStatus(resp))
		store.WaitL1()
	}
	get()
	get()
	n, err := cache.PurgeTag(context.Background(), "product-42")
	fmt.Println("purged", n, err)
	get()
	// Output:
	// tiercache; fwd=uri-miss; fwd-status=200; stored
	// tiercache; hit; detail=l1
	// purged 1 <nil>
	// tiercache; fwd=uri-miss; fwd-status=200; stored
}
