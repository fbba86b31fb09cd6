package oauthdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// Snapshots as a stream: a file a running DB writes and another DB starts
// warm from. The format is documented on WriteSnapshot; this file holds its
// writer and its reader, which both follow each record's field list
// (schema.go). Its errors (SnapshotError) are in errors.go.

// SnapshotVersion is the format version WriteSnapshot writes. ReadSnapshot
// reads it and every version before it (see WriteSnapshot).
const SnapshotVersion = 2

// Limits of the format: a reader refuses a file that claims more, before it
// reads what the claim would need.
const (
	// MaxSnapshotRows is the most rows a snapshot may hold, all tables
	// together.
	MaxSnapshotRows = 1 << 32
	// MaxSnapshotRecord is the most bytes one record's encoding may take.
	MaxSnapshotRecord = 16 << 20
)

// SnapshotInfo is what a snapshot says of itself: what a service logs when
// it starts warm from one.
type SnapshotInfo struct {
	// Version is the snapshot's format version.
	Version int
	// Written is when the snapshot was taken, by the clock of the DB that
	// wrote it.
	Written time.Time
	// Size is the snapshot's length in bytes.
	Size int64
	// Rows is the number of rows of each table, by table name (TableUser,
	// TableSession, ...); every table is present.
	Rows map[string]int
	// Marks is the number of tokens a replica held inactive although their
	// rows do not say so (see WithReplica), and Position the position in
	// its source's log its rows were as of (see MirrorTx.SetPosition); 0
	// and "" for a DB that is not a replica.
	Marks    int
	Position string
}

// Total returns the number of rows of every table.
func (i SnapshotInfo) Total() int {
	n := 0
	for _, r := range i.Rows {
		n += r
	}
	return n
}

// String formats the info for a log line, tables in the snapshot's order.
func (i SnapshotInfo) String() string {
	s := fmt.Sprintf("oauthdb snapshot v%d written %s, %d bytes:", i.Version, i.Written.Format(time.RFC3339Nano), i.Size)
	for _, t := range snapTables {
		s += fmt.Sprintf(" %s=%d", t.name(), i.Rows[t.name()])
	}
	if i.Marks > 0 || i.Position != "" {
		s += fmt.Sprintf("; a replica's, %d marks, at %q", i.Marks, i.Position)
	}
	return s
}

// LogValue makes the info a group of attributes in a structured log.
func (i SnapshotInfo) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("version", i.Version), slog.Time("written", i.Written), slog.Int64("bytes", i.Size)}
	for _, t := range snapTables {
		attrs = append(attrs, slog.Int(t.name(), i.Rows[t.name()]))
	}
	if i.Marks > 0 || i.Position != "" {
		attrs = append(attrs, slog.Int("marks", i.Marks), slog.String("position", i.Position))
	}
	return slog.GroupValue(attrs...)
}

// The layout (see WriteSnapshot).
const (
	snapMagic = "\x89oauthdb snapshot\r\n\x1a\n"
	// snapTableCount is the number of tables of records.
	snapTableCount = 7
	// snapSections is the number of sections of rows of version 2: the
	// tables, then a replica's marks.
	snapSections = snapTableCount + 1
	// frameEnd is the kind byte of the end of the stream.
	frameEnd = 0
)

