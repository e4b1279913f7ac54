package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/raftviz/raftviz/raft"
)

// The write-ahead log is one file of records:
//
//	magic "RAFTWAL" and the format version, one digit ("RAFTWAL2")
//	record: length uint32 | crc32c(type+payload) uint32 | type byte | payload
//
// A state record holds term, vote and commit; an entry record holds index, term, the entry's
// type (one byte) and its data. An entry record whose index is at or below the last one
// replayed so far replaces the log from that index on (a follower overwriting a conflicting
// suffix). Records are only ever appended; one Save is one write and one fsync, however many
// entries it carries, so a node that batches proposals into one Ready gets group commit for
// free.
//
// Version 1 had no entry type: a configuration entry was one whose data began with
// "\x00conf ". Open reads a version 1 log, turning those entries into typed ones, and
// rewrites it as version 2 before it appends anything; a log of a version it does not know
// (written by a newer raftviz) is refused with both versions named.
const (
	walName    = "wal"
	walMagic   = "RAFTWAL2"
	walMagicV1 = "RAFTWAL1"
	headerSize = 9
	recState   = 1
	recEntry   = 2
	// maxRecord bounds a record so that a corrupt length cannot make Load allocate gigabytes.
	maxRecord = 64 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// CorruptError reports a damaged record in the middle of a log: valid data follows it, so it
// cannot be a write torn by a crash, and dropping it would lose acknowledged state.
type CorruptError struct {
	Path   string
	Offset int64
	Reason string
}

// Error names the file, the offset and what is wrong.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("storage: %s is corrupt at offset %d (%s); refusing to start, as dropping it would lose data", e.Path, e.Offset, e.Reason)
}

// Repair describes a torn tail that Open cut off: the last write of a crashed process that
// never completed, and so was never acknowledged.
type Repair struct {
	Offset  int64 // the log now ends here
	Dropped int64 // bytes removed
	Reason  string
}

// WAL is a Storage on disk.
type WAL struct {
	mu   sync.Mutex
	fs   FS
	path string
	f    File
	lock io.Closer // the data directory's lock
	hs   raft.HardState
	// entries is the log as replayed; it is handed to the first Load and then dropped, so that
	// a running node does not keep a second copy of its log in memory. last is the last
	// index, for the checks of Save.
	entries []raft.Entry
	last    uint64
	loaded  bool
	// snap is the newest snapshot (file "snap" next to the log); the log holds entries after
	// its index, possibly preceded by older ones that replay skips.
	snap   *raft.Snapshot
	repair *Repair
	buf    bytes.Buffer
	closed bool
	// version is the format of the file as opened (1 until Open upgrades it).
	version byte
}

// legacyConfPrefix marked configuration entries in format version 1.
const legacyConfPrefix = "\x00conf "

// UnknownVersionError reports a log written in a format this build does not read.
type UnknownVersionError struct {
	Path    string
	Version string
}

// Error names the file and both versions.
func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("storage: %s is a write-ahead log of format version %s, written by a newer raftviz; this one reads versions 1 and 2", e.Path, e.Version)
}

// OpenWAL opens (or creates) the write-ahead log in dir and replays it. A torn tail is
// truncated (see Repaired); corruption before the tail is a *CorruptError.
func OpenWAL(dir string) (*WAL, error) { return OpenWALOn(OSFS{}, dir) }

// OpenWALOn is OpenWAL on a file system of the caller's (the simulator's).
func OpenWALOn(fsys FS, dir string) (*WAL, error) {
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	lock, err := fsys.Lock(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, walName)
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("storage: %w", err)
	}
	w := &WAL{fs: fsys, path: path, f: f, lock: lock}
	if err := w.open(); err != nil {
		w.f.Close()
		lock.Close()
		return nil, err
	}
	return w, nil
}

func (w *WAL) open() error {
	snap, err := readSnapshot(w.fs, filepath.Join(filepath.Dir(w.path), snapName))
	if err != nil {
		return err
	}
	w.snap = snap
	if err := w.replay(); err != nil {
		return err
	}
	if w.version == 1 {
		// Records of two formats must never share a file: rewrite it as version 2 first.
		if err := w.rewrite(w.entries, w.hs); err != nil {
			return fmt.Errorf("storage: upgrading %s to format version 2: %w", w.path, err)
		}
	}
	w.last = w.base() + uint64(len(w.entries))
	return nil
}

