package debugpage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tiercache/tiercache/debugpage"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// A service mounts the page next to its other debug endpoints; the Stores
// and queues it shows are those of a metrics.Registry (here its own; the
// Registry of a tierprom.Collector or tierotel.Metrics works too).
func Example() {
	store, err := tier.New(nil) // L1 only here; a service passes its Redis client
	if err != nil {
		panic(err)
	}
	defer store.Close()
	products, err := tier.NewGroup(store, tier.GroupConfig[string]{Namespace: "shop", Entity: "product",
		Load: func(ctx context.Context, id string) (string, error) { return "product " + id, nil }})
	if err != nil {
		panic(err)
	}
	reg := &metrics.Registry{}
	_ = reg.Add("shop", store)

	mux := http.NewServeMux()
	mux.Handle("/debug/tiercache", debugpage.New(debugpage.Config{Registry: reg}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	_, _, _ = products.Get(context.Background(), "42")
	resp, err := http.Get(srv.URL + "/debug/tiercache?format=json")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var snap debugpage.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		panic(err)
	}
	for _, s := range snap.Stores {
		for _, t := range s.Types {
			fmt.Printf("%s: %s/%s read %d times, loaded %d\n", s.Name, t.Namespace, t.Entity, t.Reads, t.Loads)
		}
	}
	// Output:
	// shop: shop/product read 1 times, loaded 1
}
