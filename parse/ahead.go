package parse

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/raftviz/raftviz/parse/profile"
)

// This file reads an input ahead of its parser, on goroutines of its own, so that a second core
// does the costly part of parsing: one goroutine reads the input and splits it into batches of
// lines, others prepare each batch (the profile's line regexp, the classic syntax, the profile's
// fact rules: pure functions of the line), and the parser takes the batches in input order and
// does the rest (tests, times, node names: what depends on the lines before).
//
// The parser's result does not depend on it. A prepared result is what the parser would compute
// itself, and the parser uses it only where it would have computed the same thing: a line read
// ahead with another profile than the one the parser reads with (the input's dialect was
// decided in the meantime), or a message other than the one prepared, is parsed again.

const (
	// aheadBatchBytes and aheadBatchLines bound a batch: small enough that the parser starts
	// soon, big enough that handing batches over costs nothing measurable.
	aheadBatchBytes = 64 << 10
	aheadBatchLines = 1024
	// aheadBatches is how many batches are read ahead at most: it bounds the memory (about 8
	// times the batch size, plus the prepared results).
	aheadBatches = 8
)

// errClosed ends the lines of an input whose Source was closed while it was read.
var errClosed = errors.New("the input was closed")

// prepared is what a line of a batch says, read ahead of the parser.
type prepared struct {
	// pr is the line-regexp profile the line was read with, nil when none was known yet; rec
	// and recOK are its ParseLine's result.
	pr    *profile.Profile
	rec   profile.Record
	recOK bool
	// leDone: le and leOK are parseEventLine's result; classicMsg: the line had no field
	// block, and msg and ascii are its message as toEvent makes it.
	leDone     bool
	le         lineEvent
	leOK       bool
	classicMsg bool
	// msg and ascii are the message of the line's event (the profile's or the classic
	// syntax's), cleaned; facts what the fact rules of factsPr say of msg.
	msg     string
	ascii   bool
	factsPr *profile.Profile
	fact    profile.Fact
	factOK  bool
	// jsonDone: the line is a JSON object's, and json, jsonOrder and jsonOK are decodeRecord's
	// result.
	jsonDone  bool
	json      map[string]any
	jsonOrder []string
	jsonOK    bool
	// plain: a classic event line (time, node, message) and nothing else, read for counting
	// only (Options.CountOnly, NodeFacts, no fact rule naming a node): the parser counts it
	// at once where textLine would do only that (Parser.countPlain).
	plain bool
}

// reset readies a slot of a reused batch. Only what says which results a line has is
// cleared: each result is written with the field that says it is there (rec with pr, fact with
// factsPr, json with jsonDone, le with leDone), so it is never read stale. Clearing whole slots
// cost a third of the reading goroutine's time when a batch was reused, a twentieth of the
// preparing ones' line by line.
func (pre *prepared) reset() {
	pre.pr, pre.factsPr = nil, nil
	pre.leDone, pre.leOK, pre.classicMsg, pre.jsonDone, pre.plain = false, false, false, false, false
	pre.msg, pre.ascii = "", false
}

// lineBatch is consecutive lines of one input, with what they say when prepared.
type lineBatch struct {
	buf   []byte  // the lines, each followed by a newline
	ends  []int   // where each line ends in buf (at its newline)
	reads []int64 // the bytes taken from the input after each line
	cuts  []int   // the bytes cut from each line (MaxLineBytes)
	pre   []prepared
	err   error         // what ended the input after the batch's lines; nil when more follows
	ready chan struct{} // closed when pre is filled
}

// preparer is what the goroutines that prepare batches know of the parser: the profiles it reads
// with and which fact rules it runs.
type preparer struct {
	classic *profile.Profile
	facts   FactSet
	// classicNamesNodes: a fact rule of the classic profile names the node a line is about.
	classicNamesNodes bool
	// countPlain: the parser counts lines rather than keeping their messages, so a classic
	// event line can be marked plain.
	countPlain bool
	// active is the line-regexp profile the parser reads the input with, once it is known.
	active atomic.Pointer[profile.Profile]
	// testJSON: the input is go test -json, whose records the parser decodes itself.
	testJSON atomic.Bool
}

// lineAhead reads one input ahead of its parser.
type lineAhead struct {
	prep    *preparer
	batches chan *lineBatch // in input order, to the parser
	work    chan *lineBatch // to the goroutines that prepare
	free    chan *lineBatch // batches the parser is done with, for reuse
	stop    chan struct{}
	stopped sync.Once
	workers sync.WaitGroup

	cur  *lineBatch // the batch the parser reads
	i    int        // its next line
	cut  int        // bytes cut from the line last returned
	read int64      // bytes taken from the input up to the line last returned
}

// aheadMode says whether inputs are read ahead: by default where there is a core the parser does
// not use; tests set it to compare both ways.
var aheadMode = aheadAuto

const (
	aheadAuto = iota
	aheadNever
	aheadAlways
)

