package codec

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// namedCodec is one implementation under test; every conformance test runs
// against all of them.
type namedCodec struct {
	name string
	c    Codec
}

func allCodecs() []namedCodec {
	return []namedCodec{
		{"MsgPack", MsgPack{}},
		{"JSON", JSON{}},
		{"Compressed{MsgPack}", Compressed{Codec: MsgPack{}}},
		{"Compressed{JSON}", Compressed{Codec: JSON{}}},
	}
}

type address struct {
	Street  string `json:"street" msgpack:"street"`
	City    string `json:"city" msgpack:"city"`
	Country string `json:"country" msgpack:"country"`
}

// profile is a realistic cache value: about ten fields of mixed kinds, around
// 300 bytes as msgpack.
type profile struct {
	ID        int64             `json:"id" msgpack:"id"`
	Name      string            `json:"name" msgpack:"name"`
	Email     string            `json:"email" msgpack:"email"`
	Tags      []string          `json:"tags" msgpack:"tags"`
	Attrs     map[string]string `json:"attrs" msgpack:"attrs"`
	Score     float64           `json:"score" msgpack:"score"`
	Active    bool              `json:"active" msgpack:"active"`
	CreatedAt time.Time         `json:"created_at" msgpack:"created_at"`
	Address   *address          `json:"address" msgpack:"address"`
	Manager   *int64            `json:"manager" msgpack:"manager"`
	Bio       string            `json:"bio" msgpack:"bio"`
}

func newProfile() profile {
	manager := int64(7)
	return profile{
		ID:     123456789,
		Name:   "Ada Lovelace",
		Email:  "ada@example.com",
		Tags:   []string{"admin", "beta", "mathematics"},
		Attrs:  map[string]string{"lang": "en-GB", "theme": "dark", "plan": "pro"},
		Score:  98.625,
		Active: true,
		// Nanoseconds and a non-UTC zone: neither codec keeps the zone, both
		// keep the instant.
		CreatedAt: time.Date(2024, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600)),
		Address:   &address{Street: "12 St James's Square", City: "London", Country: "GB"},
		Manager:   &manager,
		Bio:       "Wrote the first published algorithm intended for a machine; translator and annotator of Menabrea.",
	}
}

// equalProfile compares times with Equal (codecs drop the zone and the
// monotonic reading) and everything else with reflect.DeepEqual.
func equalProfile(got, want profile) bool {
	if !got.CreatedAt.Equal(want.CreatedAt) {
		return false
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(got, want)
}

type roundTripCase struct {
	name string
	run  func(t *testing.T, c Codec)
}

// roundTrip builds a case that marshals in, unmarshals into a new T and
// compares with eq.
func roundTrip[T any](name string, in T, eq func(got, want T) bool) roundTripCase {
	return roundTripCase{name, func(t *testing.T, c Codec) {
		t.Helper()
		data, err := c.Marshal(in)
		if err != nil {
			t.Fatalf("Marshal(%#v) = _, %v; want nil error", in, err)
		}
		var got T
		if err := c.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal(%q) = %v; want nil", data, err)
		}
		if !eq(got, in) {
			t.Errorf("round trip = %#v; want %#v", got, in)
		}
	}}
}

func deepEqual[T any](got, want T) bool { return reflect.DeepEqual(got, want) }

