package codec

import (
	"bytes"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

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

// msgpackDecoder is a decoder and the reader it reads from, reused across
// Unmarshal calls: msgpack.Unmarshal allocates a reader for every call.
type msgpackDecoder struct {
	r bytes.Reader
	d *msgpack.Decoder
}

// msgpackDecoders holds idle msgpackDecoders.
var msgpackDecoders = sync.Pool{New: func() any {
	m := new(msgpackDecoder)
	m.d = msgpack.NewDecoder(&m.r)
	return m
}}

// Unmarshal decodes msgpack data into v, which must be a non-nil pointer.
func (MsgPack) Unmarshal(data []byte, v any) error {
	m := msgpackDecoders.Get().(*msgpackDecoder)
	m.r.Reset(data)
	m.d.Reset(&m.r) // as msgpack.Unmarshal does: default options
	err := safely(func() error { return m.d.Decode(v) })
	m.r.Reset(nil) // drop data
	msgpackDecoders.Put(m)
	if err != nil {
		return decodeError("msgpack", v, err)
	}
	return nil
}
