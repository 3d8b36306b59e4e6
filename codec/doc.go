// Package codec turns values into bytes for the L2 (Redis) tier and back.
//
// A Codec has a stable one-byte ID that the tier records in every entry's
// envelope, so a reader always decodes an entry with the codec that wrote it,
// and an entry written by a codec this process does not know is a miss rather
// than garbage. IDs 1 to 63 are reserved for tiercache's own codecs; pick
// user codec IDs from 64 to 255.
//
// MsgPack (github.com/vmihailenco/msgpack/v5) is the default: compact, fast,
// and tolerant of fields added to or removed from a struct between versions.
// JSON is there for interoperability with other readers of the same Redis.
// Compressed wraps any Codec and compresses payloads above a size threshold
// with S2 (github.com/klauspost/compress/s2).
package codec
