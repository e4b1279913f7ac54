// Package parse reads captured Raft debug output into tests and events.
//
// It understands go test -v output (=== RUN, --- PASS, subtests, parallel tests, -count repeats),
// go test -json streams, classic "HH:MM:SS.uuuuuu [ID] message" debug lines, the structured event
// lines of docs/FORMAT.md (text and JSON) and etcd-io/raft trace events. Parsing is streaming: feed
// lines to a Parser and collect tests as they complete, so memory is bounded by the tests that are
// running, not by the size of the input.
package parse

import (
	"bytes"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/profile"
)

// Format is the framing of the input: how lines are grouped into tests.
type Format uint8

// Input formats. Event lines are recognised inside every one of them.
const (
	FormatAuto   Format = iota // decide from the first non-blank line
	FormatGoTest               // go test -v output, or a plain log (one implicit test)
	FormatJSON                 // go test -json (test2json) stream
	FormatPlain                // a plain log: test markers are not interpreted
)

// ParseFormat reads a --format flag value.
func ParseFormat(s string) (Format, bool) {
	switch s {
	case "", "auto":
		return FormatAuto, true
	case "gotest", "test", "text":
		return FormatGoTest, true
	case "json", "gojson", "test2json":
		return FormatJSON, true
	case "plain", "log":
		return FormatPlain, true
	}
	return 0, false
}

// String names the format as the --format flag spells it.
func (f Format) String() string {
	switch f {
	case FormatGoTest:
		return "gotest"
	case FormatJSON:
		return "json"
	case FormatPlain:
		return "plain"
	}
	return "auto"
}

// Options tune a Parser.
type Options struct {
	Format Format
	// ImplicitName names the test that holds lines outside any test; "(log)" when empty. Files
	// merged by ReadFiles share it, so per-node logs of one cluster become one test.
	ImplicitName string
	// File is stored in every Event and OtherLine, to tell merged inputs apart.
	File int16
	// Profile, when set, is the log dialect to read the input with (--profile); otherwise it is
	// detected from the input's first lines among the built-in profiles.
	Profile *profile.Profile
	// HoldForPackage keeps completed tests from Completed until their package is known. go test
	// -v names a package only in its final ok/FAIL line, after its tests; a caller that selects
	// tests by package (-run 'raft\.TestElection') needs it, and pays with holding one
	// package's tests. go test -json names the package on every line: nothing is held there.
	HoldForPackage bool
	// FileNode names the server whose file this input is (NAME=FILE, or the file's name): the
	// node of lines that name a logger where a server would be ("raft: entering leader state"),
	// and, with NodePerFile, of every line that names no server.
	FileNode string
	// NodePerFile: the input is one server's log (one of several files, or named NAME=FILE), so
	// a line that names no server is that server's.
	NodePerFile bool
	// UserProfiles are a user's own profiles (profile.LoadUser): those with a detect or wording
	// rule take part in detection, before the built-in ones.
	UserProfiles []*profile.Profile
	// Book, when set, is shared by the inputs of one run: the names servers give themselves and
	// each other (ids, addresses), so that they map to the same node everywhere.
	Book *Book
	// NoInfer keeps an input no profile reads from being read by an inferred profile (see
	// package infer). A followed input is never inferred: its start may be all there is yet.
	NoInfer bool
	// Facts says which fact rules of the profiles run: all of them (the default), or only
	// those a reader shows.
	Facts FactSet
	// CountOnly: the reader shows only what each test's events amount to (--list). They are
	// counted into the test's Tally as they are read and not kept in Events, which saves
	// copying each one through to a consumer that would only count it. A Source of several
	// inputs keeps the events all the same: they are merged in time order, and a Tally's groups
	// are in order of appearance.
	CountOnly bool
}

// FactSet chooses the fact rules a reader needs: what it does not show is not read.
type FactSet uint8

const (
	// AllFacts: every rule (the timeline, analyze, coloured tables, --fields, --grep, CSV).
	AllFacts FactSet = iota
	// FaultFacts: the rules that say an event is a fault or which node it is about
	// (profile.FaultFacts): a plain table shows nothing else of them.
	FaultFacts
	// NodeFacts: only the rules that say which node an event is about (profile.NodeFacts), and
	// no messages of classic lines: --list counts events and nodes.
	NodeFacts
)

