package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// compressible returns n bytes of repetitive text.
func compressible(n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "GET /api/v1/users/%d HTTP/1.1 200 OK user-agent=tiercache\n", i*7919%100003)
	}
	return []byte(b.String()[:n])
}

// incompressible returns n random bytes from a fixed seed.
func incompressible(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCompressThreshold(t *testing.T) {
	tests := []struct {
		name           string
		c              Compressed
		payload        []byte
		wantCompressed bool
	}{
		{"empty", Compressed{}, []byte{}, false},
		{"nil", Compressed{}, nil, false},
		{"small compressible below default", Compressed{}, compressible(100), false},
		{"just below default", Compressed{}, compressible(DefaultCompressMinBytes - 1), false},
		{"at default", Compressed{}, compressible(DefaultCompressMinBytes), true},
		{"4 KiB text", Compressed{}, compressible(4 << 10), true},
		{"4 KiB text, inner JSON", Compressed{Codec: JSON{}}, compressible(4 << 10), true},
		{"1 MiB text", Compressed{}, compressible(1 << 20), true},
		{"4 KiB random", Compressed{}, incompressible(4 << 10), false},
		{"64 KiB random", Compressed{}, incompressible(64 << 10), false},
		{"MinBytes 0 means default, below", Compressed{MinBytes: 0}, compressible(DefaultCompressMinBytes - 1), false},
		{"MinBytes 0 means default, at", Compressed{MinBytes: 0}, compressible(DefaultCompressMinBytes), true},
		{"negative MinBytes means default", Compressed{MinBytes: -1}, compressible(DefaultCompressMinBytes - 1), false},
		{"MinBytes 64, below", Compressed{MinBytes: 64}, compressible(63), false},
		{"MinBytes 64, above", Compressed{MinBytes: 64}, compressible(200), true},
		{"MinBytes 8 KiB, 4 KiB text", Compressed{MinBytes: 8 << 10}, compressible(4 << 10), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bytes.Clone(tt.payload)
			got, compressed := tt.c.Compress(tt.payload)
			if compressed != tt.wantCompressed {
				t.Fatalf("Compress(%d bytes) compressed = %v; want %v", len(tt.payload), compressed, tt.wantCompressed)
			}
			if !bytes.Equal(tt.payload, orig) {
				t.Fatalf("Compress modified its input")
			}
			if !compressed {
				if !bytes.Equal(got, tt.payload) {
					t.Errorf("Compress(%d bytes) = %d bytes, false; want the payload unchanged", len(tt.payload), len(got))
				}
				return
			}
			if len(got) >= len(tt.payload) {
				t.Errorf("Compress(%d bytes) = %d bytes, true; want fewer bytes", len(tt.payload), len(got))
			}
			back, err := Decompress(got)
			if err != nil {
				t.Fatalf("Decompress(Compress(%d bytes)) = _, %v; want nil error", len(tt.payload), err)
			}
			if !bytes.Equal(back, tt.payload) {
				t.Errorf("Decompress(Compress(payload)) = %d bytes; want the %d original bytes", len(back), len(tt.payload))
			}
		})
	}
}

// TestCompressTooLarge checks that a payload Decompress would reject is never
// compressed (s2 also panics on payloads over 4 GiB).
func TestCompressTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 512 MiB of address space")
	}
	payload := make([]byte, MaxDecompressedBytes+1) // untouched, so the pages stay virtual
	got, compressed := Compressed{}.Compress(payload)
	if compressed || len(got) != len(payload) {
		t.Errorf("Compress(%d zero bytes) = %d bytes, %v; want the payload unchanged, false", len(payload), len(got), compressed)
	}
}

// TestCompressedCodec runs a value through the whole write and read path of the
// tier: Marshal, Compress, Decompress, Unmarshal.
func TestCompressedCodec(t *testing.T) {
	big := make([]profile, 20)
	for i := range big {
		big[i] = newProfile()
		big[i].ID = int64(i)
	}
	for _, inner := range []Codec{MsgPack{}, JSON{}} {
		c := Compressed{Codec: inner}
		t.Run(strconv.Itoa(int(inner.ID())), func(t *testing.T) {
			data, err := c.Marshal(big)
			if err != nil {
				t.Fatalf("Marshal = _, %v; want nil error", err)
			}
			stored, compressed := c.Compress(data)
			if !compressed {
				t.Fatalf("Compress(%d bytes of profiles) compressed = false; want true", len(data))
			}
			plain, err := Decompress(stored)
			if err != nil {
				t.Fatalf("Decompress = _, %v; want nil error", err)
			}
			var got []profile
			if err := c.Unmarshal(plain, &got); err != nil {
				t.Fatalf("Unmarshal = %v; want nil", err)
			}
			if len(got) != len(big) {
				t.Fatalf("len(got) = %d; want %d", len(got), len(big))
			}
			for i := range got {
				if !equalProfile(got[i], big[i]) {
					t.Errorf("got[%d] = %+v; want %+v", i, got[i], big[i])
				}
			}
		})
	}
}

