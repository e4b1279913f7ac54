package parse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/infer"
	"github.com/raftviz/raftviz/parse/profile"
)

// MergeWindow is how far back in time an input may still write after a later line, for the
// streamed merge of several inputs: an event is passed on once every other input has read past
// its time by this much. Per-node logs of one machine agree to well within it; clocks of
// different machines that disagree by more are merged slightly out of order, never lost.
const MergeWindow = int64(500 * time.Millisecond)

// Source is the one way raftviz reads its input: it opens the files (or stdin), gives each its
// own Parser (so each input's log dialect is detected on its own), and hands out tests as they
// complete. Several inputs, such as the per-node logs of one cluster, are merged by time as a
// stream (a k-way merge with a reorder window of MergeWindow): tests with the same Key in
// several inputs become one test, and memory holds only what the slowest input has not yet
// caught up with. Every command and the timeline read through a Source.
type Source struct {
	inputs  []*sourceInput
	closers []io.Closer
	// merge state, for several inputs
	byKey   map[string]*mergedTest
	byPart  map[*Test]*mergedTest
	running []*mergedTest // in start order
	size    int64         // the inputs' size in bytes when opened; 0 when not known
	cps     checkpoints
	// aheadMu guards the inputs' reading ahead between the scan and Close, which may be called
	// from another goroutine (the timeline quits while its input is read); closed: by Close.
	aheadMu sync.Mutex
	closed  bool
	ties    int // events merged at another input's stamp (Summary.Tied)
	// firstLines are the first lines of the first input read ahead, for SuggestNodeRe.
	firstLines [][]byte
}

// sourceInput is one input of a Source.
type sourceInput struct {
	name  string
	lines *lineReader
	// ahead reads lines ahead of the parser on other cores (ahead.go); nil until the first
	// read (aheadTried), and for a followed input
	ahead      *lineAhead
	aheadTried bool
	p          *Parser
	eof        bool
	// waiting: a followed input has nothing more for now; replaced: its file was truncated or
	// replaced and is read again from the start; stalled: a scan that hands out promptly
	// stopped where the input had nothing more for now
	waiting, replaced, stalled bool
	timed                      bool  // an event with a time was read
	maxTime                    int64 // the latest event time read
	err                        error
}

// Input is one source for NewSource.
type Input struct {
	Name   string // shown in errors; "-" for standard input
	Reader io.Reader
	// Node names the server whose log this is (NAME=FILE on the command line); "" to take it
	// from the file's name when there are several inputs.
	Node string
}

// SplitNamed reads a NAME=FILE argument: the node's name and the file. An argument that is an
// existing file as written, or has no '=', is only a file.
func SplitNamed(arg string) (node, file string) {
	name, path, ok := strings.Cut(arg, "=")
	if !ok || name == "" || path == "" || strings.ContainsAny(name, "/\\") {
		return "", arg
	}
	if _, err := os.Stat(arg); err == nil {
		return "", arg
	}
	return name, path
}

// fileNodes names the server of each input: its NAME=, or its file's name without directories
// and extensions (n1.log: n1), or, where two inputs share that name, their directories' names.
func fileNodes(inputs []Input) []string {
	names := make([]string, len(inputs))
	stem := func(p string, parent int) string {
		p = filepath.ToSlash(filepath.Clean(p))
		parts := strings.Split(p, "/")
		base := parts[len(parts)-1]
		for {
			ext := filepath.Ext(base)
			if ext == "" || ext == base || len(ext) > 8 {
				break
			}
			base = strings.TrimSuffix(base, ext)
		}
		if parent > 0 && len(parts) > parent {
			return strings.Join(parts[len(parts)-1-parent:len(parts)-1], "/")
		}
		return base
	}
	for depth := 0; depth < 4; depth++ {
		seen := map[string]int{}
		for i, in := range inputs {
			if in.Node != "" {
				names[i] = in.Node
			} else if in.Name != "-" {
				names[i] = stem(in.Name, depth)
			}
			seen[names[i]]++
		}
		unique := true
		for i, in := range inputs {
			if in.Node == "" && in.Name != "-" && seen[names[i]] > 1 {
				unique = false
			}
		}
		if unique {
			break
		}
	}
	return names
}