// ImplicitTestName is the default name of the test that holds lines outside any test.
const ImplicitTestName = "(log)"

// PackageResult is a package's final ok/FAIL line.
type PackageResult struct {
	Name    string
	Status  Status
	Elapsed time.Duration
	// Completed is the number of tests the input had completed when the package ended: the
	// package's own tests are those completed after the previous package's.
	Completed int
}

// PackageOf returns the package of the n-th test completed in the input (0-based, in the order
// Completed hands them out), "" when no package line names it. go test -v names a package only
// after its tests; this tells a caller that handed them on already.
func (s *Summary) PackageOf(n int) string {
	for _, pr := range s.Packages {
		if n < pr.Completed {
			return pr.Name
		}
	}
	return ""
}

// Summary counts what a parse saw.
type Summary struct {
	Format        Format // the detected (or forced) format
	Lines         int    // input lines
	Events        int    // lines understood as events
	NotUnderstood int    // lines that are neither events nor go test framing
	Ambiguous     int    // events whose test attribution is uncertain (parallel tests)
	LongLines     int    // lines cut at MaxLineBytes
	Framing       int    // go test's own lines (=== RUN, --- PASS, ok, PASS, ...)
	// Tied: events of several inputs merged that share their stamp with another input's (whole
	// seconds, a busy millisecond): their order within the stamp is inferred (Source.mergeQueued).
	Tied     int
	BySyntax [NumSyntax]int // events per Syntax
	// Profile names the log dialect detected (or forced); "" when no line was an event.
	Profile  string
	Packages []PackageResult
	// Final is the last overall PASS/FAIL line of the input, StatusUnknown when there was none.
	Final Status
}

// Status is the overall result: FAIL when any test or package failed or the final line says so,
// PASS when the input says PASS, UNKNOWN otherwise.
func (s *Summary) Status(tests []*Test) Status {
	st := s.Final
	for _, p := range s.Packages {
		if p.Status == StatusFail {
			return StatusFail
		}
		if st == StatusUnknown {
			st = p.Status
		}
	}
	for _, t := range tests {
		if t.Status == StatusFail {
			return StatusFail
		}
	}
	return st
}

// testState is the parser's bookkeeping for a test that has not completed.
type testState struct {
	t      *Test
	paused bool
	// ended: the test has certainly stopped printing (a sibling started after it, or its parent
	// reported), but go test prints its result line later.
	ended bool
	// marked: the test was started by a profile's test marker, not by go test's === RUN.
	marked  bool
	aliases map[string]string // long node id key -> short name
}

// Parser turns lines into tests. It is not safe for concurrent use.
type Parser struct {
	opts   Options
	format Format
	// factsCache is factsNameNodes' last answer.
	factsCache struct {
		pr    *profile.Profile
		names bool
	}
	// harnessNodes are harnessNode's answers.
	harnessNodes map[string]bool
	sum          Summary
	running      map[string]*testState // by test name
	order        []*testState          // running tests in start order
	attempts     map[string]int        // runs seen per test name in this package, for -count repeats
	started      int                   // tests started in the whole input
	// completed counts the tests completed in the whole input: a package line records it, so
	// that tests handed out before go test -v named their package can be told it later
	// (Summary.PackageOf) without the parser holding on to them.
	completed int
	finished  bool
	current   *testState // the test go test named last
	implicit  *testState
	done      []*Test
	ambiguous bool // several tests are printing at once
	clock     dayClock
	nodes     map[string]string // interned node ids and kinds
	json      jsonState
	lineNo    int32
	leftover  []OtherLine
	crashing  bool // inside a panic's goroutine dump
	lastSize  int  // events of the last completed test
	// recentNodes are what classicNode made of the ids it saw last.
	recentNodes [16]recentNode
	dialect     dialect
	lastTime    int64 // time of the last event, for lines that carry none
	lastFlags   uint8
	// lastDone is the test whose result line came last: go test without -v prints a failed
	// test's messages indented under its "--- FAIL" line.
	lastDone *Test
	// fields and text are scratch space for an event's fields on their way into one string.
	fields []eventline.Field
	text   []byte
	// prep, when the input is read ahead (ahead.go), is told the profile the input is read
	// with; pre is what the line being parsed says, read ahead (nil when it was not).
	prep *preparer
	pre  *prepared
}