func TestDecompressError(t *testing.T) {
	valid, ok := Compressed{}.Compress(compressible(4 << 10))
	if !ok {
		t.Fatal("Compress(4 KiB text) compressed = false; want true")
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"overlong varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"length over 32 bits", binary.AppendUvarint(nil, 1<<32)},
		{"header only", binary.AppendUvarint(nil, 16)},
		{"literal longer than input", append(binary.AppendUvarint(nil, 16), 15<<2, 'a', 'b')},
		{"copy before any output", append(binary.AppendUvarint(nil, 8), 0x01|(4<<2), 0x01)},
		{"output shorter than header", append(binary.AppendUvarint(nil, 8), 2<<2, 'a', 'b', 'c')},
		{"output longer than header", append(binary.AppendUvarint(nil, 2), 2<<2, 'a', 'b', 'c')},
		{"text", []byte("definitely not s2")},
	}
	for i := 0; i < len(valid); i++ {
		tests = append(tests, struct {
			name string
			data []byte
		}{"truncated to " + strconv.Itoa(i), valid[:i]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decompressNoPanic(t, tt.data)
			if !errors.Is(err, ErrCorruptCompressed) {
				t.Errorf("Decompress(%q) = %d bytes, %v; want error wrapping ErrCorruptCompressed", tt.data, len(got), err)
			}
			if got != nil {
				t.Errorf("Decompress(%q) = %q, _; want nil bytes on error", tt.data, got)
			}
		})
	}
}

// TestDecompressFlipped corrupts each byte of a valid payload in turn: the
// result may still decode, but must never panic and errors wrap
// ErrCorruptCompressed.
func TestDecompressFlipped(t *testing.T) {
	valid, ok := Compressed{}.Compress(compressible(2 << 10))
	if !ok {
		t.Fatal("Compress(2 KiB text) compressed = false; want true")
	}
	for i := range valid {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			data := bytes.Clone(valid)
			data[i] ^= mask
			if _, err := decompressNoPanic(t, data); err != nil && !errors.Is(err, ErrCorruptCompressed) {
				t.Fatalf("Decompress(byte %d ^ %#x) = _, %v; want nil or an error wrapping ErrCorruptCompressed", i, mask, err)
			}
		}
	}
}

func TestDecompressClaimTooLarge(t *testing.T) {
	tests := []struct {
		name  string
		claim uint64
	}{
		{"MaxDecompressedBytes+1", MaxDecompressedBytes + 1},
		{"1 GiB", 1 << 30},
		{"4 GiB - 1", 1<<32 - 1},
		{"1 MiB from a few bytes (beyond MaxCompressionRatio)", 1 << 20},
		{"just over the ratio", 8*MaxCompressionRatio + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A header claiming the size, then one literal byte.
			data := append(binary.AppendUvarint(nil, tt.claim), 0<<2, 'x')
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := Decompress(data)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorruptCompressed) {
				t.Errorf("Decompress(claim %d) = %d bytes, %v; want error wrapping ErrCorruptCompressed", tt.claim, len(got), err)
			}
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
				t.Errorf("Decompress(claim %d) allocated %d bytes; want under 1 MiB", tt.claim, allocated)
			}
		})
	}
}

func decompressNoPanic(t *testing.T, data []byte) (out []byte, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Decompress(%q) panicked: %v", data, r)
		}
	}()
	return Decompress(data)
}

func FuzzDecompress(f *testing.F) {
	valid, _ := Compressed{}.Compress(compressible(4 << 10))
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Add(binary.AppendUvarint(nil, MaxDecompressedBytes+1))
	f.Add(append(binary.AppendUvarint(nil, 3), 2<<2, 'a', 'b', 'c'))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decompress(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptCompressed) {
				t.Fatalf("Decompress = _, %v; want an error wrapping ErrCorruptCompressed", err)
			}
			if out != nil {
				t.Fatalf("Decompress = %d bytes, %v; want nil bytes on error", len(out), err)
			}
			return
		}
		if len(out) > MaxDecompressedBytes {
			t.Fatalf("Decompress = %d bytes; want at most MaxDecompressedBytes", len(out))
		}
		// Whatever decoded must survive our own round trip.
		again, compressed := Compressed{MinBytes: 1}.Compress(out)
		if !compressed {
			return
		}
		back, err := Decompress(again)
		if err != nil || !bytes.Equal(back, out) {
			t.Fatalf("Decompress(Compress(out)) = %d bytes, %v; want the %d bytes of out, nil", len(back), err, len(out))
		}
	})
}
