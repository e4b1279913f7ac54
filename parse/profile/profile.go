// Package profile describes, as data, how to read one Raft library's log lines: where the time, the
// node and the message are, and which wordings state Raft facts (a role change, a term, a vote, a
// commit, an apply, a fault). raftviz's built-in profiles (hashicorp/raft, etcd-io/raft, 6.824
// "dslogs", JSON loggers, its own event lines) are profile files embedded in the binary; a user
// writes one for their own implementation without touching Go code. docs/PROFILES.md documents
// the file format.
//
// The package knows nothing of tests or tables: it turns one line into a Record, and one message
// into facts. Package parse drives it.
package profile

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
)

// Line syntaxes a profile can name with "line builtin:NAME" instead of a regexp: shapes that
// raftviz reads with hand-written scanners, because they are the hot path or are not line
// regular (JSON).
const (
	BuiltinClassic   = "classic"    // HH:MM:SS.uuuuuu [ID] message, with the raftviz " | ev=" fields
	BuiltinEtcdTrace = "etcd-trace" // etcd-io/raft TracingEvent NDJSON
	BuiltinJSON      = "json"       // one JSON record per line from zap, zerolog, logrus, log/slog
)

// Profile is one log dialect. The zero value is not useful; build one with Parse or Builtin.
type Profile struct {
	// Name is what --profile and --list call it.
	Name string
	// Description is one line for people.
	Description string
	// Source is the file it came from ("builtin" for embedded profiles).
	Source string
	// Builtin names a hand-written line scanner (BuiltinClassic, ...); "" when Line is a regexp.
	Builtin string
	// Text is the profile file as written, for raftviz profiles show.
	Text string

	detect     *lineRegexp
	line       *lineRegexp
	groups     lineGroups
	timeLayout string
	rfc3339    bool          // timeLayout is read by UnixNanoRFC3339
	fracAtEnd  bool          // timeLayout ends with fractional seconds (see Stamps)
	timeUnit   time.Duration // "time offset UNIT": the time group counts UNITs since the start
	alias      *regexp.Regexp
	aliasAs    string
	harness    []*lineRegexp
	harnessN   []*lineRegexp // node values that are the harness, not a server
	// facts and folds (the facts' case-insensitive literals) are set by compileFacts from
	// lazy, the fact lines, on first use.
	facts      []*rule
	folds      *foldIndex
	lazy       *lazyFacts
	testStart  *regexp.Regexp
	testPass   *regexp.Regexp
	testFail   *regexp.Regexp
	failure    []*lineRegexp
	jsonNode   []string
	jsonMsg    []string
	jsonTime   []string
	jsonLevel  []string
	nodeFields map[string]bool
	// WeakTerms: terms this profile reads on lines that are no role change are hints (its
	// wordings are generic: a late RPC's line may state a message's term). Directive weak-terms.
	WeakTerms bool
	// logger: node values that name a logger ("raft", "agent.server.raft"), not a server; the
	// node is then the message's (msgNode) or the file's.
	logger *lineRegexp
	// msgNode reads the node from the start of the message, as a library's wording writes it
	// inside any envelope (etcd-io/raft's "8693d5c1331d5cc2 became leader at term 2"); one not
	// anchored with ^ finds it near the start (msgNodeWindow bytes) and leaves the message
	// whole ("term 1 server 2 vote for 0"), its other named groups (a term) as fields.
	msgNode     *lineRegexp
	msgNodeKeep bool
	// wording: a message in this library's wording, for choosing it inside another envelope
	// (a JSON record's msg).
	wording *lineRegexp
	// identity: lines in which a server states its own names (an id, an address); each named
	// group's value becomes another name of the line's node.
	identity []*lineRegexp
	// book: lines that name other servers with their addresses ("ID:node1 Address:10.0.0.1:7000"):
	// every match's addr group is another name of the node its id group names.
	book []*lineRegexp
	// scanLit holds a literal that every identity or book rule needs (index-aligned with
	// identity, then book), so most lines cost one bytes.Contains each.
	scanLit []string
}

type lineGroups struct {
	time, node, msg, level int
	extra                  []namedGroup // other named groups: kept as fields
}

type namedGroup struct {
	name  string
	index int
}

