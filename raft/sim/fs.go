package sim

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/raftviz/raftviz/raft/storage"
)

// simFS is a node's simulated file system, under the real write-ahead log (storage.WAL): it
// keeps what a file system promises and nothing more.
//
//   - A write reaches only the page cache; Sync makes a file's bytes durable, and SyncDir makes
//     the directory's entries (files created, renamed) durable.
//   - A crash keeps what was durable. Of bytes appended since the last Sync, a random prefix
//     survives, sometimes followed by zeros (blocks allocated and never written): a torn
//     write, which the WAL must cut at its checksums. An unsynced truncation or overwrite is
//     lost whole; an unsynced creation or rename is undone.
//   - A Sync can fail (DiskFaults.FsyncFail): nothing more reaches the disk, and the node must
//     stop.
//   - A restart can read a corrupt record (DiskFaults.CorruptRead): one read of the log sees a
//     flipped byte in its first record, with intact records after it, which the WAL must
//     refuse to start on rather than cut; the next restart reads the disk again.
//
// Every write, sync, rename and directory sync is an I/O step where a planted crash
// (Sim.CrashDuringIO) can strike.
type simFS struct {
	s     *Sim
	n     *node
	files map[string]*simFile // the namespace as the running process sees it
	// durable is the namespace a crash comes back to.
	durable map[string]*simFile
	// corruptNext makes the next opening of the log read a flipped byte.
	corruptNext bool
	// faultFree turns the faults off (while a new disk is formatted, before the node runs).
	faultFree bool
}

// simFile is a file's contents: what reads see, and what is on the disk. Logs only grow
// between syncs, so the disk's copy is kept as a length of data; a change below that length
// (a truncation, an overwrite) first saves the disk's copy aside.
type simFile struct {
	data      []byte // what reads see
	syncedLen int    // data[:syncedLen] is on the disk, unless saved is set
	saved     []byte // the disk's copy, when data was changed below syncedLen since the sync
}

// touch is called before data changes at offset off: the disk's copy must not change with it.
func (f *simFile) touch(off int) {
	if f.saved == nil && off < f.syncedLen {
		f.saved = slices.Clone(f.data[:f.syncedLen])
	}
}

func (f *simFile) sync() { f.syncedLen, f.saved = len(f.data), nil }

var errFsync = errors.New("fsync: input/output error")

func newSimFS(s *Sim, n *node) *simFS {
	return &simFS{s: s, n: n, files: map[string]*simFile{}, durable: map[string]*simFile{}}
}

func (f *simFS) MkdirAll(string) error { return nil }

// Lock locks nothing: one simulated process owns each directory (only Close is ever called).
func (f *simFS) Lock(string) (io.Closer, error) { return io.NopCloser(nil), nil }

func (f *simFS) OpenFile(name string, flag int) (storage.File, error) {
	file, ok := f.files[name]
	switch {
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		file = &simFile{}
		f.files[name] = file
	case flag&os.O_TRUNC != 0:
		file.touch(0)
		file.data = nil
	}
	h := &simHandle{fs: f, file: file, appendOnly: flag&os.O_APPEND != 0}
	if f.corruptNext && name == f.logName() {
		f.corruptNext = false
		h.view = corrupted(file.data)
	}
	return h, nil
}

func (f *simFS) ReadFile(name string) ([]byte, error) {
	file, ok := f.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(file.data), nil
}

func (f *simFS) Rename(oldpath, newpath string) error {
	file, ok := f.files[oldpath]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldpath, Err: fs.ErrNotExist}
	}
	f.files[newpath] = file
	delete(f.files, oldpath)
	f.s.io(f.n, "after renaming "+newpath+", before syncing the directory")
	return nil
}

func (f *simFS) SyncDir(string) error {
	f.durable = maps.Clone(f.files)
	f.s.io(f.n, "after syncing the directory")
	return nil
}

