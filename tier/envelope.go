package tier

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The envelope is what L2 stores for every key: a fixed binary header, then
// the payload.
//
//	offset size field
//	0      1    format version (envelopeVersion, or envelopeV1)
//	1      1    flags (flagNegative, flagCompressed, flagLease)
//	2      1    codec ID (see package codec)
//	3      8    created-at, unix milliseconds, big endian
//	11     8    fresh-until, unix milliseconds, big endian
//	19     8    type ID (version 2 only): which type, at which
//	            SchemaVersion, wrote the payload (see typeID); 0 for none
//	27     -    payload: the encoded value, or the lease token (at 19 in
//	            version 1)
//
// Values are written in version 2. Fill leases are written in version 1,
// which has no type ID (a lease has no value), so that the lease scripts
// and processes running the previous release read them alike. A version 1
// entry with a value (written by the previous release) is read as before:
// it carries no type ID to check.
//
// The hard expiry is the Redis TTL; fresh-until drives stale-while-revalidate
// and refresh-ahead. A reader that meets an unknown version, unknown flags or
// a short header treats the entry as corrupt: a miss that is deleted and
// counted, never returned.
const (
	envelopeVersion      byte = 2
	envelopeV1           byte = 1
	envelopeHeaderSize        = 27
	envelopeV1HeaderSize      = 19
)

// Envelope flags.
const (
	// flagNegative marks a cached "not found" answer; the payload is empty.
	flagNegative byte = 1 << iota
	// flagCompressed marks a payload compressed by codec.Compressed.
	flagCompressed
	// flagLease marks a fill in progress: the payload is the filler's random
	// token, and readers wait for the fill instead of loading themselves.
	flagLease

	knownFlags = flagNegative | flagCompressed | flagLease
)

// errCorruptEnvelope is wrapped by every decodeEnvelope error.
var errCorruptEnvelope = errors.New("tier: corrupt envelope")

// envelope is the decoded header of an L2 entry. payload aliases the input.
type envelope struct {
	// format is the format version: envelopeVersion when zero, or
	// envelopeV1 (leases, and entries of the previous release).
	format     byte
	flags      byte
	codecID    byte
	createdAt  time.Time
	freshUntil time.Time
	typeID     uint64 // version 2 only
	payload    []byte
}

func (e envelope) negative() bool   { return e.flags&flagNegative != 0 }
func (e envelope) compressed() bool { return e.flags&flagCompressed != 0 }
func (e envelope) lease() bool      { return e.flags&flagLease != 0 }

// appendEnvelope appends the encoded envelope to dst and returns it.
func appendEnvelope(dst []byte, e envelope) []byte {
	format := e.format
	if format == 0 {
		format = envelopeVersion
	}
	dst = append(dst, format, e.flags, e.codecID)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.createdAt.UnixMilli()))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.freshUntil.UnixMilli()))
	if format != envelopeV1 {
		dst = binary.BigEndian.AppendUint64(dst, e.typeID)
	}
	return append(dst, e.payload...)
}

// decodeEnvelope parses b. It never panics and never returns a partially
// valid envelope: anything it does not understand is errCorruptEnvelope.
func decodeEnvelope(b []byte) (envelope, error) {
	if len(b) < envelopeV1HeaderSize {
		return envelope{}, fmt.Errorf("%w: %d bytes, header needs %d", errCorruptEnvelope, len(b), envelopeV1HeaderSize)
	}
	header := envelopeHeaderSize
	switch b[0] {
	case envelopeVersion:
		if len(b) < envelopeHeaderSize {
			return envelope{}, fmt.Errorf("%w: %d bytes, header needs %d", errCorruptEnvelope, len(b), envelopeHeaderSize)
		}
	case envelopeV1:
		header = envelopeV1HeaderSize
	default:
		return envelope{}, fmt.Errorf("%w: unknown format version %d", errCorruptEnvelope, b[0])
	}
	flags := b[1]
	if flags&^knownFlags != 0 {
		return envelope{}, fmt.Errorf("%w: unknown flags %#x", errCorruptEnvelope, flags)
	}
	if flags&flagLease != 0 && flags != flagLease {
		return envelope{}, fmt.Errorf("%w: lease with other flags %#x", errCorruptEnvelope, flags)
	}
	created := int64(binary.BigEndian.Uint64(b[3:11]))
	fresh := int64(binary.BigEndian.Uint64(b[11:19]))
	if created < 0 || fresh < 0 {
		return envelope{}, fmt.Errorf("%w: negative timestamp", errCorruptEnvelope)
	}
	e := envelope{
		format:     b[0],
		flags:      flags,
		codecID:    b[2],
		createdAt:  time.UnixMilli(created),
		freshUntil: time.UnixMilli(fresh),
		payload:    b[header:],
	}
	if e.format == envelopeVersion {
		e.typeID = binary.BigEndian.Uint64(b[19:27])
	}
	if e.negative() && len(e.payload) != 0 {
		return envelope{}, fmt.Errorf("%w: negative entry with a payload", errCorruptEnvelope)
	}
	return e, nil
}
