package keys

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// listMark follows the entity in a list key. The entity cannot hold '#', so
// a list key's second part never equals an entity and list keys never
// collide with item keys.
const listMark = "#q:"

// Domain bytes that start the hash input, so that ListKey and ListKeyRaw
// never hash the same bytes.
const (
	domainValues = 'v'
	domainRaw    = 'r'
)

// ListKey returns the key for a list or query result of entity:
// "name:entity#q:" followed by the SHA-256 of query in 64 hex digits.
//
// The query is normalised: parameter names are sorted and each one's values
// keep their order, so "a=1&b=2" and "b=2&a=1" share a key while "a=1&a=2"
// and "a=2&a=1" do not. A name with no values differs from an absent name.
// A nil or empty query is valid (the unfiltered list).
//
// A list key never equals an item key of any entity, nor a list key of
// another entity, namespace or version, nor a key from [Namespace.ListKeyRaw].
// The error wraps [ErrEmptyPart], [ErrInvalidChar] or [ErrTooLong].
func (n Namespace) ListKey(entity string, query url.Values) (string, error) {
	if err := n.checkListEntity(entity); err != nil {
		return "", err
	}
	// The hash input is the domain byte, then for each name in sorted order:
	// len(name) name len(values) [len(value) value]...; lengths are uvarints.
	// Every field is length-prefixed, so the encoding is prefix-free and
	// distinct queries give distinct inputs.
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	h.Write([]byte{domainValues})
	for _, name := range slices.Sorted(maps.Keys(query)) {
		writeField(h, &buf, name)
		values := query[name]
		h.Write(binary.AppendUvarint(buf[:0], uint64(len(values))))
		for _, v := range values {
			writeField(h, &buf, v)
		}
	}
	return n.listKey(entity, h), nil
}

// ListKeyRaw is like [Namespace.ListKey] for a query given as an opaque
// string, hashed byte for byte as it is: callers that want "a=1&b=2" and
// "b=2&a=1" to share a key normalise the string first, or use ListKey. Any
// string is accepted, the empty one included. Its keys never equal ListKey's.
func (n Namespace) ListKeyRaw(entity, query string) (string, error) {
	if err := n.checkListEntity(entity); err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte{domainRaw})
	io.WriteString(h, query)
	return n.listKey(entity, h), nil
}

// ListPattern returns a SCAN MATCH pattern that matches every list key of
// entity in n (from ListKey and ListKeyRaw) and nothing else: no item key,
// no key of another entity, namespace or version.
func (n Namespace) ListPattern(entity string) (string, error) {
	if err := n.checkListEntity(entity); err != nil {
		return "", err
	}
	return n.prefix + entity + listMark + "*", nil
}

// checkListEntity checks n and entity, and that a list key of entity fits in
// MaxKeyBytes.
func (n Namespace) checkListEntity(entity string) error {
	if err := n.checkEntity(entity); err != nil {
		return err
	}
	if size := n.listKeyLen(entity); size > MaxKeyBytes {
		return errTooLong(n.prefix+entity+listMark, size)
	}
	return nil
}

func (n Namespace) listKeyLen(entity string) int {
	return len(n.prefix) + len(entity) + len(listMark) + 2*sha256.Size
}

// listKey formats the list key of entity from the finished hash h.
func (n Namespace) listKey(entity string, h hash.Hash) string {
	var sum [sha256.Size]byte
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], h.Sum(sum[:0]))
	var b strings.Builder
	b.Grow(n.listKeyLen(entity))
	b.WriteString(n.prefix)
	b.WriteString(entity)
	b.WriteString(listMark)
	b.Write(hx[:])
	return b.String()
}

// writeField writes the uvarint length of s, then s.
func writeField(h hash.Hash, buf *[binary.MaxVarintLen64]byte, s string) {
	h.Write(binary.AppendUvarint(buf[:0], uint64(len(s))))
	io.WriteString(h, s)
}
