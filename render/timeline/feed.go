package timeline

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
)

// tracker turns the tests a Source hands out into Updates carrying only what is new. It takes
// the events it sends out of the tests (the model keeps them), so nothing is held twice.
type tracker struct {
	match  func(*parse.Test) bool // nil: every test
	keys   map[*parse.Test]int
	status map[*parse.Test]parse.Status
	// events holds the events of each running test sent so far (Update.All).
	events map[*parse.Test]*sent
	// read is the part of the input read (0 to 1; 0 when its size is not known).
	read float64
	next int
	ups  []Update
	// seq counts the tests handed out; unnamed are those sent before go test -v named their
	// package (it does in the package's last line), by their place in the input.
	seq     int
	unnamed map[int]Update
}

func newTracker(match func(*parse.Test) bool) *tracker {
	return &tracker{match: match, keys: map[*parse.Test]int{}, status: map[*parse.Test]parse.Status{},
		unnamed: map[int]Update{}, events: map[*parse.Test]*sent{}}
}

// sent are a running test's events sent so far, and where in the input the test began.
type sent struct {
	events []parse.Event
	began  float64
}

// add appends events to s, making room by the share of the input the test took so far: as
// if it ran to the end of the input (at most four times what it holds), so that a test of a
// million events is copied a few times, mostly while small, and ends with little room to
// spare (append would grow it by a quarter at a time, some twenty copies).
func (s *sent) add(events []parse.Event, read float64) {
	need := len(s.events) + len(events)
	if need > cap(s.events) {
		c := need + need/4
		if read > s.began {
			// Lines differ in length along a run (elections, then steady traffic): a tenth
			// more than the guess saves the last copy, the dearest, more often than not.
			if guess := int(float64(need) * (1 - s.began) / (read - s.began) * 1.1); guess > need {
				c = min(guess, 4*need)
			}
		}
		grown := make([]parse.Event, len(s.events), c)
		copy(grown, s.events)
		s.events = grown
	}
	s.events = append(s.events, events...)
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
			s = &sent{began: tr.read}
			tr.events[t] = s
		}
		from := len(s.events)
		s.add(t.Events, tr.read)
		t.Flushed += len(t.Events)
		t.Events = t.Events[:0] // copied: the parser may fill it again
		u := Update{Key: k, Name: t.Name, Attempt: t.Attempt, Package: t.Package, Status: t.Status,
			Events: s.events[from:], All: s.events, Complete: done}
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
	progress := func() (read, size int64) {
		read, size = src.Progress()
		if size > 0 {
			tr.read = min(float64(read)/float64(size), 1)
		}
		return read, size
	}
	sendNew := func() {
		if ups := tr.flush(); len(ups) > 0 {
			read, size := progress()
			send(AppendMsg{Updates: ups, Read: read, Size: size})
		}
		last = time.Now()
	}
	err := src.Scan(ctx, parse.ScanOptions{
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
	read, size := progress()
	send(AppendMsg{Updates: tr.flush(), Done: true, Read: read, Size: size})
	return err
}
