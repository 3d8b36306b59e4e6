package main

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
)

// results holds the runs of each benchmark of a `go test -bench` output,
// in the order they first appear.
type results struct {
	names []string
	runs  map[string][]map[string]float64 // name -> one map of unit -> value per run
	cpu   string                          // the "cpu:" line
}

// parse reads a `go test -bench` output. Names lose their "Benchmark" prefix
// and their "-GOMAXPROCS" suffix.
func parse(r io.Reader) (*results, error) {
	res := &results{runs: map[string][]map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			res.cpu = strings.TrimSpace(v)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		run := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			run[f[i+1]] = v
		}
		if _, ok := res.runs[name]; !ok {
			res.names = append(res.names, name)
		}
		res.runs[name] = append(res.runs[name], run)
	}
	return res, sc.Err()
}

// median returns the median of unit over name's runs, and whether any run
// reported it.
func (r *results) median(name, unit string) (float64, bool) {
	var vs []float64
	for _, run := range r.runs[name] {
		if v, ok := run[unit]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

// units returns the custom units (besides ns/op, B/op, allocs/op) name's
// runs report, sorted.
func (r *results) units(name string) []string {
	var us []string
	for _, run := range r.runs[name] {
		for u := range run {
			switch u {
			case "ns/op", "B/op", "allocs/op":
				continue
			}
			if !slices.Contains(us, u) {
				us = append(us, u)
			}
		}
	}
	slices.Sort(us)
	return us
}