func (w *WAL) replay() error { return w.replayMode(true) }

// replayReadOnly replays without writing: a torn tail just ends the log.
func (w *WAL) replayReadOnly() error { return w.replayMode(false) }

func (w *WAL) replayMode(repair bool) error {
	size, err := w.f.Size()
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if size == 0 && !repair {
		return nil
	}
	if size == 0 {
		w.version = walMagic[len(walMagic)-1] - '0'
		if _, err := w.f.Write([]byte(walMagic)); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		return w.fs.SyncDir(filepath.Dir(w.path))
	}
	// A buffer of up to 1 MiB, no larger than the file: replay runs at every start and every
	// snapshot, and most logs are small.
	r := bufio.NewReaderSize(w.f, int(min(size, 1<<20)))
	magic := make([]byte, len(walMagic))
	_, err = io.ReadFull(r, magic)
	switch {
	case err == nil && string(magic) == walMagic:
		w.version = 2
	case err == nil && string(magic) == walMagicV1:
		w.version = 1
	case err == nil && string(magic[:len(magic)-1]) == walMagic[:len(walMagic)-1]:
		return &UnknownVersionError{Path: w.path, Version: string(magic[len(magic)-1:])}
	case size < int64(len(walMagic)) && bytes.HasPrefix([]byte(walMagic), magic[:size]):
		// A crash while creating the file: nothing was ever stored.
		if !repair {
			return nil
		}
		return w.truncateTail(0, size, "incomplete header")
	default:
		return &CorruptError{Path: w.path, Offset: 0, Reason: "not a raftviz write-ahead log"}
	}
	off := int64(len(walMagic))
	var hdr [headerSize]byte
	var payload []byte
	for off < size {
		bad := ""
		n, err := io.ReadFull(r, hdr[:])
		var length uint32
		switch {
		case err != nil:
			bad = fmt.Sprintf("record header cut short after %d bytes", n)
		default:
			length = binary.LittleEndian.Uint32(hdr[0:4])
			if length > maxRecord {
				bad = fmt.Sprintf("record length %d out of range", length)
				break
			}
			if int64(length) > size-off-headerSize {
				bad = "record cut short"
				break
			}
			payload = grow(payload, int(length))
			if _, err := io.ReadFull(r, payload); err != nil {
				bad = "record cut short"
				break
			}
			crc := crc32.Update(crc32.Update(0, crcTable, hdr[8:9]), crcTable, payload)
			if crc != binary.LittleEndian.Uint32(hdr[4:8]) {
				bad = "checksum mismatch"
				break
			}
			if err := w.apply(hdr[8], payload); err != nil {
				// The checksum held, so this is no torn write: the log itself is wrong.
				return &CorruptError{Path: w.path, Offset: off, Reason: err.Error()}
			}
		}
		if bad != "" {
			return w.damaged(off, size, bad, repair)
		}
		off += headerSize + int64(length)
	}
	if !repair {
		return nil
	}
	_, err = w.f.Seek(0, io.SeekEnd)
	return err
}

// damaged decides whether a bad record at off is a torn tail (the last write of a crashed
// process, never acknowledged, safe to drop) or corruption in the middle of the log (fatal).
// It is torn unless an intact record can be found after it: a torn write leaves only a partial
// record, or blocks the file system allocated and never wrote, behind it.
func (w *WAL) damaged(off, size int64, reason string, repair bool) error {
	rest := make([]byte, size-off)
	if _, err := w.f.ReadAt(rest, off); err != nil && err != io.EOF {
		return fmt.Errorf("storage: %w", err)
	}
	if IntactRecordAfter(rest) && !raft.Mutated(raft.MutWALCutsCorruption) {
		return &CorruptError{Path: w.path, Offset: off, Reason: reason}
	}
	if !repair {
		return nil
	}
	return w.truncateTail(off, size, reason)
}