// snapHeaderLen returns the length of a header of version v, its
// checksum included, without the position of version 2.
func snapHeaderLen(v uint16) int {
	if v == 1 {
		return len(snapMagic) + 2 + 8 + 4 + 8*snapTableCount + 4
	}
	return len(snapMagic) + 2 + 8 + 4 + 8*snapSections + 4
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteSnapshot writes every record of the DB to w, as one consistent
// snapshot: it reads one transaction (View), which never blocks writers, so
// that writes go on meanwhile and the file holds the state of one moment. It
// writes through a buffer of its own, and returns the first error of w, in a
// *SnapshotError whose Offset says how far the writing had got. Tokens and client secrets are in
// it only as their hashes, session cookies as better-auth stores them: treat
// the file as a secret.
//
// The file is the input of ReadSnapshot, in a format that is versioned and
// kept: a file written by this version is read by every later one. Version 1
// is, in order (integers big-endian unless said otherwise):
//
//	header, 103 bytes and the position:
//	  magic     21 bytes  "\x89oauthdb snapshot\r\n\x1a\n"
//	  version   uint16    2
//	  written   int64     seconds since 1970-01-01 UTC, by the writing DB's clock
//	            uint32    and nanoseconds, below 10^9
//	  rows      8×uint64  the rows of each table, in table order (below), then
//	                      the number of marks
//	  position  uvarint   a replica's position's length, 0 to MaxPositionLen
//	            bytes     and the position (see MirrorTx.SetPosition)
//	  crc       uint32    CRC-32C (Castagnoli) of every byte before it
//	one frame per row, the tables in order, each table's rows in ascending
//	order of their id (bytewise), then the marks in the same order:
//	  kind      byte      the table: 1 user, 2 session, 3 oauthClient,
//	                      4 oauthRefreshToken, 5 oauthAccessToken,
//	                      6 oauthConsent, 7 verification; 8 a mark
//	  length    uvarint   the record's length, 1 to MaxSnapshotRecord
//	  record    bytes     the record's fields (below)
//	  crc       uint32    CRC-32C of kind, length and record
//	the end:
//	  kind      byte      0
//	  crc       uint32    CRC-32C of every byte of the stream before it
//
// and nothing after it. The tables come parents first, in the order a load
// must insert them. A record is its fields in the order of its Go struct
// (and of its JSON), each encoded by its type:
//
//	string        uvarint length, then the bytes (UTF-8, as the DB keeps them)
//	bool          one byte, 0 or 1
//	time          uvarint 0 for the zero time (absent); else uvarint of
//	              nanoseconds+1, then varint (zig-zag) of seconds since
//	              1970-01-01 UTC
//	[]string      uvarint 0 for none (nil, JSON null or absent); else uvarint
//	              of the count+1, then each string
//	metadata      a string: the JSON as the DB keeps it (compact), empty
//	              when absent
//
// Every integer takes its shortest encoding and every record the one
// encoding of its values, so that one state has exactly one file, but for
// the time it was written: ReadSnapshot refuses any other. A record's times
// createdAt and updatedAt (where it has one) are present, but on a replica,
// whose rows are its source's as they are.
//
// A mark is a token a replica holds inactive although its row does not say
// so (see WithReplica): its id ("a" and the access token's id, or "r" and
// the refresh token's) and the time of the mark, as a string and a time.
// A replica's snapshot holds its rows as its source wrote them, its marks,
// and its position, so that a replica that reads it is the replica that
// wrote it; any other DB has no marks and no position. (Tx.Snapshot shows a
// replica's marks as revocations instead; ReadSnapshot, into a DB that is
// not a replica, does the same.)
//
// Version 1 is version 2 without the marks' count and the position (a
// header of 95 bytes) and without marks. Later versions keep the magic and
// the version in their place, and may change the rest: a new field of a
// record (when better-auth adds one: the field list of each record says
// since which version a field is there), a new table (a new kind),
// compression. A reader reads every version up to its own (a newer file is
// ErrSnapshotVersion, refused before anything else), and the writer writes
// the newest.
func (db *DB) WriteSnapshot(w io.Writer) error {
	return db.View(func(tx *Tx) error {
		sw := &snapWriter{w: bufio.NewWriterSize(w, 64<<10)}
		var rows [snapSections]uint64
		for i, t := range snapStream {
			rows[i] = t.count(tx)
		}
		sw.header(db.now(), rows, positionIn(tx.st))
		for i, t := range snapStream {
			if err := t.write(sw, tx, byte(i+1)); err != nil {
				return err
			}
		}
		sw.end()
		if sw.err == nil {
			sw.err = sw.w.Flush()
		}
		if sw.err != nil {
			return &SnapshotError{Offset: sw.off, Err: sw.err}
		}
		return nil
	})
}

// snapWriter writes frames and keeps the stream's checksum. The first error
// of the underlying writer sticks.
type snapWriter struct {
	w     *bufio.Writer
	off   int64
	sum   uint32
	err   error
	rec   []byte // the record being encoded
	frame []byte // the frame being built
	enc   encoder
}

func (sw *snapWriter) put(b []byte) {
	if sw.err != nil {
		return
	}
	sw.sum = crc32.Update(sw.sum, castagnoli, b)
	n, err := sw.w.Write(b)
	sw.off += int64(n)
	sw.err = err
}

func (sw *snapWriter) header(written time.Time, rows [snapSections]uint64, position string) {
	h := make([]byte, 0, snapHeaderLen(SnapshotVersion)+binary.MaxVarintLen64+len(position))
	h = append(h, snapMagic...)
	h = binary.BigEndian.AppendUint16(h, SnapshotVersion)
	h = binary.BigEndian.AppendUint64(h, uint64(written.Unix()))
	h = binary.BigEndian.AppendUint32(h, uint32(written.Nanosecond()))
	for _, n := range rows {
		h = binary.BigEndian.AppendUint64(h, n)
	}
	h = binary.AppendUvarint(h, uint64(len(position)))
	h = append(h, position...)
	h = binary.BigEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
	sw.put(h)
}

// record writes the frame of one encoded record.
func (sw *snapWriter) record(kind byte, table string, row int) error {
	if len(sw.rec) > MaxSnapshotRecord {
		return &SnapshotError{Offset: sw.off, Table: table, Row: row, Err: ErrSnapshotMalformed,
			Reason: fmt.Sprintf("the record takes %d bytes, more than MaxSnapshotRecord", len(sw.rec))}
	}
	f := append(sw.frame[:0], kind)
	f = binary.AppendUvarint(f, uint64(len(sw.rec)))
	f = append(f, sw.rec...)
	f = binary.BigEndian.AppendUint32(f, crc32.Checksum(f, castagnoli))
	sw.frame = f
	sw.put(f)
	if sw.err != nil {
		return &SnapshotError{Offset: sw.off, Table: table, Row: row, Err: sw.err}
	}
	return nil
}

func (sw *snapWriter) end() {
	sw.put([]byte{frameEnd})
	sum := sw.sum
	sw.put(binary.BigEndian.AppendUint32(nil, sum))
}

// ReadSnapshot reads a snapshot that WriteSnapshot wrote and makes it the
// DB's state, at once: the rows are loaded into an empty database off to
// the side, in one transaction, and swapped in whole when the last has
// loaded and the checksums have matched. Until then the DB
// serves its old state; readers see the old state or the new, never a mix;
// the validation cache starts empty; and whatever watched the old state is
// woken. A write committed to the DB while the snapshot loads is lost with
// the old state: read a snapshot at start-up, before serving writes.
//
// Every record goes through the door of the write methods (Tx.InsertUser
// and the others), parents first: one the DB would refuse — a missing
// required field, a foreign key that names no record, a duplicate id or
// unique value — fails the read. The stream is read as it comes, one record
// at a time, to its end: a snapshot is the whole stream. Sizes past the
// format's limits are refused before they are read. Any failure returns a
// *SnapshotError that says where (the byte, the table and row, the field)
// and why (ErrSnapshotTruncated, ErrSnapshotCorrupt, ErrSnapshotVersion,
// ErrSnapshotMalformed, or the record's *Error), and leaves the DB exactly
// as it was.
//
// A snapshot brings back its records as they were, revoked or active: a
// token revoked since the snapshot was written is active again once it is
// read. That is what a warm start wants, and why it is for start-up. A
// replica's marks come back as revocations at the time of the mark.
//
// On a replica, ReadSnapshot brings back a replica's state: its source's
// rows as a replica keeps them (through the door of Mirror, where a row it
// would refuse fails the read), its marks, and its position. It is stale
// afterwards, until what keeps it in step vouches for it.
func (db *DB) ReadSnapshot(r io.Reader) (SnapshotInfo, error) {
	sr := &snapReader{br: bufio.NewReaderSize(r, 64<<10), intern: map[string]string{}}
	info, err := sr.header()
	if err != nil {
		return SnapshotInfo{}, err
	}
	side, err := db.st.Fresh()
	if err != nil {
		return SnapshotInfo{}, err
	}
	// One transaction: go-memdb copies again the radix nodes each new
	// transaction touches. Against batches of 1,000 and 8,000 rows it
	// allocated 35-40% less and took a third less time (bench/README.md).
	readAll := func(tx *Tx) error {
		for !sr.done {
			if err := sr.next(tx); err != nil {
				return err
			}
		}
		return nil
	}
	if !db.cfg.replica {
		err = side.Update(func(st *store.Txn) error { return readAll(&Tx{db: db, st: st}) })
	} else {
		err = side.Mirror(func(st *store.Txn) error {
			if err := sourcePositions.Insert(st, &sourcePosition{ID: positionID, Position: info.Position}); err != nil {
				return err
			}
			refused, err := db.mirrorWith(db.mirrorTx(st, nil, true), func(mt *MirrorTx) error {
				sr.mt = mt
				return readAll(mt.tx)
			})
			if err == nil && len(refused) > 0 {
				// A row the replica could not have kept: not a replica's
				// snapshot, or not of this version.
				err = &SnapshotError{Offset: sr.off, Table: refused[0].Table, Err: refused[0].Err}
			}
			return err
		})
	}
	if err != nil {
		return SnapshotInfo{}, err // the side store goes with it
	}
	info.Size = sr.off
	if err := db.st.Replace(side); err != nil {
		return SnapshotInfo{}, err
	}
	return info, nil
}

// snapReader reads a stream, keeping its offset and checksum, and walks the
// frames the header announced.
type snapReader struct {
	br   *bufio.Reader
	off  int64
	sum  uint32
	buf  []byte
	rows [snapSections]uint64 // from the header
	// table and row are the next frame's: the table's index, and how many
	// of its rows have been read.
	table int
	row   uint64
	done  bool
	// last is the id of the last row read of the current table.
	last   string
	intern map[string]string
	dec    decoder
	enc    encoder
	// headerLen is the header's length; sections are the sections of rows
	// of the snapshot's version, and rows their counts from the header.
	headerLen int64
	sections  []snapTable
	// mt is, when a replica reads, the Mirror transaction of the batch
	// being read: rows go through its door, and marks are the replica's.
	mt *MirrorTx
}

// full reads exactly len(p) bytes into p, counting and summing what it
// read.
func (sr *snapReader) full(p []byte) (int, error) {
	n, err := io.ReadFull(sr.br, p)
	sr.off += int64(n)
	sr.sum = crc32.Update(sr.sum, castagnoli, p[:n])
	return n, err
}

// read reads the next n bytes, into a buffer valid until the next read. A
// large n grows the buffer as the bytes arrive, so that a length that lies
// costs no more memory than the stream delivers.
func (sr *snapReader) read(n int) ([]byte, error) {
	sr.buf = sr.buf[:0]
	for len(sr.buf) < n {
		chunk := min(n-len(sr.buf), 64<<10)
		sr.buf = slices.Grow(sr.buf, chunk)
		got, err := sr.full(sr.buf[len(sr.buf) : len(sr.buf)+chunk])
		sr.buf = sr.buf[:len(sr.buf)+got]
		if err != nil {
			return sr.buf, err
		}
	}
	return sr.buf, nil
}

// fail returns the error of the frame at offset off, in the current table
// and row. An end of the stream is ErrSnapshotTruncated, whatever the
// caller thought was wrong.
func (sr *snapReader) fail(off int64, err error, reason string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err, reason = ErrSnapshotTruncated, fmt.Sprintf("the stream ends at byte %d", sr.off)
	}
	e := &SnapshotError{Offset: off, Err: err, Reason: reason}
	if !sr.done && sr.table < len(sr.sections) && sr.headerLen > 0 && off >= sr.headerLen {
		e.Table, e.Row = sr.sections[sr.table].name(), int(sr.row)+1
	}
	return e
}