// Record is what a profile read from one line.
type Record struct {
	// Time: Unix nanoseconds when HasDate; nanoseconds since midnight (HasTime, !HasDate) or since
	// the start of the run (Offset); meaningless when !HasTime.
	Time    int64
	HasTime bool
	HasDate bool
	Offset  bool // Time counts from the start of the run (dslogs), not from midnight
	Node    string
	Msg     []byte // a slice of the line read: valid only as long as the line is
	Level   string
	Fields  []eventline.Field
	Harness bool // a line of the test harness, not of a server
	// Logger: the line named a logger where a server would be (profile's logger rule), so the
	// node is not known from the line: Node is "".
	Logger bool
}

// Fact is what a profile read from a message: an event kind from docs/FORMAT.md ("" when the rule
// states only fields, such as a term), fields, and the node the fact is about when the message
// names it (a harness line "Disconnect 2" is about node 2).
type Fact struct {
	Kind   string
	Fields []eventline.Field
	Node   string
}

// Detect reports whether a line is in this profile's dialect, for choosing a profile by itself.
// Built-in line syntaxes have no detect rule: package parse recognises them by scanning.
func (p *Profile) Detect(line []byte) bool {
	return p.detect != nil && p.detect.Match(line)
}

// HasDetect reports whether the profile can be chosen automatically.
func (p *Profile) HasDetect() bool { return p.detect != nil }

// ParseLine reads one line with the profile's line regexp. It returns false for lines of other
// shapes (and always for built-in line syntaxes, which package parse scans itself). st, when not
// nil, carries the input's last time stamp from line to line.
func (p *Profile) ParseLine(line []byte, st *Stamps) (Record, bool) {
	if p.line == nil {
		return Record{}, false
	}
	m := p.line.findInto(st.lineSlots(), line)
	if m == nil {
		return Record{}, false
	}
	group := func(i int) []byte {
		if i <= 0 || m[2*i] < 0 {
			return nil
		}
		return line[m[2*i]:m[2*i+1]]
	}
	var r Record
	if ts := group(p.groups.time); len(ts) > 0 {
		if !p.parseTime(ts, &r, st) {
			return Record{}, false
		}
	}
	r.Node = string(group(p.groups.node))
	r.Msg = group(p.groups.msg)
	if r.Node != "" && p.logger != nil && p.logger.MatchString(r.Node) {
		r.Node, r.Logger = "", true
	}
	if r.Node == "" {
		if node, rest, ok := p.messageNode(r.Msg, &r.Fields, st.nodeSlots()); ok {
			r.Node, r.Msg = node, rest
		}
	}
	r.Level = string(group(p.groups.level))
	for _, g := range p.groups.extra {
		if v := group(g.index); v != nil {
			r.Fields = append(r.Fields, eventline.Field{Key: g.name, Value: string(v)})
		}
	}
	if r.Node != "" && matchAny(p.harnessN, r.Node) {
		r.Harness = true
	} else if matchAnyBytes(p.harness, line) {
		r.Harness = true
	}
	return r, true
}

func (p *Profile) parseTime(ts []byte, r *Record, st *Stamps) bool {
	if p.timeUnit > 0 {
		n, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			return false
		}
		r.Time, r.HasTime, r.Offset = n*int64(p.timeUnit), true, true
		return true
	}
	if p.timeLayout == "" {
		return true
	}
	if p.rfc3339 {
		if ns, ok := UnixNanoRFC3339(string(ts)); ok {
			r.Time, r.HasTime, r.HasDate = ns, true, true
			return true
		}
	}
	key, frac := p.splitFraction(ts)
	if st.lookup(p, key, frac, r) {
		return true
	}
	t, err := time.Parse(p.timeLayout, string(ts))
	if err != nil {
		return false
	}
	r.HasTime = true
	if t.Year() == 0 { // a layout without a date: a time of day
		r.Time = int64(t.Hour())*3600e9 + int64(t.Minute())*60e9 + int64(t.Second())*1e9 + int64(t.Nanosecond())
	} else {
		if !strings.ContainsAny(p.timeLayout, "Z-07") { // no zone in the stamp: the reader's zone
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.Local)
		}
		r.Time, r.HasDate = t.UnixNano(), true
	}
	if int64(t.Nanosecond()) == fractionNanos(frac) {
		st.remember(p, key, frac, r) // the fraction is all of the nanoseconds: the rest is shared
	}
	return true
}

