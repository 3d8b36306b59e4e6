package codec

import "github.com/vmihailenco/msgpack/v5"

// MsgPack is the default Codec, built on github.com/vmihailenco/msgpack/v5.
// Struct fields added or removed between versions of a type decode without
// error (unknown fields are skipped, missing ones keep their zero value).
type MsgPack struct{}

var _ Codec = MsgPack{}

// ID returns IDMsgPack.
func (MsgPack) ID() byte { return IDMsgPack }

// Marshal encodes v as msgpack.
func (MsgPack) Marshal(v any) ([]byte, error) {
	var b []byte
	err := safely(func() (err error) {
		b, err = msgpack.Marshal(v)
		return err
	})
	if err != nil {
		return nil, encodeError("msgpack", v, err)
	}
	return b, nil
}

// Unmarshal decodes msgpack data into v, which must be a non-nil pointer.
func (MsgPack) Unmarshal(data []byte, v any) error {
	err := safely(func() error { return msgpack.Unmarshal(data, v) })
	if err != nil {
		return decodeError("msgpack", v, err)
	}
	return nil
}
