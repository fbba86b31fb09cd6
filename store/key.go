package store

import (
	"encoding/binary"
	"strings"
	"time"
)

// Index keys are built here and nowhere else.
//
// A string is written followed by a 0x00 terminator, so that the key of "ab"
// is never a prefix of the key of "abc" and a compound key's parts cannot run
// into each other. Strings that hold a 0x00 byte cannot be told apart from a
// shorter string and are rejected by validKeyString.
//
// A time is written as 12 big-endian bytes — seconds since 1970 with the sign
// bit flipped, then nanoseconds — so that byte order is time order and range
// scans walk the index in time.

// appendString appends the key form of s to dst.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, s...)
	return append(dst, 0)
}

// appendBytes appends the key form of b to dst: the same as appendString of
// string(b), without converting.
func appendBytes(dst, b []byte) []byte {
	dst = append(dst, b...)
	return append(dst, 0)
}

// timeKeyLen is the length of a time's key.
const timeKeyLen = 12

// appendTime appends the 12-byte, order-preserving key form of t to dst.
func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
}

// validKeyString reports whether s can be part of an index key: it must not
// hold the 0x00 terminator.
func validKeyString(s string) bool {
	return strings.IndexByte(s, 0) < 0
}