// msgNodeWindow is how far into a message an unanchored msg-node rule looks for the node: a
// server's name is printed near the start, and the search costs what it reads.
const msgNodeWindow = 64

// MessageNode reads the node a message names at its start by the profile's msg-node rule, and
// returns the message without it (or whole, for an unanchored rule).
func (p *Profile) MessageNode(msg []byte) (node string, rest []byte, ok bool) {
	return p.messageNode(msg, nil, nil)
}

// messageNode is MessageNode, appending the rule's other named groups to fields when it is not
// nil.
func (p *Profile) messageNode(msg []byte, fields *[]eventline.Field, slots []int) (node string, rest []byte, ok bool) {
	if p.msgNode == nil {
		return "", msg, false
	}
	in := msg
	if p.msgNodeKeep && len(in) > msgNodeWindow {
		in = in[:msgNodeWindow]
	}
	m := p.msgNode.findInto(slots, in)
	if m == nil {
		return "", msg, false
	}
	i := p.msgNode.re.SubexpIndex("node")
	if m[2*i] < 0 {
		return "", msg, false
	}
	if fields != nil {
		for j, name := range p.msgNode.re.SubexpNames() {
			if name != "" && j != i && m[2*j] >= 0 {
				*fields = append(*fields, eventline.Field{Key: name, Value: string(in[m[2*j]:m[2*j+1]])})
			}
		}
	}
	if p.msgNodeKeep {
		return string(in[m[2*i]:m[2*i+1]]), msg, true
	}
	return string(msg[m[2*i]:m[2*i+1]]), msg[m[1]:], true
}

// HasWording reports whether the profile can be recognised by its wording alone, inside another
// envelope (a JSON record, a logfmt line).
func (p *Profile) HasWording() bool { return p.wording != nil }

// Wording reports whether a message is in this profile's wording.
func (p *Profile) Wording(msg []byte) bool { return p.wording != nil && p.wording.Match(msg) }

// HasNames reports whether the profile has identity or book rules (see Names).
func (p *Profile) HasNames() bool { return len(p.identity)+len(p.book) > 0 }

// Names reads what a line says of servers' names: own is every name the line gives its own
// server (an id, an address: the named groups of each identity rule that matches), and peers
// pairs another name with a server's id (each match of a book rule: addr, then id).
func (p *Profile) Names(line []byte) (own []string, peers [][2]string) {
	for k, re := range p.identity {
		if lit := p.scanLit[k]; lit != "" && !bytes.Contains(line, []byte(lit)) {
			continue
		}
		m := re.FindSubmatchIndex(line)
		if m == nil {
			continue
		}
		for i, n := range re.re.SubexpNames() {
			if n != "" && m[2*i] >= 0 && m[2*i+1] > m[2*i] {
				own = append(own, string(line[m[2*i]:m[2*i+1]]))
			}
		}
	}
	for k, re := range p.book {
		if lit := p.scanLit[len(p.identity)+k]; lit != "" && !bytes.Contains(line, []byte(lit)) {
			continue
		}
		id, addr := re.re.SubexpIndex("id"), re.re.SubexpIndex("addr")
		for _, m := range re.re.FindAllSubmatchIndex(line, -1) {
			if m[2*id] >= 0 && m[2*addr] >= 0 {
				peers = append(peers, [2]string{string(line[m[2*addr]:m[2*addr+1]]), string(line[m[2*id]:m[2*id+1]])})
			}
		}
	}
	return own, peers
}

// IsHarnessLine reports whether a line that is not a server's event line (t.Log output, the
// tester's prints) is the harness speaking, as the profile's harness rules say.
func (p *Profile) IsHarnessLine(line []byte) bool { return matchAnyBytes(p.harness, line) }

// IsHarnessNode reports whether a node id is the harness's own name ("TEST" in "[TEST]
// Disconnect 2"), as the profile's "harness node" rules say.
func (p *Profile) IsHarnessNode(node string) bool { return matchAny(p.harnessN, node) }

// Facts applies the profile's fact rules to a message. The first rule with a kind that matches
// (in file order) gives the kind, its fields and the node; then every field-only rule
// ("fact - : ...") adds the fields that are not set yet, reading only the text outside what the
// kind rule matched: in "Applying index 1 term 2", a term rule must not take the entry's term
// for the node's.
func (p *Profile) Facts(msg string) (Fact, bool) { return p.facts1(msg, nil) }