// Open opens the named files ("-" is stdin; no names means stdin) for a Source. A missing file
// or a directory is an error before anything is read, so a typo in the third name fails first.
func Open(names []string, stdin io.Reader, opts Options) (*Source, error) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	inputs := make([]Input, len(names))
	var closers []io.Closer
	var size int64
	for i, arg := range names {
		node, name := SplitNamed(arg)
		inputs[i].Name, inputs[i].Node = name, node
		if name == "-" {
			inputs[i].Reader = stdin
			continue
		}
		f, err := os.Open(name)
		if err == nil {
			var st os.FileInfo
			if st, err = f.Stat(); err == nil && st.IsDir() {
				err = fmt.Errorf("%s is a directory, not a log file", name)
			}
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			for _, c := range closers {
				c.Close()
			}
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = fmt.Errorf("%s %s: %v", pe.Op, pe.Path, pe.Err)
			}
			return nil, err
		}
		closers = append(closers, f)
		inputs[i].Reader = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && size >= 0 {
			size += st.Size()
		} else {
			size = -1 // a pipe or a device: its size is not known
		}
	}
	if slices.Contains(names, "-") {
		size = -1
	}
	s := NewSource(inputs, opts)
	s.closers, s.size = closers, max(size, 0)
	return s, nil
}

// NewSource reads the given inputs (Open opens files for it). Each input gets opts with File
// set to its position.
func NewSource(inputs []Input, opts Options) *Source {
	s := &Source{byKey: map[string]*mergedTest{}, byPart: map[*Test]*mergedTest{}}
	nodes := fileNodes(inputs)
	var book *Book
	for i, in := range inputs {
		o := opts
		o.File = int16(i)
		o.CountOnly = opts.CountOnly && len(inputs) == 1 // several are merged event by event
		// Several files are, as a rule, one server's log each; a file named on the command
		// line as NAME=FILE is one by its user's word.
		o.FileNode, o.NodePerFile = nodes[i], nodes[i] != "" && (len(inputs) > 1 || in.Node != "")
		if o.NodePerFile {
			if book == nil {
				book = NewBook()
			}
			o.Book = book
		}
		ra := readAhead{r: in.Reader}
		if o.NodePerFile || (!o.NoInfer && o.Profile == nil) {
			ra.allowed = ra.canRead(!o.NoInfer)
		}
		if o.NodePerFile {
			ra.fill(prescanLimit)
		}
		if inferred := inferFor(&ra, o); inferred != nil {
			// As if given with --profile: the profiles that read too little of the input (a
			// tester's line that looks like dslogs') do not get to decide it.
			o.Profile = inferred
		}
		p := NewParser(o)
		if o.NodePerFile {
			learnNamesFrom(ra.head, p)
		}
		if i == 0 && len(ra.head) > 0 {
			for _, l := range headLines(ra.head[:min(len(ra.head), 8<<10)], true) {
				s.firstLines = append(s.firstLines, bytes.Clone(l))
			}
		}
		s.inputs = append(s.inputs, &sourceInput{name: in.Name, p: p, lines: newLineReader(ra.reader())})
	}
	return s
}

// prescanLimit is how much of an input is read ahead at most: a server's start-up, where it
// states its names.
const prescanLimit = 1 << 20

// readAhead reads the start of an input for what must be known before it is parsed: its
// servers' names (learnNamesFrom) and, when no profile reads it, an inferred one (inferFor).
// Reading stops early when a known profile reads the start: only probeBytes of it are taken.
type readAhead struct {
	r       io.Reader
	head    []byte
	allowed bool // the input may be read ahead
	eof     bool
}

// canRead reports whether the input may be read ahead: a file, or a pipe when waiting is
// allowed (its start may be all there is yet: a live stream, a go test still running, and its
// reading waits for more or its end).
func (ra *readAhead) canRead(wait bool) bool {
	if rs, ok := ra.r.(io.Seeker); ok {
		if _, err := rs.Seek(0, io.SeekCurrent); err == nil {
			return true
		}
	}
	return wait
}

// fill reads ahead until the head holds n bytes or the input ends.
func (ra *readAhead) fill(n int) {
	if !ra.allowed || ra.eof || len(ra.head) >= n {
		return
	}
	buf := make([]byte, n)
	copy(buf, ra.head)
	got, err := io.ReadFull(ra.r, buf[len(ra.head):])
	ra.head = buf[:len(ra.head)+got]
	ra.eof = err != nil // an error is the rest's to report
}

