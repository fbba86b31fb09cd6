package pgreplica

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/oauthdb/oauthdb"
)

// A Follower's durable state (FollowerConfig.StateDir) is its DB — the
// source's rows as it holds them, its marks, and the position they are as
// of — written with DB.WriteSnapshot to one file, atomically (a file beside
// it, synced, renamed over it, the directory synced), every StateInterval
// while the position moves, after each load, and when Run returns. A
// snapshot reads one transaction, so writing it never holds up validation
// or the stream. At start, Run reads the file back and resumes the slot
// from its position, without a load when the slot can still serve it.
//
// The replica acknowledges to Postgres no further than the file covers
// (Config.Durable): the slot keeps the WAL from there, so that after a
// crash the transactions the file lacks are streamed again, and the marks
// they call for made again (they are a function of the stream: see
// dbSink.Apply).

// stateFile is the state's file name in the state directory.
const stateFile = "state"

// DefaultStateInterval is how often, by default, a Follower writes its
// state while its position moves.
const DefaultStateInterval = time.Minute

// followerState is the state directory of a Follower.
type followerState struct {
	dir    string
	unlock func() // releases the directory's lock

	mu      sync.Mutex
	durable LSN       // the position the file on disk covers at least
	written time.Time // when it was last written
	size    int64
	err     error  // the last write's error, nil once one succeeds
	last    string // the DB position last written
}

// openState makes dir if needed and locks it: two processes writing one
// state would each hold the other's slot back.
func openState(dir string) (*followerState, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return &followerState{dir: dir, unlock: unlock}, nil
}

// read reads the saved state into db, if there is one, and returns the
// position it is as of. A state that cannot be read is an error, not a
// reason to start over: its marks are what keeps the answers monotonic.
func (s *followerState) read(db *oauthdb.DB) (pos position, ok bool, info oauthdb.SnapshotInfo, err error) {
	f, err := os.Open(filepath.Join(s.dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return position{}, false, info, nil
	}
	if err != nil {
		return position{}, false, info, err
	}
	defer f.Close()
	info, err = db.ReadSnapshot(f)
	if err != nil {
		return position{}, false, info, err
	}
	pos, err = parsePosition(info.Position)
	if err != nil {
		return position{}, false, info, err
	}
	s.mu.Lock()
	s.durable, s.last, s.written, s.size = pos.lsn, info.Position, info.Written, info.Size
	s.mu.Unlock()
	return pos, true, info, nil
}

// write writes db's state, unless its position has not moved since the
// last write.
func (s *followerState) write(db *oauthdb.DB) error {
	// The position is read before the snapshot, which holds it or a later
	// one: the file covers at least this.
	raw := db.Position()
	s.mu.Lock()
	unchanged := raw == s.last && s.err == nil
	s.mu.Unlock()
	if unchanged || raw == "" {
		return nil
	}
	pos, err := parsePosition(raw)
	if err != nil {
		return err
	}
	size, err := s.writeFile(db)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	if err == nil {
		s.durable, s.last, s.written, s.size = pos.lsn, raw, time.Now(), size
	}
	return err
}

// writeFile writes the snapshot beside the state file and renames it over
// it once it is complete and synced: a crash leaves the old state or the
// new, never part of one.
func (s *followerState) writeFile(db *oauthdb.DB) (int64, error) {
	tmp, err := os.CreateTemp(s.dir, stateFile+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is none
	err = db.WriteSnapshot(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	var size int64
	if fi, serr := tmp.Stat(); serr == nil {
		size = fi.Size()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.dir, stateFile))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	return size, err
}

// durableLSN is Config.Durable: what the file on disk covers.
func (s *followerState) durableLSN() LSN {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.durable
}

// status fills in a FollowerStatus's state fields.
func (s *followerState) status(st *FollowerStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.StateLSN, st.StateWritten, st.StateBytes, st.StateError = s.durable, s.written, s.size, s.err
}

// syncDir syncs a directory, so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// position is what a Follower's DB records as its position
// (oauthdb.MirrorTx.SetPosition): the source cluster's system identifier
// and the LSN, as "systemid/lsn".
type position struct {
	systemID string
	lsn      LSN
}

func (p position) String() string { return p.systemID + "/" + p.lsn.String() }

func parsePosition(s string) (position, error) {
	id, l, ok := strings.Cut(s, "/")
	if !ok || id == "" {
		return position{}, fmt.Errorf("pgreplica: the saved position %q is not systemid/lsn", s)
	}
	lsn, err := pglogrepl.ParseLSN(l)
	if err != nil {
		return position{}, fmt.Errorf("pgreplica: the saved position %q is not systemid/lsn", s)
	}
	return position{systemID: id, lsn: lsn}, nil
}
