package parse

import (
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/raftviz/raftviz/parse/eventline"
)

// Status is a test's result.
type Status uint8

// Test results. StatusUnknown is a test that never printed a result line (a panic, a timeout, a
// truncated log, or a plain log with no test markers at all).
const (
	StatusUnknown Status = iota
	StatusPass
	StatusFail
	StatusSkip
)

// String returns PASS, FAIL, SKIP or UNKNOWN, as go test prints them.
func (s Status) String() string {
	switch s {
	case StatusPass:
		return "PASS"
	case StatusFail:
		return "FAIL"
	case StatusSkip:
		return "SKIP"
	}
	return "UNKNOWN"
}

// Syntax says how an event line was understood.
type Syntax uint8

// The event syntaxes raftviz reads.
const (
	SyntaxClassic   Syntax = iota + 1 // HH:MM:SS.uuuuuu [ID] message, free text
	SyntaxText                        // docs/FORMAT.md text form: classic prefix plus " | ev=" fields
	SyntaxJSON                        // docs/FORMAT.md JSON-lines form
	SyntaxEtcdTrace                   // etcd-io/raft TracingEvent NDJSON
	SyntaxProfile                     // read by a profile's line regexp, or a JSON logger record
)

// NumSyntax is one more than the largest Syntax, for arrays indexed by it.
const NumSyntax = int(SyntaxProfile) + 1

// String names the syntax for summaries.
func (s Syntax) String() string {
	switch s {
	case SyntaxClassic:
		return "classic"
	case SyntaxText:
		return "structured"
	case SyntaxJSON:
		return "structured-json"
	case SyntaxEtcdTrace:
		return "etcd-trace"
	case SyntaxProfile:
		return "profile"
	}
	return "unknown"
}

// Event flags.
const (
	// FlagTime: the event had a timestamp. Without it (etcd traces) Time is a sequence number.
	FlagTime uint8 = 1 << iota
	// FlagDate: Time is Unix nanoseconds. Without it Time counts from midnight of an unknown day
	// (classic lines carry no date); a clock that runs past midnight keeps counting past 24h.
	FlagDate
	// FlagAmbiguous: the line was printed while several tests ran in parallel, so the test it is
	// attributed to (go test's "last named test") may be wrong. The node comes from the line itself.
	FlagAmbiguous
	// FlagASCII: Msg is printable ASCII, so its display width is its length. Set by the parser,
	// which checks anyway; renderers use it to skip measuring. Without it, they measure.
	FlagASCII
	// FlagInferred: Kind and Fields were read from the message's wording by a profile's fact
	// rules, not written by the node as structured fields.
	FlagInferred
	// FlagOffset: Time counts from the start of the run (a dslogs stamp), not from midnight.
	FlagOffset
	// FlagGuessed: the profile that read the event says its terms are hints (weak-terms: an
	// inferred profile's generic wordings may take a message's term for the node's).
	FlagGuessed
)

// Event is one understood debug line: something a node did at a time.
type Event struct {
	Time   int64            // see FlagTime and FlagDate
	Node   string           // node id from [ID] or the JSON node field; eventline.ClusterNode for the cluster
	Msg    string           // the human message, ANSI codes and control characters removed
	Kind   string           // the ev field of structured lines, or the kind a profile read from the wording; "" when none
	Fields eventline.Fields // the structured fields after ev (packed: see eventline.Fields)
	Line   int32            // 1-based line number in its input
	File   int16            // index of the input file (0 for a single input)
	Syntax Syntax
	Flags  uint8
}

// Field returns the value of a structured field.
func (e *Event) Field(key string) (string, bool) { return e.Fields.Get(key) }