func (sr *snapReader) header() (SnapshotInfo, error) {
	magic, err := sr.read(len(snapMagic))
	if !bytes.HasPrefix([]byte(snapMagic), magic) {
		return SnapshotInfo{}, &SnapshotError{Offset: 0, Err: ErrSnapshotMalformed, Reason: "not an oauthdb snapshot"}
	}
	if err != nil {
		return SnapshotInfo{}, sr.fail(0, err, "")
	}
	v, err := sr.read(2)
	if err != nil {
		return SnapshotInfo{}, sr.fail(int64(len(snapMagic)), err, "")
	}
	version := binary.BigEndian.Uint16(v)
	if version < 1 || version > SnapshotVersion {
		return SnapshotInfo{}, &SnapshotError{Offset: int64(len(snapMagic)), Err: ErrSnapshotVersion,
			Reason: fmt.Sprintf("version %d; this reader reads versions 1 to %d", version, SnapshotVersion)}
	}
	sr.sections = snapStream
	if version == 1 {
		sr.sections = snapTables
	}
	body, err := sr.read(snapHeaderLen(version) - len(snapMagic) - 2 - 4)
	if err != nil {
		return SnapshotInfo{}, sr.fail(int64(len(snapMagic)+2), err, "")
	}
	body = bytes.Clone(body) // read reuses its buffer
	info := SnapshotInfo{Version: int(version), Rows: make(map[string]int, len(snapTables))}
	if version >= 2 {
		off := sr.off
		n, err := sr.uvarint()
		switch {
		case err != nil:
			return SnapshotInfo{}, sr.fail(off, err, "the position's length is not a shortest uvarint")
		case n > MaxPositionLen:
			return SnapshotInfo{}, sr.fail(off, ErrSnapshotMalformed, fmt.Sprintf("a position of %d bytes, more than MaxPositionLen", n))
		}
		pos, err := sr.read(int(n))
		if err != nil {
			return SnapshotInfo{}, sr.fail(off, err, "")
		}
		info.Position = string(pos)
	}
	sum, crcOff := sr.sum, sr.off
	if c, err := sr.read4(); err != nil {
		return SnapshotInfo{}, sr.fail(crcOff, err, "")
	} else if c != sum {
		return SnapshotInfo{}, &SnapshotError{Offset: crcOff, Err: ErrSnapshotCorrupt, Reason: "the header's checksum does not match"}
	}
	sr.headerLen = sr.off
	sec, nsec := int64(binary.BigEndian.Uint64(body)), binary.BigEndian.Uint32(body[8:])
	info.Written = time.Unix(sec, int64(nsec)).UTC()
	if nsec >= 1e9 || info.Written.Before(minTime) || !info.Written.Before(maxTime) {
		return SnapshotInfo{}, &SnapshotError{Offset: int64(len(snapMagic) + 2), Err: ErrSnapshotMalformed, Reason: "the time written is not a time of the years 0 to 9999"}
	}
	var total uint64
	for i, t := range sr.sections {
		n := binary.BigEndian.Uint64(body[12+8*i:])
		if n > MaxSnapshotRows || total+n > MaxSnapshotRows {
			return SnapshotInfo{}, &SnapshotError{Offset: int64(len(snapMagic) + 14 + 8*i), Err: ErrSnapshotMalformed,
				Reason: fmt.Sprintf("the header claims more than MaxSnapshotRows (%d) rows", MaxSnapshotRows)}
		}
		total += n
		sr.rows[i] = n
		if i < snapTableCount {
			info.Rows[t.name()] = int(n)
		} else {
			info.Marks = int(n)
		}
	}
	sr.skipFull()
	return info, nil
}