// FaultFacts is Facts for a reader that shows only faults and which node an event is about
// (a plain table's FAULT column and node columns): it says what Facts says of a message whose
// first matching kind rule is a fault's or names a node, and nothing of the others, which it
// does not run but where they come before such a rule.
func (p *Profile) FaultFacts(msg string) (Fact, bool) { return p.facts1(msg, (*rule).faultOrNode) }

// NodeFacts is Facts for a reader that shows only which node an event is about (--list): what
// Facts says of a message whose first matching kind rule names a node, and nothing otherwise.
func (p *Profile) NodeFacts(msg string) (Fact, bool) { return p.facts1(msg, (*rule).namesNode) }

// facts1 is Facts, or, with only set, the subset FaultFacts and NodeFacts describe.
func (p *Profile) facts1(msg string, only func(*rule) bool) (Fact, bool) {
	faultsOnly := only != nil
	var out Fact
	found := false
	rest := msg
	facts, folds := p.rules()
	m := message{s: msg, folds: folds}
	first := -1 // the first kind rule that matches
	var lo, hi int
	for i, r := range facts {
		if r.kind == "" || faultsOnly && !only(r) || !r.mayMatch(&m) {
			continue
		}
		f, l, h, ok := r.match(&m)
		if !ok {
			continue
		}
		out, first, lo, hi = f, i, l, h
		break
	}
	if faultsOnly {
		if first < 0 {
			return Fact{}, false
		}
		for _, r := range facts[:first] {
			if r.kind != "" && !only(r) {
				if _, _, _, ok := r.match(&m); ok {
					return Fact{}, false // Facts would take this rule's kind: no fault
				}
			}
		}
	}
	if first >= 0 {
		found = true
		rest = msg[:lo] + " " + msg[hi:]
		m = message{s: rest, folds: folds}
	}
	for _, r := range facts {
		if r.kind != "" || !r.mayMatch(&m) || r.addsNothing(out.Fields) {
			continue
		}
		f, _, _, ok := r.match(&m)
		if !ok {
			continue
		}
		found = true
		for _, fl := range f.Fields {
			if !hasKey(out.Fields, fl.Key) {
				out.Fields = append(out.Fields, fl)
			}
		}
	}
	return out, found
}

func hasKey(fs []eventline.Field, k string) bool {
	for i := range fs {
		if fs[i].Key == k {
			return true
		}
	}
	return false
}

// HasFacts reports whether the profile has fact rules at all.
func (p *Profile) HasFacts() bool { return len(p.facts) > 0 || p.lazy != nil && len(p.lazy.lines) > 0 }

// FactsNameNodes reports whether a fact rule can say which node an event is about ("Disconnect
// 2" said by the harness): reading facts can then change an event's node, not only its kind.
func (p *Profile) FactsNameNodes() bool {
	facts, _ := p.rules()
	for _, r := range facts {
		if r.node > 0 {
			return true
		}
	}
	return false
}

// IsNodeField reports whether a field names a node (candidate, from, to, leader, ...), so that
// package parse shows it by the same alias as the node column.
func (p *Profile) IsNodeField(key string) bool { return p.nodeFields[key] }

// Alias returns the stable key of a long node id (the UUID inside "server-<uuid>" and "<uuid>")
// and the prefix for its short name, and false when the profile shortens no ids or this one.
func (p *Profile) Alias(node string) (key, prefix string, ok bool) {
	if p.alias == nil {
		return "", "", false
	}
	m := p.alias.FindStringSubmatch(node)
	if m == nil {
		return "", "", false
	}
	key = m[0]
	if len(m) > 1 && m[1] != "" {
		key = m[1]
	}
	return key, p.aliasAs, true
}

// TestStart reads a line that begins a test in a log without go test's === RUN lines (the 6.824
// tester's "Test (2A): initial election ..."), and returns the test's name.
func (p *Profile) TestStart(line []byte) (string, bool) {
	if p.testStart == nil {
		return "", false
	}
	m := p.testStart.FindSubmatch(line)
	if m == nil {
		return "", false
	}
	// The test is named by its named groups joined by spaces ("2A initial election"), or by the
	// whole match when there are none.
	var parts []string
	for i, n := range p.testStart.SubexpNames() {
		if n != "" && m[i] != nil && len(bytes.TrimSpace(m[i])) > 0 {
			parts = append(parts, string(bytes.TrimSpace(m[i])))
		}
	}
	if len(parts) == 0 {
		return strings.TrimSpace(string(m[0])), true
	}
	return strings.Join(parts, " "), true
}