// NewParser returns a parser for one input.
func NewParser(opts Options) *Parser {
	if opts.ImplicitName == "" {
		opts.ImplicitName = ImplicitTestName
	}
	return &Parser{
		opts:     opts,
		format:   opts.Format,
		sum:      Summary{Format: opts.Format},
		running:  make(map[string]*testState),
		attempts: make(map[string]int),
		nodes:    make(map[string]string),
		json:     jsonState{partial: make(map[string][]byte)},
		dialect:  newDialect(opts.Profile, opts.UserProfiles),
	}
}

// Line feeds one line without its newline. The parser keeps no reference to line.
func (p *Parser) Line(line []byte) {
	p.lineNo++
	p.sum.Lines++
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if p.opts.Book != nil {
		p.learnNames(line)
	}
	if p.format == FormatAuto {
		if len(bytes.TrimSpace(line)) == 0 {
			p.blank(line)
			return
		}
		p.format = detect(line)
		p.sum.Format = p.format
		if p.prep != nil && p.format == FormatJSON {
			p.prep.testJSON.Store(true)
		}
	}
	if p.format == FormatJSON {
		p.pre = nil // prepared for the record; the lines inside it are read here
		p.jsonLine(line)
		return
	}
	p.textLine(line, p.format == FormatGoTest)
}

// linePrepared is Line for a line read ahead (ahead.go), with what it says.
func (p *Parser) linePrepared(line []byte, pre *prepared) {
	if pre != nil && pre.plain && p.countsPlain() {
		p.countPlain(pre)
		return
	}
	p.pre = pre
	p.Line(line)
	p.pre = nil
}

// countsPlain reports whether a plain line (prepared.plain) is only counted by textLine now: the
// input is go test output or a plain log, its dialect is decided and is a built-in syntax (no
// profile's line regexp or test markers to try first), and no name book learns from lines.
func (p *Parser) countsPlain() bool {
	return p.opts.CountOnly && p.opts.Book == nil && (p.format == FormatGoTest || p.format == FormatPlain) &&
		p.dialect.locked && p.dialect.active == nil
}

// countPlain is what Line does with a plain line when countsPlain: textLine's path for a classic
// event line with no message kept, without the checks such a line cannot meet (go test's lines,
// panics, indented output, profiles). The randomized read-ahead test holds it to that path.
func (p *Parser) countPlain(pre *prepared) {
	p.lineNo++
	p.sum.Lines++
	if !(p.format == FormatGoTest && p.crashing) {
		p.lastDone = nil // as textLine: a line that is not indented ends a finished test's output
	}
	e := Event{Syntax: SyntaxClassic}
	e.Time, e.Flags = p.classicTime(&pre.le)
	e.Node = p.classicNode(pre.le.node)
	p.event(p.target(), e)
}

// classicNode is the node of a classic line: its id interned, or the cluster when the id is the
// harness's. What it made of the last ids is kept in a small cache by the id's first and last
// bytes, as a log's lines name the same few nodes.
func (p *Parser) classicNode(id []byte) string {
	if len(id) == 0 {
		return p.intern(id)
	}
	// Ids differ most in their last byte ("1", "n2", "node-3"): consecutive ones get slots apart.
	h := uint(id[len(id)-1]) + 2*uint(id[0]) + 5*uint(len(id))
	r := &p.recentNodes[h%uint(len(p.recentNodes))]
	if r.node != "" && r.id == string(id) {
		return r.node
	}
	node := p.intern(id)
	if p.harnessNode(node) {
		node = eventline.ClusterNode
	}
	*r = recentNode{id: string(id), node: node}
	return node
}

// recentNode is a classic line's node id and what classicNode made of it.
type recentNode struct {
	id, node string
}

// countPlains counts plain lines read ahead, as countPlain each.
func (p *Parser) countPlains(run []prepared) {
	for i := range run {
		p.countPlain(&run[i])
	}
}

// classicLine is parseEventLine, or its result read ahead.
func (p *Parser) classicLine(line []byte, le *lineEvent) bool {
	if pre := p.pre; pre != nil && pre.leDone {
		*le = pre.le
		return pre.leOK
	}
	return parseEventLine(line, le)
}