func TestRoundTrip(t *testing.T) {
	now := time.Now() // has a monotonic reading and the local zone
	p := newProfile()
	n := 42
	cases := []roundTripCase{
		roundTrip("struct", p, equalProfile),
		roundTrip("struct with nil pointers and collections", profile{ID: 1, Name: "x"}, equalProfile),
		roundTrip("pointer to struct", &p, func(got, want *profile) bool {
			return got != nil && equalProfile(*got, *want)
		}),
		roundTrip("pointer to int", &n, func(got, want *int) bool { return got != nil && *got == *want }),
		roundTrip("nil pointer", (*profile)(nil), func(got, want *profile) bool { return got == nil }),
		roundTrip("map", map[string]int{"a": 1, "b": -2, "": 0, "ünïcode": math.MaxInt32}, deepEqual),
		roundTrip("map of slices", map[string][]string{"x": {"1", "2"}, "y": {}}, deepEqual),
		roundTrip("slice of ints", []int{0, 1, -1, 127, 128, -129, 1 << 40}, deepEqual),
		roundTrip("slice of structs", []address{{City: "Paris"}, {Street: "Main St", Country: "US"}}, deepEqual),
		roundTrip("empty string", "", deepEqual),
		roundTrip("string", "hello, world", deepEqual),
		roundTrip("unicode string", "日本語 ✓ \u00e9", deepEqual),
		roundTrip("string with escapes", "quote\" backslash\\ nl\n tab\t nul\x00 <html>&", deepEqual),
		roundTrip("long string", strings.Repeat("tiercache ", 500), deepEqual),
		roundTrip("int zero", 0, deepEqual),
		roundTrip("int negative", -12345, deepEqual),
		roundTrip("int64 max", int64(math.MaxInt64), deepEqual),
		roundTrip("int64 min", int64(math.MinInt64), deepEqual),
		roundTrip("uint64 max", uint64(math.MaxUint64), deepEqual),
		roundTrip("int8", int8(-128), deepEqual),
		roundTrip("float64", 3.141592653589793, deepEqual),
		roundTrip("bool", true, deepEqual),
		roundTrip("time now", now, func(got, want time.Time) bool { return got.Equal(want) }),
		roundTrip("time UTC nanos", time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC), func(got, want time.Time) bool { return got.Equal(want) }),
		roundTrip("time zero", time.Time{}, func(got, want time.Time) bool { return got.Equal(want) }),
		roundTrip("bytes", []byte{0, 1, 2, 0xff}, deepEqual),
	}
	for _, nc := range allCodecs() {
		t.Run(nc.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, nc.c) })
			}
		})
	}
}

// TestProfileSize keeps the fixture realistic: the benchmark-like struct the
// round trips use should stay around 300 bytes of msgpack.
func TestProfileSize(t *testing.T) {
	data, err := MsgPack{}.Marshal(newProfile())
	if err != nil {
		t.Fatalf("Marshal(profile) = _, %v; want nil error", err)
	}
	if n := len(data); n < 200 || n > 400 {
		t.Errorf("len(Marshal(profile)) = %d; want about 300", n)
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		name string
		c    Codec
		want byte
	}{
		{"MsgPack", MsgPack{}, 1},
		{"JSON", JSON{}, 2},
		{"Compressed{MsgPack}", Compressed{Codec: MsgPack{}}, 1},
		{"Compressed{JSON}", Compressed{Codec: JSON{}}, 2},
		{"Compressed{nil}", Compressed{}, 1},
		{"Compressed{Compressed{JSON}}", Compressed{Codec: Compressed{Codec: JSON{}}}, 2},
		{"Default", Default(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.ID(); got != tt.want {
				t.Errorf("ID() = %d; want %d", got, tt.want)
			}
		})
	}
	// The constants are wire format: they must never change.
	if IDMsgPack != 1 || IDJSON != 2 {
		t.Errorf("IDMsgPack, IDJSON = %d, %d; want 1, 2", IDMsgPack, IDJSON)
	}
}

func TestDefaultIsMsgPack(t *testing.T) {
	if got, want := Default(), Codec(MsgPack{}); got != want {
		t.Errorf("Default() = %#v; want %#v", got, want)
	}
}

// valueMarshaler has value-receiver marshal methods.
type valueMarshaler struct{ N int }

func (v valueMarshaler) MarshalJSON() ([]byte, error)    { return []byte("1"), nil }
func (v valueMarshaler) MarshalMsgpack() ([]byte, error) { return []byte{0x01}, nil }

