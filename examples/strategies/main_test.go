package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache/debugpage"
)

// TestRun runs the example end to end on SQLite and its own redis-server,
// with a short workload, and checks the report.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	if err := run(ctx, config{ops: 2000, workers: 4, out: &out, progress: &progress}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	report := out.String()
	if !strings.Contains(report, "2000 operations by 4 clients") || !strings.Contains(report, "against sqlite") {
		t.Errorf("report header missing:\n%s", report)
	}
	if progress.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q; want nothing", progress.String())
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(report, "\n") {
		f := strings.Fields(line)
		if len(f) == 15 {
			rows[f[0]] = f
		}
	}
	var reads, l1 int
	for name, strat := range map[string]string{"products": "cache-aside", "profiles": "write-through", "carts": "write-behind", "rates": "refresh-ahead"} {
		f, ok := rows[name]
		if !ok {
			t.Errorf("no report line for %s:\n%s", name, report)
			continue
		}
		if got := f[len(f)-1]; got != strat {
			t.Errorf("%s uses %s; want %s", name, got, strat)
		}
		n := make([]int, 10)
		for i := range n {
			n[i], _ = strconv.Atoi(f[i])
		}
		r, hits, l2, shared, source, queue, dbReads, refreshes := n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8]
		if sum := hits + l2 + shared + source + queue; sum != r {
			t.Errorf("%s: L1 %d + L2 %d + shared %d + source %d + queue %d = %d; want reads %d", name, hits, l2, shared, source, queue, sum, r)
		}
		if source+refreshes != dbReads {
			t.Errorf("%s: source %d + refreshes %d; want db reads %d", name, source, refreshes, dbReads)
		}
		if r == 0 || dbReads == 0 {
			t.Errorf("%s: reads %d, db reads %d; want both above 0", name, r, dbReads)
		}
		for _, col := range []int{10, 11, 12, 13} {
			if _, err := time.ParseDuration(f[col]); err != nil {
				t.Errorf("%s: column %d = %q; want a latency: %v", name, col, f[col], err)
			}
		}
		reads += r
		l1 += hits
	}
	// Write-behind coalesces writes of one cart: fewer database writes than Sets.
	if f := rows["carts"]; f != nil {
		if w, _ := strconv.Atoi(f[9]); w == 0 {
			t.Errorf("carts: no database writes after the flush:\n%s", report)
		}
	}
	if l1*2 < reads {
		t.Errorf("L1 answered %d of %d reads; want most of them under a Zipf workload", l1, reads)
	}
	if !strings.Contains(report, "reads = L1 + L2 + shared + source + queue") {
		t.Errorf("report does not say how its columns add up:\n%s", report)
	}
}

func TestRunRejectsEmptyWorkload(t *testing.T) {
	if err := run(context.Background(), config{ops: 0, workers: 1, out: io.Discard, progress: io.Discard}); err == nil {
		t.Error("run with 0 ops succeeded; want an error")
	}
}

// TestRunDebugPage runs the example with a debug address: after the report
// the debug page serves the final figures until the context ends, with one
// Store per data type whose reads are the report's, and the carts'
// write-behind queue, drained.
func TestRunDebugPage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	lingering := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{ops: 1000, workers: 4, out: &out, progress: io.Discard,
			debugAddr: "127.0.0.1:0", lingering: func(addr string) { lingering <- addr }})
	}()
	var addr string
	select {
	case addr = <-lingering:
	case err := <-done:
		t.Fatalf("run returned before serving the page: %v\n%s", err, out.String())
	}
	reads := map[string]uint64{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) == 15 {
			reads[f[0]], _ = strconv.ParseUint(f[1], 10, 64)
		}
	}

	resp, err := http.Get("http://" + addr + "/debug/tiercache?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var snap debugpage.Snapshot
	err = json.NewDecoder(resp.Body).Decode(&snap)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("debug page JSON: %v", err)
	}
	if len(snap.Stores) != 4 {
		t.Fatalf("debug page shows %d Stores; want 4", len(snap.Stores))
	}
	for _, s := range snap.Stores {
		if len(s.Types) != 1 || s.Types[0].Namespace != "shop" || s.Types[0].Entity != s.Name {
			t.Errorf("Store %s: types %+v; want the one data type shop/%s", s.Name, s.Types, s.Name)
			continue
		}
		if !s.Closed {
			t.Errorf("Store %s is not shown closed after the report", s.Name)
		}
		if got, want := s.Types[0].Reads, reads[s.Name]; got != want || want == 0 {
			t.Errorf("Store %s: the page counts %d reads; the report %d (want equal, not 0)", s.Name, got, want)
		}
	}
	if len(snap.Queues) != 1 || snap.Queues[0].Name != "carts" || snap.Queues[0].Depth != 0 {
		t.Errorf("queues = %+v; want carts, drained", snap.Queues)
	}

	resp, err = http.Get("http://" + addr + "/debug/tiercache")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<svg class="chart"`, `data-label="shop/products"`, `data-queue="carts"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("debug page lacks %s", want)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
