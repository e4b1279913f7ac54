package parse

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// MaxLineBytes is the longest line kept whole; the rest of a longer line is dropped and the line is
// marked with how many bytes were cut, so even pathological input cannot exhaust memory.
const MaxLineBytes = 16 << 20

// readBufSize is the read chunk: big enough that a typical debug line never straddles two reads
// more than once in a few thousand lines.
const readBufSize = 1 << 20

// batchLineCost makes short lines count towards a batch too, so a batch is at most about 16k
// lines even when they are tiny.
const batchLineCost = readBufSize / (16 << 10)

// ScanOptions are the callbacks of Scan.
type ScanOptions struct {
	// Emit receives each test as it completes. A non-nil error stops the scan and is returned.
	Emit func(*Test) error
	// Batch, when set, is called after every chunk of input (about a megabyte or 16k lines) has been parsed:
	// a place to look at Running tests, as the table writer does to flush a huge test in parts.
	Batch func() error
}

// Scan reads r to the end, feeding p line by line, and calls Finish. Tests are handed to
// opts.Emit as soon as they complete, so memory holds only the tests still running.
func Scan(r io.Reader, p *Parser, opts ScanOptions) error {
	br := bufio.NewReaderSize(r, readBufSize)
	var long []byte // a line longer than the read buffer, being assembled
	cut := 0        // bytes dropped from the current line beyond MaxLineBytes
	sinceBatch := 0
	flush := func() error {
		if opts.Emit != nil {
			for _, t := range p.Completed() {
				if err := opts.Emit(t); err != nil {
					return err
				}
			}
		}
		if opts.Batch != nil {
			return opts.Batch()
		}
		return nil
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if room := MaxLineBytes - len(long); room > 0 {
				if len(chunk) > room {
					cut += len(chunk) - room
					chunk = chunk[:room]
				}
				long = append(long, chunk...)
			} else {
				cut += len(chunk)
			}
			continue
		}
		line := chunk
		if len(long) > 0 || cut > 0 {
			if room := MaxLineBytes - len(long); len(chunk) > room {
				cut += len(chunk) - room
				chunk = chunk[:max(room, 0)]
			}
			long = append(long, chunk...)
			line = long
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if cut > 0 {
			line = append(line, " …["+strconv.Itoa(cut)+" bytes cut]"...)
			p.sum.LongLines++
		}
		if len(line) > 0 || err == nil {
			p.Line(line)
		}
		sinceBatch += len(chunk) + batchLineCost
		long, cut = long[:0], 0
		if cap(long) > 4*readBufSize {
			long = nil // do not keep a huge buffer for one freak line
		}
		if sinceBatch >= readBufSize {
			sinceBatch = 0
			if ferr := flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			p.Finish()
			_ = flush()
			return err
		}
	}
	p.Finish()
	return flush()
}

// Input is one source for ReadFiles.
type Input struct {
	Name   string    // shown in errors; "-" for standard input
	Reader io.Reader // when nil, Name is opened as a file
}

// Read parses one input completely.
func Read(r io.Reader, opts Options) ([]*Test, Summary, error) {
	p := NewParser(opts)
	var tests []*Test
	err := Scan(r, p, ScanOptions{Emit: func(t *Test) error { tests = append(tests, t); return nil }})
	sum := p.Summary()
	for i, t := range tests {
		if t.Package == "" {
			t.Package = sum.PackageOf(i) // go test -v named it after the test was handed out
		}
	}
	return tests, sum, err
}

// ReadFiles parses every path ("-" is stdin) and merges them: tests with the same name and attempt
// from several files become one test whose events are merged by timestamp (each file's own order
// is kept for equal or out-of-order times). Per-node logs of one cluster, which have no test
// markers, all land in the implicit test and so are merged into one timeline.
func ReadFiles(paths []string, opts Options) ([]*Test, Summary, error) {
	inputs := make([]Input, len(paths))
	for i, p := range paths {
		inputs[i] = Input{Name: p}
		if p == "-" {
			inputs[i].Reader = os.Stdin
		}
	}
	return ReadInputs(inputs, opts)
}

// ReadInputs is ReadFiles over readers.
func ReadInputs(inputs []Input, opts Options) ([]*Test, Summary, error) {
	var all [][]*Test
	var total Summary
	for i, in := range inputs {
		r := in.Reader
		if r == nil {
			f, err := os.Open(in.Name)
			if err != nil {
				return nil, total, err
			}
			defer f.Close()
			r = f
		}
		o := opts
		o.File = int16(i)
		tests, sum, err := Read(r, o)
		if err != nil {
			return nil, total, fmt.Errorf("read %s: %w", in.Name, err)
		}
		all = append(all, tests)
		total = addSummary(total, sum, i == 0)
	}
	if len(all) == 1 {
		return all[0], total, nil
	}
	return mergeTests(all), total, nil
}

func addSummary(a, b Summary, first bool) Summary {
	if first {
		return b
	}
	a.Lines += b.Lines
	a.Events += b.Events
	a.NotUnderstood += b.NotUnderstood
	a.Ambiguous += b.Ambiguous
	a.LongLines += b.LongLines
	for i := range a.BySyntax {
		a.BySyntax[i] += b.BySyntax[i]
	}
	a.Packages = append(a.Packages, b.Packages...)
	if b.Final == StatusFail || a.Final == StatusUnknown {
		a.Final = b.Final
	}
	if a.Format != b.Format {
		a.Format = FormatAuto // mixed
	}
	return a
}

// mergeTests joins the tests of several files by Key, keeping first-appearance order.
func mergeTests(files [][]*Test) []*Test {
	var order []*Test
	byID := make(map[string][]*Test)
	for _, tests := range files {
		for _, t := range tests {
			id := t.Key()
			if _, ok := byID[id]; !ok {
				order = append(order, t)
			}
			byID[id] = append(byID[id], t)
		}
	}
	out := make([]*Test, 0, len(order))
	for _, first := range order {
		parts := byID[first.Key()]
		if len(parts) == 1 {
			out = append(out, first)
			continue
		}
		m := *first
		m.Events = mergeEvents(parts)
		m.Other = nil
		for _, t := range parts {
			m.Other = append(m.Other, t.Other...)
			m.Ambiguous += t.Ambiguous
			if t.Status == StatusFail || m.Status == StatusUnknown {
				m.Status = t.Status
			}
			if t.Elapsed > m.Elapsed {
				m.Elapsed = t.Elapsed
			}
			if m.Package == "" {
				m.Package = t.Package
			}
		}
		out = append(out, &m)
	}
	return out
}

// mergeEvents is a k-way merge by time that is stable within each input: an input's own line order
// is never changed, even where its clock went backwards.
func mergeEvents(parts []*Test) []Event {
	n := 0
	for _, t := range parts {
		n += len(t.Events)
	}
	out := make([]Event, 0, n)
	pos := make([]int, len(parts))
	for len(out) < n {
		best := -1
		for i, t := range parts {
			if pos[i] >= len(t.Events) {
				continue
			}
			if best < 0 || t.Events[pos[i]].Time < parts[best].Events[pos[best]].Time {
				best = i
			}
		}
		out = append(out, parts[best].Events[pos[best]])
		pos[best]++
	}
	return out
}
