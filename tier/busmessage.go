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
//	  busClear:   nothing (every instance drops the channel's namespace
//	              from its L1)
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
	busClear   busKind = 2 // drop the namespace from L1 (pattern delete, queue overflow)
	busVersion busKind = 3 // a namespace moved to a new version
)

// errBadMessage is wrapped by every decodeBusMessage error.
var errBadMessage = errors.New("tier: malformed invalidation message")

// busMessage is a decoded invalidation message. sender, namespace and keys
// that share no prefix with the key before them alias the payload.
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
	b   string
	err error
}

func (r *busReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errBadMessage}, args...)...)
	}
}

// uvarint reads a uvarint as binary.Uvarint does, from a string.
func (r *busReader) uvarint(what string) uint64 {
	v, ok := r.next()
	if !ok {
		r.fail("bad %s", what)
	}
	return v
}

// next reads a uvarint; false for a bad one, or after an error.
func (r *busReader) next() (uint64, bool) {
	if r.err != nil {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(r.b) && i < binary.MaxVarintLen64; i++ {
		c := r.b[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflows 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.b = r.b[i+1:]
			return v, true
		}
	}
	return 0, false
}

func (r *busReader) str(what string, limit int) string {
	n, ok := r.next()
	if !ok {
		r.fail("bad %s length", what)
		return ""
	}
	if n > uint64(len(r.b)) || n > uint64(limit) {
		r.fail("%s of %d bytes, %d left", what, n, len(r.b))
		return ""
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// header reads the version, kind and sender of a message.
func (r *busReader) header() (busKind, string) {
	if len(r.b) < 2 {
		r.fail("%d bytes", len(r.b))
		return 0, ""
	}
	if r.b[0] != busMessageVersion {
		r.fail("unknown version %d", r.b[0])
		return 0, ""
	}
	kind := busKind(r.b[1])
	r.b = r.b[2:]
	return kind, r.str("sender", 1<<10)
}

// busSender returns the sender of a message, reading nothing else: a Store
// drops its own messages before decoding them.
func busSender(b string) (string, bool) {
	r := busReader{b: b}
	_, sender := r.header()
	return sender, r.err == nil
}

// decodeBusMessage parses b. It never panics: anything it does not
// understand, trailing bytes included, is errBadMessage.
func decodeBusMessage(b string) (busMessage, error) {
	r := busReader{b: b}
	var m busMessage
	m.kind, m.sender = r.header()
	if r.err != nil {
		return busMessage{}, r.err
	}
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
			rest := r.str("key", busMaxKeyBytes)
			if r.err != nil {
				break
			}
			if shared > uint64(len(prev)) || shared+uint64(len(rest)) > busMaxKeyBytes {
				r.fail("key shares %d bytes with a key of %d", shared, len(prev))
				break
			}
			k := rest
			if shared > 0 {
				k = prev[:shared] + rest
			}
			m.keys = append(m.keys, k)
			prev = k
		}
	case busClear:
	case busVersion:
		m.namespace = r.str("namespace", busMaxKeyBytes)
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