// reader is the input to parse: the part read ahead, then the rest.
func (ra *readAhead) reader() io.Reader {
	if len(ra.head) == 0 {
		return ra.r
	}
	return io.MultiReader(bytes.NewReader(ra.head), ra.r)
}

// headLines splits the start of an input into its lines; with more after it, the last line,
// maybe cut, is left out.
func headLines(head []byte, more bool) [][]byte {
	var lines [][]byte
	for rest := head; len(rest) > 0; {
		line, after, found := bytes.Cut(rest, []byte{'\n'})
		if !found && more {
			break
		}
		lines = append(lines, bytes.TrimSuffix(line, []byte{'\r'}))
		rest = after
	}
	return lines
}

// learnNamesFrom reads the start of a server's file into the run's book before any input is
// parsed: a server states its member id or address in its first lines, but its peers' lines
// that name it by them are often stamped earlier (etcd's raft lines have whole seconds; a peer
// may start first), and a name learnt after a line was read does not rename it.
func learnNamesFrom(head []byte, p *Parser) {
	for _, line := range headLines(head, len(head) == prescanLimit) {
		p.learnNames(line)
	}
}

// SuggestNodeRe returns flags to start reading an input no profile reads from (--node-re with
// the stamp and first word of its first debug line as time and node, and --time-layout), or ""
// when its start was not read ahead or has no such line.
func (s *Source) SuggestNodeRe() string {
	re, layout, ok := infer.Suggest(s.firstLines)
	if !ok {
		return ""
	}
	out := "--node-re '" + re + "'"
	if layout != "" {
		out += " --time-layout '" + layout + "'"
	}
	return out
}

// Learn infers a profile from the start of r (what an input no profile reads would be read
// with), whether or not another profile reads it; false when no shape names its servers.
func Learn(r io.Reader) (infer.Result, bool) {
	ra := readAhead{r: r, allowed: true}
	ra.fill(prescanLimit)
	lines := headLines(ra.head, !ra.eof)
	if len(lines) > inferLines {
		lines = lines[:inferLines]
	}
	return infer.Infer(lines)
}

// inferLines is how many lines of an input's start inference looks at; probeLines how many the
// known profiles are tried on first.
const (
	inferLines = 4000
	probeLines = 500
	probeBytes = 64 << 10
)

// inferFor returns a profile inferred from the start of an input when the profiles raftviz has
// read too little of it (fewer than one line in five as events, or events of no server) and
// the inferred one reads more; nil otherwise.
func inferFor(ra *readAhead, o Options) *profile.Profile {
	if !ra.allowed || o.NoInfer || o.Profile != nil {
		return nil
	}
	// The profiles raftviz has are tried on the first probeLines lines (at most probeBytes): an
	// input they read is known by then, at a cost of well under a millisecond.
	ra.fill(probeBytes)
	lines := headLines(ra.head, !ra.eof)
	probe := o
	probe.Book, probe.NodePerFile, probe.NoInfer, probe.CountOnly = nil, false, true, false
	probed := lines[:min(len(lines), probeLines)]
	tests, sum, err := NewSource([]Input{{Name: "head", Reader: bytes.NewReader(bytes.Join(probed, []byte{'\n'}))}}, probe).ReadAll(context.Background())
	if err != nil {
		return nil
	}
	named := 0 // events of a server
	for _, t := range tests {
		for i := range t.Events {
			if t.Events[i].Node != eventline.ClusterNode && t.Events[i].Node != "" {
				named++
			}
		}
	}
	debug := sum.Lines - sum.Framing
	if debug <= 0 || named*5 >= debug {
		return nil
	}
	ra.fill(prescanLimit)
	lines = headLines(ra.head, !ra.eof)
	if len(lines) > inferLines {
		lines = lines[:inferLines]
	}
	res, ok := infer.Infer(lines)
	if !ok || res.Lines*len(probed) <= named*2*len(lines) {
		return nil
	}
	return res.Profile
}

// Progress returns the bytes read from the inputs so far and their size when opened (0 when
// not known: stdin, a pipe, or a Source made by NewSource). A file that grows while it is read
// can be read past its size.
func (s *Source) Progress() (read, size int64) {
	for _, in := range s.inputs {
		read += in.read()
	}
	return read, s.size
}

