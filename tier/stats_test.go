package tier

import (
	"reflect"
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestCountersMirrorStats checks that every uint64 field of Stats has a
// live counter of the same name (first letter lower case) and the other way
// round, and that snapshot copies each counter into its own field.
func TestCountersMirrorStats(t *testing.T) {
	var c counters
	live := reflect.ValueOf(&c).Elem()
	want := map[string]uint64{}
	n := uint64(0)
	for i := range live.NumField() {
		f := live.Type().Field(i)
		if f.Type != reflect.TypeFor[atomic.Uint64]() {
			continue
		}
		n++
		(*atomic.Uint64)(unsafe.Pointer(live.Field(i).UnsafeAddr())).Store(n)
		want[exportedName(f.Name)] = n
	}
	st := c.snapshot()
	out := reflect.ValueOf(st)
	for i := range out.NumField() {
		f := out.Type().Field(i)
		if f.Type.Kind() != reflect.Uint64 {
			continue
		}
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("Stats.%s has no live counter %s", f.Name, f.Name)
			continue
		}
		delete(want, f.Name)
		if got := out.Field(i).Uint(); got != w {
			t.Errorf("snapshot().%s = %d; want %d", f.Name, got, w)
		}
	}
	for name := range want {
		t.Errorf("live counter of %s has no Stats field", name)
	}
	if off := unsafe.Offsetof(c.l1Misses) - unsafe.Offsetof(c.l1Hits); off < 64 {
		t.Errorf("l1Hits shares a cache line with l1Misses (offset %d); want >= 64", off)
	}
}
