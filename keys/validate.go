package keys

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxKeyBytes is the length, in bytes, of the longest key the package builds
// or accepts. Longer keys are rejected with [ErrTooLong].
const MaxKeyBytes = 1024

// Validate checks a complete key: it must be non-empty, at most
// [MaxKeyBytes] long, valid UTF-8, and hold no control characters. Every key
// built by this package passes. The error wraps [ErrEmptyPart],
// [ErrTooLong] or [ErrInvalidChar].
func Validate(key string) error {
	if key == "" {
		return fmt.Errorf("keys: key %q: %w", key, ErrEmptyPart)
	}
	if len(key) > MaxKeyBytes {
		return errTooLong(key, len(key))
	}
	if !validText(key) {
		return fmt.Errorf("keys: key %q: %w", key, ErrInvalidChar)
	}
	return nil
}

// errTooLong reports a key of size bytes; the message quotes only its start.
func errTooLong(key string, size int) error {
	return fmt.Errorf("keys: key %.64q (%d bytes, max %d): %w", key, size, MaxKeyBytes, ErrTooLong)
}

// checkName checks a namespace name or an entity: non-empty, valid UTF-8,
// and none of the characters reserved for the key syntax. kind names the part in
// the error.
func checkName(kind, s string) error {
	if s == "" {
		return fmt.Errorf("keys: %s %q: %w", kind, s, ErrEmptyPart)
	}
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if isReservedASCII(c) {
				return fmt.Errorf("keys: %s %q: %w", kind, s, ErrInvalidChar)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("keys: %s %q: %w", kind, s, ErrInvalidChar)
		}
		i += size
	}
	return nil
}

// isReservedASCII reports whether c may not appear in a namespace name or an
// entity: ASCII control characters, space, the separator, the markers, glob
// characters and hash-tag braces.
func isReservedASCII(c byte) bool {
	switch c {
	case ':', '@', '#', '*', '?', '[', ']', '\\', '{', '}', ' ':
		return true
	}
	return c < 0x20 || c == 0x7f
}

// checkText checks an id (or id prefix): non-empty valid UTF-8 without
// control characters. kind names the part in the error.
func checkText(kind, s string) error {
	if s == "" {
		return fmt.Errorf("keys: %s %q: %w", kind, s, ErrEmptyPart)
	}
	if !validText(s) {
		return fmt.Errorf("keys: %s %q: %w", kind, s, ErrInvalidChar)
	}
	return nil
}

// validText reports whether s is valid UTF-8 without control characters
// (U+0000-U+001F, U+007F-U+009F).
func validText(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || unicode.IsControl(r) {
			return false
		}
		i += size
	}
	return true
}