// aheadWorthIt reports whether an input is to be read ahead.
func aheadWorthIt() bool {
	switch aheadMode {
	case aheadNever:
		return false
	case aheadAlways:
		return true
	}
	return runtime.GOMAXPROCS(0) >= 2
}

// startAhead starts reading lr ahead of the parser p.
func startAhead(lr *lineReader, p *Parser) *lineAhead {
	prep := &preparer{classic: p.dialect.classic, facts: p.opts.Facts}
	prep.classicNamesNodes = p.factsNameNodes(p.dialect.classic)
	prep.countPlain = p.opts.CountOnly && p.opts.Facts == NodeFacts && !prep.classicNamesNodes
	if d := &p.dialect; d.locked && d.active != nil && d.active.Builtin == "" {
		prep.active.Store(d.active)
	}
	if p.format == FormatJSON {
		prep.testJSON.Store(true)
	}
	p.prep = prep
	a := &lineAhead{
		prep:    prep,
		batches: make(chan *lineBatch, aheadBatches),
		work:    make(chan *lineBatch, aheadBatches),
		free:    make(chan *lineBatch, aheadBatches+2),
		stop:    make(chan struct{}),
		read:    lr.read,
	}
	workers := min(runtime.GOMAXPROCS(0), 4)
	a.workers.Add(workers)
	for range workers {
		go a.prepareBatches()
	}
	go a.readBatches(lr)
	return a
}