// skipFull moves past the tables that have all their rows.
func (sr *snapReader) skipFull() {
	for sr.table < len(sr.sections) && sr.row == sr.rows[sr.table] {
		sr.table, sr.row, sr.last = sr.table+1, 0, ""
	}
}

// next reads the next frame: a row, inserted in tx, or the end. A frame's
// checksum is checked before anything in it is believed.
func (sr *snapReader) next(tx *Tx) error {
	off := sr.off
	k, err := sr.read(1)
	if err != nil {
		return sr.fail(off, err, "")
	}
	kind := k[0]
	if kind == frameEnd {
		return sr.end(off)
	}
	n, err := sr.uvarint()
	if err != nil {
		return sr.fail(off, err, "the record's length is not a shortest uvarint")
	}
	if n == 0 || n > MaxSnapshotRecord {
		return sr.fail(off, ErrSnapshotMalformed, fmt.Sprintf("a record length of %d, outside 1 to MaxSnapshotRecord", n))
	}
	var hb [1 + binary.MaxVarintLen64]byte
	head := binary.AppendUvarint(append(hb[:0], kind), n)
	rec, err := sr.read(int(n))
	if err != nil {
		return sr.fail(off, err, "")
	}
	sum := crc32.Update(crc32.Checksum(head, castagnoli), castagnoli, rec)
	c, err := sr.read4()
	if err != nil {
		return sr.fail(off, err, "")
	}
	if c != sum {
		return sr.fail(off, ErrSnapshotCorrupt, "the record's checksum does not match")
	}
	if sr.table == len(sr.sections) {
		return sr.fail(off, ErrSnapshotMalformed, fmt.Sprintf("a row of kind %d where the end was due: more rows than the header says", kind))
	}
	if want := byte(sr.table + 1); kind != want {
		return sr.fail(off, ErrSnapshotMalformed, fmt.Sprintf("a row of kind %d where one of kind %d was due: not as many rows as the header says", kind, want))
	}
	if err := sr.sections[sr.table].read(sr, tx, rec); err != nil {
		return sr.recordError(off, err)
	}
	sr.row++
	sr.skipFull()
	return nil
}