// detect picks the input format from its first non-blank line.
func detect(line []byte) Format {
	t := bytes.TrimSpace(line)
	if len(t) > 0 && t[0] == '{' && bytes.Contains(t, []byte(`"Action"`)) {
		return FormatJSON
	}
	return FormatGoTest
}

// blank keeps leading blank lines while the format is still undecided.
func (p *Parser) blank(line []byte) {
	p.other(p.target(), line)
}

// textLine handles one line of go test -v output or of a plain log.
func (p *Parser) textLine(line []byte, framing bool) {
	if framing && p.framing(line) {
		p.sum.Framing++
		p.crashing = false
		return
	}
	indented := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
	crash := framing && (p.crashing || isCrashText(line))
	if !indented && !crash {
		p.lastDone = nil
	}
	if p.profileTest(line) {
		return
	}
	if e, ok := p.profileEvent(line); ok {
		p.event(p.target(), e)
		return
	}
	// A forced profile with its own line regexp is the whole truth about the input: lines it does
	// not match are not read by the built-in syntaxes (whose shapes it may overlap).
	forcedRegexp := p.dialect.forced && p.dialect.active.Builtin == ""
	var le lineEvent
	if !forcedRegexp && p.classicLine(line, &le) {
		e := p.toEvent(&le)
		p.lockBuiltin(&e)
		if p.harnessNode(e.Node) {
			e.Node = eventline.ClusterNode // "[TEST] Disconnect 2": the harness speaking
		}
		p.applyFacts(&e, p.dialect.classic)
		p.event(p.target(), e)
		return
	}
	t := bytes.TrimLeft(line, " \t")
	if len(t) > 0 && t[0] == '{' && !forcedRegexp {
		if e, ok := p.jsonEvent(t); ok {
			p.event(p.target(), e)
			return
		}
	}
	if !forcedRegexp && looksLogfmt(t) {
		if e, ok := p.logfmtEvent(t); ok {
			p.event(p.target(), e)
			return
		}
	}
	if e, ok := p.harnessLine(line); ok {
		p.event(p.target(), e)
		return
	}
	target := p.target()
	if p.lastDone != nil && p.current == nil {
		// "--- FAIL: TestX" then its indented messages (go test without -v), or its panic.
		if ts := p.doneState(p.lastDone); ts != nil {
			target = ts
		}
	}
	if crash {
		// A panic or a timeout: the test that was running has no result line; it is FAIL all
		// the same. The text, goroutine dumps included, is kept with the test.
		p.crashing = true // goroutine dumps follow until go test's next line
		if bytes.HasPrefix(line, []byte("panic: ")) || bytes.HasPrefix(line, []byte("*** Test killed")) {
			target.t.Panicked = true
		}
		p.otherKind(target, line, OtherCrash)
		return
	}
	if pr := p.dialect.active; pr != nil && pr.IsFailure(line) {
		p.otherKind(target, line, OtherFailure)
		return
	}
	if len(t) < len(line) {
		if _, ok := skipSourcePrefix(t); ok {
			// t.Log output: the test's own words, understood as such, kept as an other line.
			p.otherKind(target, line, OtherTestLog)
			return
		}
	}
	p.notUnderstood(target, line)
}

// doneState wraps a completed test that has not been handed out yet, so lines can still be added
// to it; nil when it has been.
func (p *Parser) doneState(t *Test) *testState {
	for _, d := range p.done {
		if d == t {
			return &testState{t: t}
		}
	}
	return nil
}

// target is the test that output is attributed to now: the one go test named last.
func (p *Parser) target() *testState {
	if p.current != nil {
		return p.current
	}
	if p.implicit == nil {
		p.implicit = &testState{t: &Test{Name: p.opts.ImplicitName, Attempt: 1, Implicit: true}}
	}
	return p.implicit
}

func (p *Parser) event(ts *testState, e Event) {
	e.Line, e.File = p.lineNo, p.opts.File
	if e.Flags&FlagTime != 0 {
		p.lastTime, p.lastFlags = e.Time, e.Flags
	}
	if ts.t.Profile == "" {
		ts.t.Profile = p.dialect.name(e.Syntax)
	}
	if p.ambiguous && !ts.t.Implicit {
		e.Flags |= FlagAmbiguous
		ts.t.Ambiguous++
		p.sum.Ambiguous++
	}
	p.sum.Events++
	p.sum.BySyntax[e.Syntax]++
	if p.opts.CountOnly {
		ts.t.Tally.add(&e)
		return
	}
	ts.t.Events = append(ts.t.Events, e)
}

