package main

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
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
	if !strings.Contains(progress.String(), "100%") {
		t.Errorf("progress bar never reached 100%%: %q", progress.String())
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(report, "\n") {
		f := strings.Fields(line)
		if len(f) >= 9 {
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
		r, _ := strconv.Atoi(f[1])
		h, _ := strconv.Atoi(f[2])
		dbReads, _ := strconv.Atoi(f[4])
		if r == 0 || dbReads == 0 || dbReads > r {
			t.Errorf("%s: reads %d, db reads %d; want 0 < db reads <= reads", name, r, dbReads)
		}
		reads += r
		l1 += h
	}
	// Write-behind coalesces writes of one cart: fewer database writes than Sets.
	if f := rows["carts"]; f != nil {
		if w, _ := strconv.Atoi(f[5]); w == 0 {
			t.Errorf("carts: no database writes after the flush:\n%s", report)
		}
	}
	if l1*2 < reads {
		t.Errorf("L1 answered %d of %d reads; want most of them under a Zipf workload", l1, reads)
	}
}

func TestRunRejectsEmptyWorkload(t *testing.T) {
	if err := run(context.Background(), config{ops: 0, workers: 1, out: io.Discard, progress: io.Discard}); err == nil {
		t.Error("run with 0 ops succeeded; want an error")
	}
}
