package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMedian(t *testing.T) {
	f, err := os.Open("testdata/sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, unit string
		want       float64
		ok         bool
	}{
		{"Peers/L1Hit/zipf/tiercache", "ns/op", 175.0, true}, // median of three
		{"Peers/L1Hit/zipf/gocache", "allocs/op", 18, true},
		{"Peers/Mixed/zipf/L1+L2/tiercache", "l1hit%", 73.95, true},
		{"Peers/Stampede/tiercache", "loads/stampede", 1, true},
		{"Peers/Stampede/tiercache", "hit%", 0, false},
		{"Nope", "ns/op", 0, false},
	}
	for _, tt := range tests {
		got, ok := res.median(tt.name, tt.unit)
		if got != tt.want || ok != tt.ok {
			t.Errorf("median(%q, %q) = %v, %v; want %v, %v", tt.name, tt.unit, got, ok, tt.want, tt.ok)
		}
	}
	if res.cpu != "Test CPU" {
		t.Errorf("cpu = %q; want Test CPU", res.cpu)
	}
	if got := res.units("Peers/Mixed/zipf/L1+L2/tiercache"); strings.Join(got, ",") != "hit%,l1hit%" {
		t.Errorf("units = %v; want [hit%% l1hit%%]", got)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	stat := filepath.Join(dir, "stat.txt")
	if err := os.WriteFile(stat, []byte("benchstat table\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, chart := range []string{"chart.svg", "chart.png"} {
		o := options{
			raw: "testdata/sample.txt", benchstat: stat,
			md: filepath.Join(dir, "benchmarks.md"), chart: filepath.Join(dir, chart),
			command: "go test -bench .", redis: "7.0", date: "today",
		}
		if err := o.run(); err != nil {
			t.Fatalf("run: %v", err)
		}
		if fi, err := os.Stat(o.chart); err != nil || fi.Size() < 1000 {
			t.Errorf("chart %s: %v, %v; want a drawn file", chart, fi, err)
		}
		if strings.HasSuffix(chart, ".svg") {
			svg, err := os.ReadFile(o.chart)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Median time per operation", "Stampede: loads of the source", "source loads per stampede", "floor (bare ristretto / go-redis)"} {
				if !strings.Contains(string(svg), want) {
					t.Errorf("chart lacks %q", want)
				}
			}
		}
		md, err := os.ReadFile(o.md)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"| L1 hit through a Strategy vs bare ristretto Get | 162 ns | 157 ns | 1.03x | 1.50x | 0 | yes |",
			"| L1Hit/zipf | 175 ns (0) | 2.11 µs (14) | 2.46 µs (18) | 128 ns (0) | 12.06x | 14.06x |",
			"| Mixed/zipf/L1+L2 l1hit% | 73.95 |  |  |",
			"| stampede: 1000 readers on 4 Stores, one missing key | 1 loads |",
			"## Strategies\n\n_Not in this run yet",
			"| HTTP/Hit/tiercache | 5 µs | 3 | 10 |",
			"![tiercache vs peers](" + chart + ")",
			"```text\nbenchstat table\n```",
			"| Redis | 7.0 (loopback) |",
		} {
			if !strings.Contains(string(md), want) {
				t.Errorf("report lacks %q", want)
			}
		}
	}
}

func TestRunNoResults(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("PASS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := options{raw: empty, md: filepath.Join(dir, "b.md"), chart: filepath.Join(dir, "c.svg")}
	if err := o.run(); err == nil {
		t.Error("run on an output without results succeeded; want an error")
	}
}