func (p *Parser) other(ts *testState, line []byte) {
	kind := OtherText
	if len(bytes.TrimSpace(line)) == 0 {
		kind = OtherBlank
	}
	p.otherKind(ts, line, kind)
}

func (p *Parser) otherKind(ts *testState, line []byte, kind OtherKind) {
	ts.t.Other = append(ts.t.Other, OtherLine{Text: cleanText(line), Line: p.lineNo, File: p.opts.File, Kind: kind})
}

func (p *Parser) notUnderstood(ts *testState, line []byte) {
	if len(bytes.TrimSpace(line)) > 0 {
		p.sum.NotUnderstood++
	}
	p.other(ts, line)
}

// harnessNode reports whether a classic line's node is the harness by the classic profile's
// rules, remembering the answer for each node (a test has few; ids repeat line after line).
func (p *Parser) harnessNode(node string) bool {
	is, ok := p.harnessNodes[node]
	if !ok {
		if p.harnessNodes == nil || len(p.harnessNodes) > 4096 {
			p.harnessNodes = map[string]bool{}
		}
		is = p.dialect.classic != nil && p.dialect.classic.IsHarnessNode(node)
		p.harnessNodes[node] = is
	}
	return is
}

// framing recognises go test's own lines and updates the test bookkeeping. It reports whether the
// line was one of them.
func (p *Parser) framing(line []byte) bool {
	switch {
	case len(line) == 0 || !framingFirst[line[0]]:
		return false // most lines: one look
	case bytes.HasPrefix(line, []byte("=== ")):
		return p.marker(line[4:])
	case bytes.HasPrefix(bytes.TrimLeft(line, " "), []byte("--- ")):
		return p.result(bytes.TrimLeft(line, " ")[4:])
	case bytes.Equal(line, []byte("PASS")):
		p.sum.Final = StatusPass
		return true
	case bytes.Equal(line, []byte("FAIL")):
		p.sum.Final = StatusFail
		return true
	case bytes.HasPrefix(line, []byte("ok  ")) || bytes.HasPrefix(line, []byte("ok\t")) || bytes.HasPrefix(line, []byte("ok ")):
		return p.packageLine(line[2:], StatusPass)
	case bytes.HasPrefix(line, []byte("FAIL\t")) || bytes.HasPrefix(line, []byte("FAIL ")):
		return p.packageLine(line[4:], StatusFail)
	}
	return false
}

// framingFirst marks the bytes go test's own lines begin with ("=== RUN", "--- PASS" or an
// indented "    --- PASS", "PASS", "FAIL", "ok").
var framingFirst = [256]bool{'=': true, '-': true, ' ': true, 'P': true, 'F': true, 'o': true}

// marker handles "=== RUN|PAUSE|CONT|NAME name".
func (p *Parser) marker(rest []byte) bool {
	verb, name := string(bytes.TrimSpace(rest)), ""
	if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
		verb, name = string(rest[:sp]), string(bytes.TrimSpace(rest[sp:]))
	}
	if name == "" {
		if verb == "NAME" {
			// "=== NAME" alone: what follows belongs to no test (Go 1.20+ prints it so).
			p.current = nil
			return true
		}
		return false
	}
	switch verb {
	case "RUN":
		p.run(name)
	case "PAUSE":
		if ts := p.running[name]; ts != nil {
			ts.paused = true
			if p.current == ts {
				p.current = nil
			}
		}
	case "CONT", "NAME":
		ts := p.running[name]
		if ts == nil { // a log that starts in the middle of a test
			ts = p.run(name)
		}
		ts.paused, ts.ended = false, false
		p.current = ts
	default:
		return false
	}
	p.updateAmbiguity()
	return true
}

