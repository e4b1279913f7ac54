package parse

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
)

// Checkpoint is a place in a single input file where no test was running, with what the
// parser knew there: the dialect, the clock, the line number, the attempts of each test name.
// Resume reads on from it, so that a tool that let a test go (the timeline keeps only the test
// on screen) reads it again from the nearest place before it, not from the input's start.
type Checkpoint struct {
	Offset int64 // bytes of the input before it
	// Whole is the number of tests completed before it (Update.Seq counts the same way): a
	// Source resumed here hands out every test from that number on whole. Tests completed
	// just before it may come first, empty, with their own numbers.
	Whole int
	// First is the number of the first test a Source resumed here hands out.
	First int
	p     *Parser // frozen: only ever copied
}

// checkpoints is a Source's list of checkpoints, written while it reads and read by other
// goroutines (a timeline reading a test again).
type checkpoints struct {
	mu    sync.Mutex
	every int64 // bytes between checkpoints; 0: none kept
	list  []Checkpoint
}

// KeepCheckpoints makes a Source of one input file keep a checkpoint about every so many bytes,
// at the first place after them where no test is running (go test runs a package's top-level
// tests one after another, unless they are parallel). A Source of several inputs or of stdin
// keeps none.
func (s *Source) KeepCheckpoints(every int64) {
	if len(s.inputs) == 1 && s.size > 0 {
		s.cps.every = every
	}
}

// CheckpointFor returns the last checkpoint from which the test numbered seq (in the order
// tests complete, from 0) is read whole, and false when reading must start at the beginning.
// The test of lines outside tests (Test.Implicit) is never read whole from a checkpoint: it
// may have begun before any; read it from the beginning.
func (s *Source) CheckpointFor(seq int) (Checkpoint, bool) {
	s.cps.mu.Lock()
	defer s.cps.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.cps.list, seq+1, func(c Checkpoint, n int) int { return c.Whole - n })
	if i == 0 {
		return Checkpoint{}, false
	}
	return s.cps.list[i-1], true
}

// maybeCheckpoint records a checkpoint after the line just parsed, when one is due and the
// parser is between tests.
func (s *Source) maybeCheckpoint(in *sourceInput) {
	c := &s.cps
	last := int64(0)
	if n := len(c.list); n > 0 {
		last = c.list[n-1].Offset
	}
	if in.read()-last < c.every || !in.p.quiet() {
		return
	}
	p := in.p.frozen()
	c.mu.Lock()
	c.list = append(c.list, Checkpoint{Offset: in.read(), Whole: p.completed, First: p.completed - len(p.done), p: p})
	c.mu.Unlock()
}

// quiet reports whether no test is running and no line is half read: the parser's state is
// then small enough to keep.
func (p *Parser) quiet() bool {
	return len(p.running) == 0 && p.current == nil && len(p.json.partial) == 0 && !p.crashing && !p.finished
}

// frozen copies a quiet parser's state. The tests it completed and did not hand out yet stay as
// empty stand-ins (they keep the numbering of the tests after them, and take the indented
// lines go test may still print for the last); the test of lines outside tests is left out:
// it completes last, at the end of the input, so it numbers no test after it.
func (p *Parser) frozen() *Parser {
	c := *p
	c.prep, c.pre = nil, nil // a Source that resumes from the copy reads ahead of it anew
	c.running = map[string]*testState{}
	c.order = nil
	c.attempts = maps.Clone(p.attempts)
	c.nodes = maps.Clone(p.nodes)
	c.json = jsonState{partial: map[string][]byte{}}
	c.dialect.aliases = maps.Clone(p.dialect.aliases)
	c.sum.Packages = slices.Clone(p.sum.Packages)
	c.implicit = nil
	c.leftover = nil
	c.fields, c.text = nil, nil
	c.done, c.lastDone = nil, nil
	for _, t := range p.done {
		stub := &Test{Name: t.Name, Package: t.Package, Attempt: t.Attempt, Status: t.Status, Elapsed: t.Elapsed}
		c.done = append(c.done, stub)
		if t == p.lastDone {
			c.lastDone = stub
		}
	}
	return &c
}

// Resume opens the input file name again and reads on from cp, a checkpoint of a Source that
// read it; opts.HoldForPackage is taken from opts, every other option from the reading that
// made cp. The file must not have changed in between: a test found at its place with another
// name says it did.
func Resume(name string, cp Checkpoint, opts Options) (*Source, error) {
	if cp.p == nil {
		return nil, fmt.Errorf("resume %s: no checkpoint", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(cp.Offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	p := cp.p.frozen()
	p.opts.HoldForPackage = opts.HoldForPackage
	s := NewSource([]Input{{Name: name, Reader: f}}, p.opts)
	s.inputs[0].p = p
	s.inputs[0].lines.read = cp.Offset
	s.closers = []io.Closer{f}
	return s, nil
}
