package tier

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// An invalidation message is what one Store publishes on its namespace's
// channel and every other Store of the fleet reads:
//
//	offset size  field
//	0      1     format version (busMessageVersion)
//	1      1     kind: busKeys, busClear or busVersion
//	2      var   sender's instance ID: uvarint length, bytes
//	then, by kind:
//	  busKeys:    uvarint count, then count keys, each front-coded against
//	              the previous one: uvarint bytes shared with it, uvarint
//	              length of the rest, the rest
//	  busClear:   nothing (every instance clears its L1)
//	  busVersion: the namespace name (uvarint length, bytes), then its new
//	              version (uvarint)
//
// Keys of one namespace share long prefixes ("shop:user:"), so front coding
// keeps a batch of a hundred keys at a few bytes per key. The decoder bounds
// every length by the bytes left, so a malformed message is an error (counted
// and ignored), never a panic or a huge allocation.
const (
	busMessageVersion byte = 1
	// busMaxKeyBytes bounds a decoded key; Redis allows longer ones, but no
	// key of a cache is that long.
	busMaxKeyBytes = 64 << 10
)

// busKind is what a message asks its readers to do.
type busKind byte

// Kinds of invalidation messages.
const (
	busKeys    busKind = 1 // drop the listed keys from L1
	busClear   busKind = 2 // clear L1 (pattern delete, queue overflow)
	busVersion busKind = 3 // a namespace moved to a new version
)

// errBadMessage is wrapped by every decodeBusMessage error.
var errBadMessage = errors.New("tier: malformed invalidation message")

// busMessage is a decoded invalidation message. sender and keys alias the
// decoded bytes.
type busMessage struct {
	kind      busKind
	sender    string
	keys      []string
	namespace string
	version   uint64
}

// appendBusMessage appends the encoding of m to dst.
func appendBusMessage(dst []byte, m busMessage) []byte {
	dst = append(dst, busMessageVersion, byte(m.kind))
	dst = appendString(dst, m.sender)
	switch m.kind {
	case busKeys:
		dst = binary.AppendUvarint(dst, uint64(len(m.keys)))
		prev := ""
		for _, k := range m.keys {
			n := sharedPrefix(prev, k)
			dst = binary.AppendUvarint(dst, uint64(n))
			dst = appendString(dst, k[n:])
			prev = k
		}
	case busVersion:
		dst = appendString(dst, m.namespace)
		dst = binary.AppendUvarint(dst, m.version)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func sharedPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// busReader reads the parts of a message, remembering the first error.
type busReader struct {
	b   []byte
	err error
}

func (r *busReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errBadMessage}, args...)...)
	}
}

func (r *busReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad %s", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *busReader) bytes(what string, limit int) []byte {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) || n > uint64(limit) {
		r.fail("%s of %d bytes, %d left", what, n, len(r.b))
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// decodeBusMessage parses b. It never panics: anything it does not
// understand, trailing bytes included, is errBadMessage.
func decodeBusMessage(b []byte) (busMessage, error) {
	if len(b) < 2 {
		return busMessage{}, fmt.Errorf("%w: %d bytes", errBadMessage, len(b))
	}
	if b[0] != busMessageVersion {
		return busMessage{}, fmt.Errorf("%w: unknown version %d", errBadMessage, b[0])
	}
	m := busMessage{kind: busKind(b[1])}
	r := busReader{b: b[2:]}
	m.sender = string(r.bytes("sender", 1<<10))
	switch m.kind {
	case busKeys:
		count := r.uvarint("key count")
		// Every key takes at least two bytes: a count above half the rest
		// is a lie, and must not size an allocation.
		if r.err == nil && (count == 0 || count > uint64(len(r.b)/2)) {
			r.fail("%d keys in %d bytes", count, len(r.b))
		}
		if r.err != nil {
			break
		}
		m.keys = make([]string, 0, count)
		prev := ""
		for range count {
			shared := r.uvarint("shared prefix")
			rest := r.bytes("key", busMaxKeyBytes)
			if r.err != nil {
				break
			}
			if shared > uint64(len(prev)) || shared+uint64(len(rest)) > busMaxKeyBytes {
				r.fail("key shares %d bytes with a key of %d", shared, len(prev))
				break
			}
			k := prev[:shared] + string(rest)
			m.keys = append(m.keys, k)
			prev = k
		}
	case busClear:
	case busVersion:
		m.namespace = string(r.bytes("namespace", busMaxKeyBytes))
		m.version = r.uvarint("version")
	default:
		r.fail("unknown kind %d", m.kind)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return busMessage{}, r.err
	}
	return m, nil
}