// FieldInt returns a structured field as an integer, and false when it is absent or not a number.
func (e *Event) FieldInt(key string) (int64, bool) {
	v, ok := e.Fields.Get(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// HasTime reports whether the event carried a timestamp.
func (e *Event) HasTime() bool { return e.Flags&FlagTime != 0 }

// IsFault reports whether the event is a crash, restart, disconnect, reconnect, partition or heal,
// as the node wrote it or as its profile read it from the wording.
func (e *Event) IsFault() bool { return eventline.IsFault(e.Kind) }

// FormatTime renders the event time as HH:MM:SS.uuuuuu (or #N for untimed events); with relative
// set it renders the offset from start as +S.uuuuuu seconds.
func (e *Event) FormatTime(start int64, relative bool) string {
	return string(AppendEventTime(nil, e, start, relative))
}

// AppendEventTime appends FormatTime's text to dst without allocating.
func AppendEventTime(dst []byte, e *Event, start int64, relative bool) []byte {
	if e.Flags&FlagTime == 0 {
		dst = append(dst, '#')
		return strconv.AppendInt(dst, e.Time, 10)
	}
	if relative {
		d := e.Time - start
		if d < 0 {
			dst = append(dst, '-')
			d = -d
		} else {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, d/1e9, 10)
		dst = append(dst, '.')
		return appendFrac6(dst, d%1e9/1e3)
	}
	t := e.Clock()
	h, rem := t/3600e9, t%3600e9
	m, rem := rem/60e9, rem%60e9
	s, ns := rem/1e9, rem%1e9
	dst = append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.')
	return appendFrac6(dst, ns/1e3)
}

// Clock is the event's time of day, as FormatTime shows it, in nanoseconds since midnight.
func (e *Event) Clock() int64 {
	t := e.Time
	if e.Flags&FlagDate != 0 {
		// The zone the line was written in is lost in Unix nanoseconds; local time is what a
		// user comparing with other logs on this machine expects.
		tt := time.Unix(0, t)
		h, m, s := tt.Clock()
		return int64(h)*3600e9 + int64(m)*60e9 + int64(s)*1e9 + int64(tt.Nanosecond())
	}
	const day = int64(24 * 3600e9)
	return (t%day + day) % day
}

func appendFrac6(dst []byte, us int64) []byte {
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = byte('0' + us%10)
		us /= 10
	}
	return append(dst, b[:]...)
}

// OtherKind says what a line that is not an event is.
type OtherKind uint8

// Kinds of other lines. The test's own words (OtherTestLog, OtherCrash, OtherFailure) are what a
// user who pipes a failing run in wants to see: tables print them under the test.
const (
	OtherText    OtherKind = iota // not understood
	OtherBlank                    // an empty line
	OtherTestLog                  // t.Log/t.Error output ("raft_test.go:647: found 5 ..."), tester lines
	OtherCrash                    // a panic, a timeout, and the goroutine trace under them
	OtherFailure                  // a failure message by the profile's rules ("config.go:609: ...")
	OtherHarness                  // a line of the test harness that states no event ("Test (2A): ...")
)

// OtherLine is a line of a test's output that is not an event: t.Log output, test framework
// chatter, panics. Nothing is dropped: these are kept and counted.
type OtherLine struct {
	Text string
	Line int32
	File int16
	Kind OtherKind
}

// IsOutput reports whether the line is the test's own output (an assertion, a panic, a failure
// message), as opposed to a line raftviz did not understand.
func (o *OtherLine) IsOutput() bool {
	return o.Kind == OtherTestLog || o.Kind == OtherCrash || o.Kind == OtherFailure
}

// Alias is a short name raftviz gave a long node id (hashicorp's "server-<uuid>").
type Alias struct {
	Short, Full string
}

// Test is one run of one test (or subtest) with everything it printed.
type Test struct {
	Name    string // full name, subtests included: TestA/sub_1
	Package string // from go test -json or the ok/FAIL line, when known
	Attempt int    // 1 for the first run of Name, 2 and up for -count repeats
	Status  Status
	Elapsed time.Duration // from the result line; 0 when unknown
	Events  []Event
	Other   []OtherLine
	// Ambiguous counts events attributed to this test while other tests ran in parallel.
	Ambiguous int
	// Implicit marks the test made up for lines outside any test (a plain log).
	Implicit bool
	// Flushed counts events a consumer already took out of Events (a huge test written in
	// parts); the parser itself never sets it, but it keeps such a test from being discarded.
	Flushed int
	// Profile names the log dialect the test's first event was read with (hashicorp, etcd, ...).
	Profile string
	// Tally is what the events amount to when the parser counted them rather than keeping
	// them (Options.CountOnly); it is empty otherwise.
	Tally Tally
	// Aliases maps the short node names shown to the ids in the log, in order of appearance.
	Aliases []Alias
	// Panicked: the test's output holds a panic or a timeout; it is FAIL even without --- FAIL.
	Panicked bool
}

// Consumed says the caller has used the events in Events and keeps none of them (a part written,
// counted or analysed as the test streams): they are counted in Flushed and the array is reused
// for the events that follow.
func (t *Test) Consumed() {
	t.Flushed += len(t.Events)
	t.Events = t.Events[:0]
}

// Output returns the test's own output lines (assertions, panics, failure messages), in order.
func (t *Test) Output() []OtherLine {
	var out []OtherLine
	for i := range t.Other {
		if t.Other[i].IsOutput() {
			out = append(out, t.Other[i])
		}
	}
	return out
}

// Reason is a one-line reason for a failed or unknown test: the panic, or its first output line.
func (t *Test) Reason() string {
	// A failure message by the profile's rules first, then a panic, then the first line the
	// test printed itself.
	var panicked, first string
	for i := range t.Other {
		o := &t.Other[i]
		text := strings.TrimSpace(o.Text)
		switch {
		case o.Kind == OtherFailure:
			return text
		case o.Kind == OtherCrash && panicked == "" &&
			(strings.HasPrefix(text, "panic: ") || strings.HasPrefix(text, "*** Test killed")):
			panicked = text
		case o.Kind == OtherTestLog && first == "" && text != "":
			first = text
			if strings.HasSuffix(text, ":") {
				if msg := testifyFailure(indentOf(o.Text), t.Other[i+1:]); msg != "" {
					first = text + " " + msg // "raft_test.go:530:" says nothing alone
				}
			}
		}
	}
	if panicked != "" {
		return panicked
	}
	return first
}

// indentOf is how many spaces and tabs s begins with.
func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }

