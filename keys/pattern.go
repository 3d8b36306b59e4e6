package keys

import "strings"

// matchNothing is a Redis glob pattern that matches no string: an empty
// character class. The zero Namespace's Pattern returns it, so that a SCAN
// built from an invalid Namespace finds nothing instead of everything (an
// empty MATCH would be dropped by clients and match every key).
const matchNothing = "[]"

// EscapeGlob escapes the Redis glob characters * ? [ ] and \ in s with a
// backslash, so that s used in a SCAN MATCH pattern matches only itself.
// It works byte by byte, which is safe for UTF-8: the escaped bytes never
// occur inside a multi-byte sequence.
func EscapeGlob(s string) string {
	extra := 0
	for i := 0; i < len(s); i++ {
		if isGlob(s[i]) {
			extra++
		}
	}
	if extra == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + extra)
	for i := 0; i < len(s); i++ {
		if isGlob(s[i]) {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isGlob(c byte) bool {
	switch c {
	case '*', '?', '[', ']', '\\':
		return true
	}
	return false
}

// Pattern returns a SCAN MATCH pattern that matches every key of n (item
// keys and list keys of all entities) and no key of another namespace or
// version: "name:*" or "name@v7:*". For the zero Namespace it returns a
// pattern that matches no key.
func (n Namespace) Pattern() string {
	if n.prefix == "" {
		return matchNothing
	}
	// The prefix holds no glob characters: names cannot, and "@v7" does not.
	return n.prefix + "*"
}

// EntityPattern returns a SCAN MATCH pattern that matches the item keys of
// entity in n, whatever their id, and nothing else: no list key, no key of
// another entity, namespace or version.
func (n Namespace) EntityPattern(entity string) (string, error) {
	return n.IDPrefixPattern(entity, "")
}

// IDPrefixPattern returns a SCAN MATCH pattern that matches the item keys of
// entity in n whose id starts with idPrefix, and nothing else. The glob
// characters of idPrefix are escaped with [EscapeGlob], so an idPrefix such
// as "a*" matches ids starting with "a*", not all ids starting with "a".
//
// An empty idPrefix matches every id, as [Namespace.EntityPattern] does. A
// non-empty one must be valid UTF-8 without control characters, as ids are.
// The error wraps [ErrEmptyPart], [ErrInvalidChar] or [ErrTooLong] (when no
// key with that prefix could be built).
func (n Namespace) IDPrefixPattern(entity, idPrefix string) (string, error) {
	if err := n.checkEntity(entity); err != nil {
		return "", err
	}
	if idPrefix != "" {
		if err := checkText("id prefix", idPrefix); err != nil {
			return "", err
		}
	}
	// The shortest matching key has an id of max(len(idPrefix), 1) bytes.
	size := len(n.prefix) + len(entity) + 1 + max(len(idPrefix), 1)
	if size > MaxKeyBytes {
		return "", errTooLong(n.prefix+entity+":"+idPrefix, size)
	}
	return n.prefix + entity + ":" + EscapeGlob(idPrefix) + "*", nil
}
