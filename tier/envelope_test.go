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
		{codecID: 1, createdAt: now, freshUntil: now.Add(time.Minute), typeID: 0xfeedface12345678, payload: []byte("typed")},
		{format: envelopeV1, codecID: 1, createdAt: now, freshUntil: now.Add(time.Minute), payload: []byte("version 1")},
		{format: envelopeV1, flags: flagLease, createdAt: now, freshUntil: now, payload: newToken()},
	}
	for _, want := range cases {
		raw := appendEnvelope(nil, want)
		got, err := decodeEnvelope(raw)
		if err != nil {
			t.Fatalf("decodeEnvelope(%x): %v", raw, err)
		}
		wantFormat := want.format
		if wantFormat == 0 {
			wantFormat = envelopeVersion
		}
		if got.format != wantFormat || got.typeID != want.typeID || got.flags != want.flags || got.codecID != want.codecID || !got.createdAt.Equal(want.createdAt) ||
			!got.freshUntil.Equal(want.freshUntil) || !bytes.Equal(got.payload, want.payload) {
			t.Errorf("round trip = %+v; want %+v", got, want)
		}
	}
}

func TestEnvelopeRejects(t *testing.T) {
	good := appendEnvelope(nil, envelope{codecID: 1, createdAt: time.UnixMilli(1), freshUntil: time.UnixMilli(2), typeID: 7, payload: []byte("x")})
	with := func(i int, b byte) []byte { c := bytes.Clone(good); c[i] = b; return c }
	v1 := appendEnvelope(nil, envelope{format: envelopeV1, codecID: 1, createdAt: time.UnixMilli(1), freshUntil: time.UnixMilli(2)})
	cases := map[string][]byte{
		"nil":                 nil,
		"one byte":            {1},
		"header minus one":    good[:envelopeHeaderSize-1],
		"v1 header minus one": v1[:envelopeV1HeaderSize-1],
		"version 0":           with(0, 0),
		"version 3":           with(0, 3),
		"unknown flag":        with(1, 0x10),
		"lease and negative":  with(1, flagLease|flagNegative),
		"negative payload":    with(1, flagNegative),
		"negative created":    with(3, 0x80),
		"negative fresh":      with(11, 0x80),
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
	f.Add(appendEnvelope(nil, envelope{codecID: 1, createdAt: time.UnixMilli(1700000000000), freshUntil: time.UnixMilli(1700000060000), typeID: 0x0123456789abcdef, payload: []byte{0x81, 0xa1, 'a', 1}}))
	f.Add(appendEnvelope(nil, envelope{format: envelopeV1, codecID: 1, createdAt: time.UnixMilli(1700000000000), freshUntil: time.UnixMilli(1700000060000), payload: []byte{0x81, 0xa1, 'a', 1}}))
	f.Add(appendEnvelope(nil, envelope{format: envelopeV1, flags: flagLease, createdAt: time.UnixMilli(5), freshUntil: time.UnixMilli(6), payload: []byte("token")}))
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