// recordError wraps the error of a record that did not decode or that the
// DB refused.
func (sr *snapReader) recordError(off int64, err error) error {
	e := sr.fail(off, err, "").(*SnapshotError)
	var fe *fieldError
	var de *Error
	switch {
	case errors.As(err, &fe):
		e.ID, e.Field, e.Reason, e.Err = store.Bound(fe.id), fe.field, fe.reason, ErrSnapshotMalformed
	case errors.As(err, &de):
		e.ID, e.Field = de.ID, de.Field
	}
	return e
}

// read4 reads a checksum, which the stream's checksum covers too, into
// a buffer of its own: the record it follows is still being read.
func (sr *snapReader) read4() (uint32, error) {
	var b [4]byte
	if _, err := sr.full(b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// uvarint reads a uvarint, refusing one that is not in its shortest form.
func (sr *snapReader) uvarint() (uint64, error) {
	var b [binary.MaxVarintLen64]byte
	for i := range b {
		c, err := sr.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		b[i] = c
		sr.off++
		if c < 0x80 {
			sr.sum = crc32.Update(sr.sum, castagnoli, b[:i+1])
			x, n := binary.Uvarint(b[:i+1])
			if n <= 0 || (c == 0 && i > 0) { // overflow, or a longer form of a shorter number
				return 0, ErrSnapshotMalformed
			}
			return x, nil
		}
	}
	return 0, ErrSnapshotMalformed
}

// end checks the end of the stream: the whole stream's checksum, and
// nothing after it.
func (sr *snapReader) end(off int64) error {
	sum := sr.sum
	c, err := sr.read4()
	if err != nil {
		return sr.fail(off, err, "")
	}
	if c != sum {
		return sr.fail(off, ErrSnapshotCorrupt, "the stream's checksum does not match")
	}
	if sr.table < len(sr.sections) {
		// A flipped kind byte would read as this too, but then the
		// stream's checksum above does not match.
		return sr.fail(off, ErrSnapshotMalformed, "the end, where a row was due: not as many rows as the header says")
	}
	sr.done = true
	if _, err := sr.br.ReadByte(); err != io.EOF {
		if err != nil {
			return &SnapshotError{Offset: sr.off, Err: err}
		}
		return &SnapshotError{Offset: sr.off, Err: ErrSnapshotMalformed, Reason: "data after the end of the snapshot"}
	}
	return nil
}

// The sections of a snapshot, in the order a load inserts them: the tables
// of the data model, parents first (tables, schema.go), then a replica's
// marks. A frame's kind is its section's place in snapStream, from 1.
var (
	snapTables = snapStream[:snapTableCount]
	snapStream = append(sections(tables),
		&snapSection[tokenDeath]{table: tokenDeaths, fields: (*tokenDeath).fields, insert: foldMark, mirror: (*MirrorTx).restoreMark})
)

// sections returns the snapshot sections of tables.
func sections(tables []table) []snapTable {
	s := make([]snapTable, len(tables))
	for i, t := range tables {
		s[i] = t.section()
	}
	return s
}

// snapTable is one section of a snapshot, seen without its record type.
type snapTable interface {
	name() string
	count(tx *Tx) uint64
	write(sw *snapWriter, tx *Tx, kind byte) error
	read(sr *snapReader, tx *Tx, rec []byte) error
}

// snapSection is the section of a table of records T: its field list,
// walked by the encoder and the decoder alike, and how a record read is
// stored.
type snapSection[T any] struct {
	table  *store.Table[T]
	fields func(*T, fieldCodec)
	// insert stores a record read into a DB that is not a replica; mirror,
	// into a replica. Either may change the record.
	insert func(*Tx, *T) error
	mirror func(*MirrorTx, *T) error
}

// section is a table's section of a snapshot: its rows written as they
// are stored, read back through the door of the write methods (insert),
// or into a replica through Mirror's.
func (t *tableOf[T]) section() snapTable {
	return &snapSection[T]{table: t.Table, fields: t.fields, insert: t.insert, mirror: t.mirror}
}

func (t *snapSection[T]) name() string { return t.table.ID().Table() }

func (t *snapSection[T]) count(tx *Tx) uint64 {
	var n uint64
	for range t.table.All(tx.st) {
		n++
	}
	return n
}

func (t *snapSection[T]) write(sw *snapWriter, tx *Tx, kind byte) error {
	row := 0
	for rec := range t.table.All(tx.st) {
		row++
		sw.enc.b = sw.rec[:0]
		t.fields(rec, &sw.enc)
		sw.rec = sw.enc.b
		if err := sw.record(kind, t.name(), row); err != nil {
			return err
		}
	}
	return nil
}

func (t *snapSection[T]) read(sr *snapReader, tx *Tx, data []byte) error {
	var rec T
	sr.dec.reset(data, sr.intern)
	t.fields(&rec, &sr.dec)
	// The id is the first field: whatever fails after it, it names the row.
	id := t.table.Key(&rec)
	if err := sr.dec.finish(sr.mt == nil); err != nil {
		err.id = id
		return err
	}
	// One state, one file: the record must be the one encoding of what it
	// decodes to, or writing it back would give other bytes.
	sr.enc.b = sr.enc.b[:0]
	t.fields(&rec, &sr.enc)
	if !bytes.Equal(sr.enc.b, data) {
		return &fieldError{id: id, reason: "not in the one encoding of its values (a longer varint, a present zero time, a bool other than 0 or 1)"}
	}
	if err := sr.dec.canonical(); err != nil {
		err.id = id
		return err
	}
	if sr.row > 0 && id < sr.last {
		return &fieldError{id: id, field: "id", reason: "rows out of id order"}
	}
	sr.last = id
	if sr.mt != nil {
		return t.mirror(sr.mt, &rec)
	}
	return t.insert(tx, &rec)
}

// restoreMark makes a mark of a replica's snapshot the replica's own
// again. It must name a token of the snapshot: a replica keeps no mark
// without its token.
func (mt *MirrorTx) restoreMark(d *tokenDeath) error {
	if err := foldMark(mt.tx, d); err != nil {
		return err
	}
	return mt.insertMark(d)
}

// foldMark shows a mark of a replica's snapshot, read into a DB that is
// not a replica, as Tx.Snapshot shows it: its token revoked at the time of
// the mark, unless the row says it was revoked already. On a replica, tx
// is of a snapshot's rows being read again and nothing is written.
func foldMark(tx *Tx, d *tokenDeath) error {
	if len(d.ID) < 2 || d.At.IsZero() {
		return &fieldError{id: d.ID, field: "id", reason: "a mark without a token or a time"}
	}
	k := kindOfMark(d.ID)
	if k == nil {
		return &fieldError{id: d.ID, field: "id", reason: "a mark of no kind of token"}
	}
	return k.foldMark(tx, d.ID[1:], d.At)
}

// foldMark checks that the token a mark names is there and, on a DB that
// is not a replica, revokes it at the mark's time if it is not revoked.
func (k *tokenKind[T]) foldMark(tx *Tx, id string, at time.Time) error {
	rec, ok := k.table.Get(tx.st, id)
	if !ok {
		return &fieldError{id: id, field: "id", reason: "a mark names no token of the snapshot"}
	}
	if tx.db.cfg.replica || !k.revoked(rec).IsZero() {
		return nil
	}
	c := *rec
	*k.revoked(&c) = at
	return k.table.Update(tx.st, &c)
}

// fieldError is a record that does not decode: its id, when that decoded,
// the field at fault and why.
type fieldError struct{ id, field, reason string }

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

// encoder appends a record's encoding to b.
type encoder struct{ b []byte }

func (e *encoder) text(_ string, v *string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(*v)))
	e.b = append(e.b, *v...)
}

