package codec

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// DefaultCompressMinBytes is the payload size from which Compressed
// compresses when its MinBytes is zero.
const DefaultCompressMinBytes = 1024

// MaxDecompressedBytes bounds what Decompress produces: Redis holds at most
// 512 MiB in one value, so a payload that claims more is corrupt.
const MaxDecompressedBytes = 512 << 20

// MaxCompressionRatio bounds how much a compressed payload may expand.
// Compress stores payloads that would shrink more than this uncompressed, so
// Decompress can reject any payload claiming more: a corrupt six-byte entry
// then costs kilobytes, not the hundreds of megabytes its header may claim.
const MaxCompressionRatio = 512

// ErrCorruptCompressed is returned by Decompress for data that is not a valid
// compressed payload.
var ErrCorruptCompressed = errors.New("codec: corrupt compressed payload")

// Compressor is an optional interface of a Codec whose encoded payloads may
// be compressed. The tier calls Compress after Marshal and records in the
// entry's envelope whether it did; every reader decompresses a flagged
// payload with Decompress before Unmarshal, whatever codec it is configured
// with, so compression can be turned on or off without a migration.
type Compressor interface {
	// Compress returns the payload to store and whether it is compressed.
	Compress(payload []byte) ([]byte, bool)
}

// Compressed wraps a Codec and compresses payloads of at least MinBytes with
// S2 (github.com/klauspost/compress/s2), a Snappy-compatible format that
// compresses at several GB/s: for cache entries read far more often than
// written, decode speed matters more than the last percent of ratio.
// Marshal and Unmarshal are the wrapped codec's; compression is applied by the
// tier through the Compressor interface. Its ID is the wrapped codec's ID.
type Compressed struct {
	// Codec encodes the values; nil means Default().
	Codec Codec
	// MinBytes is the smallest payload that is compressed; zero means
	// DefaultCompressMinBytes. Smaller payloads rarely shrink enough to pay
	// for the work.
	MinBytes int
}

var (
	_ Codec      = Compressed{}
	_ Compressor = Compressed{}
)

func (c Compressed) inner() Codec {
	if c.Codec == nil {
		return Default()
	}
	return c.Codec
}

// ID returns the wrapped codec's ID.
func (c Compressed) ID() byte { return c.inner().ID() }

// Marshal encodes v with the wrapped codec.
func (c Compressed) Marshal(v any) ([]byte, error) { return c.inner().Marshal(v) }

// Unmarshal decodes data with the wrapped codec.
func (c Compressed) Unmarshal(data []byte, v any) error { return c.inner().Unmarshal(data, v) }

// Compress compresses payloads of at least MinBytes; it returns the payload
// unchanged when it is smaller, when compressing would not shrink it, when
// it would shrink more than MaxCompressionRatio, or when it is larger than
// MaxDecompressedBytes (Decompress would reject the last two).
func (c Compressed) Compress(payload []byte) ([]byte, bool) {
	minBytes := c.MinBytes
	if minBytes <= 0 {
		minBytes = DefaultCompressMinBytes
	}
	if len(payload) < minBytes || len(payload) > MaxDecompressedBytes {
		return payload, false
	}
	out := s2.Encode(nil, payload)
	if len(out) >= len(payload) || len(payload) > len(out)*MaxCompressionRatio {
		return payload, false
	}
	return out, true
}

// Decompress reverses Compressed.Compress. It rejects payloads that claim to
// decompress to more than MaxDecompressedBytes or to more than
// MaxCompressionRatio times their size, before allocating anything.
func Decompress(data []byte) ([]byte, error) {
	n, err := s2.DecodedLen(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptCompressed, err)
	}
	if n > MaxDecompressedBytes || n > len(data)*MaxCompressionRatio {
		return nil, fmt.Errorf("%w: %d bytes claim %d", ErrCorruptCompressed, len(data), n)
	}
	out, err := s2.Decode(nil, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptCompressed, err)
	}
	return out, nil
}
