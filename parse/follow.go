package parse

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// errWait is what a followed input's reader returns when it has nothing more for now: the
// Source hands out what it parsed, waits, and reads on.
var errWait = errors.New("no more input yet")

// errReplaced is what a followed file's reader returns when the file was truncated or replaced:
// the Source starts over with a fresh parser.
var errReplaced = errors.New("the file was truncated or replaced")

// follower is the reader of a followed input.
type follower interface {
	io.Reader
	// wait returns when there may be more to read, or with ctx's error.
	wait(ctx context.Context) error
}

// OpenFollow opens one input to follow as it grows, like tail -f: a file (read again from its
// start when it is truncated or replaced) or, for "-", stdin until it ends. poll is how often a
// file is looked at when it has nothing new.
func OpenFollow(name string, stdin io.Reader, poll time.Duration, opts Options) (*Source, error) {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	var r follower
	if name == "-" {
		r = newPipeFollower(stdin)
	} else {
		fr := &fileFollower{path: name, poll: poll}
		if err := fr.open(); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = errors.New(pe.Op + " " + pe.Path + ": " + pe.Err.Error())
			}
			return nil, err
		}
		r = fr
	}
	opts.NoInfer = true // its start may be all there is yet
	s := NewSource([]Input{{Name: name, Reader: r}}, opts)
	if c, ok := r.(io.Closer); ok {
		s.closers = append(s.closers, c)
	}
	return s, nil
}

// fileFollower reads a file as it grows.
type fileFollower struct {
	path string
	poll time.Duration
	f    *os.File
	info os.FileInfo
	off  int64
}

func (r *fileFollower) open() error {
	f, err := os.Open(r.path)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if st.IsDir() {
		f.Close()
		return errors.New(r.path + " is a directory, not a log file")
	}
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.info, r.off = f, st, 0
	return nil
}

func (r *fileFollower) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.off += int64(n)
	if n > 0 {
		return n, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	// At the end: a file shorter than what was read, or another file under the name, is read
	// again from its start.
	if st, err := os.Stat(r.path); err == nil && (!os.SameFile(st, r.info) || st.Size() < r.off) {
		if err := r.open(); err == nil {
			return 0, errReplaced
		}
	}
	return 0, errWait
}

func (r *fileFollower) wait(ctx context.Context) error {
	t := time.NewTimer(r.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *fileFollower) Close() error { return r.f.Close() }

// pipeFollower reads a pipe (a running process's output) without blocking the Source: a
// goroutine reads, and Read returns errWait while it has nothing.
type pipeFollower struct {
	chunks chan []byte
	err    error // after chunks is closed
	rest   []byte
	done   chan struct{}
}

func newPipeFollower(r io.Reader) *pipeFollower {
	pf := &pipeFollower{chunks: make(chan []byte, 16), done: make(chan struct{})}
	go func() {
		defer close(pf.chunks)
		for {
			buf := make([]byte, 64<<10)
			n, err := r.Read(buf)
			if n > 0 {
				select {
				case pf.chunks <- buf[:n]:
				case <-pf.done:
					return
				}
			}
			if err != nil {
				pf.err = err
				return
			}
		}
	}()
	return pf
}

func (pf *pipeFollower) Read(p []byte) (int, error) {
	if len(pf.rest) == 0 {
		select {
		case c, ok := <-pf.chunks:
			if !ok {
				return 0, pf.err // io.EOF when the writer closed it
			}
			pf.rest = c
		default:
			return 0, errWait
		}
	}
	n := copy(p, pf.rest)
	pf.rest = pf.rest[n:]
	return n, nil
}

func (pf *pipeFollower) wait(ctx context.Context) error {
	if len(pf.rest) > 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case c, ok := <-pf.chunks:
		if ok {
			pf.rest = c
		}
		return nil // when the pipe ended, Read says so
	}
}

// Close lets the reading goroutine end (it ends at once when the pipe has more, or when the
// pipe ends: a read in progress on a pipe cannot be interrupted).
func (pf *pipeFollower) Close() error {
	select {
	case <-pf.done:
	default:
		close(pf.done)
	}
	return nil
}