func (e *encoder) shared(name string, v *string) { e.text(name, v) }

func (e *encoder) scopes(name string, v *[]string) { e.list(name, v) }

func (e *encoder) list(name string, v *[]string) {
	if *v == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(len(*v))+1)
	for i := range *v {
		e.text(name, &(*v)[i])
	}
}

func (e *encoder) flag(_ string, v *bool) {
	if *v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) time(_ string, v *time.Time) {
	if v.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(v.Nanosecond())+1)
	e.b = binary.AppendVarint(e.b, v.Unix())
}

func (e *encoder) json(_ string, v *json.RawMessage) {
	e.b = binary.AppendUvarint(e.b, uint64(len(*v)))
	e.b = append(e.b, *v...)
}

// decoder reads a record's fields from b. Its first error sticks, and the
// fields after it are left zero.
type decoder struct {
	b      []byte
	field  string
	reason string
	// timeless is the first of createdAt and updatedAt that is absent.
	timeless string
	// meta is the metadata read, to check that it is in the form the DB
	// keeps.
	meta   []byte
	lists  []string // the backing of the record's lists: Insert copies them
	intern map[string]string
}

func (d *decoder) reset(b []byte, intern map[string]string) {
	*d = decoder{b: b, lists: d.lists[:0], intern: intern}
}

