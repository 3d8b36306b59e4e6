package tier

import (
	"fmt"
	"testing"
)

// TestL1Cost checks that L1Cost reports the bound and grows by what a set
// charges once ristretto has applied it; an L1-less Store reports zeros.
func TestL1Cost(t *testing.T) {
	s := newStore(t, Config{L1MaxCostBytes: 1 << 20})
	used, max := s.L1Cost()
	if used != 0 || max != 1<<20 {
		t.Fatalf("L1Cost() = %d, %d before any set; want 0, %d", used, max, 1<<20)
	}
	key := testKey(t)
	if err := s.Set(ctxT(t), key, sampleUser(1), &userOptions); err != nil {
		t.Fatal(err)
	}
	s.WaitL1()
	e, ok := s.l1.getKey(key)
	if !ok {
		t.Fatal("the set is not in L1")
	}
	if used, _ = s.L1Cost(); used != e.cost {
		t.Errorf("L1Cost() used = %d; want the entry's cost %d", used, e.cost)
	}
	off := newStore(t, Config{DisableL1: true})
	if used, max := off.L1Cost(); used != 0 || max != 0 {
		t.Errorf("DisableL1: L1Cost() = %d, %d; want 0, 0", used, max)
	}
}

// TestBusStatus checks that BusStatus lists a namespace's subscription,
// up, once a read of it has subscribed, and that a Store without a bus
// says so.
func TestBusStatus(t *testing.T) {
	s := newStore(t, Config{})
	if st := s.BusStatus(); !st.Enabled || len(st.Subscriptions) != 0 {
		t.Fatalf("BusStatus() = %+v before any read; want enabled, no subscriptions", st)
	}
	ns := fmt.Sprintf("bus%d", keySeq.Add(1))
	if _, err := s.Get(ctxT(t), ns+":e:1", nil, constLoader("v").load); err != nil {
		t.Fatal(err)
	}
	// The read waited for the confirmation at most L2Timeout: wait for it.
	waitFor(t, func() bool {
		st := s.BusStatus()
		return len(st.Subscriptions) == 1 && st.Subscriptions[0].Up
	})
	if st := s.BusStatus(); st.Subscriptions[0].Namespace != ns {
		t.Errorf("BusStatus() = %+v; want the subscription of %s", st, ns)
	}
	off := newStore(t, Config{DisableBus: true})
	if st := off.BusStatus(); st.Enabled || st.Subscriptions != nil {
		t.Errorf("DisableBus: BusStatus() = %+v; want the zero BusStatus", st)
	}
}

// TestClosedReported checks that Closed turns true with Close.
func TestClosedReported(t *testing.T) {
	s := newStore(t, Config{})
	if s.Closed() {
		t.Fatal("Closed() = true before Close")
	}
	s.Close()
	if !s.Closed() {
		t.Error("Closed() = false after Close")
	}
}
