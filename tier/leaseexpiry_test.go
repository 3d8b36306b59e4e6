package tier

import (
	"testing"
	"time"
)

// TestExpiredLeaseTakenOver: a lease older than the life it declares (its
// holder crashed, or it was planted with a Redis TTL far beyond
// FillLockTTL) does not stall readers: the first reader takes it over
// (replacing exactly that lease), loads at once and fills the key, instead
// of waiting FillWait and caching nothing.
func TestExpiredLeaseTakenOver(t *testing.T) {
	cases := []struct {
		name   string
		marked bool          // the lease is marked as waited for
		life   time.Duration // what is left of its declared life when read
	}{
		{"expired", false, -9 * time.Second},
		{"expired, marked as waited for", true, -9 * time.Second},
		{"expires while waited for", false, 300 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const fillWait = 5 * time.Second
			s := newStore(t, Config{FillWait: fillWait})
			ctx := ctxT(t)
			rdb := s.Redis()
			key := testKey(t)
			now := time.Now()
			planted := appendEnvelope(nil, envelope{format: envelopeV1, flags: flagLease, createdAt: now.Add(-time.Second), freshUntil: now.Add(c.life), payload: []byte("a crashed holder's token")})
			if c.marked {
				planted[2] = 1
			}
			if err := rdb.Set(ctx, key, planted, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			l := constLoader("loaded")
			start := time.Now()
			r, err := s.Get(ctx, key, nil, l.load)
			if err != nil || r.Value != "loaded" {
				t.Fatalf("Get = %v, %v; want loaded", r.Value, err)
			}
			if took := time.Since(start); took > fillWait/2 {
				t.Errorf("Get took %v behind an expired lease; want it to take the lease over at once (FillWait %v)", took, fillWait)
			}
			s.fills.Wait()
			env, err := decodeEnvelope(rawGet(t, rdb, key))
			if err != nil || env.lease() {
				t.Errorf("key holds %+v, %v after the read; want the loaded value filled", env, err)
			}
			if st := s.Stats(); st.LeasesTaken != 1 || l.calls.Load() != 1 {
				t.Errorf("LeasesTaken, loads = %d, %d; want 1, 1", st.LeasesTaken, l.calls.Load())
			}
		})
	}
}