func (d *decoder) fail(name, reason string) {
	if d.reason == "" {
		d.field, d.reason = name, reason
	}
	d.b = nil
}

// finish reports the first fault of the record decoded, and, when timed is
// set, an absent createdAt or updatedAt.
func (d *decoder) finish(timed bool) *fieldError {
	if d.reason == "" && len(d.b) > 0 {
		d.fail("", fmt.Sprintf("bytes left over after the last field (%d)", len(d.b)))
	}
	if d.reason != "" {
		return &fieldError{field: d.field, reason: d.reason}
	}
	if timed && d.timeless != "" {
		return &fieldError{field: d.timeless, reason: "absent: a snapshot carries every record's createdAt and updatedAt"}
	}
	return nil
}

// canonical checks what the encoding alone does not fix: metadata in the
// form the DB keeps, which Insert would otherwise rewrite.
func (d *decoder) canonical() *fieldError {
	if len(d.meta) == 0 || !json.Valid(d.meta) {
		return nil // valid or not, the door says
	}
	if m, err := json.Marshal(json.RawMessage(d.meta)); err != nil || !bytes.Equal(m, d.meta) || string(m) == "null" {
		return &fieldError{field: "metadata", reason: "not in the compact form the DB keeps"}
	}
	return nil
}

func (d *decoder) uvarint(name string) uint64 {
	if d.b == nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(name, "a varint runs past the end of the record or overflows")
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) bytes(name string) []byte {
	n := d.uvarint(name)
	if d.b == nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(name, "a string runs past the end of the record")
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) text(name string, v *string) {
	if b := d.bytes(name); len(b) > 0 {
		*v = string(b)
	}
}

