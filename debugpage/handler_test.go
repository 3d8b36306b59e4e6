package debugpage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache/debugpage"
	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

var seq atomic.Int64

// fixedQueue is a write-behind queue that always has the same depth and
// oldest write.
type fixedQueue struct {
	depth  int
	oldest time.Duration
}

func (q fixedQueue) QueueStats() (int, time.Duration) { return q.depth, q.oldest }

// trafficStore returns a Store on the shared Redis, registered in a new
// Registry as "shop" with a queue "carts", after a scripted run of reads of
// two data types: L1 hits, L2 hits, loads, a not-found and a load error.
// It returns the namespaces of the two data types.
func trafficStore(t *testing.T) (*tier.Store, *metrics.Registry, [2]string) {
	t.Helper()
	ctx := context.Background()
	store, err := tier.New(&tier.Config{Redis: shared.Client(t), L1MaxCostBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	load := func(_ context.Context, id string) (string, error) {
		switch id {
		case "missing":
			return "", tier.ErrNotFound
		case "bad":
			return "", errors.New("database down")
		}
		return strings.Repeat("v", 100) + id, nil
	}
	n := seq.Add(1)
	names := [2]string{fmt.Sprintf("pageshop%d", n), fmt.Sprintf("pageusers%d", n)}
	var groups [2]*tier.Group[string]
	for i, ns := range names {
		if groups[i], err = tier.NewGroup(store, tier.GroupConfig[string]{Namespace: ns, Entity: "item", Load: load}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(g *tier.Group[string], ids ...string) {
		for _, id := range ids {
			_, _, _ = g.Get(ctx, id)
			store.WaitL1()
		}
	}
	read(groups[0], "1", "2", "3", "1", "1", "1", "2", "2", "missing", "missing", "bad")
	read(groups[1], "1", "1")
	store.ClearLocal()
	read(groups[0], "1", "2")
	read(groups[1], "1", "1", "1", "1", "1", "1")

	reg := &metrics.Registry{}
	if err := reg.Add("shop", store); err != nil {
		t.Fatal(err)
	}
	if err := reg.AddQueue("carts", fixedQueue{depth: 7, oldest: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	return store, reg, names
}

func fetch(t *testing.T, url, accept string) (string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b), resp.Header
}

// TestJSON checks that both ways of asking for JSON get the Snapshot, and
// that it holds the Store's own figures: Stats, TypeStats with their
// percentiles, L1 fill, bus, and the queue.
func TestJSON(t *testing.T) {
	store, reg, names := trafficStore(t)
	srv := httptest.NewServer(debugpage.New(debugpage.Config{Registry: reg}))
	defer srv.Close()
	for _, c := range []struct{ url, accept string }{
		{srv.URL + "?format=json", ""},
		{srv.URL, "text/html;q=0.5, application/json"},
	} {
		body, h := fetch(t, c.url, c.accept)
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s (Accept %q): Content-Type %q; want application/json", c.url, c.accept, ct)
		}
		var snap debugpage.Snapshot
		if err := json.Unmarshal([]byte(body), &snap); err != nil {
			t.Fatalf("%s: %v\n%s", c.url, err, body)
		}
		checkSnapshot(t, snap, store, names)
	}
}

// checkSnapshot compares a Snapshot of trafficStore's Registry with the
// Store.
func checkSnapshot(t *testing.T, snap debugpage.Snapshot, store *tier.Store, names [2]string) {
	t.Helper()
	if len(snap.Stores) != 1 || len(snap.Queues) != 1 {
		t.Fatalf("Snapshot has %d stores, %d queues; want 1, 1", len(snap.Stores), len(snap.Queues))
	}
	s := snap.Stores[0]
	if want := store.Stats(); s.Name != "shop" || s.Stats.L1Hits != want.L1Hits || s.Stats.Loads != want.Loads || s.Breaker != "closed" {
		t.Errorf("store = %s, L1Hits %d, Loads %d, breaker %s; want shop, %d, %d, closed", s.Name, s.Stats.L1Hits, s.Stats.Loads, s.Breaker, want.L1Hits, want.Loads)
	}
	if used, maxBytes := store.L1Cost(); s.L1 == nil || s.L1.MaxBytes != maxBytes || s.L1.UsedBytes != used || used == 0 {
		t.Errorf("L1 = %+v; want %d of %d bytes (not 0)", s.L1, used, maxBytes)
	}
	if s.Bus == nil || !s.Bus.Enabled || len(s.Bus.Subscriptions) != 2 {
		t.Errorf("Bus = %+v; want on, with the 2 namespaces' subscriptions", s.Bus)
	}
	want := store.TypeStats()
	if len(s.Types) != len(want) || len(want) != 2 {
		t.Fatalf("Types = %d; want %d (2)", len(s.Types), len(want))
	}
	for i, ts := range s.Types {
		w := want[i]
		if ts.TypeStats != w || ts.Namespace != names[i] {
			t.Errorf("Types[%d] = %+v; want %+v", i, ts.TypeStats, w)
		}
		if ts.Reads != w.Reads() || ts.P50 != w.ReadLatency.Quantile(0.5) || ts.P99 != w.ReadLatency.Quantile(0.99) || ts.P99 == 0 {
			t.Errorf("Types[%d]: reads %d, p50 %v, p99 %v; want %d, %v, %v (not 0)", i, ts.Reads, ts.P50, ts.P99, w.Reads(), w.ReadLatency.Quantile(0.5), w.ReadLatency.Quantile(0.99))
		}
	}
	if a := s.Types[0]; a.L1Hits != 6 || a.L2Hits != 2 || a.SourceHits != 4 || a.Failed != 1 || a.NotFound != 2 || a.Loads != 5 || a.LoadErrors != 1 {
		t.Errorf("Types[0] = %+v; want the script's 6 L1, 2 L2, 4 source, 1 failed, 2 not found, 5 loads, 1 load error", a.TypeStats)
	}
	if q := snap.Queues[0]; q.Name != "carts" || q.Depth != 7 || q.Oldest != 1500*time.Millisecond {
		t.Errorf("queue = %+v; want carts, 7, 1.5s", q)
	}
}

// TestHTML checks the page as served: every bar segment of the chart
// carries the count of its tier, and the tables name the figures.
func TestHTML(t *testing.T) {
	store, reg, names := trafficStore(t)
	srv := httptest.NewServer(debugpage.New(debugpage.Config{Registry: reg, Refresh: 2 * time.Second}))
	defer srv.Close()
	page, h := fetch(t, srv.URL, "text/html")
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q; want text/html", ct)
	}
	checkPage(t, page, store, names)
	if !strings.Contains(page, `<meta http-equiv="refresh" content="2">`) {
		t.Errorf("page has no 2 s meta refresh")
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("page has a script or an external reference")
	}
}

// segmentRE matches a bar segment of the chart, in the attribute order
// the template writes (which a browser's serialization keeps).
var segmentRE = regexp.MustCompile(`<g class="row" data-label="([^"]*)" data-total="(\d+)">|<rect class="(\w+)" data-tier="(\w+)" data-count="(\d+)"`)

// bars reads the chart of a page (as served, or as a browser's DOM): each
// row's label, total and counts by tier.
func bars(t *testing.T, page string) map[string]map[string]uint64 {
	t.Helper()
	out := map[string]map[string]uint64{}
	var row map[string]uint64
	for _, m := range segmentRE.FindAllStringSubmatch(page, -1) {
		if m[1] != "" {
			row = map[string]uint64{}
			out[m[1]] = row
			row["total"], _ = strconv.ParseUint(m[2], 10, 64)
			continue
		}
		if row == nil || m[3] != m[4] {
			t.Fatalf("segment %q outside a row or with a class other than its tier", m[0])
		}
		row[m[4]], _ = strconv.ParseUint(m[5], 10, 64)
	}
	return out
}

// checkPage checks a page's chart and type table against the Store.
func checkPage(t *testing.T, page string, store *tier.Store, names [2]string) {
	t.Helper()
	got := bars(t, page)
	st := store.Stats()
	want := map[string]map[string]uint64{
		"all reads (Store)": {"l1": st.L1Hits, "l2": st.L2Hits, "miss": st.L2Misses, "total": st.L1Hits + st.L2Hits + st.L2Misses},
	}
	for i, ts := range store.TypeStats() {
		want[names[i]+"/item"] = map[string]uint64{"l1": ts.L1Hits, "l2": ts.L2Hits, "source": ts.SourceHits, "none": ts.Failed, "total": ts.Reads()}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chart bars = %v; want %v", got, want)
	}
	for _, ts := range store.TypeStats() {
		row := fmt.Sprintf(`<tr data-namespace="%s" data-entity="%s"><td>%s/%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td>`,
			ts.Namespace, ts.Entity, ts.Namespace, ts.Entity, ts.Reads(), ts.L1Hits, ts.L2Hits, ts.SourceHits, ts.Failed, ts.NotFound)
		if !strings.Contains(page, row) {
			t.Errorf("page lacks the row of %s: %s", ts.Namespace, row)
		}
	}
	// Most of the second type's reads are L1 hits, not timed: its median is
	// shown as such, not interpolated.
	for _, s := range []string{`data-field="breaker">closed<`, `data-field="depth">7<`, `data-field="oldest">1.5s<`, "subscribed", "p99",
		`<td data-field="p50">≤ 1µs</td>`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// TestMethodNotAllowed checks that the page answers only GET and HEAD.
func TestMethodNotAllowed(t *testing.T) {
	srv := httptest.NewServer(debugpage.New(debugpage.Config{}))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %s, Allow %q; want 405, GET, HEAD", resp.Status, resp.Header.Get("Allow"))
	}
	page, _ := fetch(t, srv.URL, "")
	if !strings.Contains(page, "No Store registered") {
		t.Errorf("empty Registry: page does not say so")
	}
}

// TestClosedStore checks that a closed Store is shown as such, with its
// final counters and without L1 or bus (released with it).
func TestClosedStore(t *testing.T) {
	store, reg, _ := trafficStore(t)
	want := store.Stats().L1Hits
	store.Close()
	snap := debugpage.Take(reg)
	s := snap.Stores[0]
	if !s.Closed || s.L1 != nil || s.Bus != nil || s.Stats.L1Hits != want {
		t.Errorf("closed Store: Closed %v, L1 %v, Bus %v, L1Hits %d; want true, nil, nil, %d", s.Closed, s.L1, s.Bus, s.Stats.L1Hits, want)
	}
	srv := httptest.NewServer(debugpage.New(debugpage.Config{Registry: reg}))
	defer srv.Close()
	if page, _ := fetch(t, srv.URL, ""); !strings.Contains(page, `data-field="closed"`) || strings.Contains(page, `data-field="l1"`) {
		t.Errorf("page of a closed Store does not say it is closed, or shows its L1")
	}
}