// nilEmbedded promotes valueMarshaler's methods through an embedded pointer:
// when that pointer is nil, calling them panics inside the third-party
// encoder.
type nilEmbedded struct{ *valueMarshaler }

// panicky panics when decoded.
type panicky struct{}

func (*panicky) UnmarshalJSON([]byte) error    { panic("boom") }
func (*panicky) UnmarshalMsgpack([]byte) error { panic("boom") }

func TestMarshalError(t *testing.T) {
	tests := []struct {
		name     string
		v        any
		jsonOnly bool // msgpack encodes it fine
	}{
		{"channel", make(chan int), false},
		{"func", func() {}, false},
		{"map with func values", map[string]func(){"f": func() {}}, false},
		{"map of any holding a func", map[string]any{"ok": 1, "f": func() {}}, false},
		{"struct with channel field", struct{ C chan int }{make(chan int)}, false},
		{"complex", complex(1, 2), false},
		{"marshaler on nil embedded pointer", nilEmbedded{}, false},
		{"NaN", math.NaN(), true},
		{"+Inf", math.Inf(1), true},
		{"struct with NaN field", struct{ F float64 }{math.NaN()}, true},
	}
	for _, nc := range allCodecs() {
		t.Run(nc.name, func(t *testing.T) {
			isJSON := nc.c.ID() == IDJSON
			for _, tt := range tests {
				if tt.jsonOnly && !isJSON {
					continue
				}
				t.Run(tt.name, func(t *testing.T) {
					var (
						got []byte
						err error
					)
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Fatalf("Marshal(%T) panicked: %v", tt.v, r)
							}
						}()
						got, err = nc.c.Marshal(tt.v)
					}()
					if !errors.Is(err, ErrEncode) {
						t.Errorf("Marshal(%T) = %q, %v; want error wrapping ErrEncode", tt.v, got, err)
					}
					if got != nil {
						t.Errorf("Marshal(%T) = %q, _; want nil bytes on error", tt.v, got)
					}
				})
			}
		})
	}
}

func TestUnmarshalError(t *testing.T) {
	for _, nc := range allCodecs() {
		t.Run(nc.name, func(t *testing.T) {
			valid, err := nc.c.Marshal(newProfile())
			if err != nil {
				t.Fatalf("Marshal(profile) = _, %v; want nil error", err)
			}
			inputs := []struct {
				name string
				data []byte
			}{
				{"nil", nil},
				{"empty", []byte{}},
				{"msgpack never-used code", []byte{0xc1}},
				{"text", []byte("this is not an encoding of anything")},
				{"binary garbage", []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37}},
				{"map header claiming 4G entries", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
				{"array header claiming 4G entries", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
				{"str header claiming 4 GiB", []byte{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}},
				{"unterminated JSON object", []byte(`{"id": 1, "name": "x`)},
			}
			for i := 1; i < len(valid); i++ {
				inputs = append(inputs, struct {
					name string
					data []byte
				}{"truncated to " + strconv.Itoa(i), valid[:i]})
			}
			for _, in := range inputs {
				t.Run(in.name, func(t *testing.T) {
					var got profile
					err := unmarshalNoPanic(t, nc.c, in.data, &got)
					if !errors.Is(err, ErrDecode) {
						t.Errorf("Unmarshal(%q) = %v; want error wrapping ErrDecode", in.data, err)
					}
				})
			}
		})
	}
}

func TestUnmarshalBadTarget(t *testing.T) {
	for _, nc := range allCodecs() {
		t.Run(nc.name, func(t *testing.T) {
			data, err := nc.c.Marshal(map[string]int{"a": 1})
			if err != nil {
				t.Fatalf("Marshal = _, %v; want nil error", err)
			}
			targets := []struct {
				name string
				v    any
			}{
				{"nil", nil},
				{"nil pointer", (*map[string]int)(nil)},
				{"non-pointer", map[string]int{}},
				{"decoder that panics", &panicky{}},
			}
			for _, tt := range targets {
				t.Run(tt.name, func(t *testing.T) {
					if err := unmarshalNoPanic(t, nc.c, data, tt.v); !errors.Is(err, ErrDecode) {
						t.Errorf("Unmarshal(_, %T) = %v; want error wrapping ErrDecode", tt.v, err)
					}
				})
			}
		})
	}
}

// TestUnmarshalRandom feeds random bytes to every codec: they may decode by
// chance, but must never panic, and every error wraps ErrDecode.
func TestUnmarshalRandom(t *testing.T) {
	for _, nc := range allCodecs() {
		t.Run(nc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 2000; i++ {
				data := make([]byte, r.IntN(64))
				for j := range data {
					data[j] = byte(r.Uint32())
				}
				var got profile
				if err := unmarshalNoPanic(t, nc.c, data, &got); err != nil && !errors.Is(err, ErrDecode) {
					t.Fatalf("Unmarshal(%q) = %v; want nil or an error wrapping ErrDecode", data, err)
				}
			}
		})
	}
}

