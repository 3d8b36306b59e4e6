package codec_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// User is a typical cached value.
type User struct {
	ID        int64
	Name      string
	Roles     []string
	CreatedAt time.Time
}

func ExampleMsgPack() {
	c := codec.MsgPack{}
	in := User{
		ID:        42,
		Name:      "Ada",
		Roles:     []string{"admin", "editor"},
		CreatedAt: time.Date(2024, 3, 14, 15, 9, 26, 0, time.UTC),
	}

	data, err := c.Marshal(in)
	if err != nil {
		fmt.Println("marshal:", err)
		return
	}
	var out User
	if err := c.Unmarshal(data, &out); err != nil {
		fmt.Println("unmarshal:", err)
		return
	}
	fmt.Println("codec ID:", c.ID())
	fmt.Println(out.ID, out.Name, out.Roles)
	// Time zones are not kept: compare instants with Equal.
	fmt.Println("same instant:", out.CreatedAt.Equal(in.CreatedAt))
	// Output:
	// codec ID: 1
	// 42 Ada [admin editor]
	// same instant: true
}

func ExampleCompressed() {
	// Compress payloads from 1 KiB (MinBytes 0 would mean
	// DefaultCompressMinBytes, also 1 KiB).
	c := codec.Compressed{Codec: codec.JSON{}, MinBytes: 1024}

	for _, v := range []string{
		"small value",
		strings.Repeat("a large, repetitive value ", 200),
	} {
		data, err := c.Marshal(v)
		if err != nil {
			fmt.Println("marshal:", err)
			return
		}
		// The tier writes stored to Redis and records compressed in the
		// entry's envelope.
		stored, compressed := c.Compress(data)
		fmt.Printf("%d bytes: compressed=%v smaller=%v\n", len(data), compressed, len(stored) < len(data))

		// Reading back: decompress flagged payloads, then unmarshal.
		payload := stored
		if compressed {
			if payload, err = codec.Decompress(stored); err != nil {
				fmt.Println("decompress:", err)
				return
			}
		}
		var out string
		if err := c.Unmarshal(payload, &out); err != nil {
			fmt.Println("unmarshal:", err)
			return
		}
		fmt.Println("round trip ok:", out == v)
	}
	// Output:
	// 13 bytes: compressed=false smaller=false
	// round trip ok: true
	// 5202 bytes: compressed=true smaller=true
	// round trip ok: true
}
