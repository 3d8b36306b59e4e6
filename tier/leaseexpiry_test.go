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
	for _, marked := range []bool{false, true} {
		name := "unmarked"
		if marked {
			name = "marked as waited for"
		}
		t.Run(name, func(t *testing.T) {
			const fillWait = 5 * time.Second
			s := newStore(t, Config{FillWait: fillWait})
			ctx := ctxT(t)
			rdb := s.Redis()
			key := testKey(t)
			created := time.Now().Add(-10 * time.Second)
			planted := appendEnvelope(nil, envelope{format: envelopeV1, flags: flagLease, createdAt: created, freshUntil: created.Add(time.Second), payload: []byte("a crashed holder's token")})
			if marked {
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
