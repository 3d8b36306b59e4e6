package codec

import (
	"errors"
	"fmt"
)

// Codec marshals values to bytes and back. Implementations must be safe for
// concurrent use.
type Codec interface {
	// ID is the stable one-byte identifier recorded in each L2 entry.
	ID() byte
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value pointed to by v. It must not
	// modify data: the cache hands it Redis's reply as it received it.
	Unmarshal(data []byte, v any) error
}

// IDs of the codecs in this package. They are part of the wire format and
// never change.
const (
	IDMsgPack byte = 1
	IDJSON    byte = 2
)

var (
	// ErrEncode is wrapped by every error a codec returns from Marshal.
	ErrEncode = errors.New("codec: cannot encode value")
	// ErrDecode is wrapped by every error a codec returns from Unmarshal.
	ErrDecode = errors.New("codec: cannot decode value")
)

// Default returns the codec used when none is configured: MsgPack.
func Default() Codec { return MsgPack{} }

// encodeError wraps err as an ErrEncode naming the codec and the value's type.
// Codecs call it so that every encode failure reads the same way.
func encodeError(name string, v any, err error) error {
	return fmt.Errorf("%w: %s %T: %w", ErrEncode, name, v, err)
}

// decodeError wraps err as an ErrDecode naming the codec and the target type.
func decodeError(name string, v any, err error) error {
	return fmt.Errorf("%w: %s into %T: %w", ErrDecode, name, v, err)
}

// safely runs f and turns a panic inside a third-party encoder into an error:
// a value the codec cannot handle must never crash the caller.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}
