package parse

import (
	"bytes"
	"strconv"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/profile"
)

// This file connects the parser to log profiles (package profile): choosing the profile of an
// input, reading lines with it, and applying its fact rules to every event, whatever syntax the
// event came in.

// dialect is the parser's profile state for one input.
type dialect struct {
	active  *profile.Profile   // the profile lines are read with: forced, or detected
	forced  bool               // --profile: never detect
	locked  bool               // the input's dialect is decided
	detect  []*profile.Profile // candidates with a detect rule, most specific first
	classic *profile.Profile   // facts for lines of the built-in classic syntax
	raftviz bool               // the classic syntax's lines carry raftviz fields
	trace   *profile.Profile   // facts for etcd trace events
	json    *profile.Profile   // keys and facts for logger records, JSON or logfmt
	logfmt  bool               // the input's records are logfmt, not JSON
	// wording is the library whose wording the messages of an envelope without one of its own
	// (a JSON record) are in, detected on the first message that has one; wordings are the
	// candidates.
	wording  *profile.Profile
	wordings []*profile.Profile
	named    []*profile.Profile // profiles with identity or book rules
	stamps   profile.Stamps     // the last time stamp read, for the next line's
	// aliases caches what a profile's alias rule says of a node id: ids repeat on every line,
	// and the rule is a regexp.
	aliases   map[string]aliasOf
	aliasesOf *profile.Profile
}

type aliasOf struct {
	key, prefix string
	ok          bool
}

func newDialect(forced *profile.Profile, user []*profile.Profile) dialect {
	d := dialect{active: forced, forced: forced != nil, locked: forced != nil}
	// A user's own profiles are tried first: they are more specific than the built-in ones.
	all := append(user[:len(user):len(user)], profile.Builtins()...)
	if forced != nil {
		// Last, so that a forced profile's facts serve its own built-in syntax.
		all = append(all[:len(all):len(all)], forced)
	}
	for _, p := range all {
		if p.HasDetect() && p != forced {
			d.detect = append(d.detect, p)
		}
		if p.HasWording() {
			d.wordings = append(d.wordings, p)
		}
		if p.HasNames() {
			d.named = append(d.named, p)
		}
		if p.Source != "builtin" && p != forced {
			continue // a user's profile with a builtin: line serves only when forced
		}
		switch p.Builtin {
		case profile.BuiltinClassic:
			d.classic = p
		case profile.BuiltinEtcdTrace:
			d.trace = p
		case profile.BuiltinJSON:
			d.json = p
		}
	}
	return d
}

// name is the name reported for the dialect: the profile, or "raftviz" for classic lines
// that carry event-line fields.
func (d *dialect) name(syntax Syntax) string {
	switch syntax {
	case SyntaxText, SyntaxJSON:
		return "raftviz"
	case SyntaxClassic:
		return d.classic.Name
	case SyntaxEtcdTrace:
		return d.trace.Name
	}
	return d.envelopeName()
}

// envelopeName names a profile's dialect: the profile, or envelope+wording ("json+etcd") when the
// messages are in another library's wording.
func (d *dialect) envelopeName() string {
	name := d.json.Name
	if d.active != nil {
		name = d.active.Name
	}
	if d.logfmt && (d.active == nil || d.active == d.json) {
		name = "logfmt" // the json profile's keys and facts, in logfmt records
	}
	if d.wording != nil && d.wording != d.active {
		name += "+" + d.wording.Name
	}
	return name
}

// profileEvent reads a line with the active profile's line regexp or, while the input's dialect
// is not decided, with the first profile whose detect rule matches it.
func (p *Parser) profileEvent(line []byte) (Event, bool) {
	d := &p.dialect
	if d.active != nil && d.active.Builtin == "" {
		var r profile.Record
		var ok bool
		if pre := p.pre; pre != nil && pre.pr == d.active {
			r, ok = pre.rec, pre.recOK // read ahead (ahead.go)
		} else {
			r, ok = d.active.ParseLine(line, &d.stamps)
		}
		if ok {
			return p.recordEvent(d.active, &r), true
		}
	}
	if d.locked {
		return Event{}, false
	}
	for _, pr := range d.detect {
		if !pr.Detect(line) {
			continue
		}
		if r, ok := pr.ParseLine(line, &d.stamps); ok {
			p.lockProfile(pr)
			return p.recordEvent(pr, &r), true
		}
	}
	return Event{}, false
}

// lockProfile decides the input's dialect: pr, a detected profile.
func (p *Parser) lockProfile(pr *profile.Profile) {
	p.dialect.active, p.dialect.locked = pr, true
	p.sum.Profile = pr.Name
	if p.prep != nil && pr.Builtin == "" {
		p.prep.active.Store(pr) // the lines read ahead from now on are read with it too
	}
}

// lockBuiltin decides the input's dialect on the first line read by a built-in syntax.
func (p *Parser) lockBuiltin(e *Event) {
	d := &p.dialect
	if d.locked {
		return
	}
	d.locked = true
	p.sum.Profile = d.name(e.Syntax)
}

