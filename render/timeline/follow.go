package timeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
)

// tracker turns a parser's growing tests into AppendMsgs carrying only what is new.
type tracker struct {
	p      *parse.Parser
	match  func(*parse.Test) bool // nil: every test
	opts   parse.Options
	keys   map[*parse.Test]int
	sent   map[*parse.Test]int
	status map[*parse.Test]parse.Status
	next   int
}

func newTracker(opts parse.Options) *tracker {
	return &tracker{p: parse.NewParser(opts), opts: opts, keys: map[*parse.Test]int{},
		sent: map[*parse.Test]int{}, status: map[*parse.Test]parse.Status{}}
}

func (tr *tracker) reset() {
	*tr = *newTracker(tr.opts)
}

func (tr *tracker) line(b []byte) { tr.p.Line(b) }

// collect returns the new events of every test since the last call.
func (tr *tracker) collect() []Update {
	var ups []Update
	take := func(t *parse.Test, done bool) {
		if tr.match != nil && !tr.match(t) {
			return
		}
		k, ok := tr.keys[t]
		if !ok {
			tr.next++
			k = tr.next
			tr.keys[t] = k
		}
		n := tr.sent[t]
		if len(t.Events) > n || tr.status[t] != t.Status || !ok {
			var evs []parse.Event
			if done && n == 0 {
				evs = t.Events // the parser let go of it: no copy needed
			} else {
				evs = append([]parse.Event(nil), t.Events[n:]...)
			}
			ups = append(ups, Update{Key: k, Name: t.Name, Attempt: t.Attempt, Package: t.Package, Status: t.Status, Events: evs, Complete: done})
			tr.sent[t], tr.status[t] = len(t.Events), t.Status
		}
		if done { // the parser lets go of finished tests; so do we
			delete(tr.keys, t)
			delete(tr.sent, t)
			delete(tr.status, t)
		}
	}
	// Finished tests first: they started before the ones still running, and the picker lists
	// tests in the order they started.
	for _, t := range tr.p.Completed() {
		take(t, true)
	}
	for _, t := range tr.p.Running() {
		if len(t.Events) > 0 || !t.Implicit {
			take(t, false)
		}
	}
	return ups
}

// FollowFile reads path as it grows, like tail -f, and sends what it parses to send (a
// tea.Program's Send) every poll interval. A file that shrinks or is replaced is read again
// from the start (the view is reset). It returns when ctx ends, or with an error when the file
// cannot be read at all.
func FollowFile(ctx context.Context, path string, opts parse.Options, poll time.Duration, send func(tea.Msg)) error {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	tr := newTracker(opts)
	var f *os.File
	var ino os.FileInfo
	var off int64
	var pending []byte
	buf := make([]byte, 1<<20)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for {
		st, err := os.Stat(path)
		switch {
		case err != nil && f == nil:
			return err
		case err == nil && (f == nil || !os.SameFile(st, ino) || st.Size() < off):
			// First open, a replaced file, or a truncated one: start over.
			if f != nil {
				f.Close()
				tr.reset()
				pending = pending[:0]
				send(AppendMsg{Reset: true})
			}
			if f, err = os.Open(path); err != nil {
				return err
			}
			ino, off = st, 0
		}
		for {
			n, err := f.ReadAt(buf, off)
			off += int64(n)
			pending = feedLines(tr, append(pending, buf[:n]...))
			if n < len(buf) || err != nil {
				if err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				break
			}
		}
		if ups := tr.collect(); len(ups) > 0 {
			send(AppendMsg{Updates: ups})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

// Load parses r as fast as it can, sending what it has parsed to send about every 50ms (so the
// first test is on screen long before a big log is read), and a final AppendMsg with Done set.
// Only tests for which match returns true (nil: all) are sent.
func Load(ctx context.Context, r io.Reader, opts parse.Options, match func(*parse.Test) bool, send func(tea.Msg)) error {
	tr := newTracker(opts)
	tr.match = match
	last := time.Now()
	err := parse.Scan(r, tr.p, parse.ScanOptions{Batch: func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Since(last) >= 50*time.Millisecond {
			if ups := tr.collect(); len(ups) > 0 {
				send(AppendMsg{Updates: ups})
			}
			last = time.Now()
		}
		return nil
	}})
	send(AppendMsg{Updates: tr.collect(), Done: true})
	return err
}

// FollowReader reads r (a pipe from a running process) to its end, sending what it parses
// every poll interval.
func FollowReader(ctx context.Context, r io.Reader, opts parse.Options, poll time.Duration, send func(tea.Msg)) error {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	lines := make(chan []byte, 1024)
	errc := make(chan error, 1)
	go func() {
		defer close(lines)
		buf := make([]byte, 64<<10)
		var pending []byte
		for {
			n, err := r.Read(buf)
			if n > 0 {
				pending = append(pending, buf[:n]...)
				for {
					i := bytes.IndexByte(pending, '\n')
					if i < 0 {
						break
					}
					select {
					case lines <- append([]byte(nil), pending[:i]...):
					case <-ctx.Done():
						return
					}
					pending = pending[i+1:]
				}
			}
			if err != nil {
				if len(pending) > 0 {
					lines <- pending
				}
				if !errors.Is(err, io.EOF) {
					errc <- err
				}
				return
			}
		}
	}()
	tr := newTracker(opts)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				tr.p.Finish()
				if ups := tr.collect(); len(ups) > 0 {
					send(AppendMsg{Updates: ups})
				}
				select {
				case err := <-errc:
					return err
				default:
					return nil
				}
			}
			tr.line(l)
		case <-tick.C:
			if ups := tr.collect(); len(ups) > 0 {
				send(AppendMsg{Updates: ups})
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// feedLines hands every complete line of b to the tracker and returns the incomplete rest.
func feedLines(tr *tracker, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(b) > parse.MaxLineBytes {
				tr.line(b[:parse.MaxLineBytes])
				return b[:0]
			}
			// Keep the rest in a fresh slice, so that the buffer does not grow forever.
			return append(make([]byte, 0, len(b)+4096), b...)
		}
		tr.line(b[:i])
		b = b[i+1:]
	}
}