func unmarshalNoPanic(t *testing.T, c Codec, data []byte, v any) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Unmarshal(%q, %T) panicked: %v", data, v, r)
		}
	}()
	return c.Unmarshal(data, v)
}

func TestMsgPackSchemaEvolution(t *testing.T) {
	type V1 struct {
		A int
		B string
	}
	type V2 struct {
		A int
		C float64
	}
	c := MsgPack{}

	t.Run("old to new", func(t *testing.T) {
		data, err := c.Marshal(V1{A: 42, B: "dropped"})
		if err != nil {
			t.Fatalf("Marshal(V1) = _, %v; want nil error", err)
		}
		var got V2
		if err := c.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal(V1 bytes, *V2) = %v; want nil", err)
		}
		if want := (V2{A: 42}); got != want {
			t.Errorf("Unmarshal(V1 bytes, *V2) = %+v; want %+v", got, want)
		}
	})
	t.Run("new to old", func(t *testing.T) {
		data, err := c.Marshal(V2{A: 7, C: 2.5})
		if err != nil {
			t.Fatalf("Marshal(V2) = _, %v; want nil error", err)
		}
		got := V1{B: "untouched"}
		if err := c.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal(V2 bytes, *V1) = %v; want nil", err)
		}
		if want := (V1{A: 7, B: "untouched"}); got != want {
			t.Errorf("Unmarshal(V2 bytes, *V1) = %+v; want %+v", got, want)
		}
	})
}

func TestMsgPackTypeMismatch(t *testing.T) {
	type withInt struct{ A int }
	tests := []struct {
		name string
		v    any
	}{
		{"string value", "forty-two"},
		{"string field", struct{ A string }{"forty-two"}},
	}
	c := MsgPack{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := c.Marshal(tt.v)
			if err != nil {
				t.Fatalf("Marshal(%#v) = _, %v; want nil error", tt.v, err)
			}
			var got withInt
			if err := c.Unmarshal(data, &got); !errors.Is(err, ErrDecode) {
				t.Errorf("Unmarshal(%q, *withInt) = %v (value %+v); want error wrapping ErrDecode", data, err, got)
			}
		})
	}
}

// TestConcurrent checks that codecs are safe for concurrent use (run with
// -race).
func TestConcurrent(t *testing.T) {
	for _, nc := range allCodecs() {
		t.Run(nc.name, func(t *testing.T) {
			want := newProfile()
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Go(func() {
					for i := 0; i < 50; i++ {
						data, err := nc.c.Marshal(want)
						if err != nil {
							t.Errorf("Marshal(profile) = _, %v; want nil error", err)
							return
						}
						var got profile
						if err := nc.c.Unmarshal(data, &got); err != nil || !equalProfile(got, want) {
							t.Errorf("Unmarshal = %+v, %v; want %+v, nil", got, err, want)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
