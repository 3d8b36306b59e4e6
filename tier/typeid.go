package tier

import (
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
)

// The envelope records which Go type, at which Options.SchemaVersion, wrote
// its payload, as a 64-bit type ID: FNV-1a of the type's package path and
// name (of its element types for unnamed pointers, slices, arrays and maps)
// followed by the schema version. A Group reading an entry of another type
// ID treats it as a miss (counted in Stats.WrongType), so that a payload
// that msgpack would happily decode into the wrong type (it matches fields
// by name) is never served. Readers without a type (Store.Get with Options
// whose Decode is nil, or a Group of an interface type) and entries without
// a type ID (version 1 envelopes, nil values) skip the check.

// errWrongType is returned by decodeL2 for an entry written for another type
// or schema version.
var errWrongType = errors.New("tier: entry written for another type or schema version")

// typeName names t by package path rather than package name, so that two
// packages of one name do not collide.
func typeName(t reflect.Type) string {
	if t.Name() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeName(t.Elem())
	case reflect.Slice:
		return "[]" + typeName(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), typeName(t.Elem()))
	case reflect.Map:
		return "map[" + typeName(t.Key()) + "]" + typeName(t.Elem())
	}
	return t.String()
}

// typeHash returns the hash of t's name, before the schema version is mixed
// in (see typeID); 0 for no type or an interface type.
func typeHash(t reflect.Type) uint64 {
	if t == nil || t.Kind() == reflect.Interface {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(typeName(t)))
	return h.Sum64()
}

// withSchema mixes a schema version into a type hash (FNV-1a over its four
// bytes, big endian); 0 stays 0 (no type). The result is never 0 otherwise.
func withSchema(hash uint64, schema uint32) uint64 {
	if hash == 0 {
		return 0
	}
	const prime = 1099511628211
	for shift := 24; shift >= 0; shift -= 8 {
		hash ^= uint64(byte(schema >> shift))
		hash *= prime
	}
	return max(hash, 1)
}

// typeIDOf returns the type ID to write with v: o's own (a Group's), or
// else that of v's dynamic type, whose hash the Store keeps per type.
func (s *Store) typeIDOf(v any, o *Options) uint64 {
	if o.typeHash != 0 {
		return withSchema(o.typeHash, o.SchemaVersion)
	}
	t := reflect.TypeOf(v)
	if t == nil {
		return 0
	}
	if h, ok := s.typeHashes.Load(t); ok {
		return withSchema(h.(uint64), o.SchemaVersion)
	}
	h := typeHash(t)
	s.typeHashes.Store(t, h)
	return withSchema(h, o.SchemaVersion)
}

// wrongType reports whether an entry of type ID id may not be decoded with
// o: both say which type they are for, and they differ.
func (o *Options) wrongType(id uint64) bool {
	return o.typeHash != 0 && id != 0 && id != withSchema(o.typeHash, o.SchemaVersion)
}
