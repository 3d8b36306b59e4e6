// Command benchreport turns the output of tiercache's benchmark run into
// docs/benchmarks.md (targets, ratios, peer tables, benchstat) and a chart.
// bench/run.sh runs it; by hand:
//
//	go run ./bench/cmd/benchreport -raw docs/bench/raw.txt -benchstat docs/bench/benchstat.txt \
//	    -md docs/benchmarks.md -chart docs/benchmarks.svg
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.raw, "raw", "docs/bench/raw.txt", "go test -bench output")
	flag.StringVar(&o.benchstat, "benchstat", "docs/bench/benchstat.txt", "benchstat output of the same run (optional)")
	flag.StringVar(&o.md, "md", "docs/benchmarks.md", "markdown report to write")
	flag.StringVar(&o.chart, "chart", "docs/benchmarks.svg", "chart to write (.svg or .png)")
	flag.StringVar(&o.command, "command", "go test -run '^$' -bench . -benchmem -count 5 ./bench/", "the command that produced -raw")
	flag.StringVar(&o.redis, "redis", "", "redis-server version")
	flag.StringVar(&o.date, "date", "", "when the run was made")
	flag.StringVar(&o.notes, "notes", "", "hand-written markdown spliced in after the targets (optional)")
	flag.Parse()
	if err := o.run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

type options struct {
	raw, benchstat, md, chart, command, redis, date, notes string
}

