// Command strategies caches four data types of a shop, each with the
// strategy that suits it, in front of a real database: SQLite (embedded,
// pure Go) by default, or PostgreSQL when DATABASE_URL is set. It runs a
// short mixed workload (with a progress bar on a terminal) and prints, per
// data type, what answered each read (L1, L2, a shared load, the database,
// the write-behind queue), the database reads and writes, and the p50/p99
// latency of reads and of writes.
//
//	go run ./examples/strategies                      # SQLite in a temp dir, its own redis-server
//	DATABASE_URL=postgres://root@127.0.0.1:5432/test go run ./examples/strategies
//
// It uses the Redis at REDIS_URL, or starts its own redis-server when one is
// on PATH, or else runs with L1 only and says so.
//
// With -debug-addr, the live debug page of its Stores and write-behind queue
// (package debugpage) is served there, at /debug/tiercache, during the
// workload and, with the final figures, after the report until interrupted:
//
//	go run ./examples/strategies -debug-addr 127.0.0.1:6060
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg := config{out: os.Stdout, progress: os.Stderr}
	flag.IntVar(&cfg.ops, "ops", 20000, "operations in the workload")
	flag.IntVar(&cfg.workers, "workers", 8, "concurrent clients")
	flag.StringVar(&cfg.debugAddr, "debug-addr", "", "address to serve the debug page on, at /debug/tiercache, until interrupted (empty: none)")
	flag.Parse()
	cfg.databaseURL = os.Getenv("DATABASE_URL")
	cfg.redisURL = os.Getenv("REDIS_URL")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.debugAddr == "" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "strategies:", err)
		os.Exit(1)
	}
}

// config is what a run needs; tests build it directly.
type config struct {
	ops, workers int
	databaseURL  string    // empty: SQLite in a temporary directory
	redisURL     string    // empty: start a redis-server
	out          io.Writer // the report
	progress     io.Writer // the progress bar
	// debugAddr is the address of the debug page; empty: none. With it,
	// run serves the page after the report until ctx ends.
	debugAddr string
	// lingering, when set, is called with the debug page's address once
	// the report is written and run waits for ctx to end.
	lingering func(debugAddr string)
}