// run starts a test (or a new attempt of one, with -count).
func (p *Parser) run(name string) *testState {
	if old := p.running[name]; old != nil {
		p.complete(old, StatusUnknown, 0) // it never reported; a repeat began
	}
	// A sequential sibling that is still running has in fact ended: go test prints subtest results
	// only after the parent's, but a sibling's RUN means the previous one returned.
	parent := parentName(name)
	for _, ts := range p.order {
		if !ts.paused && !ts.ended && parentName(ts.t.Name) == parent {
			p.endTree(ts.t.Name)
		}
	}
	p.attempts[name]++
	p.started++
	// Size the event slice like the last test's: tests of a suite are alike, and growing a slice
	// of a hundred thousand events by doubling costs a quarter of the parse.
	ts := &testState{t: &Test{Name: name, Attempt: p.attempts[name], Events: make([]Event, 0, min(max(p.lastSize, 16), 1<<16))}}
	p.running[name] = ts
	p.order = append(p.order, ts)
	p.current = ts
	return ts
}

// endTree marks a test and its subtests as no longer printing.
func (p *Parser) endTree(name string) {
	for _, ts := range p.order {
		if ts.t.Name == name || strings.HasPrefix(ts.t.Name, name+"/") {
			ts.ended = true
		}
	}
}

// result handles "--- PASS|FAIL|SKIP: name (1.23s)".
func (p *Parser) result(rest []byte) bool {
	colon := bytes.IndexByte(rest, ':')
	if colon < 0 {
		return false
	}
	var st Status
	switch string(rest[:colon]) {
	case "PASS":
		st = StatusPass
	case "FAIL":
		st = StatusFail
	case "SKIP":
		st = StatusSkip
	default:
		return false
	}
	rest = bytes.TrimSpace(rest[colon+1:])
	var elapsed time.Duration
	if i := bytes.LastIndex(rest, []byte(" (")); i >= 0 && bytes.HasSuffix(rest, []byte("s)")) {
		if d, err := time.ParseDuration(string(rest[i+2 : len(rest)-1])); err == nil {
			elapsed = d
		}
		rest = rest[:i]
	}
	ts := p.running[string(rest)]
	if ts == nil && p.current != nil && p.current.marked {
		// The result of a test a profile's marker started (the 6.824 tester's "Test (2B): ..."):
		// go test names it by its function, which is the name -run selects by.
		ts = p.current
		delete(p.running, ts.t.Name)
		ts.t.Name = string(rest)
		p.running[ts.t.Name] = ts
	}
	if ts == nil {
		return false // a result for a test this input never started: keep the line
	}
	p.complete(ts, st, elapsed)
	p.lastDone = ts.t
	return true
}