// IntactRecordAfter reports whether b holds a record with a valid checksum at any offset
// after its first byte. This is how the WAL tells damage at the start of b from a torn tail:
// with an intact record after it, the damage is corruption, and the WAL refuses to start
// rather than cut what may be acknowledged records (the simulator plants a bad read only
// where this holds).
func IntactRecordAfter(b []byte) bool {
	for o := 1; o+headerSize <= len(b); o++ {
		length := int(binary.LittleEndian.Uint32(b[o : o+4]))
		typ := b[o+8]
		if (typ != recState && typ != recEntry) || length > len(b)-o-headerSize {
			continue
		}
		if crc32.Checksum(b[o+8:o+headerSize+length], crcTable) == binary.LittleEndian.Uint32(b[o+4:o+8]) {
			return true
		}
	}
	return false
}

func (w *WAL) truncateTail(off, size int64, reason string) error {
	if err := w.f.Truncate(off); err != nil {
		return fmt.Errorf("storage: truncating torn tail: %w", err)
	}
	if off == 0 {
		if _, err := w.f.WriteAt([]byte(walMagic), 0); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		off = int64(len(walMagic))
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	w.repair = &Repair{Offset: off, Dropped: size - off, Reason: reason}
	_, err := w.f.Seek(off, io.SeekStart)
	return err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// apply replays one record into the in-memory copy.
func (w *WAL) apply(typ byte, p []byte) error {
	switch typ {
	case recState:
		term, n1 := binary.Uvarint(p)
		vote, n2 := binary.Uvarint(p[max(n1, 0):])
		commit, n3 := binary.Uvarint(p[max(n1, 0)+max(n2, 0):])
		if n1 <= 0 || n2 <= 0 || n3 <= 0 {
			return errors.New("malformed state record")
		}
		w.hs = raft.HardState{Term: term, Vote: vote, Commit: commit}
	case recEntry:
		index, n1 := binary.Uvarint(p)
		term, n2 := binary.Uvarint(p[max(n1, 0):])
		if n1 <= 0 || n2 <= 0 {
			return errors.New("malformed entry record")
		}
		data := p[n1+n2:]
		typ := raft.EntryNormal
		if w.version == 1 {
			if rest, ok := bytes.CutPrefix(data, []byte(legacyConfPrefix)); ok {
				typ, data = raft.EntryConf, rest
			}
		} else {
			if len(data) == 0 || raft.EntryType(data[0]) > raft.EntryConf {
				return errors.New("malformed entry record: bad entry type")
			}
			typ, data = raft.EntryType(data[0]), data[1:]
		}
		base := w.base()
		if index <= base {
			return nil // covered by the snapshot
		}
		if index > base+uint64(len(w.entries))+1 {
			return fmt.Errorf("entry %d leaves a gap after %d", index, base+uint64(len(w.entries)))
		}
		w.entries = append(w.entries[:index-base-1], raft.Entry{Index: index, Term: term, Type: typ, Data: bytes.Clone(data)})
	default:
		return fmt.Errorf("unknown record type %d", typ)
	}
	return nil
}

// Repaired returns what Open cut off the tail of the log, or nil when the log was intact.
func (w *WAL) Repaired() *Repair { return w.repair }

// Path returns the log file's path.
func (w *WAL) Path() string { return w.path }

// Load implements Storage. The first call returns what Open replayed; later calls read the
// file again.
func (w *WAL) Load() (raft.HardState, []raft.Entry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.loaded {
		w.loaded = true
		ents := w.entries
		w.entries = nil
		return w.hs, ents, nil
	}
	again, err := openWALReadOnly(w.fs, w.path)
	if err != nil {
		return raft.HardState{}, nil, err
	}
	return again.hs, again.entries, nil
}

// openWALReadOnly replays a log file read-only, without repairing it.
func openWALReadOnly(fsys FS, path string) (*WAL, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	defer f.Close()
	w := &WAL{fs: fsys, path: path, f: f}
	snap, err := readSnapshot(fsys, filepath.Join(filepath.Dir(path), snapName))
	if err != nil {
		return nil, err
	}
	w.snap = snap
	if err := w.replayReadOnly(); err != nil {
		return nil, err
	}
	return w, nil
}

// Save implements Storage: one write and one fsync for the whole batch.
func (w *WAL) Save(hs raft.HardState, entries []raft.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if hs.IsEmpty() && len(entries) == 0 {
		return nil
	}
	if len(entries) > 0 {
		if first := entries[0].Index; first <= w.base() || first > w.last+1 {
			return fmt.Errorf("storage: entry %d does not follow %d", first, w.last)
		}
	}
	w.buf.Reset()
	for _, e := range entries {
		w.writeEntry(e)
	}
	if !hs.IsEmpty() {
		w.writeState(hs)
	}
	if _, err := w.f.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if !raft.Mutated(raft.MutWALSkipsFsync) {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
	}
	if len(entries) > 0 {
		w.last = entries[len(entries)-1].Index
		if !w.loaded {
			w.entries = append(w.entries[:entries[0].Index-w.base()-1], entries...)
		}
	}
	if !hs.IsEmpty() {
		w.hs = hs
	}
	return nil
}

// writeEntry adds an entry record to the buffer.
func (w *WAL) writeEntry(e raft.Entry) {
	var tmp [2*binary.MaxVarintLen64 + 1]byte
	n := binary.PutUvarint(tmp[:], e.Index)
	n += binary.PutUvarint(tmp[n:], e.Term)
	tmp[n] = byte(e.Type)
	w.writeRecord(recEntry, tmp[:n+1], e.Data)
}

// writeState adds a state record to the buffer.
func (w *WAL) writeState(hs raft.HardState) {
	var tmp [3 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(tmp[:], hs.Term)
	n += binary.PutUvarint(tmp[n:], hs.Vote)
	n += binary.PutUvarint(tmp[n:], hs.Commit)
	w.writeRecord(recState, tmp[:n], nil)
}

func (w *WAL) writeRecord(typ byte, head, data []byte) {
	var hdr [headerSize]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(head)+len(data)))
	hdr[8] = typ
	crc := crc32.Update(crc32.Update(crc32.Update(0, crcTable, hdr[8:9]), crcTable, head), crcTable, data)
	binary.LittleEndian.PutUint32(hdr[4:8], crc)
	w.buf.Write(hdr[:])
	w.buf.Write(head)
	w.buf.Write(data)
}

func (w *WAL) base() uint64 {
	if w.snap == nil {
		return 0
	}
	return w.snap.Meta.Index
}

// Snapshot implements Storage.
func (w *WAL) Snapshot() (*raft.Snapshot, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.snap == nil {
		return nil, nil
	}
	c := *w.snap
	c.Data = bytes.Clone(c.Data)
	return &c, nil
}

// SaveSnapshot implements Storage. The snapshot file is replaced atomically (write, fsync,
// rename, fsync the directory); then the log is rewritten without the entries the snapshot
// covers, the same way. A crash between the two leaves a log whose old entries replay skips.
func (w *WAL) SaveSnapshot(snap raft.Snapshot) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if snap.Meta.Index <= w.base() {
		return nil
	}
	// What the log holds: read it back (snapshots are rare, and the running node keeps no
	// copy of its log here), before the new snapshot hides the entries it covers.
	old, err := openWALReadOnly(w.fs, w.path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(w.path)
	if err := writeSnapshot(w.fs, filepath.Join(dir, snapName), snap); err != nil {
		return err
	}
	snap.Data = bytes.Clone(snap.Data)
	w.snap = &snap
	// Keep the entries after the snapshot only when the log agrees with its last entry;
	// otherwise the leader sends them again.
	var keep []raft.Entry
	agree := false
	for _, e := range old.entries {
		switch {
		case e.Index == snap.Meta.Index:
			agree = e.Term == snap.Meta.Term
		case e.Index > snap.Meta.Index && agree:
			keep = append(keep, e)
		}
	}
	hs := w.hs
	hs.Commit = max(hs.Commit, snap.Meta.Index)
	if err := w.rewrite(keep, hs); err != nil {
		return err
	}
	w.last = snap.Meta.Index + uint64(len(keep))
	if !w.loaded {
		w.entries = keep
	}
	return nil
}

// rewrite replaces the log file with one of the current format holding entries and hs: a
// crash leaves either the old file or the new.
func (w *WAL) rewrite(entries []raft.Entry, hs raft.HardState) error {
	w.buf.Reset()
	w.buf.WriteString(walMagic)
	for _, e := range entries {
		w.writeEntry(e)
	}
	w.writeState(hs)
	if err := writeFileAtomic(w.fs, w.path, w.buf.Bytes()); err != nil {
		return err
	}
	f, err := w.fs.OpenFile(w.path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	w.f.Close()
	w.f = f
	w.version = 2
	return nil
}

const (
	snapName = "snap"
	// snapMagic1's files have no incarnations; snapMagic's have them after the learners.
	snapMagic1 = "RAFTSNP1"
	snapMagic  = "RAFTSNP2"
)

// writeSnapshot writes magic | index | term | voters | learners | incarnations | length | data |
// crc32c(all before).
func writeSnapshot(fsys FS, path string, s raft.Snapshot) error {
	b := []byte(snapMagic)
	b = binary.AppendUvarint(b, s.Meta.Index)
	b = binary.AppendUvarint(b, s.Meta.Term)
	for _, ids := range [][]uint64{s.Meta.Voters, s.Meta.Learners} {
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = binary.AppendUvarint(b, id)
		}
	}
	incs := raft.EncodeIncarnations(s.Meta.Incarnations)
	b = binary.AppendUvarint(b, uint64(len(incs)))
	b = append(b, incs...)
	b = binary.AppendUvarint(b, uint64(len(s.Data)))
	b = append(b, s.Data...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	return writeFileAtomic(fsys, path, b)
}

// readSnapshot reads a snapshot file; a missing file is no snapshot.
func readSnapshot(fsys FS, path string) (*raft.Snapshot, error) {
	b, err := fsys.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	bad := func(why string) error { return &CorruptError{Path: path, Offset: 0, Reason: why} }
	if len(b) < len(snapMagic)+4 || string(b[:len(snapMagic)]) != snapMagic && string(b[:len(snapMagic1)]) != snapMagic1 {
		return nil, bad("not a raftviz snapshot")
	}
	withIncarnations := string(b[:len(snapMagic)]) == snapMagic
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, bad("snapshot checksum mismatch")
	}
	p := body[len(snapMagic):]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	var meta raft.SnapshotMeta
	var ok1, ok2 bool
	meta.Index, ok1 = next()
	meta.Term, ok2 = next()
	if !ok1 || !ok2 {
		return nil, bad("malformed snapshot header")
	}
	for _, ids := range []*[]uint64{&meta.Voters, &meta.Learners} {
		n, ok := next()
		if !ok || n > uint64(len(p)) {
			return nil, bad("malformed snapshot configuration")
		}
		for i := uint64(0); i < n; i++ {
			id, ok := next()
			if !ok {
				return nil, bad("malformed snapshot configuration")
			}
			*ids = append(*ids, id)
		}
	}
	if withIncarnations {
		n, ok := next()
		if !ok || n > uint64(len(p)) {
			return nil, bad("malformed snapshot incarnations")
		}
		if meta.Incarnations, ok = raft.DecodeIncarnations(p[:n]); !ok {
			return nil, bad("malformed snapshot incarnations")
		}
		p = p[n:]
	}
	size, ok := next()
	if !ok || uint64(len(p)) != size {
		return nil, bad("malformed snapshot header")
	}
	return &raft.Snapshot{Meta: meta, Data: bytes.Clone(p)}, nil
}

// writeFileAtomic replaces path with data: a crash leaves either the old or the new file.
func writeFileAtomic(fsys FS, path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("storage: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("storage: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := fsys.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}

// Close implements Storage.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.f.Close()
	w.lock.Close()
	return err
}

// ErrLocked is returned by OpenWAL when another process holds the data directory.
var ErrLocked = errors.New("storage: data directory in use")
