package tier

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	now := time.UnixMilli(time.Now().UnixMilli())
	cases := []envelope{
		{codecID: 1, createdAt: now, freshUntil: now.Add(time.Minute), payload: []byte("payload")},
		{flags: flagNegative, createdAt: now, freshUntil: now.Add(time.Second)},
		{flags: flagCompressed, codecID: 2, createdAt: now, freshUntil: now, payload: []byte{0, 1, 2}},
		{flags: flagLease, createdAt: now, freshUntil: now, payload: newToken()},
	}
	for _, want := range cases {
		raw := appendEnvelope(nil, want)
		got, err := decodeEnvelope(raw)
		if err != nil {
			t.Fatalf("decodeEnvelope(%x): %v", raw, err)
		}
		if got.flags != want.flags || got.codecID != want.codecID || !got.createdAt.Equal(want.createdAt) ||
			!got.freshUntil.Equal(want.freshUntil) || !bytes.Equal(got.payload, want.payload) {
			t.Errorf("round trip = %+v; want %+v", got, want)
		}
	}
}

func TestEnvelopeRejects(t *testing.T) {
	good := appendEnvelope(nil, envelope{codecID: 1, createdAt: time.UnixMilli(1), freshUntil: time.UnixMilli(2), payload: []byte("x")})
	with := func(i int, b byte) []byte { c := bytes.Clone(good); c[i] = b; return c }
	cases := map[string][]byte{
		"nil":                nil,
		"one byte":           {1},
		"header minus one":   good[:envelopeHeaderSize-1],
		"version 0":          with(0, 0),
		"version 2":          with(0, 2),
		"unknown flag":       with(1, 0x10),
		"lease and negative": with(1, flagLease|flagNegative),
		"negative payload":   with(1, flagNegative),
		"negative created":   with(3, 0x80),
		"negative fresh":     with(11, 0x80),
	}
	for name, raw := range cases {
		if _, err := decodeEnvelope(raw); !errors.Is(err, errCorruptEnvelope) {
			t.Errorf("%s: decodeEnvelope(%x) error = %v; want errCorruptEnvelope", name, raw, err)
		}
	}
}

// FuzzDecodeEnvelope: the decoder never panics, and what it accepts encodes
// back to the same bytes.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(appendEnvelope(nil, envelope{codecID: 1, createdAt: time.UnixMilli(1700000000000), freshUntil: time.UnixMilli(1700000060000), payload: []byte{0x81, 0xa1, 'a', 1}}))
	f.Add(appendEnvelope(nil, envelope{flags: flagNegative, createdAt: time.UnixMilli(5), freshUntil: time.UnixMilli(6)}))
	f.Add([]byte{1, 4, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := decodeEnvelope(raw)
		if err != nil {
			if !errors.Is(err, errCorruptEnvelope) {
				t.Fatalf("error %v does not wrap errCorruptEnvelope", err)
			}
			return
		}
		if again := appendEnvelope(nil, env); !bytes.Equal(again, raw) {
			t.Fatalf("re-encoded %x; want %x", again, raw)
		}
	})
}