// logName is the path of the node's write-ahead log.
func (f *simFS) logName() string { return dataDir + "/wal" }

// dataDir is where a simulated node keeps its files.
const dataDir = "data"

// crash is the machine losing power: every file goes back to what is durable, plus, of what
// was appended since, a torn prefix.
func (f *simFS) crash() {
	f.files = maps.Clone(f.durable)
	for _, name := range slices.Sorted(maps.Keys(f.files)) { // sorted: the random draws repeat
		file := f.files[name]
		if file.saved != nil {
			file.data = file.saved
		} else if extra := len(file.data) - file.syncedLen; extra > 0 {
			file.data = file.data[:file.syncedLen+f.s.rand.IntN(extra+1)]
			if f.s.rand.IntN(4) == 0 {
				file.data = append(file.data, make([]byte, 1+f.s.rand.IntN(32))...)
			}
		}
		file.data = slices.Clip(file.data)
		file.sync()
	}
}

// corrupted returns a copy of a log whose first record has a flipped checksum byte, or nil when
// the WAL would take the flip for a torn tail (storage.IntactRecordAfter: no intact record
// after the first) and rightly cut it: that is a crash's damage, not a bad read's. A torn
// write can leave a record's header followed by zeros, which has the length of a record and
// is none: judging by lengths alone made the WAL cut a synced record.
func corrupted(log []byte) []byte {
	const magic, header = 8, 9
	if len(log) < magic+header || !storage.IntactRecordAfter(log[magic:]) {
		return nil
	}
	c := slices.Clone(log)
	c[magic+4] ^= 0xff
	return c
}

// simHandle is an open file.
type simHandle struct {
	fs         *simFS
	file       *simFile
	off        int64
	appendOnly bool
	// view, when set, is what this handle reads instead of the file (a corrupt read).
	view []byte
}

func (h *simHandle) contents() []byte {
	if h.view != nil {
		return h.view
	}
	return h.file.data
}

func (h *simHandle) Read(p []byte) (int, error) {
	n, err := h.ReadAt(p, h.off)
	h.off += int64(n)
	return n, err
}

func (h *simHandle) ReadAt(p []byte, off int64) (int, error) {
	data := h.contents()
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (h *simHandle) Write(p []byte) (int, error) {
	if h.appendOnly {
		h.off = int64(len(h.file.data))
	}
	n, err := h.WriteAt(p, h.off)
	h.off += int64(n)
	return n, err
}

func (h *simHandle) WriteAt(p []byte, off int64) (int, error) {
	h.view = nil
	h.file.touch(int(off))
	if grow := int(off) + len(p) - len(h.file.data); grow > 0 {
		h.file.data = append(h.file.data, make([]byte, grow)...)
	}
	copy(h.file.data[off:], p)
	h.fs.s.io(h.fs.n, "after writing, before the fsync")
	return len(p), nil
}

func (h *simHandle) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		h.off = offset
	case io.SeekCurrent:
		h.off += offset
	case io.SeekEnd:
		h.off = int64(len(h.contents())) + offset
	}
	return h.off, nil
}

func (h *simHandle) Sync() error {
	if p := h.fs.s.cfg.Disk.FsyncFail; p > 0 && !h.fs.faultFree && h.fs.s.rand.Float64() < p {
		return errFsync // nothing more is promised; the crash that follows decides what survived
	}
	h.file.sync()
	h.fs.s.io(h.fs.n, "after the fsync")
	return nil
}

func (h *simHandle) Truncate(size int64) error {
	h.view = nil
	h.file.touch(int(size))
	if size < int64(len(h.file.data)) {
		h.file.data = h.file.data[:size:size]
	} else {
		h.file.data = append(h.file.data, make([]byte, int(size)-len(h.file.data))...)
	}
	return nil
}

func (h *simHandle) Size() (int64, error) { return int64(len(h.contents())), nil }

func (h *simHandle) Close() error { return nil }