// testifyFailure is what testify's assertion report that follows a bare "file_test.go:N:" says:
// its Error and Messages, each on one line ("Not equal: expected: 0x0 actual : 0x2 (#0:
// state)"). indent is the bare line's; the report's lines are indented deeper. "" when the
// lines are not such a report.
func testifyFailure(indent int, lines []OtherLine) string {
	var errText, msgs []string
	var cur *[]string
report:
	for k, o := range lines {
		text := strings.TrimSpace(o.Text)
		key, val, found := strings.Cut(text, ":")
		switch {
		case k == 0 && (!found || key != "Error Trace" || indentOf(o.Text) <= indent):
			return "" // not testify's report
		case found && (key == "Error Trace" || key == "Test" || key == "Diff"):
			cur = nil
		case found && key == "Error":
			cur = &errText
			errText = append(errText, strings.TrimSpace(val))
		case found && key == "Messages":
			cur = &msgs
			msgs = append(msgs, strings.TrimSpace(val))
		case indentOf(o.Text) <= indent:
			break report // the report ended: its lines are indented deeper than the test's
		case cur != nil:
			*cur = append(*cur, text)
		}
	}
	out := strings.Join(strings.Fields(strings.Join(errText, " ")), " ")
	if m := strings.Join(strings.Fields(strings.Join(msgs, " ")), " "); m != "" {
		out += " (" + m + ")"
	}
	return out
}

// Tally is what a test's events amount to (how many, which nodes, what time span), for a
// consumer that lets the events go as they stream: Add each part, in any order.
type Tally struct {
	Events int
	// ids are the nodes in order of appearance; server[i] is true when ids[i] had an event other
	// than a client's. A test has a handful: they are looked up by a scan, and by index
	// once there are more than tallyScan.
	ids    []string
	server []bool
	index  map[string]int
	groups []string // Raft groups named, in order of appearance
	inGrp  map[string]struct{}
	lo, hi int64
	timed  bool
}

// Add counts events.
func (tl *Tally) Add(events []Event) {
	for i := range events {
		tl.add(&events[i])
	}
}

// Merge counts into tl what o counted, as though o's events had been added after tl's.
func (tl *Tally) Merge(o *Tally) {
	tl.Events += o.Events
	for i, id := range o.ids {
		k := tl.node(id)
		tl.server[k] = tl.server[k] || o.server[i]
	}
	for _, g := range o.groups {
		tl.addGroup(g)
	}
	if o.timed {
		tl.addTime(o.lo)
		tl.addTime(o.hi)
	}
}

// Reset empties tl, keeping its room.
func (tl *Tally) Reset() {
	clear(tl.index)
	clear(tl.inGrp)
	*tl = Tally{ids: tl.ids[:0], server: tl.server[:0], index: tl.index, groups: tl.groups[:0], inGrp: tl.inGrp}
}

// tallyScan is how many nodes a Tally finds by comparing ids before it keeps an index.
const tallyScan = 8