// recordEvent turns what a profile read into an Event, with the profile's facts.
func (p *Parser) recordEvent(pr *profile.Profile, r *profile.Record) Event {
	e := Event{Syntax: SyntaxProfile}
	switch {
	case r.HasDate:
		e.Time, e.Flags = r.Time, FlagTime|FlagDate
	case r.Offset:
		e.Time, e.Flags = r.Time, FlagTime|FlagOffset
	case r.HasTime:
		e.Time, e.Flags = p.clock.adjust(r.Time), FlagTime
	case p.lastFlags&FlagTime != 0:
		// No time in the line: keep the previous line's, so it sorts where it was written.
		e.Time, e.Flags = p.lastTime, p.lastFlags&(FlagTime|FlagDate|FlagOffset)
	default:
		e.Time = int64(p.lineNo) // untimed: numbered in input order
	}
	if pr.WeakTerms {
		e.Flags |= FlagGuessed // a term its line regexp reads too
	}
	var ascii bool
	if pre := p.pre; pre != nil && pre.pr == pr && pre.recOK {
		e.Msg, ascii = pre.msg, pre.ascii // read ahead (ahead.go)
	} else {
		e.Msg, ascii = cleanTextASCII(r.Msg)
	}
	if ascii {
		e.Flags |= FlagASCII
	}
	e.Node = p.lineNode(pr, r.Node, r.Logger, r.Harness)
	fs := r.Fields
	if r.Level != "" {
		fs = append(fs, eventline.Field{Key: "level", Value: r.Level})
	}
	e.Fields = eventline.MakeFields(fs...)
	p.applyFacts(&e, pr)
	return e
}

// lineNode is the node of a line that named node (or none, or a logger where a server would be):
// the cluster lane for the harness; the file's server where the line names none and the input
// is one server's log.
func (p *Parser) lineNode(pr *profile.Profile, node string, logger, harness bool) string {
	switch {
	case harness:
		return eventline.ClusterNode
	case node != "":
		return p.nodeName(pr, node)
	case p.opts.FileNode != "" && (logger || p.opts.NodePerFile):
		return p.internString(p.opts.FileNode)
	}
	return eventline.ClusterNode
}

// learnNames adds what a line says of its own server's names (its member id, its address) and of
// its peers' to the run's book, by the rules of the input's profiles.
func (p *Parser) learnNames(line []byte) {
	d := &p.dialect
	cands := [2]*profile.Profile{d.active, d.wording}
	all := cands[:]
	if !d.locked || (d.wording == nil && d.active != nil && d.active.Builtin == profile.BuiltinJSON) {
		// A server states its names in its first lines, before the line that decides the
		// input's dialect (NATS prints "Node: k2My6qdB" in its banner) or the wording of its
		// envelope (etcd's "starting local member" comes before its first Raft message):
		// every profile's rules.
		all = d.named
	}
	for _, pr := range all {
		if pr == nil || !pr.HasNames() {
			continue
		}
		own, peers := pr.Names(line)
		for _, n := range own {
			p.opts.Book.Add(n, p.opts.FileNode)
		}
		for _, pe := range peers {
			node := pe[1]
			if n, ok := p.opts.Book.Lookup(node); ok {
				node = n
			}
			p.opts.Book.Add(pe[0], node)
		}
	}
}

// applyFacts reads the facts of an event that states none itself.
func (p *Parser) applyFacts(e *Event, pr *profile.Profile) {
	if pr == nil || !pr.HasFacts() || e.Kind != "" && e.Syntax != SyntaxEtcdTrace {
		return
	}
	if p.opts.Facts == NodeFacts && !p.factsNameNodes(pr) {
		return // --list of a dialect whose facts name no node: nothing to do, on every line
	}
	var f profile.Fact
	var ok bool
	if pre := p.pre; pre != nil && pre.factsPr == pr && pre.msg == e.Msg {
		f, ok = pre.fact, pre.factOK // read ahead (ahead.go)
	} else {
		f, ok = factsOf(pr, e.Msg, p.opts.Facts, p.factsNameNodes(pr))
	}
	p.applyFact(e, pr, f, ok)
}

// factsOf is what the fact rules of set say of a message, for a profile whose facts name nodes
// or not (FactsNameNodes). It is a pure function of its arguments: the parser and the
// goroutines that read ahead of it (ahead.go) both call it.
func factsOf(pr *profile.Profile, msg string, set FactSet, namesNodes bool) (profile.Fact, bool) {
	if pr == nil || !pr.HasFacts() {
		return profile.Fact{}, false
	}
	switch set {
	case NodeFacts:
		if !namesNodes {
			return profile.Fact{}, false
		}
		return pr.NodeFacts(msg) // which node it is about, not what it is
	case FaultFacts:
		return pr.FaultFacts(msg)
	}
	return pr.Facts(msg)
}