// Names are the inputs' names, in order.
func (s *Source) Names() []string {
	names := make([]string, len(s.inputs))
	for i, in := range s.inputs {
		names[i] = in.name
	}
	return names
}

// Close closes the files Open opened, and stops reading ahead.
func (s *Source) Close() error {
	s.stopAhead(true)
	var err error
	for _, c := range s.closers {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	s.closers = nil
	return err
}

// Summary is what the inputs held, counted together.
func (s *Source) Summary() Summary {
	var total Summary
	for i, in := range s.inputs {
		total = addSummary(total, in.p.Summary(), i == 0)
	}
	total.Tied = s.ties
	return total
}

// Leftover is every input's lines outside any test that made no test of their own (Parser.Leftover),
// after a scan.
func (s *Source) Leftover() []OtherLine {
	var out []OtherLine
	for _, in := range s.inputs {
		out = append(out, in.p.Leftover()...)
	}
	return out
}

// PackageOf is Summary.PackageOf for a single input: the package of the n-th test handed out,
// named by go test -v after the test. Merged inputs name packages only as their tests complete.
func (s *Source) PackageOf(n int) string {
	if len(s.inputs) != 1 {
		return ""
	}
	sum := s.inputs[0].p.Summary()
	return sum.PackageOf(n)
}

// ScanOptions are the callbacks of a scan.
type ScanOptions struct {
	// Emit receives each test as it completes, in the order tests complete. A non-nil error
	// stops the scan and is returned.
	Emit func(*Test) error
	// Batch, when set, is called after every chunk of input (about a megabyte or 16k lines) with
	// the tests still running, in start order. Their Events hold what arrived since the consumer
	// last took them: a consumer that keeps no test whole (a huge test written in parts, counted
	// or analysed as it streams) uses them and calls Test.Consumed, and receives only the rest
	// in Emit.
	Batch func(running []*Test) error
	// Idle, when set, is called when a followed input (OpenFollow), or one scanned Promptly,
	// has nothing more for now, after Batch: a place to show what arrived without waiting for
	// more.
	Idle func() error
	// Reset, when set, is called when a followed file was truncated or replaced: what was
	// handed out so far is void, and the file is read again from its start.
	Reset func() error
	// Promptly hands out what was read (Emit, Batch) whenever the input has nothing more for
	// now, instead of reading on until a chunk is full: a timeline of go test -v still
	// running shows the lines that came. Batch is then called at times that depend on how
	// the input arrives, so a consumer that keeps tests in parts (the tables) leaves it off.
	Promptly bool
}

// Scan reads every input to its end and hands out the tests. It stops early when ctx ends
// (returning ctx's error) or a callback fails. A followed input (OpenFollow) has no end: Scan
// returns when ctx ends, or when a followed stdin is closed.
func (s *Source) Scan(ctx context.Context, opts ScanOptions) error {
	var err error
	if len(s.inputs) == 1 {
		err = s.scanOne(ctx, s.inputs[0], opts)
	} else {
		err = s.scanMerged(ctx, opts)
	}
	if err != nil {
		// A scan that stopped early is not continued: stop reading ahead (a Source made by
		// NewSource may never be closed).
		s.stopAhead(false)
	}
	return err
}

// scanOne streams a single input straight from its parser: no merge, no copy.
func (s *Source) scanOne(ctx context.Context, in *sourceInput, opts ScanOptions) error {
	flush := func() error {
		if opts.Emit != nil {
			for _, t := range in.p.Completed() {
				if err := opts.Emit(t); err != nil {
					return err
				}
			}
		}
		if opts.Batch != nil {
			return opts.Batch(in.p.Running())
		}
		return nil
	}
	for !in.eof {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.feed(in, readBufSize, opts.Promptly)
		if in.replaced {
			in.p = NewParser(in.p.opts)
			in.lines.reset(in.lines.r)
			if opts.Reset != nil {
				if err := opts.Reset(); err != nil {
					return err
				}
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if in.err != nil {
			return in.readError()
		}
		if (in.waiting || in.stalled) && opts.Idle != nil {
			if err := opts.Idle(); err != nil {
				return err
			}
		}
		if in.waiting {
			if err := in.lines.r.(follower).wait(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeStep is how much of one input the merge reads before it looks at the others: small, so
// that the inputs stay close in time and little waits in the queues.
const mergeStep = readBufSize / 8

// readError says which input could not be read.
func (in *sourceInput) readError() error {
	name := in.name
	if name == "-" {
		name = "stdin"
	}
	return fmt.Errorf("read %s: %w", name, in.err)
}

// feed parses about budget bytes of the input (and finishes its parser at the end); promptly,
// only what is there without waiting (at least one line). A followed input that has nothing
// more for now sets in.waiting; one that was replaced, in.replaced.
func (s *Source) feed(in *sourceInput, budget int, promptly bool) {
	in.waiting, in.replaced, in.stalled = false, false, false
	s.startAhead(in)
	for fed := false; budget > 0; fed = true {
		if promptly && fed && !in.more() {
			in.stalled = true
			return
		}
		var line []byte
		var pre *prepared
		var err error
		cut := 0
		if in.ahead != nil {
			line, pre, err = in.ahead.next()
			cut = in.ahead.cut
		} else {
			line, err = in.lines.next()
			cut = in.lines.cut
		}
		switch {
		case errors.Is(err, errWait):
			in.waiting = true
			return
		case errors.Is(err, errReplaced):
			in.replaced = true
			return
		case err != nil:
			if !errors.Is(err, io.EOF) {
				in.err = err
			}
			in.eof = true
			in.p.Finish()
			return
		}
		if cut > 0 {
			in.p.sum.LongLines++
		}
		in.p.linePrepared(line, pre)
		if s.cps.every > 0 {
			s.maybeCheckpoint(in)
		}
		budget -= len(line) + 1 + batchLineCost
		if pre != nil && pre.plain && s.cps.every == 0 && in.p.countsPlain() {
			// The plain lines after it are only counted: all of them at once.
			run, cost := in.ahead.plainRun(budget)
			in.p.countPlains(run)
			budget -= cost
		}
	}
}

// startAhead starts reading the input ahead of its parser where that is worth it, unless the
// Source was closed.
func (s *Source) startAhead(in *sourceInput) {
	if in.aheadTried || !aheadWorthIt() {
		return
	}
	in.aheadTried = true
	if _, followed := in.lines.r.(follower); followed {
		return
	}
	s.aheadMu.Lock()
	defer s.aheadMu.Unlock()
	if !s.closed {
		in.ahead = startAhead(in.lines, in.p)
	}
}

// stopAhead stops every input's reading ahead; with closing, for good.
func (s *Source) stopAhead(closing bool) {
	s.aheadMu.Lock()
	defer s.aheadMu.Unlock()
	s.closed = s.closed || closing
	for _, in := range s.inputs {
		if in.ahead != nil {
			in.ahead.close()
		}
	}
}

// more reports whether a line can be had without waiting for the input.
func (in *sourceInput) more() bool {
	if in.ahead != nil {
		return in.ahead.more()
	}
	return in.lines.err != nil || in.lines.br.Buffered() > 0
}

// read is how many bytes of the input the parser has read.
func (in *sourceInput) read() int64 {
	if in.ahead != nil {
		return in.ahead.read
	}
	return in.lines.read
}

// mergedTest is one test of the merged output, made of the same test (by Key) in several inputs.
type mergedTest struct {
	t     *Test
	parts []*Test      // per input: its part of the test; nil when the input has not started it
	done  []bool       // per input: its part completed
	queue []eventQueue // per input: events read but not yet merged
	first int          // the input that started the test first
	last  int64        // the latest event time of any part
	timed bool         // some part had a timed event
}

// eventQueue is a FIFO of events that reuses its array.
type eventQueue struct {
	ev   []Event
	head int
}

func (q *eventQueue) len() int        { return len(q.ev) - q.head }
func (q *eventQueue) peek() *Event    { return &q.ev[q.head] }
func (q *eventQueue) push(e ...Event) { q.ev = append(q.ev, e...) }
func (q *eventQueue) pop() Event {
	e := q.ev[q.head]
	q.ev[q.head] = Event{}
	q.head++
	if q.head == len(q.ev) {
		q.ev, q.head = q.ev[:0], 0
	} else if q.head > 4096 && q.head > len(q.ev)/2 {
		n := copy(q.ev, q.ev[q.head:])
		clear(q.ev[n:])
		q.ev, q.head = q.ev[:n], 0
	}
	return e
}

// scanMerged reads several inputs in step, always feeding the one that is furthest behind in
// time, and merges their tests as a stream.
func (s *Source) scanMerged(ctx context.Context, opts ScanOptions) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		in := s.behind()
		if in == nil {
			break
		}
		s.feed(in, mergeStep, opts.Promptly)
		if in.err != nil {
			return in.readError()
		}
		s.collect(in)
		if err := s.release(opts.Emit); err != nil {
			return err
		}
		if opts.Batch != nil {
			running := make([]*Test, 0, len(s.running))
			for _, m := range s.running {
				running = append(running, m.t)
			}
			if err := opts.Batch(running); err != nil {
				return err
			}
		}
	}
	return s.release(opts.Emit)
}

// behind is the unfinished input whose latest event is earliest (inputs with no timed event yet
// first), nil when all are read.
func (s *Source) behind() *sourceInput {
	var best *sourceInput
	for _, in := range s.inputs {
		if in.eof {
			continue
		}
		if best == nil || (!in.timed && best.timed) || (in.timed == best.timed && in.maxTime < best.maxTime) {
			best = in
		}
	}
	return best
}

// collect moves what the input's parser produced since the last call into the merge queues.
func (s *Source) collect(in *sourceInput) {
	i := int(in.p.opts.File)
	for _, t := range in.p.Completed() {
		s.take(i, in, t, true)
	}
	for _, t := range in.p.Running() {
		s.take(i, in, t, false)
	}
}

func (s *Source) take(i int, in *sourceInput, t *Test, done bool) {
	m := s.byPart[t]
	if m == nil {
		if t.Implicit && !done && len(t.Events) == 0 && t.Tally.Events == 0 {
			return // lines outside tests, so far with no event: may never become a test
		}
		key := t.Key()
		if m = s.byKey[key]; m == nil || m.parts[i] != nil {
			m = &mergedTest{t: &Test{Name: t.Name, Package: t.Package, Attempt: t.Attempt, Implicit: t.Implicit,
				Profile: t.Profile}, first: i,
				parts: make([]*Test, len(s.inputs)), done: make([]bool, len(s.inputs)),
				queue: make([]eventQueue, len(s.inputs))}
			s.byKey[key] = m
			s.running = append(s.running, m)
		}
		m.parts[i] = t
		s.byPart[t] = m
	}
	for k := range t.Events {
		e := &t.Events[k]
		if e.Flags&FlagTime == 0 {
			continue
		}
		if !in.timed || e.Time > in.maxTime {
			in.maxTime, in.timed = e.Time, true
		}
		if !m.timed || e.Time > m.last {
			m.last, m.timed = e.Time, true
		}
	}
	if tl := &t.Tally; tl.Events > 0 {
		// Counted, not kept (Options.CountOnly: one input, so nothing to merge in time order).
		if tl.timed {
			if !in.timed || tl.hi > in.maxTime {
				in.maxTime, in.timed = tl.hi, true
			}
			if !m.timed || tl.hi > m.last {
				m.last, m.timed = tl.hi, true
			}
		}
		m.t.Tally.Merge(tl)
		tl.Reset()
	}
	m.queue[i].push(t.Events...)
	t.Consumed()
	if m.t.Profile == "" {
		m.t.Profile = t.Profile
	}
	if i == m.first {
		// Aliases are per input; the first input's name the columns (ids of different
		// inputs can collide: a known limit of merging hashicorp per-node logs).
		m.t.Aliases = t.Aliases
	}
	if done {
		m.done[i] = true
		delete(s.byPart, t)
	}
}

// release merges every running test's queued events as far as is safe, and hands out the tests
// that are complete in every input.
func (s *Source) release(emit func(*Test) error) error {
	kept := s.running[:0]
	var complete []*mergedTest
	for _, m := range s.running {
		s.mergeQueued(m)
		if s.complete(m) {
			complete = append(complete, m)
		} else {
			kept = append(kept, m)
		}
	}
	clear(s.running[len(kept):])
	s.running = kept
	for _, m := range complete {
		s.finish(m)
		if emit != nil {
			if err := emit(m.t); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeQueued moves queued events into m.t.Events in time order while no input can still write
// an earlier one; an input's own order is never changed. Ties (stamps of whole seconds, or of
// one millisecond) keep causal order where the events show it: a node's receipt of a peer's
// message (a receive from it, a vote for it) waits for the peer's sending it (a send to the
// node, a vote for the node) stamped the same. Other ties go to the earlier input.
func (s *Source) mergeQueued(m *mergedTest) {
	for {
		best := -1
		for i := range m.queue {
			if m.queue[i].len() > 0 && (best < 0 || m.queue[i].peek().Time < m.queue[best].peek().Time) {
				best = i
			}
		}
		if best < 0 || !s.safe(m, best, m.queue[best].peek().Time) {
			return
		}
		if m.tied(best) {
			s.ties++
			if m.waits(best) {
				best = m.notWaiting(best)
			}
		}
		m.t.Events = append(m.t.Events, m.queue[best].pop())
	}
}

// tied reports whether queue i's next event has the stamp of another queue's next event.
func (m *mergedTest) tied(i int) bool {
	t := m.queue[i].peek().Time
	for j := range m.queue {
		if j != i && m.queue[j].len() > 0 && m.queue[j].peek().Time == t {
			return true
		}
	}
	return false
}

// tieScan bounds how far into another input's events of one stamp a receipt looks for its
// send: ties are short runs, and a longer one is not worth a quadratic merge.
const tieScan = 256

// waits reports whether queue i's next event is a receipt from a peer whose sending it, stamped
// the same, is still queued in another input.
func (m *mergedTest) waits(i int) bool {
	e := m.queue[i].peek()
	peer := receiptFrom(e)
	if peer == "" {
		return false
	}
	for j := range m.queue {
		q := &m.queue[j]
		if j == i {
			continue
		}
		for k := q.head; k < len(q.ev) && k < q.head+tieScan && q.ev[k].Time == e.Time; k++ {
			if o := &q.ev[k]; o.Node == peer && sentTo(o) == e.Node {
				return true
			}
		}
	}
	return false
}

// notWaiting returns the first queue after best (in input order, then from the first) whose
// next event ties with best's and does not wait; best itself when all wait (a cycle the
// events cannot order).
func (m *mergedTest) notWaiting(best int) int {
	t := m.queue[best].peek().Time
	for k := 1; k < len(m.queue); k++ {
		j := (best + k) % len(m.queue)
		if m.queue[j].len() > 0 && m.queue[j].peek().Time == t && !m.waits(j) {
			return j
		}
	}
	return best
}

// receiptFrom returns the peer whose message e shows its node received: a receive's sender,
// or the candidate a vote was cast for (the vote answers its request); "" for anything else.
func receiptFrom(e *Event) string {
	var peer string
	switch e.Kind {
	case eventline.KindRecv:
		peer, _ = e.Field("from")
	case eventline.KindVote:
		peer, _ = e.Field("candidate")
	}
	if peer == e.Node {
		return ""
	}
	return peer
}

// sentTo returns the node e shows its node sending a message to: a send's receiver, or the
// candidate a vote was cast for (the vote is its reply); "" for anything else.
func sentTo(e *Event) string {
	var to string
	switch e.Kind {
	case eventline.KindSend:
		to, _ = e.Field("to")
	case eventline.KindVote:
		to, _ = e.Field("candidate")
	}
	return to
}

// safe reports whether no input other than from can still produce an event of m earlier than t.
func (s *Source) safe(m *mergedTest, from int, t int64) bool {
	for j, in := range s.inputs {
		if j == from || m.queue[j].len() > 0 || m.done[j] || in.eof {
			continue
		}
		if !in.timed || in.maxTime-MergeWindow < t {
			return false
		}
	}
	return true
}

// complete reports whether m can be handed out: every input has finished its part, or ended,
// or (never having started it) has read well past m's last event.
func (s *Source) complete(m *mergedTest) bool {
	for j, in := range s.inputs {
		if m.queue[j].len() > 0 {
			return false
		}
		if m.done[j] || in.eof {
			continue
		}
		if m.parts[j] != nil || !m.timed || !in.timed || in.maxTime-MergeWindow <= m.last {
			return false
		}
	}
	return true
}

// finish fills in a complete merged test from its parts, as they ended.
func (s *Source) finish(m *mergedTest) {
	t := m.t
	if s.byKey[t.Key()] == m {
		delete(s.byKey, t.Key())
	}
	first := true
	for i, p := range m.parts {
		if p == nil {
			continue
		}
		delete(s.byPart, p)
		m.parts[i] = nil
		t.Other = append(t.Other, p.Other...)
		t.Ambiguous += p.Ambiguous
		t.Panicked = t.Panicked || p.Panicked
		if first || p.Status == StatusFail || t.Status == StatusUnknown {
			t.Status = p.Status
		}
		first = false
		t.Elapsed = max(t.Elapsed, p.Elapsed)
		if t.Package == "" {
			t.Package = p.Package
		}
	}
}

// ReadAll scans the source and returns every test, named by package where go test -v named it
// after the fact.
func (s *Source) ReadAll(ctx context.Context) ([]*Test, Summary, error) {
	var tests []*Test
	err := s.Scan(ctx, ScanOptions{Emit: func(t *Test) error { tests = append(tests, t); return nil }})
	for i, t := range tests {
		if t.Package == "" {
			t.Package = s.PackageOf(i)
		}
	}
	return tests, s.Summary(), err
}

// Read parses one input completely.
func Read(r io.Reader, opts Options) ([]*Test, Summary, error) {
	return NewSource([]Input{{Name: "input", Reader: r}}, opts).ReadAll(context.Background())
}

// ReadFiles parses every path ("-" is stdin) and merges them as a Source does.
func ReadFiles(paths []string, opts Options) ([]*Test, Summary, error) {
	s, err := Open(paths, os.Stdin, opts)
	if err != nil {
		return nil, Summary{}, err
	}
	defer s.Close()
	return s.ReadAll(context.Background())
}

// lineReader splits a reader into lines, cutting a line longer than MaxLineBytes.
type lineReader struct {
	r    io.Reader
	br   *bufio.Reader
	long []byte // a line longer than the read buffer, being assembled
	cut  int    // bytes dropped from the line last returned
	err  error  // to return after the last line
	// partial: long holds the start of a line whose rest a followed input has not written yet
	partial bool
	// read counts the bytes taken from r (lines returned and the start of one being read).
	read int64
}

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{}
	lr.reset(r)
	return lr
}

func (lr *lineReader) reset(r io.Reader) {
	lr.r = r
	lr.br = bufio.NewReaderSize(r, readBufSize)
	lr.long, lr.cut, lr.err, lr.partial, lr.read = lr.long[:0], 0, nil, false, 0
}

// next returns the next line without its newline (valid until the next call), or the error that
// ended the input (io.EOF at its end) once every line has been returned. A followed input's
// errWait and errReplaced come through at once; after errWait the line read so far is kept and
// completed by later calls, after errReplaced it is dropped (reset).
func (lr *lineReader) next() ([]byte, error) {
	if lr.err != nil {
		return nil, lr.err
	}
	if !lr.partial {
		lr.long, lr.cut = lr.long[:0], 0
		if cap(lr.long) > 4*readBufSize {
			lr.long = nil // do not keep a huge buffer for one freak line
		}
	}
	lr.partial = false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		lr.read += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) || errors.Is(err, errWait) {
			if room := MaxLineBytes - len(lr.long); room > 0 {
				if len(chunk) > room {
					lr.cut += len(chunk) - room
					chunk = chunk[:room]
				}
				lr.long = append(lr.long, chunk...)
			} else {
				lr.cut += len(chunk)
			}
			if errors.Is(err, errWait) {
				lr.partial = true
				return nil, err
			}
			continue
		}
		if errors.Is(err, errReplaced) {
			return nil, err
		}
		line := chunk
		if len(lr.long) > 0 || lr.cut > 0 {
			if room := MaxLineBytes - len(lr.long); len(chunk) > room {
				lr.cut += len(chunk) - room
				chunk = chunk[:max(room, 0)]
			}
			lr.long = append(lr.long, chunk...)
			line = lr.long
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if lr.cut > 0 {
			line = append(line, " …["+strconv.Itoa(lr.cut)+" bytes cut]"...)
		}
		if err != nil {
			lr.err = err
			if len(line) == 0 && lr.cut == 0 {
				return nil, err
			}
		}
		return line, nil
	}
}