func (d *decoder) shared(name string, v *string) {
	b := d.bytes(name)
	if len(b) == 0 {
		return
	}
	s, ok := d.intern[string(b)]
	if !ok {
		s = string(b)
		d.intern[s] = s
	}
	*v = s
}

func (d *decoder) list(name string, v *[]string) {
	n := d.uvarint(name)
	if n == 0 {
		return
	}
	n--
	if n > uint64(len(d.b)) { // each string takes a byte at least
		d.fail(name, "a list longer than the rest of the record")
		return
	}
	if n == 0 {
		*v = []string{} // an empty list, not none
		return
	}
	start := len(d.lists)
	for range n {
		var s string
		d.shared(name, &s)
		d.lists = append(d.lists, s)
	}
	*v = d.lists[start:len(d.lists):len(d.lists)]
}

func (d *decoder) scopes(name string, v *[]string) { d.list(name, v) }

func (d *decoder) flag(name string, v *bool) {
	if d.b == nil {
		return
	}
	if len(d.b) == 0 {
		d.fail(name, "a bool past the end of the record")
		return
	}
	*v = d.b[0] != 0
	d.b = d.b[1:]
}

func (d *decoder) time(name string, v *time.Time) {
	ns := d.uvarint(name)
	if ns == 0 {
		if d.timeless == "" && (name == "createdAt" || name == "updatedAt") {
			d.timeless = name
		}
		return
	}
	if ns > 1e9 {
		d.fail(name, "nanoseconds past 10^9")
		return
	}
	if d.b == nil {
		return
	}
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(name, "a varint runs past the end of the record or overflows")
		return
	}
	d.b = d.b[n:]
	// Past these, time.Unix's arithmetic wraps: a time the door would take
	// for another one.
	if sec < minTime.Unix() || sec >= maxTime.Unix() {
		d.fail(name, "outside the years 0 to 9999")
		return
	}
	*v = time.Unix(sec, int64(ns-1)).UTC()
}

func (d *decoder) json(name string, v *json.RawMessage) {
	if b := d.bytes(name); len(b) > 0 {
		*v = json.RawMessage(b) // Insert copies it (normalize)
		d.meta = b
	}
}
