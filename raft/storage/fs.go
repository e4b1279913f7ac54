package storage

import (
	"io"
	"os"
)

// FS is the file system a write-ahead log lives on: the operating system's (OSFS), or one a
// test or the simulator provides, whose crashes lose what was never synced. The WAL makes
// every step of its durability explicit through it (write, fsync of the file, rename, fsync of
// the directory), so that a simulated file system can crash between any two of them.
type FS interface {
	// MkdirAll creates dir and its parents as needed.
	MkdirAll(dir string) error
	// Lock takes dir for this process; closing the result releases it.
	Lock(dir string) (io.Closer, error)
	// OpenFile opens a file with os.OpenFile's flags (O_RDONLY, O_RDWR, O_WRONLY, O_CREATE,
	// O_TRUNC, O_APPEND). A missing file without O_CREATE is an error matching
	// os.ErrNotExist.
	OpenFile(name string, flag int) (File, error)
	// ReadFile reads a whole file; a missing one is an error matching os.ErrNotExist.
	ReadFile(name string) ([]byte, error)
	// Rename replaces newpath with oldpath; it is durable once the directory is synced.
	Rename(oldpath, newpath string) error
	// SyncDir makes the directory's entries (files created, renamed) durable.
	SyncDir(dir string) error
}

// File is an open file of an FS.
type File interface {
	io.Reader
	io.Writer
	io.ReaderAt
	io.WriterAt
	io.Seeker
	io.Closer
	// Sync makes what was written durable (fsync).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Size returns the file's size.
	Size() (int64, error)
}

// OSFS is the operating system's file system.
type OSFS struct{}

// MkdirAll implements FS.
func (OSFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// Lock implements FS with the kernel's flock (see lockDir); it never blocks.
func (OSFS) Lock(dir string) (io.Closer, error) {
	f, err := lockDir(dir)
	if err != nil || f == nil {
		return io.NopCloser(nil), err // nothing to unlock (only Close is ever called)
	}
	return f, nil
}

// OpenFile implements FS.
func (OSFS) OpenFile(name string, flag int) (File, error) {
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// ReadFile implements FS.
func (OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Rename implements FS.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// SyncDir implements FS. Some file systems refuse to sync a directory; the files themselves
// are synced, so that is not an error.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

type osFile struct{ *os.File }

func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
