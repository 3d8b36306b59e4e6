package keys

import "errors"

// Errors returned, wrapped with the offending part, by the functions of this
// package. Test for them with errors.Is.
var (
	// ErrEmptyPart reports an empty namespace, entity, id or key.
	ErrEmptyPart = errors.New("keys: empty key part")
	// ErrInvalidChar reports a control character, invalid UTF-8, or a
	// character that a namespace name or entity may not hold.
	ErrInvalidChar = errors.New("keys: invalid character in key part")
	// ErrTooLong reports a key longer than MaxKeyBytes.
	ErrTooLong = errors.New("keys: key too long")
)