func (o options) run() error {
	f, err := os.Open(o.raw)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		return err
	}
	if len(res.names) == 0 {
		return fmt.Errorf("%s: no benchmark results", o.raw)
	}
	var stat []byte
	if o.benchstat != "" {
		if stat, err = os.ReadFile(o.benchstat); err != nil {
			return err
		}
	}
	if err := drawChart(res, peerGroups(), o.chart); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	chartRel, err := filepath.Rel(filepath.Dir(o.md), o.chart)
	if err != nil {
		chartRel = o.chart
	}
	var notes []byte
	if o.notes != "" {
		if notes, err = os.ReadFile(o.notes); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	writeReport(&b, res, report{
		command: o.command, chart: filepath.ToSlash(chartRel), benchstat: string(stat),
		notes: string(notes), goVersion: runtime.Version(), nproc: runtime.NumCPU(), cpuModel: cpuModel(), redis: o.redis, date: o.date,
	})
	return os.WriteFile(o.md, b.Bytes(), 0o644)
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// report is what the markdown needs besides the results.
type report struct {
	command, chart, benchstat, notes string
	goVersion, cpuModel, redis, date string
	nproc                            int
}

// target is one row of the targets table: a benchmark against its floor.
type target struct {
	what, name, floor string
	max               float64 // the ratio not to exceed
	zeroAllocs        bool
}

var targets = []target{
	{"L1 hit through a Strategy vs bare ristretto Get", "Tier/L1Hit/tiercache", "Tier/L1Hit/ristretto", 1.0, true},
	{"L2 hit (L1 disabled) vs go-redis GET + msgpack decode", "Tier/L2Hit/tiercache", "Tier/L2Hit/go-redis+msgpack", 1.10, false},
	{"L2 hit (L1 cleared before each read) vs the same floor", "Tier/L2Hit/tiercache-L1cleared", "Tier/L2Hit/go-redis+msgpack", 1.10, false},
	{"L2 hit, 32 callers (L1 disabled) vs go-redis GET + decode, 32 callers", "Tier/L2HitParallel/tiercache", "Tier/L2HitParallel/go-redis", 1.10, false},
	{"L2 hit, 32 callers (L1 cleared) vs the same floor", "Tier/L2HitParallel/tiercache-L1cleared", "Tier/L2HitParallel/go-redis", 1.10, false},
	{"Set with the invalidation bus on vs a bare go-redis SET of the same bytes", "Tier/Set/tiercache", "Tier/Set/go-redis-raw", 1.15, false},
	{"Set, 32 callers, vs a bare SET, 32 callers", "Tier/SetParallel/tiercache", "Tier/SetParallel/go-redis-raw", 1.15, false},
}

// fasterRows are the paths on which tiercache must beat every peer that
// ran them: Peers/<path>/<lib>, or Tier/<path>/<lib> for the parallel ones.
var fasterRows = []string{
	"Peers/L2Hit/uniform", "Peers/L2Hit/zipf", "Peers/MissLoad/L1+L2", "Peers/Set/L1+L2",
	"Tier/L2HitParallel", "Tier/MissLoadParallel", "Tier/SetParallel",
}

// cacheLibs are the peers that are caches (the bare clients are floors).
var cacheLibs = []string{"go-redis-cache", "gocache", "rueidis-csc", "go-redis-csc"}

// peerRows are the peer table's paths, each with its floor (if any).
var peerRows = []struct{ path, floor string }{
	{"L1Hit/uniform", "ristretto"}, {"L1Hit/zipf", "ristretto"},
	{"L2Hit/uniform", "go-redis"}, {"L2Hit/zipf", "go-redis"},
	{"MissLoad/L1", ""}, {"MissLoad/L2", ""}, {"MissLoad/L1+L2", ""},
	{"Set/L1", ""}, {"Set/L2", ""}, {"Set/L1+L2", ""},
	{"Mixed/uniform/L1", ""}, {"Mixed/uniform/L2", ""}, {"Mixed/uniform/L1+L2", ""},
	{"Mixed/zipf/L1", ""}, {"Mixed/zipf/L2", ""}, {"Mixed/zipf/L1+L2", ""},
	{"Workload", ""}, {"Stampede", ""}, {"Invalidation", ""},
}

var peerLibs = []string{"tiercache", "go-redis-cache", "gocache", "rueidis-csc", "go-redis-csc", "rueidis", "go-redis"}

// laterSections are the sections other benchmark files fill: benchmarks
// whose names start with one of the prefixes are listed there.
var laterSections = []struct {
	title, issue string
	prefixes     []string
}{
	{"Strategies", "the strategies (write-through, write-behind, refresh-ahead)", []string{"Strategy", "Strategies", "WriteBehind", "WriteThrough", "RefreshAhead"}},
	{"Coherence", "coherence (invalidation bus, fill lock, breaker)", []string{"Coherence", "Invalidation", "Bus", "ReadBreaker", "Breaker"}},
	{"HTTP middleware", "the HTTP middleware", []string{"HTTP", "Middleware"}},
}

func writeReport(w io.Writer, res *results, r report) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Benchmarks\n\n")
	p("<!-- Generated by bench/cmd/benchreport from the output of bench/run.sh: edit those, not this file. -->\n\n")
	p("Regenerate everything on this page (raw output, benchstat, tables, chart) with one command:\n\n")
	p("```sh\nbash bench/run.sh      # or: bash bench/run.sh 1   for a single count\n```\n\n")
	p("which runs\n\n```sh\n%s\n```\n\n", r.command)
	p("against a redis-server the benchmark harness starts on 127.0.0.1 (persistence off), then benchstat ")
	p("(`go install golang.org/x/perf/cmd/benchstat@latest`), then this report. Raw output: [bench/raw.txt](bench/raw.txt), ")
	p("benchstat: [bench/benchstat.txt](bench/benchstat.txt).\n\n")

	p("## Machine\n\n| | |\n|---|---|\n")
	p("| Go | %s |\n| CPUs (`nproc`) | %d |\n| CPU model (/proc/cpuinfo) | %s |\n", r.goVersion, r.nproc, r.cpuModel)
	if res.cpu != "" {
		p("| CPU (go test) | %s |\n", res.cpu)
	}
	if r.redis != "" {
		p("| Redis | %s (loopback) |\n", r.redis)
	}
	if r.date != "" {
		p("| run | %s |\n", r.date)
	}
	p("\nA shared virtual machine: expect a few percent of noise between runs; the ratios below compare benchmarks of the same run.\n\n")

	p("## Targets\n\nThe targets tiercache holds itself to; medians of the run's counts.\n\n")
	p("| target | tiercache | floor | ratio | limit | allocs/op | met |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, t := range targets {
		ns, ok1 := res.median(t.name, "ns/op")
		floor, ok2 := res.median(t.floor, "ns/op")
		if !ok1 || !ok2 {
			continue
		}
		allocs, _ := res.median(t.name, "allocs/op")
		ratio := ns / floor
		met := ratio <= t.max && (!t.zeroAllocs || allocs == 0)
		p("| %s | %s | %s | %.2fx | %.2fx | %g | %s |\n", t.what, dur(ns), dur(floor), ratio, t.max, allocs, yesNo(met))
	}
	if ns, ok := res.median("Tier/MissLoad/tiercache-L1+L2", "ns/op"); ok {
		p("| miss + load (L1+L2; one SET NX GET, the load, the fill after) | %s | | | | %g | |\n", dur(ns), must(res.median("Tier/MissLoad/tiercache-L1+L2", "allocs/op")))
	}
	for _, path := range fasterRows {
		tc, ok := res.median(path+"/tiercache", "ns/op")
		if !ok {
			continue
		}
		for _, lib := range cacheLibs {
			peer, ok := res.median(path+"/"+lib, "ns/op")
			if !ok {
				continue
			}
			p("| faster than %s on %s | %s | %s (%s) | %.2fx | < 1x | | %s |\n", lib, path, dur(tc), dur(peer), lib, tc/peer, yesNo(tc < peer))
		}
	}
	if ops, ok := res.median("Peers/Workload/tiercache", "ops/s"); ok {
		bestOps, bestP99, bestLib := 0.0, 0.0, ""
		for _, lib := range peerLibs[1:] {
			if v, ok := res.median("Peers/Workload/"+lib, "ops/s"); ok && v > bestOps {
				bestOps, bestLib = v, lib
			}
			if v, ok := res.median("Peers/Workload/"+lib, "p99-µs"); ok && (bestP99 == 0 || v < bestP99) {
				bestP99 = v
			}
		}
		p99, _ := res.median("Peers/Workload/tiercache", "p99-µs")
		p("| workload (95/5, Zipf 1.1, 100k keys, 32 callers): ops/s at least the best peer's | %.4g ops/s | %.4g ops/s (%s) | %.2fx | >= 1x | | %s |\n", ops, bestOps, bestLib, ops/bestOps, yesNo(ops >= bestOps))
		p("| workload: p99 at most the best peer's | %.4g µs | %.4g µs | %.2fx | <= 1x | | %s |\n", p99, bestP99, p99/bestP99, yesNo(p99 <= bestP99))
	}
	if v, ok := res.median("Peers/Stampede/tiercache", "loads/stampede"); ok {
		p("| stampede: %d readers on %d Stores, one missing key, 50 ms load | %g loads | | | 1 load | | %s |\n", 1000, 4, v, yesNo(v == 1))
	}
	if v, ok := res.median("Peers/Stampede/tiercache", "rtt/loser"); ok {
		p("| stampede: Redis round trips per instance that lost the lease | %.3g | | | 3 | | %s |\n", v, yesNo(v <= 3))
	}
	if v, ok := res.median("Peers/Stampede/tiercache", "last-reader-µs"); ok {
		p("| stampede: last reader served after the load returned (fill included) | %.4g µs | | | 1000 µs | | %s |\n", v, yesNo(v <= 1000))
	}
	for _, size := range []string{"100B", "10KiB"} {
		if v, ok := res.median("Tier/L1Memory/"+size, "heap/maxcost"); ok {
			p("| L1 memory, %s values: heap held by an L1 nine tenths full / L1MaxCostBytes | %.3gx | | | 1.5x | | %s |\n", size, v, yesNo(v <= 1.5))
		}
	}
	p("\n")

	if r.notes != "" {
		p("%s\n", strings.TrimRight(r.notes, "\n")+"\n")
	}

	p("## Peers\n\n")
	p("tiercache (a `strategy.CacheAside`) against [go-redis/cache](https://github.com/go-redis/cache) v9 and ")
	p("[eko/gocache](https://github.com/eko/gocache) v4, each set up as its README recommends (see bench/subjects_test.go): ")
	p("go-redis/cache with a TinyLFU local cache and `Once` for read-through; gocache with a chain of a ristretto store and a Redis ")
	p("store, its loadable cache for read-through and its msgpack marshaler for typed values. Same ~300-byte Product, same Redis, ")
	p("same key sequences. Floors: a bare ristretto `Get` and a bare go-redis `GET` plus msgpack decode.\n\n")
	p("![tiercache vs peers](%s)\n\n", r.chart)
	p("Left: the median time per operation of each path, on a log scale. Right: the source loads per stampede ")
	p("(the same missing key asked for by many readers on several instances at once), and under each name the median time of a stampede.\n\n")
	p("Median ns/op (allocs/op); the last columns are how many times slower the peer is than tiercache (above 1: tiercache is faster).\n\n")
	p("| path | %s | floor | %s |\n|---|%s\n", strings.Join(peerLibs, " | "), strings.Join(ratioHeads(), " | "), strings.Repeat("---:|", 2*len(peerLibs)))
	for _, row := range peerRows {
		base := "Peers/" + row.path + "/"
		tc, ok := res.median(base+"tiercache", "ns/op")
		if !ok {
			continue
		}
		cells := []string{row.path}
		for _, lib := range peerLibs {
			cells = append(cells, cell(res, base+lib))
		}
		if row.floor != "" {
			cells = append(cells, cell(res, base+row.floor))
		} else {
			cells = append(cells, "")
		}
		for _, lib := range peerLibs[1:] {
			if v, ok := res.median(base+lib, "ns/op"); ok {
				cells = append(cells, fmt.Sprintf("%.2fx", v/tc))
			} else {
				cells = append(cells, "")
			}
		}
		p("| %s |\n", strings.Join(cells, " | "))
	}
	p("\nMetrics besides time (medians):\n\n| benchmark | %s |\n|---|%s\n", strings.Join(peerLibs, " | "), strings.Repeat("---|", len(peerLibs)))
	for _, row := range peerRows {
		base := "Peers/" + row.path + "/"
		units := res.units(base + "tiercache")
		for _, u := range units {
			if u == "loads/op" {
				continue // 1 by construction
			}
			cells := []string{row.path + " " + u}
			for _, lib := range peerLibs {
				if v, ok := res.median(base+lib, u); ok {
					cells = append(cells, fmt.Sprintf("%.4g", v))
				} else {
					cells = append(cells, "")
				}
			}
			p("| %s |\n", strings.Join(cells, " | "))
		}
	}
	p("\n`hit%%` is the share of reads not loaded from the source; `l1hit%%` the share that did not reach Redis (client GETs, counted by ")
	p("the server, over reads); each library's L1 holds a tenth of the mixed workload's 10,000 keys (tiercache: in bytes; the peers: in items), ")
	p("and 10%% of its operations are writes. `loads/stampede` counts source loads when 1,000 readers on 4 instances sharing one Redis ask for one ")
	p("missing key at once (the source takes 50 ms); `rtt/loser` the Redis round trips of each instance that did not load; `last-reader-µs` the time from the load returning to the last reader having its value.\n\n")

	for _, s := range laterSections {
		p("## %s\n\n", s.title)
		var names []string
		for _, n := range res.names {
			for _, pre := range s.prefixes {
				if strings.HasPrefix(n, pre) {
					names = append(names, n)
					break
				}
			}
		}
		if len(names) == 0 {
			p("_Not in this run yet: the benchmarks of %s are merged here by the lead; bench/run.sh lists them in this section automatically._\n\n", s.issue)
			continue
		}
		p("| benchmark | ns/op | B/op | allocs/op | other |\n|---|---:|---:|---:|---|\n")
		for _, n := range names {
			ns, _ := res.median(n, "ns/op")
			bop, _ := res.median(n, "B/op")
			al, _ := res.median(n, "allocs/op")
			var other []string
			for _, u := range res.units(n) {
				v, _ := res.median(n, u)
				other = append(other, fmt.Sprintf("%.4g %s", v, u))
			}
			p("| %s | %s | %g | %g | %s |\n", n, dur(ns), bop, al, strings.Join(other, ", "))
		}
		p("\n")
	}

	if r.benchstat != "" {
		p("## benchstat\n\n```text\n%s```\n", r.benchstat)
	}
}

// ratioHeads are the peer table's ratio column heads.
func ratioHeads() []string {
	var h []string
	for _, lib := range peerLibs[1:] {
		h = append(h, lib+" / tiercache")
	}
	return h
}

func cell(res *results, name string) string {
	ns, ok := res.median(name, "ns/op")
	if !ok {
		return ""
	}
	al, _ := res.median(name, "allocs/op")
	return fmt.Sprintf("%s (%g)", dur(ns), al)
}

// dur formats nanoseconds with three significant digits.
func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func must(v float64, _ bool) float64 { return v }
