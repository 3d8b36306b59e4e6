package metrics_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// TestTypeCountersCoverTypeStats checks that every counter of
// tier.TypeStats is exported by a row that reads it and only it (less
// LoadErrors for the ok loads), with a family of its own: "type_" names,
// none shared with a Store's families.
func TestTypeCountersCoverTypeStats(t *testing.T) {
	storeFamilies := map[string]bool{}
	for _, c := range metrics.Counters() {
		storeFamilies[c.Name] = true
	}
	rows := metrics.TypeCounters()
	typ := reflect.TypeFor[tier.TypeStats]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type.Kind() != reflect.Uint64 {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			var zero, s tier.TypeStats
			reflect.ValueOf(&s).Elem().Field(i).SetUint(1 << 40)
			var readers []string
			for _, r := range rows {
				if r.Value(&s) != r.Value(&zero) {
					readers = append(readers, r.Name+"{"+r.Tier+","+r.Result+"}")
				}
			}
			switch {
			case f.Name == "LoadErrors" && len(readers) == 2: // loads{ok} excludes them
			case len(readers) != 1:
				t.Errorf("tier.TypeStats.%s is read by %v; want one row", f.Name, readers)
			}
		})
	}
	for _, r := range rows {
		if !strings.HasPrefix(r.Name, "type_") || !strings.HasSuffix(r.Name, "_total") || storeFamilies[r.Name] {
			t.Errorf("family %s: want a type_..._total name of its own", r.Name)
		}
		if r.Help == "" {
			t.Errorf("family %s has no help", r.Name)
		}
	}
	var reads uint64
	s := tier.TypeStats{L1Hits: 1, L2Hits: 20, SourceHits: 300, Failed: 4000, Loads: 10, LoadErrors: 3}
	for _, r := range rows {
		switch {
		case r.Name == "type_reads_total":
			reads += r.Value(&s)
		case r.Name == "type_loads_total" && r.Result == "ok":
			if got := r.Value(&s); got != 7 {
				t.Errorf("type_loads_total{ok} = %d; want Loads - LoadErrors = 7", got)
			}
		}
	}
	if reads != s.Reads() {
		t.Errorf("type_reads_total sums to %d; want Reads() = %d", reads, s.Reads())
	}
}

// TestLatencyBucketsSeconds checks the exported bounds against
// tier.LatencyBound.
func TestLatencyBucketsSeconds(t *testing.T) {
	b := metrics.LatencyBucketsSeconds()
	if len(b) != tier.LatencyBuckets-1 || b[0] != 1e-6 || b[len(b)-1] != 10 {
		t.Errorf("LatencyBucketsSeconds() = %v; want %d bounds from 1e-6 to 10", b, tier.LatencyBuckets-1)
	}
}