// TestResult reads a line that ends such a test: +1 passed, -1 failed, 0 not a result line.
func (p *Profile) TestResult(line []byte) int {
	switch {
	case p.testPass != nil && p.testPass.Match(line):
		return 1
	case p.testFail != nil && p.testFail.Match(line):
		return -1
	}
	return 0
}

// IsFailure reports whether a line that is not an event is a failure message of the test (an
// assertion, an apply error) by the profile's failure rules.
func (p *Profile) IsFailure(line []byte) bool { return matchAnyBytes(p.failure, line) }

// JSONKeys returns the keys a JSON-record profile reads the node, message, time and level from, in
// order of preference.
func (p *Profile) JSONKeys() (node, msg, tm, level []string) {
	return p.jsonNode, p.jsonMsg, p.jsonTime, p.jsonLevel
}

func matchAny(res []*lineRegexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func matchAnyBytes(res []*lineRegexp, b []byte) bool {
	for _, re := range res {
		if re.Match(b) {
			return true
		}
	}
	return false
}

// Error is a mistake in a profile file, with its place.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("profile %s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads a profile file. Every mistake is an *Error naming the file and line.
func Parse(r io.Reader, file string) (*Profile, error) {
	p, err := parse(r, file)
	if err != nil {
		return nil, err
	}
	if err := p.compileFacts(); err != nil {
		return nil, err
	}
	return p, nil
}

// lazyFacts are a profile's fact lines until they are compiled. A built-in profile's rules are
// compiled when first used: a run reads with one or two of them, and compiling every
// profile's at each start cost raftviz a third of a short run's time.
type lazyFacts struct {
	once  sync.Once
	file  string
	lines []numberedLine
	err   error
}

// numberedLine is a directive's value and its line number in the profile file.
type numberedLine struct {
	val string
	n   int
}

// compileFacts compiles the fact lines the first time it is called and returns what failed.
func (p *Profile) compileFacts() error {
	lf := p.lazy
	if lf == nil {
		return nil
	}
	lf.once.Do(func() {
		var facts []*rule
		for _, l := range lf.lines {
			fail := failAt(lf.file, l.n)
			r, err := parseRule(l.val, fail, compilerFor(fail))
			if err != nil {
				lf.err = err
				return
			}
			facts = append(facts, r)
		}
		p.facts, p.folds = facts, indexFolds(facts)
	})
	return lf.err
}

// rules returns the compiled fact rules and their literal index.
func (p *Profile) rules() ([]*rule, *foldIndex) {
	if err := p.compileFacts(); err != nil {
		panic(err) // only built-in profiles compile lazily, and a test compiles each of them
	}
	return p.facts, p.folds
}

// failAt makes the errors of a profile file's line.
func failAt(file string, line int) func(string, ...any) error {
	return func(format string, args ...any) error {
		return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
}

// compilerFor compiles a profile's regexps, a mistake reported by fail.
func compilerFor(fail func(string, ...any) error) func(string) (*regexp.Regexp, error) {
	return func(expr string) (*regexp.Regexp, error) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fail("bad regexp %q: %v", expr, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return re, nil
	}
}

// parse is Parse but for the fact rules, left to compileFacts.
func parse(r io.Reader, file string) (*Profile, error) {
	text, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	r = bytes.NewReader(text)
	p := &Profile{Source: file, Text: string(text), nodeFields: map[string]bool{}}
	for _, k := range []string{"candidate", "from", "to", "leader", "prev_leader", "peer", "voter"} {
		p.nodeFields[k] = true
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	fail := func(format string, args ...any) error { return failAt(file, n)(format, args...) }
	compile := compilerFor(fail)
	compileLine := func(expr string) (*lineRegexp, error) {
		re, err := compile(expr)
		if err != nil {
			return nil, err
		}
		return newLineRegexp(re), nil
	}
	for sc.Scan() {
		n++
		text := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimLeft(text, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		key, val, _ := strings.Cut(trimmed, " ")
		val = strings.TrimLeft(val, " \t")
		if val == "" && key != "weak-terms" {
			return nil, fail("%s needs a value", key)
		}
		var err error
		switch key {
		case "name":
			p.Name = val
		case "description":
			p.Description = val
		case "detect":
			p.detect, err = compileLine(val)
		case "line":
			if b, ok := strings.CutPrefix(val, "builtin:"); ok {
				switch b {
				case BuiltinClassic, BuiltinEtcdTrace, BuiltinJSON:
					p.Builtin = b
				default:
					return nil, fail("unknown builtin line syntax %q (want %s, %s or %s)", b, BuiltinClassic, BuiltinEtcdTrace, BuiltinJSON)
				}
				continue
			}
			if p.line, err = compileLine(val); err == nil {
				err = p.setGroups(fail)
			}
		case "time":
			if u, ok := strings.CutPrefix(val, "offset "); ok {
				if p.timeUnit, err = time.ParseDuration(strings.TrimSpace(u)); err != nil || p.timeUnit <= 0 {
					return nil, fail("time offset needs a positive unit such as 100us or 1ms, not %q", u)
				}
				continue
			}
			p.timeLayout, p.rfc3339, p.fracAtEnd = val, isRFC3339Layout(val), layoutEndsWithFraction(val)
		case "alias":
			pattern, as, ok := strings.Cut(val, " as ")
			if !ok {
				return nil, fail(`alias wants "REGEXP as PREFIX"`)
			}
			p.aliasAs = strings.TrimSpace(as)
			p.alias, err = compile(strings.TrimSpace(pattern))
		case "harness":
			var re *lineRegexp
			if expr, ok := strings.CutPrefix(val, "node "); ok {
				if re, err = compileLine(expr); err == nil {
					p.harnessN = append(p.harnessN, re)
				}
			} else if re, err = compileLine(val); err == nil {
				p.harness = append(p.harness, re)
			}
		case "fact":
			if p.lazy == nil {
				p.lazy = &lazyFacts{file: file}
			}
			p.lazy.lines = append(p.lazy.lines, numberedLine{val, n})
		case "test-start":
			p.testStart, err = compile(val)
		case "test-pass":
			p.testPass, err = compile(val)
		case "test-fail":
			p.testFail, err = compile(val)
		case "failure":
			var re *lineRegexp
			if re, err = compileLine(val); err == nil {
				p.failure = append(p.failure, re)
			}
		case "logger":
			p.logger, err = compileLine(val)
		case "msg-node":
			p.msgNodeKeep = !strings.HasPrefix(val, "^")
			if p.msgNode, err = compileLine(val); err == nil && p.msgNode.re.SubexpIndex("node") < 0 {
				err = fail("msg-node needs a (?P<node>...) group")
			}
		case "wording":
			p.wording, err = compileLine(val)
		case "identity":
			var re *lineRegexp
			if re, err = compileLine(val); err == nil {
				p.identity = append(p.identity, re)
			}
		case "book":
			var re *lineRegexp
			if re, err = compileLine(val); err == nil {
				if re.re.SubexpIndex("id") < 0 || re.re.SubexpIndex("addr") < 0 {
					err = fail("book needs (?P<id>...) and (?P<addr>...) groups")
				} else {
					p.book = append(p.book, re)
				}
			}
		case "weak-terms":
			p.WeakTerms = true
		case "node-fields":
			for _, f := range strings.Fields(val) {
				p.nodeFields[f] = true
			}
		case "json-node":
			p.jsonNode = strings.Fields(val)
		case "json-msg":
			p.jsonMsg = strings.Fields(val)
		case "json-time":
			p.jsonTime = strings.Fields(val)
		case "json-level":
			p.jsonLevel = strings.Fields(val)
		default:
			return nil, fail("unknown directive %q", key)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{File: file, Line: n, Msg: err.Error()}
	}
	if p.Name == "" {
		return nil, &Error{File: file, Line: n, Msg: "no name line"}
	}
	if p.line == nil && p.Builtin == "" {
		return nil, &Error{File: file, Line: n, Msg: "no line rule (a regexp with (?P<msg>...), or builtin:classic|etcd-trace|json)"}
	}
	for _, re := range append(p.identity[:len(p.identity):len(p.identity)], p.book...) {
		lit, fold := requiredLiteral(re.String())
		if fold {
			lit = ""
		}
		p.scanLit = append(p.scanLit, lit)
	}
	return p, nil
}

// setGroups finds the special named groups of the line regexp.
func (p *Profile) setGroups(fail func(string, ...any) error) error {
	g := lineGroups{}
	for i, name := range p.line.re.SubexpNames() {
		switch name {
		case "":
		case "time":
			g.time = i
		case "node":
			g.node = i
		case "msg":
			g.msg = i
		case "level":
			g.level = i
		default:
			g.extra = append(g.extra, namedGroup{name, i})
		}
	}
	if g.msg == 0 {
		return fail("the line regexp needs a (?P<msg>...) group")
	}
	p.groups = g
	return nil
}

//go:embed builtin/*.profile
var builtinFS embed.FS

var builtins []*Profile

func init() {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := builtinFS.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			panic(err)
		}
		p, err := parse(bytes.NewReader(b), "builtin/"+e.Name())
		if err != nil {
			panic(err) // a test parses every built-in profile; this cannot happen in a release
		}
		p.Source = "builtin"
		builtins = append(builtins, p)
	}
	// Detection tries the most specific dialects first: ReadDir sorts by file name, and the
	// files are named NN-name.profile for that.
}

// Builtins returns the embedded profiles in detection order.
func Builtins() []*Profile { return builtins }

// Lookup finds a built-in profile by name.
func Lookup(name string) (*Profile, bool) {
	for _, p := range builtins {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Load returns the built-in profile of that name or, failing that, reads the file.
func Load(nameOrFile string) (*Profile, error) {
	if p, ok := Lookup(nameOrFile); ok {
		return p, nil
	}
	f, err := os.Open(nameOrFile)
	if err != nil {
		if os.IsNotExist(err) && !strings.ContainsAny(nameOrFile, "/.") {
			return nil, fmt.Errorf("unknown profile %q (built in: %s; or a profile file)", nameOrFile, strings.Join(Names(), ", "))
		}
		return nil, err
	}
	defer f.Close()
	return Parse(f, nameOrFile)
}

// UserDir is where a user's own profiles live: $XDG_CONFIG_HOME/raftviz/profiles, or
// ~/.config/raftviz/profiles; "" when neither can be told.
func UserDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "raftviz", "profiles")
}

// LoadUser reads every *.profile file of UserDir, in name order: profiles that take part in
// detection before the built-in ones. A missing directory is no profiles; a profile with a
// mistake is an *Error naming its file and line.
func LoadUser() ([]*Profile, error) {
	dir := UserDir()
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.profile"))
	if err != nil {
		return nil, err
	}
	var out []*Profile
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		p, err := Parse(f, name)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Names lists the built-in profiles.
func Names() []string {
	out := make([]string, len(builtins))
	for i, p := range builtins {
		out[i] = p.Name
	}
	return out
}

// Custom builds a profile from the quick flags --node-re and --time-layout: nodeRe finds the node
// in a line with a (?P<node>...) group, and may have (?P<time>...) (read with timeLayout, a Go time
// layout) and (?P<msg>...) (without one, the message is the rest of the line after the match).
// The facts are those of facts (the generic wording of the classic profile) when not nil.
func Custom(nodeRe, timeLayout string, facts *Profile) (*Profile, error) {
	re, err := regexp.Compile(nodeRe)
	if err != nil {
		return nil, fmt.Errorf("--node-re: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	if re.SubexpIndex("node") < 0 {
		return nil, fmt.Errorf("--node-re %q has no (?P<node>...) group", nodeRe)
	}
	if timeLayout != "" && re.SubexpIndex("time") < 0 {
		return nil, fmt.Errorf("--time-layout needs a (?P<time>...) group in --node-re")
	}
	expr := nodeRe
	if re.SubexpIndex("msg") < 0 {
		expr = "(?:" + nodeRe + `)[\s:\]>|-]*(?P<msg>.*)$`
	}
	p := &Profile{Name: "custom", Description: "--node-re " + nodeRe, Source: "flags", nodeFields: map[string]bool{}}
	lre, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("--node-re: %v", err)
	}
	p.line = newLineRegexp(lre)
	if err := p.setGroups(func(f string, a ...any) error { return fmt.Errorf(f, a...) }); err != nil {
		return nil, err
	}
	p.timeLayout, p.rfc3339, p.fracAtEnd = timeLayout, isRFC3339Layout(timeLayout), layoutEndsWithFraction(timeLayout)
	if facts != nil {
		p.facts, p.folds = facts.rules()
		p.nodeFields = facts.nodeFields
	}
	return p, nil
}