// complete finishes a test and queues it for Completed.
func (p *Parser) complete(ts *testState, st Status, elapsed time.Duration) {
	if st == StatusUnknown && ts.t.Panicked {
		st = StatusFail // a panic or a timeout is a failure even when go test printed no --- FAIL
	}
	ts.t.Status, ts.t.Elapsed = st, elapsed
	delete(p.running, ts.t.Name)
	for i, o := range p.order {
		if o == ts {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	p.endTree(ts.t.Name)
	if p.current == ts {
		// Output goes back to the parent, which is still running its body.
		p.current = p.running[parentName(ts.t.Name)]
	}
	p.done = append(p.done, ts.t)
	p.completed++
	p.lastSize = len(ts.t.Events)
	p.updateAmbiguity()
}

// packageLine handles "ok  \tpkg\t0.31s" and "FAIL\tpkg\t0.31s": the package's process ended, so
// tests still open will never report.
func (p *Parser) packageLine(rest []byte, st Status) bool {
	f := strings.Fields(string(rest))
	if len(f) == 0 {
		return false
	}
	pr := PackageResult{Name: f[0], Status: st}
	if len(f) > 1 {
		if d, err := time.ParseDuration(f[len(f)-1]); err == nil {
			pr.Elapsed = d
		}
	}
	p.endPackage(pr)
	return true
}

// endPackage records a package's result: the tests not handed out yet get its name (those handed
// out already are named by Summary.PackageOf), and test names count attempts afresh (the next
// package's TestElection is not a rerun).
func (p *Parser) endPackage(pr PackageResult) {
	p.closeOpen(pr.Name)
	for _, t := range p.done {
		if t.Package == "" {
			t.Package = pr.Name
		}
	}
	pr.Completed = p.completed
	p.sum.Packages = append(p.sum.Packages, pr)
	clear(p.attempts)
}

// closeOpen completes every running test as UNKNOWN, in start order.
func (p *Parser) closeOpen(pkg string) {
	for len(p.order) > 0 {
		ts := p.order[0]
		if ts.t.Package == "" {
			ts.t.Package = pkg
		}
		p.complete(ts, StatusUnknown, 0)
	}
	p.current = nil
}

// updateAmbiguity recomputes whether more than one test can be printing: tests that run, are not
// paused, have not ended and have no such subtest of their own.
func (p *Parser) updateAmbiguity() {
	leaves := 0
	for _, ts := range p.order {
		if ts.paused || ts.ended {
			continue
		}
		hasActiveChild := false
		for _, c := range p.order {
			if c != ts && !c.paused && !c.ended && strings.HasPrefix(c.t.Name, ts.t.Name+"/") {
				hasActiveChild = true
				break
			}
		}
		if !hasActiveChild {
			leaves++
		}
	}
	p.ambiguous = leaves > 1
}

// isCrashText recognises the lines of a dying test binary: the panic, the goroutine dumps and
// the stack frames under them.
func isCrashText(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	switch line[0] { // most lines begin with none of these: one comparison
	case 'p', '*', 'g', '\t', '[', 'e':
	default:
		return false
	}
	return bytes.HasPrefix(line, []byte("panic: ")) || bytes.HasPrefix(line, []byte("*** Test killed")) ||
		bytes.HasPrefix(line, []byte("goroutine ")) || bytes.HasPrefix(line, []byte("\t")) ||
		bytes.HasPrefix(line, []byte("[signal ")) || bytes.HasPrefix(line, []byte("exit status "))
}

func parentName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return ""
}

// Completed returns the tests that finished since the last call, in the order they finished, and
// hands them to the caller: the parser keeps no reference. (Their Package may be unknown yet in
// go test -v output: see Summary.PackageOf and Options.HoldForPackage.)
func (p *Parser) Completed() []*Test {
	if !p.opts.HoldForPackage || p.finished {
		d := p.done
		p.done = nil
		return d
	}
	// Hand out the tests whose package is known, in order; the first that waits holds back
	// the rest, so the order of completion is kept.
	n := 0
	for n < len(p.done) && p.done[n].Package != "" {
		n++
	}
	d := append([]*Test(nil), p.done[:n]...)
	p.done = append(p.done[:0], p.done[n:]...)
	return d
}

// Running returns the tests that started and have not finished, in start order. Their Events grow
// as lines arrive.
func (p *Parser) Running() []*Test {
	out := make([]*Test, 0, len(p.order)+1)
	if p.implicit != nil {
		out = append(out, p.implicit.t)
	}
	for _, ts := range p.order {
		out = append(out, ts.t)
	}
	return out
}

// Finish ends the input: JSON fragments still waiting for their newline are flushed, tests that
// never reported complete as UNKNOWN, and the implicit test completes last if it holds events.
func (p *Parser) Finish() {
	p.json.flush(p)
	p.closeOpen("")
	p.finished = true
	if p.implicit != nil {
		it := p.implicit.t
		p.implicit = nil
		if len(it.Events) > 0 || it.Flushed > 0 || it.Tally.Events > 0 || (len(it.Other) > 0 && p.sum.Final == StatusUnknown && len(p.sum.Packages) == 0 && p.started == 0) {
			p.done = append(p.done, it)
		} else {
			p.leftover = append(p.leftover, it.Other...)
		}
	}
}

// Summary returns the counts so far.
func (p *Parser) Summary() Summary { return p.sum }

// Leftover returns lines outside every test that did not make a test of their own (a go test
// preamble such as "Seed: 42"), after Finish.
func (p *Parser) Leftover() []OtherLine { return p.leftover }

// internString is intern for a string.
func (p *Parser) internString(s string) string {
	if v, ok := p.nodes[s]; ok {
		return v
	}
	if len(p.nodes) < 4096 {
		p.nodes[s] = s
	}
	return s
}

// intern returns a shared string for a node id or kind: a run has few distinct ones, and sharing
// them saves an allocation per event.
func (p *Parser) intern(b []byte) string {
	if s, ok := p.nodes[string(b)]; ok {
		return s
	}
	s := cleanText(b)
	if len(p.nodes) < 4096 {
		p.nodes[s] = s
	}
	return s
}
