package codec

import "encoding/json"

// JSON is a Codec built on encoding/json, for entries that other programs
// read from Redis too.
type JSON struct{}

var _ Codec = JSON{}

// ID returns IDJSON.
func (JSON) ID() byte { return IDJSON }

// Marshal encodes v as JSON.
func (JSON) Marshal(v any) ([]byte, error) {
	var b []byte
	err := safely(func() (err error) {
		b, err = json.Marshal(v)
		return err
	})
	if err != nil {
		return nil, encodeError("json", v, err)
	}
	return b, nil
}

// Unmarshal decodes JSON data into v, which must be a non-nil pointer.
func (JSON) Unmarshal(data []byte, v any) error {
	if err := safely(func() error { return json.Unmarshal(data, v) }); err != nil {
		return decodeError("json", v, err)
	}
	return nil
}
