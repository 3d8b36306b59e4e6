package keys

import (
	"fmt"
	"strconv"
)

// Namespace builds keys under one namespace, optionally versioned.
//
// The zero Namespace is invalid: its key-building methods return an error
// wrapping [ErrEmptyPart], its Prefix is empty and its Pattern matches no key.
// Build a Namespace with [NewNamespace]. A Namespace is a small comparable
// value, safe for concurrent use.
type Namespace struct {
	name      string
	prefix    string // name + ":" or name + "@v" + version + ":"; empty only in the zero Namespace
	version   uint64
	versioned bool
}

// NewNamespace returns the unversioned namespace called name.
//
// The name must be non-empty valid UTF-8 and may not hold control characters,
// white space, ':', '@', '#', the glob characters * ? [ ] \ or the braces
// { }. The error wraps [ErrEmptyPart], [ErrInvalidChar] or [ErrTooLong].
func NewNamespace(name string) (Namespace, error) {
	if err := checkName("namespace", name); err != nil {
		return Namespace{}, err
	}
	// The shortest key is name + ":" + entity + ":" + id with one-byte parts.
	if len(name)+4 > MaxKeyBytes {
		return Namespace{}, fmt.Errorf("keys: namespace %.64q (%d bytes): %w", name, len(name), ErrTooLong)
	}
	return Namespace{name: name, prefix: name + ":"}, nil
}

// Name returns the namespace's name as given to [NewNamespace], without any
// version.
func (n Namespace) Name() string { return n.name }

// Version returns the version embedded in n's keys and whether n is
// versioned at all.
func (n Namespace) Version() (version uint64, ok bool) { return n.version, n.versioned }

// Versioned returns the namespace with the same name whose keys embed
// version: "name@v7:entity:id". Keys of different versions never collide,
// and none collides with a key of the unversioned namespace (version 0
// included). Calling Versioned on a versioned namespace replaces its version.
// Versioned of the zero Namespace is the zero Namespace.
func (n Namespace) Versioned(version uint64) Namespace {
	if n.prefix == "" {
		return Namespace{}
	}
	return Namespace{
		name:      n.name,
		prefix:    n.name + "@v" + strconv.FormatUint(version, 10) + ":",
		version:   version,
		versioned: true,
	}
}

// Prefix returns the string that every key of n starts with: "name:" or, for
// a versioned namespace, "name@v7:". It is empty for the zero Namespace.
func (n Namespace) Prefix() string { return n.prefix }

// Key returns the key of the item id of entity: "name:entity:id".
//
// The entity is restricted like a namespace name (see [NewNamespace]). The
// id may hold any non-empty valid UTF-8 without control characters, ':',
// glob characters and braces included. The error wraps [ErrEmptyPart],
// [ErrInvalidChar] or [ErrTooLong].
func (n Namespace) Key(entity, id string) (string, error) {
	if err := n.checkEntity(entity); err != nil {
		return "", err
	}
	if err := checkText("id", id); err != nil {
		return "", err
	}
	if size := len(n.prefix) + len(entity) + 1 + len(id); size > MaxKeyBytes {
		return "", errTooLong(n.prefix+entity+":"+id, size)
	}
	return n.prefix + entity + ":" + id, nil
}

// checkEntity reports whether n is usable and entity is a valid entity name.
func (n Namespace) checkEntity(entity string) error {
	if n.prefix == "" {
		return fmt.Errorf("keys: namespace %q: %w", "", ErrEmptyPart)
	}
	return checkName("entity", entity)
}