// readBatches splits the input into batches until it ends or the reading is stopped. It is not
// waited for: a read of a pipe may never return, and the program must be able to end anyway.
func (a *lineAhead) readBatches(lr *lineReader) {
	defer close(a.work)
	for {
		b := a.newBatch()
		for len(b.ends) < aheadBatchLines && len(b.buf) < aheadBatchBytes {
			if lr.buffered(b) {
				if lr.br.Buffered() == 0 {
					break // as below
				}
				continue
			}
			line, err := lr.next()
			if err != nil {
				b.err = err
				break
			}
			b.buf = append(b.buf, line...)
			b.ends = append(b.ends, len(b.buf))
			b.buf = append(b.buf, '\n')
			b.reads = append(b.reads, lr.read)
			b.cuts = append(b.cuts, lr.cut)
			if lr.br.Buffered() == 0 {
				break // the next read may wait for more: hand out what is here first
			}
		}
		select {
		case a.work <- b:
		case <-a.stop:
			return
		}
		select {
		case a.batches <- b:
		case <-a.stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// newBatch is an empty batch, one the parser is done with when there is one.
func (a *lineAhead) newBatch() *lineBatch {
	select {
	case b := <-a.free:
		b.buf, b.ends, b.reads, b.cuts, b.pre = b.buf[:0], b.ends[:0], b.reads[:0], b.cuts[:0], b.pre[:0]
		b.err, b.ready = nil, make(chan struct{})
		return b
	default:
		// Room for a batch of short lines, so that filling it does not grow it step by step.
		return &lineBatch{ready: make(chan struct{}), buf: make([]byte, 0, aheadBatchBytes+aheadBatchBytes/4),
			ends: make([]int, 0, aheadBatchLines), reads: make([]int64, 0, aheadBatchLines), cuts: make([]int, 0, aheadBatchLines)}
	}
}

// prepareBatches prepares the batches read until there are no more or the reading is stopped.
func (a *lineAhead) prepareBatches() {
	defer a.workers.Done()
	var w prepWorker
	for {
		select {
		case b, ok := <-a.work:
			if !ok {
				return
			}
			w.batch(a.prep, b)
			close(b.ready)
		case <-a.stop:
			return
		}
	}
}

// next returns the next line (valid until the next call) and what it says when prepared (nil
// when not), or the error that ended the input once every line has been returned.
func (a *lineAhead) next() ([]byte, *prepared, error) {
	for {
		if b := a.cur; b != nil {
			if a.i < len(b.ends) {
				start := 0
				if a.i > 0 {
					start = b.ends[a.i-1] + 1
				}
				line := b.buf[start:b.ends[a.i]:b.ends[a.i]]
				a.cut, a.read = b.cuts[a.i], b.reads[a.i]
				pre := &b.pre[a.i]
				a.i++
				return line, pre, nil
			}
			if b.err != nil {
				return nil, nil, b.err
			}
			select {
			case a.free <- b:
			default:
			}
			a.cur = nil
		}
		var b *lineBatch
		select {
		case b = <-a.batches:
		case <-a.stop:
			return nil, nil, errClosed
		}
		<-b.ready
		a.cur, a.i = b, 0
	}
}

// plainRun takes the plain lines (prepared.plain) that follow the line next returned last in
// its batch, while they cost less than budget as Source.feed counts a line, and returns what
// they say and their cost: a parser that counts them does not need them one by one.
func (a *lineAhead) plainRun(budget int) ([]prepared, int) {
	b := a.cur
	if b == nil || a.i == 0 {
		return nil, 0
	}
	from, cost := a.i, 0
	for a.i < len(b.ends) && b.pre[a.i].plain && cost < budget {
		cost += b.ends[a.i] - b.ends[a.i-1] + batchLineCost // the line and its newline
		a.i++
	}
	if a.i > from {
		a.cut, a.read = 0, b.reads[a.i-1]
	}
	return b.pre[from:a.i], cost
}

// more reports whether the next line can be had without waiting for the input: the batch being
// read has more, or another was read.
func (a *lineAhead) more() bool {
	return a.cur != nil && (a.i < len(a.cur.ends) || a.cur.err != nil) || len(a.batches) > 0
}

// close stops the reading ahead and waits for the goroutines that prepare; the one that reads
// ends when its read returns.
func (a *lineAhead) close() {
	a.stopped.Do(func() { close(a.stop) })
	a.workers.Wait()
}

// prepWorker is one preparing goroutine's state: a time stamp cache, and which profiles' facts
// name nodes.
type prepWorker struct {
	stamps profile.Stamps
	names  map[*profile.Profile]bool
}

// batch prepares every line of b.
func (w *prepWorker) batch(prep *preparer, b *lineBatch) {
	active := prep.active.Load()
	if cap(b.pre) < len(b.ends) {
		// Room for a full batch: one cut short by a slow read is reused for full ones.
		b.pre = make([]prepared, len(b.ends), max(len(b.ends), aheadBatchLines))
	}
	b.pre = b.pre[:len(b.ends)]
	start := 0
	for i, end := range b.ends {
		line := b.buf[start:end]
		start = end + 1
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1] // as Parser.Line reads it
		}
		pre := &b.pre[i]
		pre.reset()
		w.line(prep, active, line, pre)
		// A line that begins with a digit is none of go test's, no panic and not indented.
		pre.plain = prep.countPlain && active == nil && pre.classicMsg && b.cuts[i] == 0 && isDigit(line[0])
	}
}

// line prepares one line: what textLine would compute of it with the profile active and the
// classic syntax.
func (w *prepWorker) line(prep *preparer, active *profile.Profile, line []byte, pre *prepared) {
	if active != nil {
		pre.pr = active
		pre.rec, pre.recOK = active.ParseLine(line, &w.stamps)
		if pre.recOK {
			pre.msg, pre.ascii = cleanTextASCII(pre.rec.Msg)
			w.facts(prep, active, pre)
			return
		}
	}
	pre.leDone = true
	pre.leOK = parseEventLine(line, &pre.le)
	if !pre.leOK {
		if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == '{' && !prep.testJSON.Load() {
			pre.jsonDone = true
			pre.json, pre.jsonOrder, pre.jsonOK = decodeRecord(t)
		}
		return
	}
	if fieldBlock(pre.le.rest) >= 0 {
		return // a line with a field block is the parser's to read
	}
	pre.classicMsg = true
	if prep.facts == NodeFacts && !prep.classicNamesNodes {
		return // as toEvent: no message
	}
	pre.msg, pre.ascii = cleanTextASCII(pre.le.rest)
	w.facts(prep, prep.classic, pre)
}

// facts runs pr's fact rules on the prepared message.
func (w *prepWorker) facts(prep *preparer, pr *profile.Profile, pre *prepared) {
	pre.factsPr = pr
	pre.fact, pre.factOK = factsOf(pr, pre.msg, prep.facts, w.factsNameNodes(pr))
}

// factsNameNodes is pr.FactsNameNodes, remembered.
func (w *prepWorker) factsNameNodes(pr *profile.Profile) bool {
	if pr == nil {
		return false
	}
	names, ok := w.names[pr]
	if !ok {
		if w.names == nil {
			w.names = map[*profile.Profile]bool{}
		}
		names = pr.FactsNameNodes()
		w.names[pr] = names
	}
	return names
}

// buffered moves the whole lines the reader holds already into b, as many as b takes, and
// reports whether there was one: a batch is filled from the read buffer in one pass rather than
// a call of next per line. The lines and counts are next's: a line next would have to assemble
// or cut (one with no newline in the buffer) is left to it.
func (lr *lineReader) buffered(b *lineBatch) bool {
	if lr.err != nil || lr.partial || len(lr.long) > 0 || lr.br.Buffered() == 0 {
		return false
	}
	buf, _ := lr.br.Peek(lr.br.Buffered())
	base, taken := len(b.buf), 0
	for len(b.ends) < aheadBatchLines && base+taken < aheadBatchBytes {
		nl := bytes.IndexByte(buf[taken:], '\n')
		if nl < 0 {
			break
		}
		taken += nl + 1
		lr.read += int64(nl + 1)
		b.ends = append(b.ends, base+taken-1)
		b.reads = append(b.reads, lr.read)
		b.cuts = append(b.cuts, 0)
	}
	b.buf = append(b.buf, buf[:taken]...) // one copy of the lines, newlines and all
	lr.cut = 0
	_, _ = lr.br.Discard(taken)
	return taken > 0
}