// node returns the index of id in tl.ids, adding it when new.
func (tl *Tally) node(id string) int {
	if len(tl.ids) <= tallyScan {
		// Node ids are interned by the parser: the same id is, as a rule, the same string, which
		// one comparison of pointers finds without comparing bytes.
		for k, have := range tl.ids {
			if len(have) == len(id) && unsafe.StringData(have) == unsafe.StringData(id) {
				return k
			}
		}
		for k, have := range tl.ids {
			if have == id {
				return k
			}
		}
	} else if k, ok := tl.index[id]; ok {
		return k
	}
	tl.ids = append(tl.ids, id)
	tl.server = append(tl.server, false)
	if len(tl.ids) > tallyScan {
		if tl.index == nil {
			tl.index = make(map[string]int, 2*tallyScan)
		}
		if len(tl.index) == 0 {
			for k, have := range tl.ids {
				tl.index[have] = k
			}
		}
		tl.index[id] = len(tl.ids) - 1
	}
	return len(tl.ids) - 1
}

// add counts one event.
func (tl *Tally) add(e *Event) {
	tl.Events++
	if e.Node != eventline.ClusterNode {
		k := tl.node(e.Node)
		tl.server[k] = tl.server[k] || e.Kind != eventline.KindInvoke && e.Kind != eventline.KindReturn
	}
	if g := e.Group(); g != "" {
		tl.addGroup(g)
	}
	if e.Flags&FlagTime != 0 {
		tl.addTime(e.Time)
	}
}

// addGroup counts a Raft group named.
func (tl *Tally) addGroup(g string) {
	if _, ok := tl.inGrp[g]; !ok {
		if tl.inGrp == nil {
			tl.inGrp = map[string]struct{}{}
		}
		tl.inGrp[g] = struct{}{}
		tl.groups = append(tl.groups, g)
	}
}

// addTime counts an event's time.
func (tl *Tally) addTime(t int64) {
	if !tl.timed || t < tl.lo {
		tl.lo = t
	}
	if !tl.timed || t > tl.hi {
		tl.hi = t
	}
	tl.timed = true
}

// Groups returns the Raft groups the events named, in order of appearance; none for a log
// of one group.
func (tl *Tally) Groups() []string { return slices.Clone(tl.groups) }

// Nodes returns the ids of the nodes that had events, in natural order (numbers numerically,
// "n2" before "n10"), the servers first: a node with only client operations (invoke, return:
// the simulator's c0, c1) comes after them, as a client is no column among the servers. The
// cluster pseudo-node is left out.
func (tl *Tally) Nodes() []string {
	server := make(map[string]bool, len(tl.ids))
	for k, id := range tl.ids {
		server[id] = tl.server[k]
	}
	ids := append([]string(nil), tl.ids...)
	SortNodes(ids)
	sort.SliceStable(ids, func(i, j int) bool { return server[ids[i]] && !server[ids[j]] })
	return ids
}

// Span is the time from the earliest timed event to the latest.
func (tl *Tally) Span() time.Duration { return time.Duration(tl.hi - tl.lo) }

// Nodes returns the ids of the nodes that have events in the test, in natural order. The
// cluster pseudo-node is left out.
func (t *Test) Nodes() []string {
	var tl Tally
	tl.Add(t.Events)
	return tl.Nodes()
}

// Start returns the time of the test's first timed event and false when it has none.
func (t *Test) Start() (int64, bool) {
	for i := range t.Events {
		if t.Events[i].Flags&FlagTime != 0 {
			return t.Events[i].Time, true
		}
	}
	return 0, false
}

// Duration is the elapsed time from the result line or, without one, the span of its events.
func (t *Test) Duration() time.Duration {
	var tl Tally
	tl.Add(t.Events)
	return t.DurationOf(&tl)
}

// DurationOf is Duration for a test whose events were counted in tl as they streamed.
func (t *Test) DurationOf(tl *Tally) time.Duration {
	if t.Elapsed > 0 {
		return t.Elapsed
	}
	return tl.Span()
}

// QualifiedName is the name prefixed with the last element of its package's import path
// (raft.TestElection), or the bare name when the package is not known.
func (t *Test) QualifiedName() string {
	if t.Package == "" {
		return t.Name
	}
	return path.Base(t.Package) + "." + t.Name
}

// Key identifies a test within a run: its package, name and attempt. (Two packages of go test
// ./... may each have a TestElection #1.)
func (t *Test) Key() string { return t.Package + "\x00" + t.ID() }

// ID is the name with the attempt number when the test ran more than once: TestA#2.
func (t *Test) ID() string {
	if t.Attempt > 1 {
		return t.Name + "#" + strconv.Itoa(t.Attempt)
	}
	return t.Name
}
