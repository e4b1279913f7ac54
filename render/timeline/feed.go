package timeline

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/evstore"
)

// tracker turns the tests a Source hands out into Updates. It takes the events out of the
// tests into a compact store (evstore) the model reads, so nothing is held twice.
type tracker struct {
	match  func(*parse.Test) bool // nil: every test
	keys   map[*parse.Test]int
	status map[*parse.Test]parse.Status
	// events holds the events of each running test sent so far (Update.Events).
	events map[*parse.Test]*evstore.Builder
	next   int
	ups    []Update
	// seq counts the tests handed out; unnamed are those sent before go test -v named their
	// package (it does in the package's last line), by their place in the input.
	seq     int
	unnamed map[int]Update
}

func newTracker(match func(*parse.Test) bool) *tracker {
	return &tracker{match: match, keys: map[*parse.Test]int{}, status: map[*parse.Test]parse.Status{},
		unnamed: map[int]Update{}, events: map[*parse.Test]*evstore.Builder{}}
}

// take queues what is new in t: its events so far, a status change, or the test itself.
func (tr *tracker) take(t *parse.Test, done bool) {
	if !done && t.Implicit && len(t.Events) == 0 {
		return // lines outside tests, no event yet: may never become a test
	}
	if tr.match != nil && !tr.match(t) {
		return
	}
	k, ok := tr.keys[t]
	if !ok {
		tr.next++
		k = tr.next
		tr.keys[t] = k
	}
	if len(t.Events) > 0 || tr.status[t] != t.Status || !ok || done {
		s := tr.events[t]
		if s == nil {
			s = &evstore.Builder{}
			tr.events[t] = s
		}
		s.Add(t.Events...)
		t.Flushed += len(t.Events)
		t.Events = t.Events[:0] // copied: the parser may fill it again
		u := Update{Key: k, Name: t.Name, Attempt: t.Attempt, Package: t.Package, Status: t.Status,
			Events: s.Events(), Complete: done}
		if done {
			u.Other = t.Other
			u.Seq = tr.seq
		}
		tr.ups = append(tr.ups, u)
		tr.status[t] = t.Status
	}
	if done {
		if t.Package == "" {
			tr.unnamed[tr.seq] = Update{Key: k, Name: t.Name, Attempt: t.Attempt, Status: t.Status, Complete: true, Seq: tr.seq}
		}
		delete(tr.keys, t)
		delete(tr.status, t)
		delete(tr.events, t) // the model has them
	}
}

// name sends the packages that go test -v named since, so that a test is told apart from the
// same-named test of another package (and read again as itself).
func (tr *tracker) name(src *parse.Source) {
	for seq, u := range tr.unnamed {
		if u.Package = src.PackageOf(seq); u.Package != "" {
			tr.ups = append(tr.ups, u)
			delete(tr.unnamed, seq)
		}
	}
}

// flush returns the queued updates.
func (tr *tracker) flush() []Update {
	ups := tr.ups
	tr.ups = nil
	return ups
}

// Feed reads src and sends what it parses to send (a tea.Program's Send): while it reads, about
// every 50ms, so the first test is on screen long before a big log is read; for a followed input
// also whenever it has nothing new; a Reset when a followed file was truncated or replaced; and
// a final AppendMsg with Done set. Only tests for which match returns true (nil: all) are sent.
// It returns src's error; a followed input ends without one when ctx ends.
func Feed(ctx context.Context, src *parse.Source, match func(*parse.Test) bool, send func(tea.Msg)) error {
	tr := newTracker(match)
	last := time.Now()
	sendNew := func() {
		if ups := tr.flush(); len(ups) > 0 {
			read, size := src.Progress()
			send(AppendMsg{Updates: ups, Read: read, Size: size})
		}
		last = time.Now()
	}
	err := src.Scan(ctx, parse.ScanOptions{
		Promptly: true, // go test -v | raftviz: the lines that came, while the tests run
		Emit: func(t *parse.Test) error {
			tr.take(t, true)
			tr.seq++
			return nil
		},
		Batch: func(running []*parse.Test) error {
			for _, t := range running {
				tr.take(t, false)
			}
			tr.name(src)
			if time.Since(last) >= 20*time.Millisecond {
				sendNew()
			}
			return nil
		},
		Idle: func() error { sendNew(); return nil },
		Reset: func() error {
			*tr = *newTracker(match)
			send(AppendMsg{Reset: true})
			return nil
		},
	})
	tr.name(src)
	if ctx.Err() != nil && err == ctx.Err() {
		err = nil // the view was closed
	}
	read, size := src.Progress()
	send(AppendMsg{Updates: tr.flush(), Done: true, Read: read, Size: size})
	return err
}