// factsNameNodes is pr.FactsNameNodes, remembered for the last profile asked about.
func (p *Parser) factsNameNodes(pr *profile.Profile) bool {
	if pr == nil {
		return false
	}
	c := &p.factsCache
	if c.pr != pr {
		c.pr, c.names = pr, pr.FactsNameNodes()
	}
	return c.names
}

// applyFact sets what fact f (ok: a rule matched) says of e.
func (p *Parser) applyFact(e *Event, pr *profile.Profile, f profile.Fact, ok bool) {
	if !ok {
		return
	}
	e.Flags |= FlagInferred
	if pr.WeakTerms {
		e.Flags |= FlagGuessed
	}
	if f.Kind != "" {
		e.Kind = p.internString(f.Kind)
	}
	fs := e.Fields.Slice()
	for _, fl := range f.Fields {
		if pr.IsNodeField(fl.Key) {
			fl.Value = p.nodeName(pr, fl.Value)
		}
		fs = setField(fs, fl)
	}
	e.Fields = eventline.MakeFields(fs...)
	if f.Node != "" {
		// "Disconnect 2" said by the harness is about node 2: the fault is drawn on its column.
		e.Node = p.nodeName(pr, f.Node)
	}
}

// setField sets a field, replacing one of the same key (a fact refines what the line carried).
func setField(fs []eventline.Field, f eventline.Field) []eventline.Field {
	for i := range fs {
		if fs[i].Key == f.Key {
			fs[i].Value = f.Value
			return fs
		}
	}
	return append(fs, f)
}

// nodeName returns the name a node id is shown by: the id itself, or a short alias of a long id
// (s1, s2, ... in order of appearance in the test), remembered in the test's legend.
func (p *Parser) nodeName(pr *profile.Profile, id string) string {
	if n, ok := p.opts.Book.Lookup(id); ok {
		return p.internString(n)
	}
	d := &p.dialect
	if d.aliasesOf != pr || len(d.aliases) > 4096 {
		d.aliases, d.aliasesOf = map[string]aliasOf{}, pr
	}
	a, seen := d.aliases[id]
	if !seen {
		a.key, a.prefix, a.ok = pr.Alias(id)
		d.aliases[id] = a
	}
	key, prefix, ok := a.key, a.prefix, a.ok
	if !ok {
		return p.intern([]byte(id))
	}
	ts := p.target()
	if ts.aliases == nil {
		ts.aliases = map[string]string{}
	}
	if short, ok := ts.aliases[key]; ok {
		return short
	}
	short := prefix + strconv.Itoa(len(ts.aliases)+1)
	ts.aliases[key] = short
	full := id
	ts.t.Aliases = append(ts.t.Aliases, Alias{Short: short, Full: full})
	return p.internString(short)
}

// harnessLine reads a line that is not a server's event line but the harness speaking (t.Log
// output such as "raft_test.go:375: [INFO] Disconnecting Node at ..."): an event of the cluster
// lane, or of the node it names, at the time of the line before it.
func (p *Parser) harnessLine(line []byte) (Event, bool) {
	pr := p.dialect.active
	if pr == nil || !pr.IsHarnessLine(line) {
		return Event{}, false
	}
	e := Event{Syntax: SyntaxProfile, Node: eventline.ClusterNode, Time: p.lastTime,
		Flags: p.lastFlags & (FlagTime | FlagDate | FlagOffset)}
	text := bytes.TrimLeft(line, " \t")
	if rest, ok := skipSourcePrefix(text); ok {
		text = rest
	}
	e.Msg = cleanText(text)
	p.applyFacts(&e, pr)
	return e, true
}

// profileTest handles a profile's test markers in a log without go test's === RUN lines (the
// 6.824 tester's "Test (2A): ..." and "  ... Passed --"). It reports whether the line was one.
func (p *Parser) profileTest(line []byte) bool {
	pr := p.dialect.active
	if pr == nil && !p.dialect.locked {
		// The tester speaks before any server does: its marker decides the dialect.
		for _, c := range p.dialect.detect {
			if _, ok := c.TestStart(line); ok {
				pr = c
				p.lockProfile(c)
				break
			}
		}
	}
	if pr == nil {
		return false
	}
	if name, ok := pr.TestStart(line); ok {
		if p.current != nil && !p.current.marked {
			// Inside a test go test named: the tester's line is the harness talking.
			p.otherKind(p.current, line, OtherHarness)
			return true
		}
		if p.current != nil {
			p.complete(p.current, StatusUnknown, 0)
		}
		ts := p.run(name)
		ts.marked = true
		p.otherKind(ts, line, OtherHarness)
		return true
	}
	switch pr.TestResult(line) {
	case 1:
		if p.current != nil && p.current.marked {
			p.otherKind(p.current, line, OtherHarness)
			p.complete(p.current, StatusPass, 0)
			return true
		}
	case -1:
		if p.current != nil && p.current.marked {
			p.otherKind(p.current, line, OtherHarness)
			p.complete(p.current, StatusFail, 0)
			return true
		}
	}
	return false
}
