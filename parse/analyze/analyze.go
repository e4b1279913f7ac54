// Package analyze reads what a run's events mean: who led each term and for how long, how
// elections went, commit latency, RPC round trips, heartbeat gaps, faults; and whether the run
// broke one of Raft's safety properties, with the events that prove it.
package analyze

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// Options tune the analysis.
type Options struct {
	// SlowRPC flags round trips longer than this (default 100ms).
	SlowRPC time.Duration
	// LinTimeout bounds the linearizability check of a test's client history (default 10s).
	LinTimeout time.Duration
	// NoLinearizability skips the porcupine check (an interactive view that cannot wait).
	NoLinearizability bool
	// LinHTML, when set, names a file for porcupine's visualization of the history; Test
	// appends the test's index when several tests have client operations.
	LinHTML string
	// Group, when set, analyses only this Raft group (with the servers' own lines, which name
	// none) in a log of several.
	Group string
}

// Ref points at the event that proves something: its time, node and input line.
type Ref struct {
	Time string `json:"time"`
	Node string `json:"node"`
	Line int32  `json:"line"`
	File int16  `json:"file,omitempty"`
	Msg  string `json:"msg"`
}

// Term is one term's leadership.
type Term struct {
	Term   uint64  `json:"term"`
	Leader string  `json:"leader,omitempty"` // "" when no leader was elected (split vote, no majority)
	Start  string  `json:"start"`            // when the first node entered the term
	Led    float64 `json:"led_seconds"`      // how long the leader led (until the next term or the end)
	Votes  int     `json:"votes,omitempty"`
	// Candidates is how many nodes campaigned in the term (more than one: a contested election).
	Candidates int     `json:"candidates"`
	Election   float64 `json:"election_seconds,omitempty"` // first candidate to leader
	// Instance numbers the clusters of a test that builds several (fresh instances of the same
	// ids); 0 when there is one.
	Instance int `json:"instance,omitempty"`
	// Group is the Raft group of the term, in a log of several (NATS JetStream's _meta_ and
	// stream groups); "" when the log names none.
	Group string `json:"group,omitempty"`
}

// Latency summarises durations, in seconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	pick := func(p float64) float64 {
		i := min(len(d)-1, max(0, int(float64(len(d))*p+0.5)-1))
		return d[i].Seconds()
	}
	return Latency{Count: len(d), P50: pick(0.50), P95: pick(0.95), P99: pick(0.99), Max: d[len(d)-1].Seconds()}
}

// NodeStats are one node's counts.
type NodeStats struct {
	Node        string `json:"node"`
	TermChanges int    `json:"term_changes"`
	Commits     int    `json:"commits"`
	Applies     int    `json:"applies"`
	LastApplied uint64 `json:"last_applied,omitempty"`
	Crashes     int    `json:"crashes"`
	Restarts    int    `json:"restarts"`
	// MaxHeartbeatGap is the longest time without an AppendEntries from its leader while it
	// was a follower, in seconds.
	MaxHeartbeatGap float64 `json:"max_heartbeat_gap_seconds"`
}

// RPCStats are the messages of one type between two nodes.
type RPCStats struct {
	Type      string  `json:"type"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	Sent      int     `json:"sent"`
	Received  int     `json:"received"`
	RoundTrip Latency `json:"round_trip"`
	Slow      int     `json:"slow"`
}

// Violation is a broken safety property, with the events that prove it.
type Violation struct {
	Check  string `json:"check"`
	Detail string `json:"detail"`
	Events []Ref  `json:"events"`
	// Warning: an event of the proof was printed while several tests ran in parallel, so it may
	// belong to another test; Reason says so. A warning does not fail raftviz analyze.
	Warning bool   `json:"warning,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Group is the Raft group the violation is in, when the log names groups.
	Group string `json:"group,omitempty"`
}

// Check statuses.
const (
	Passed     = "passed"
	Violated   = "violated"
	NotChecked = "not_checked"
	// Warned: the check found something only in events whose attribution is uncertain (printed
	// while tests ran in parallel, or by one of several instances of a node id): a warning, not
	// a violation (exit 0), and not a pass.
	Warned = "warning"
)

// CheckResult says whether one safety check ran on a test and what it found; Why explains a
// not_checked (which facts the log lacks) or counts what a passed check looked at.
type CheckResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Why    string `json:"why,omitempty"`
}

// Report is the analysis of one test.
type Report struct {
	Test       string      `json:"test"`
	Status     string      `json:"status"`
	Events     int         `json:"events"`
	Terms      []Term      `json:"terms"`
	Nodes      []NodeStats `json:"nodes"`
	Commit     Latency     `json:"commit_latency"` // propose to commit on the leader
	Apply      Latency     `json:"apply_latency"`  // propose to apply on the leader
	RPCs       []RPCStats  `json:"rpcs,omitempty"`
	Slow       []Ref       `json:"slow_rpcs,omitempty"` // the slowest few
	Violations []Violation `json:"violations"`
	// Checks lists every safety check with passed, violated or not_checked: a check the log
	// gave no facts for is never reported as passed.
	Checks []CheckResult `json:"checks"`
	// Notes are things the analysis could not do that are not checks (a visualization error).
	Notes []string `json:"notes,omitempty"`
	// Output is the test's own output, verbatim: assertion messages, panics, failure lines.
	Output []string `json:"output,omitempty"`
	// Linearizable is the check of the client operations, when the log has any.
	Linearizable *Linearizability `json:"linearizable,omitempty"`
	// Groups are the Raft groups the log names, in order of appearance; each is checked on its
	// own (their terms are told apart by Term.Group).
	Groups []string `json:"groups,omitempty"`
}

// Checks, by name.
const (
	CheckOneLeader      = "one leader per term"
	CheckTermMonotonic  = "a node's term never decreases"
	CheckLeaderAppend   = "a leader never deletes its own entries"
	CheckSameApply      = "no two nodes apply different commands at one index"
	CheckCommitForward  = "a node's commit index never goes back"
	CheckLeaderComplete = "every later leader holds every committed entry"
	CheckLinearizable   = "the key-value history is linearizable"
)

type rpcKey struct{ typ, from, to string }

// evRef is what the analysis keeps of an event it may cite later: enough for a Ref, without
// holding the event (a streamed test lets its events go).
type evRef struct {
	time  int64
	node  string
	msg   string
	line  int32
	file  int16
	flags uint8
	set   bool
}

func refOf(e *parse.Event) evRef {
	return evRef{time: e.Time, node: e.Node, msg: e.Msg, line: e.Line, file: e.File, flags: e.Flags, set: true}
}

type sentReq struct {
	at  int64
	ref evRef
}

// nodeState is what the analysis tracks per node while walking the events.
type nodeState struct {
	termKnown               bool // false until the node states a term (again, after a fresh instance)
	termWeak                bool // the term was read by an inferred profile on a line that is no role change
	term, commit, lastIndex uint64
	// rebooting: the node crashed, stopped or was restarted and has not stated a term since.
	// A restart may come back below the term it stated last (one it had not made durable),
	// never below the term its disk holds (rules.diskTerm).
	rebooting        bool
	rules            ruleState
	termEv, commitEv evRef
	role             string
	lastHB           int64  // last AppendEntries received from a leader (0: none yet)
	leading          uint64 // the term this node leads (0: none)
	server           bool   // the node wrote more than client events
	hbLeader         string
	stats            NodeStats
	// campaign is a candidacy whose line stated no term (NATS "Switching to candidate", a
	// lab's "converting to Candidate"): it counts in the term of the node's next line that
	// states one, its vote request.
	campaign evRef
}

type termInfo struct {
	leader            string
	leaderEv, firstEv evRef
	firstCand         evRef
	endAt             int64 // when the leader stopped leading (0: it led to the end)
	candidates        map[string]bool
	votes             int
	// granted are the votes granted in the term, by candidate: the voters (a vote line of the
	// voter, or a granted reply the candidate received). They fill VOTES where the leader's
	// line states no count.
	granted map[string]map[string]bool
}

type applied struct {
	term uint64
	cmd  string
	ev   evRef
}

type proposal struct {
	at   int64
	term uint64
}

type slowRef struct {
	d   time.Duration
	ref evRef
}

// Analyzer analyses one test whose events arrive in parts (a streamed test that is never whole
// in memory): Add each part in order, then Report. It keeps per-node, per-term and per-index
// facts, not events.
//
// A process may run many Raft groups (NATS JetStream: the _meta_ group and one per stream;
// multi-raft stores: one per range): events with a group field are analysed per group, since
// term 2 of one group has nothing to do with term 2 of another. A server's own start, stop and
// crash lines name no group and count in every group it runs.
type Analyzer struct {
	opts   Options
	main   *groupAnalyzer
	groups map[string]*groupAnalyzer
	order  []string // groups in order of appearance
	events int
}

// NewAnalyzer starts the analysis of one test.
func NewAnalyzer(opts Options) *Analyzer {
	if opts.SlowRPC <= 0 {
		opts.SlowRPC = 100 * time.Millisecond
	}
	return &Analyzer{opts: opts, main: newGroupAnalyzer(opts, ""), groups: map[string]*groupAnalyzer{}}
}

// Add analyses the next events of the test, in order.
func (a *Analyzer) Add(events []parse.Event) {
	for i := range events {
		e := &events[i]
		if !e.InGroup(a.opts.Group) {
			continue
		}
		a.events++
		g := e.Group()
		if g == "" {
			a.main.event(e)
			if len(a.groups) > 0 && e.Node != eventline.ClusterNode {
				switch e.Kind {
				case eventline.KindCrash, eventline.KindStop, eventline.KindStart, eventline.KindRestart:
					// The server's own fault: every group it runs sees it.
					for _, name := range a.order {
						if ga := a.groups[name]; ga.nodes[e.Node] != nil {
							ga.event(e)
						}
					}
				}
			}
			continue
		}
		ga := a.groups[g]
		if ga == nil {
			ga = newGroupAnalyzer(a.opts, g)
			a.groups[g] = ga
			a.order = append(a.order, g)
		}
		ga.event(e)
	}
}

// Report ends the analysis: t gives the test's name, status and output (its Events are not read
// again; they may have been let go).
func (a *Analyzer) Report(t *parse.Test) Report {
	r := a.main.Report(t)
	if len(a.groups) == 0 {
		return r
	}
	r.Events = a.events
	commit, apply := a.main.commitLat, a.main.applyLat
	nodes := map[string]*NodeStats{}
	var ids []string
	addNodes := func(ns []NodeStats) {
		for _, n := range ns {
			m, ok := nodes[n.Node]
			if !ok {
				c := n
				nodes[n.Node] = &c
				ids = append(ids, n.Node)
				continue
			}
			m.TermChanges += n.TermChanges
			m.Commits += n.Commits
			m.Applies += n.Applies
			m.LastApplied = max(m.LastApplied, n.LastApplied)
			// A server's crash is every group's: counted once.
			m.Crashes, m.Restarts = max(m.Crashes, n.Crashes), max(m.Restarts, n.Restarts)
			m.MaxHeartbeatGap = max(m.MaxHeartbeatGap, n.MaxHeartbeatGap)
		}
	}
	addNodes(r.Nodes)
	for _, name := range a.order {
		ga := a.groups[name]
		gr := ga.Report(t)
		for _, tm := range gr.Terms {
			tm.Group = name
			r.Terms = append(r.Terms, tm)
		}
		for _, v := range gr.Violations {
			v.Group = name
			v.Detail = "group " + name + ": " + v.Detail
			r.Violations = append(r.Violations, v)
		}
		r.RPCs = append(r.RPCs, gr.RPCs...)
		r.Slow = append(r.Slow, gr.Slow...)
		r.Checks = mergeChecks(r.Checks, gr.Checks)
		addNodes(gr.Nodes)
		commit, apply = append(commit, ga.commitLat...), append(apply, ga.applyLat...)
		r.Groups = append(r.Groups, name)
	}
	parse.SortNodes(ids)
	r.Nodes = r.Nodes[:0]
	for _, id := range ids {
		r.Nodes = append(r.Nodes, *nodes[id])
	}
	r.Commit, r.Apply = summarize(commit), summarize(apply)
	return r
}

// mergeChecks combines one check's results over groups: violated in any group is violated;
// otherwise a warning in any is a warning; otherwise passed in any is passed (with the first passing group's counts); otherwise not
// checked.
func mergeChecks(into, more []CheckResult) []CheckResult {
	rank := map[string]int{NotChecked: 0, Passed: 1, Warned: 2, Violated: 3}
	for _, c := range more {
		found := false
		for i := range into {
			if into[i].Name != c.Name {
				continue
			}
			found = true
			if rank[c.Status] > rank[into[i].Status] {
				into[i] = c
			}
		}
		if !found {
			into = append(into, c)
		}
	}
	return into
}

// groupAnalyzer analyses the events of one Raft group of a test.
type groupAnalyzer struct {
	opts      Options
	group     string
	events    int
	start     int64
	end       int64
	started   bool
	instances map[string]int // fresh instances of each node id so far
	lives     parse.Lives    // each node's process: started, writing, down
	// What the log states, per check: a check runs only on the facts it needs.
	seen struct {
		leaders, leadersWithTerm, terms, truncates, roles, applies, commits, lastIndex int
		mterms, appendMterms, persists, acks                                           int
	}
	nodes     map[string]*nodeState
	nodeOrder []string
	// Terms are kept per instance of the cluster: a fresh instance of a node already seen
	// (etcd-io/raft's table tests build many clusters with the same ids in one test) starts a
	// new one, so that term 1 of one cluster is not compared with term 1 of the next.
	terms   map[uint64]*termInfo
	epochs  []map[uint64]*termInfo
	inEpoch map[string]bool
	applies map[uint64]applied
	// committed says how far the log was committed, and in which term that was known: a
	// staircase of (index, term) with both rising, for leader completeness, which binds the
	// leaders of later terms only (a leader of an older term elected late by a minority that
	// had not heard of the newer one need not hold what the newer term committed).
	committed    []commitMark
	proposed     map[uint64]proposal // index -> when the leader proposed it, in which term
	commitLat    []time.Duration
	applyLat     []time.Duration
	leaderCommit map[string]uint64 // leader node -> commit index already measured
	rpcs         map[rpcKey]*RPCStats
	rtts         map[rpcKey][]time.Duration
	inflight     map[string]sentReq // rpc id + type -> request send
	slow         []slowRef
	violations   []Violation
	history      historyBuilder
}

// endLeading says that n's leadership ended at e.
func (a *groupAnalyzer) endLeading(n *nodeState, e *parse.Event) {
	if n.leading == 0 {
		return
	}
	if ti := a.terms[n.leading]; ti != nil && ti.endAt == 0 {
		ti.endAt = e.Time
	}
	n.leading = 0
}

func newGroupAnalyzer(opts Options, group string) *groupAnalyzer {
	return &groupAnalyzer{opts: opts, group: group, instances: map[string]int{}, nodes: map[string]*nodeState{},
		terms: map[uint64]*termInfo{}, inEpoch: map[string]bool{}, applies: map[uint64]applied{},
		proposed: map[uint64]proposal{}, leaderCommit: map[string]uint64{}, rpcs: map[rpcKey]*RPCStats{},
		rtts: map[rpcKey][]time.Duration{}, inflight: map[string]sentReq{}, history: newHistoryBuilder()}
}

// Test analyses one test.
func Test(t *parse.Test, opts Options) Report {
	a := NewAnalyzer(opts)
	a.Add(t.Events)
	return a.Report(t)
}

func (a *groupAnalyzer) ref(r evRef) Ref {
	at := parse.Event{Time: r.time, Flags: r.flags}
	return Ref{Time: at.FormatTime(a.start, false), Node: r.node, Line: r.line, File: r.file, Msg: r.msg}
}

func (a *groupAnalyzer) violate(check, detail string, refs ...evRef) {
	v := Violation{Check: check, Detail: detail}
	for _, r := range refs {
		if !r.set {
			continue
		}
		v.Events = append(v.Events, a.ref(r))
		if r.flags&parse.FlagAmbiguous != 0 && !v.Warning {
			v.Warning = true
			v.Reason = fmt.Sprintf("line %d was printed while other tests ran in parallel; it may belong to another test", r.line)
		}
		if k := a.instances[r.node]; k > 1 && !v.Warning {
			// etcd-io/raft's table tests create many instances with the same id up front and
			// run them one after another without a line saying which.
			v.Warning = true
			v.Reason = fmt.Sprintf("the test created %d instances of node %s; the log does not say which one printed line %d",
				k, r.node, r.line)
		}
	}
	a.violations = append(a.violations, v)
}

func (a *groupAnalyzer) node(id string) *nodeState {
	n, ok := a.nodes[id]
	if !ok {
		n = &nodeState{stats: NodeStats{Node: id}}
		a.nodes[id] = n
		a.nodeOrder = append(a.nodeOrder, id)
	}
	return n
}

// countGrant notes a granted vote: a voter's vote for a candidate, or a candidate's granted
// reply from a voter, in the term the line states (else the candidate's).
func (a *groupAnalyzer) countGrant(e *parse.Event, n *nodeState) {
	var candidate, voter string
	switch e.Kind {
	case eventline.KindVote:
		if g, _ := e.Field("granted"); g != "true" {
			return
		}
		candidate, _ = e.Field("candidate")
		voter = e.Node
	case eventline.KindRecv:
		if t, _ := e.Field("type"); t != "RequestVoteReply" {
			return
		}
		if g, _ := e.Field("granted"); g != "true" {
			return
		}
		candidate = e.Node
		voter, _ = e.Field("from")
	default:
		return
	}
	if candidate == "" || voter == "" {
		return
	}
	term, ok := e.Term()
	if !ok {
		// The election's term is the candidate's: a voter's line written before it adopted
		// that term states none, and its own is the one before.
		switch c := a.nodes[candidate]; {
		case c != nil && c.termKnown:
			term = c.term
		case n.termKnown:
			term = n.term
		default:
			return
		}
	}
	ti := a.termOf(term, e)
	if ti.granted == nil {
		ti.granted = map[string]map[string]bool{}
	}
	if ti.granted[candidate] == nil {
		ti.granted[candidate] = map[string]bool{}
	}
	ti.granted[candidate][voter] = true
}

// candidate counts e's node as a candidate of term t, campaigning since at.
func (a *groupAnalyzer) candidate(t uint64, e *parse.Event, at evRef) {
	ti := a.termOf(t, e)
	ti.candidates[e.Node] = true
	if !ti.firstCand.set || ti.firstCand.time > at.time {
		ti.firstCand = at
	}
}

func (a *groupAnalyzer) termOf(t uint64, e *parse.Event) *termInfo {
	ti, ok := a.terms[t]
	if !ok {
		ti = &termInfo{firstEv: refOf(e), candidates: map[string]bool{}}
		a.terms[t] = ti
	}
	return ti
}

type commitMark struct {
	index, term uint64 // term 0: not stated (binds every leader)
	ev          evRef
}

// markCommitted notes that index is committed, as the event's node knows in its term. The
// marks stay a staircase: a mark with a higher index known in no later term makes another
// redundant.
func (a *groupAnalyzer) markCommitted(index uint64, e *parse.Event) {
	term := uint64(0)
	if t, ok := e.Term(); ok {
		term = t
	}
	mark := commitMark{index: index, term: term, ev: refOf(e)}
	if k := len(a.committed); k == 0 || (term >= a.committed[k-1].term && index > a.committed[k-1].index) {
		// The usual case, commits in order: one comparison per commit event.
		if k > 0 && a.committed[k-1].term == term {
			a.committed[k-1] = mark
		} else {
			a.committed = append(a.committed, mark)
		}
		return
	}
	for _, m := range a.committed {
		if m.term <= term && m.index >= index {
			return
		}
	}
	kept := a.committed[:0]
	at := -1
	for _, m := range a.committed {
		if m.term >= term && m.index <= index {
			continue
		}
		if at < 0 && m.term > term {
			at = len(kept)
		}
		kept = append(kept, m)
	}
	if at < 0 {
		a.committed = append(kept, mark)
	} else {
		a.committed = slices.Insert(kept, at, mark)
	}
}

// committedBefore returns the highest commit known in a term before term.
func (a *groupAnalyzer) committedBefore(term uint64) (commitMark, bool) {
	for k := len(a.committed) - 1; k >= 0; k-- {
		if a.committed[k].term < term {
			return a.committed[k], true
		}
	}
	return commitMark{}, false
}

// forget drops what a node stated before it became another server (a fresh instance of the
// id, or a new server with empty storage).
func (n *nodeState) forget() {
	n.termKnown, n.term, n.termEv, n.role, n.leading = false, 0, evRef{}, "", 0
	n.commit, n.commitEv, n.lastIndex = 0, evRef{}, 0
	n.rules.reset()
}

func (a *groupAnalyzer) event(e *parse.Event) {
	if !a.started {
		a.start, a.started = e.Time, true
	}
	a.events++
	a.end = e.Time
	a.history.add(e)
	if e.Node == eventline.ClusterNode {
		return
	}
	n := a.node(e.Node)
	if e.Kind != eventline.KindInvoke && e.Kind != eventline.KindReturn {
		n.server = true
	}
	if e.FreshInstance() {
		a.instances[e.Node]++
		// A node's first start opens no new cluster, even after lines of its own (etcd-io/raft
		// logs its configuration and role before "newRaft"); a fresh start of a node that had
		// started already is another cluster of the same ids.
		if a.inEpoch[e.Node] && a.lives.Started(e.Node) {
			a.epochs = append(a.epochs, a.terms)
			a.terms = map[uint64]*termInfo{}
			clear(a.inEpoch)
			for _, o := range a.nodes {
				o.leading = 0
			}
		}
		a.inEpoch[e.Node] = true
		a.endLeading(n, e)
		n.forget()
		a.lives.Observe(e, a.events) // a fresh instance ends no life: it shares nothing
		if st, ok := e.Field("state"); ok {
			n.role = st
		}
		return
	}
	a.inEpoch[e.Node] = true
	life, _ := a.lives.Observe(e, a.events)
	if e.NewServer() {
		// The same id, another server: what the old one stated is not its past. The cluster's
		// terms go on (no new epoch).
		n.forget()
	}
	term, hasTerm := e.Term()
	// A term read by an inferred profile's generic wordings on a line that is no role change (a
	// late RPC's "request vote success, term=14") may be a message's, not the node's: it raises the node's term, but an
	// older one said so is no step back, and a role change below it is not either.
	weak := e.Flags&parse.FlagGuessed != 0 && e.Kind != eventline.KindState && e.Kind != eventline.KindTerm &&
		e.Kind != eventline.KindStart && e.Kind != eventline.KindVote
	if hasTerm && weak && n.termKnown && term < n.term {
		hasTerm = false
	}
	if hasTerm {
		a.seen.terms++
		fault := e.Kind == eventline.KindCrash || e.Kind == eventline.KindStop || e.Kind == eventline.KindRestart
		rebooting := n.rebooting && !fault
		if !fault {
			n.rebooting = false
		}
		switch {
		case rebooting && n.rules.diskKnown && n.termKnown && term < n.term:
			// A node that writes start and persist events says what reached its disk: a
			// crash may take back a term it had not made durable yet (a candidate asks for
			// votes while its fsync runs; nothing it promised depended on it), never one it had.
			if term < n.rules.diskTerm {
				a.violate(CheckTermMonotonic, fmt.Sprintf("node %s restarted at term %d, below the term %d it had made durable", e.Node, term, n.rules.diskTerm), n.rules.diskEv, refOf(e))
			}
			n.term, n.termEv = term, refOf(e)
		case n.termKnown && term < n.term && n.termWeak:
			n.term, n.termEv = term, refOf(e) // the higher one was a free-text mention
		case n.termKnown && term < n.term:
			a.violate(CheckTermMonotonic, fmt.Sprintf("node %s went from term %d back to %d", e.Node, n.term, term), n.termEv, refOf(e))
			n.term, n.termEv = term, refOf(e) // one violation, not one per later event
		}
		if !n.termKnown || term > n.term {
			if n.termKnown {
				n.stats.TermChanges++
			}
			n.term, n.termEv, n.termKnown = term, refOf(e), true
			n.termWeak = weak
		} else if term == n.term {
			n.termEv = refOf(e)
			n.termWeak = n.termWeak && weak
		} else {
			n.termWeak = weak
		}
		a.termOf(term, e)
	}
	// After the term check, which compares a start with what the disk held before it.
	a.protocolRules(e, n, term, hasTerm)
	if n.leading != 0 {
		// Leadership ends with a new term, another role, or the node's crash, stop or start:
		// a leader killed with kill -9 says nothing, and comes back as a follower.
		t, _ := e.Term()
		st, hasState := e.Field("state")
		switch {
		case t > n.leading || (hasState && st != "leader"):
			a.endLeading(n, e)
		default:
			switch e.Kind {
			case eventline.KindCrash, eventline.KindStop, eventline.KindStart, eventline.KindRestart:
				a.endLeading(n, e)
			}
		}
	}

	if st, ok := e.Field("state"); ok {
		n.role = st
		a.seen.roles++
	}
	campaign := e.BecameCandidate()
	if e.Kind == eventline.KindTerm {
		reason, _ := e.Field("reason")
		campaign = campaign || reason == "campaign"
	}
	_, hasState := e.Field("state")
	switch {
	case campaign && hasTerm:
		a.candidate(term, e, refOf(e))
	case campaign:
		n.campaign = refOf(e)
	case n.campaign.set && hasTerm:
		a.candidate(term, e, n.campaign)
		n.campaign = evRef{}
	case n.campaign.set && hasState:
		n.campaign = evRef{} // it stopped campaigning before saying in which term
	}
	if e.BecameLeader() {
		a.seen.leaders++
		term, ok := e.Term()
		if !ok {
			if !n.termKnown || n.campaign.set {
				// A leader of an unknown term proves nothing; nor does one that campaigned
				// since it last stated a term (the campaign began a later one).
				return
			}
			term = n.term
		}
		ti := a.termOf(term, e)
		if !ok && n.termWeak && ti.leader != "" && ti.leader != e.Node {
			// Its line states no term, and the node's last one was guessed from a line that is
			// no role change (an inferred profile's): it may have campaigned since without saying so.
			// Another leader of that term is no proof.
			return
		}
		a.seen.leadersWithTerm++
		switch {
		case ti.leader == "":
			ti.leader, ti.leaderEv = e.Node, refOf(e)
			n.leading = term
			// A leader of a later term: the leaders of earlier ones lead no more, whether or not
			// they heard of it (or lived to: a leader killed with kill -9 says nothing).
			for _, o := range a.nodes {
				if o != n && o.leading != 0 && o.leading < term {
					a.endLeading(o, e)
				}
			}
			if v, ok := e.FieldInt("votes"); ok {
				ti.votes = int(v)
			}
		case ti.leader != e.Node:
			a.violate(CheckOneLeader, fmt.Sprintf("term %d has two leaders: %s and %s", term, ti.leader, e.Node), ti.leaderEv, refOf(e))
		}
		if m, ok := a.committedBefore(term); ok && a.seen.lastIndex > 0 && n.lastIndex < m.index {
			a.violate(CheckLeaderComplete, fmt.Sprintf("node %s became leader of term %d with %d entries, but index %d was committed in term %d",
				e.Node, term, n.lastIndex, m.index, m.term), m.ev, refOf(e))
		}
	}
	switch e.FaultKind() {
	case eventline.KindCrash:
		n.stats.Crashes++
		n.commit, n.lastHB = 0, 0 // volatile state is lost
	case eventline.KindRestart:
		n.stats.Restarts++
	case eventline.KindStart:
		switch life {
		case parse.AfterDown:
			n.stats.Restarts++
		case parse.AfterSilence:
			// A process that died without a word (kill -9) and came back: merged per-node
			// logs of separate processes show only that.
			n.stats.Crashes++
			n.stats.Restarts++
		}
		n.commit, n.lastHB = 0, 0
	}
	switch e.Kind {
	case eventline.KindCrash, eventline.KindStop, eventline.KindRestart:
		n.rebooting = true
	}
	if e.Kind != "" {
		a.kindEvent(e, n)
	}
}

// kindEvent reads the facts of an event of a known kind (docs/FORMAT.md).
func (a *groupAnalyzer) kindEvent(e *parse.Event, n *nodeState) {
	a.countGrant(e, n)
	switch e.Kind {
	case eventline.KindStart:
		if v, ok := e.FieldInt("last_index"); ok {
			n.lastIndex = uint64(v)
		}
		if v, ok := e.FieldInt("commit"); ok {
			n.commit = uint64(v)
		}
	case eventline.KindAppend:
		if v, ok := e.FieldInt("last"); ok {
			n.lastIndex = uint64(v)
			a.seen.lastIndex++
		}
	case eventline.KindSnapshot:
		if act, _ := e.Field("action"); act == "installed" || act == "loaded" {
			if v, ok := e.FieldInt("index"); ok && uint64(v) > n.lastIndex {
				n.lastIndex = uint64(v)
			}
		}
	case eventline.KindTruncate:
		a.seen.truncates++
		idx, _ := e.FieldInt("index")
		if n.role == "leader" {
			a.violate(CheckLeaderAppend, fmt.Sprintf("leader %s deleted its entries from index %d", e.Node, idx), refOf(e))
		}
		if idx > 0 {
			n.lastIndex = uint64(idx) - 1
		}
	case eventline.KindPropose:
		if v, ok := e.FieldInt("index"); ok {
			term, _ := e.Term()
			a.proposed[uint64(v)] = proposal{e.Time, term}
		}
	case eventline.KindCommit:
		c, ok := e.FieldInt("commit")
		if !ok {
			break
		}
		a.seen.commits++
		if uint64(c) < n.commit {
			a.violate(CheckCommitForward, fmt.Sprintf("node %s's commit index went from %d back to %d", e.Node, n.commit, c), n.commitEv, refOf(e))
		}
		n.commit, n.commitEv = uint64(c), refOf(e)
		n.stats.Commits++
		if n.role == "leader" {
			// Only the proposing leader's own commits count: an entry that a later leader
			// commits after a failover measures the failover, not replication.
			term, _ := e.Term()
			for idx := a.leaderCommit[e.Node] + 1; idx <= uint64(c); idx++ {
				if p, ok := a.proposed[idx]; ok && p.term == term {
					a.commitLat = append(a.commitLat, time.Duration(e.Time-p.at))
				}
			}
			a.leaderCommit[e.Node] = max(a.leaderCommit[e.Node], uint64(c))
		}
		a.markCommitted(uint64(c), e)
	case eventline.KindApply:
		idx, ok := e.FieldInt("index")
		if !ok {
			break
		}
		a.seen.applies++
		et, _ := e.FieldInt("eterm")
		cmd, _ := e.Field("cmd")
		n.stats.Applies++
		n.stats.LastApplied = uint64(idx)
		if prev, ok := a.applies[uint64(idx)]; ok {
			if prev.term != uint64(et) || prev.cmd != cmd {
				a.violate(CheckSameApply, fmt.Sprintf("index %d: node %s applied %q (term %d), node %s applied %q (term %d)",
					idx, prev.ev.node, prev.cmd, prev.term, e.Node, cmd, et), prev.ev, refOf(e))
			}
		} else {
			a.applies[uint64(idx)] = applied{term: uint64(et), cmd: cmd, ev: refOf(e)}
		}
		a.markCommitted(uint64(idx), e)
		if n.role == "leader" {
			if p, ok := a.proposed[uint64(idx)]; ok && p.term == uint64(et) {
				a.applyLat = append(a.applyLat, time.Duration(e.Time-p.at))
				delete(a.proposed, uint64(idx))
			}
		}
	case eventline.KindSend, eventline.KindRecv:
		a.rpcEvent(e, n)
	}
}

// rpcEvent counts a message and measures round trips and heartbeat gaps.
func (a *groupAnalyzer) rpcEvent(e *parse.Event, n *nodeState) {
	typ, _ := e.Field("type")
	if typ == "" {
		typ, _ = e.Field("msgtype") // a profile that read the message's type from its wording
	}
	if typ == "" {
		return // a message whose type the log does not say (a send read from an arrow): nothing to count it under
	}
	rpc, _ := e.Field("rpc")
	var k rpcKey
	if e.Kind == eventline.KindSend {
		to, _ := e.Field("to")
		k = rpcKey{typ, e.Node, to}
	} else {
		from, _ := e.Field("from")
		k = rpcKey{typ, from, e.Node}
	}
	s, ok := a.rpcs[k]
	if !ok {
		s = &RPCStats{Type: typ, From: k.from, To: k.to}
		a.rpcs[k] = s
	}
	if e.Kind == eventline.KindSend {
		s.Sent++
		if rpc != "" && !isReply(typ) {
			a.inflight[rpc+" "+typ] = sentReq{at: e.Time, ref: refOf(e)}
		}
		return
	}
	s.Received++
	if rpc != "" && isReply(typ) {
		req := typ[:len(typ)-len("Reply")]
		if sr, ok := a.inflight[rpc+" "+req]; ok {
			delete(a.inflight, rpc+" "+req)
			d := time.Duration(e.Time - sr.at)
			rk := rpcKey{req, e.Node, k.from}
			a.rtts[rk] = append(a.rtts[rk], d)
			if d > a.opts.SlowRPC {
				a.slow = append(a.slow, slowRef{d, refOf(e)})
			}
		}
	}
	if typ == "AppendEntries" && n.role != "leader" {
		from := k.from
		if n.lastHB != 0 && n.hbLeader == from {
			gap := time.Duration(e.Time - n.lastHB).Seconds()
			n.stats.MaxHeartbeatGap = max(n.stats.MaxHeartbeatGap, gap)
		}
		n.lastHB, n.hbLeader = e.Time, from
	}
}

// Report ends the analysis: t gives the test's name, status and output (its Events are not read
// again; they may have been let go).
func (a *groupAnalyzer) Report(t *parse.Test) Report {
	r := Report{Test: t.Name, Status: t.Status.String(), Events: a.events, Violations: a.violations}
	if r.Violations == nil {
		r.Violations = []Violation{}
	}
	if t.Attempt > 1 {
		r.Test += "#" + strconv.Itoa(t.Attempt)
	}
	for _, o := range t.Output() {
		r.Output = append(r.Output, o.Text)
	}
	// Terms, in order, with how long each leader led; instance by instance.
	epochs := append(a.epochs, a.terms)
	for inst, terms := range epochs {
		var termNums []uint64
		for t := range terms {
			termNums = append(termNums, t)
		}
		slices.Sort(termNums)
		for _, tn := range termNums {
			ti := terms[tn]
			if tn == 0 && ti.leader == "" && len(ti.candidates) == 0 {
				continue // the term every node starts in
			}
			votes := ti.votes
			if g := ti.granted[ti.leader]; votes == 0 && ti.leader != "" && len(g) > 0 {
				votes = len(g)
				if !g[ti.leader] {
					votes++ // its own vote, which few logs state
				}
			}
			out := Term{Term: tn, Leader: ti.leader, Start: a.ref(ti.firstEv).Time, Votes: votes, Candidates: len(ti.candidates)}
			if len(epochs) > 1 {
				out.Instance = inst + 1
			}
			if ti.leaderEv.set {
				until := a.end
				if ti.endAt != 0 {
					until = ti.endAt
				}
				out.Led = time.Duration(until - ti.leaderEv.time).Seconds()
				if ti.firstCand.set {
					out.Election = time.Duration(ti.leaderEv.time - ti.firstCand.time).Seconds()
				}
			}
			r.Terms = append(r.Terms, out)
		}
	}
	ids := append([]string(nil), a.nodeOrder...)
	parse.SortNodes(ids)
	for _, id := range ids {
		if n := a.nodes[id]; n.server {
			r.Nodes = append(r.Nodes, n.stats)
		}
	}
	r.Commit, r.Apply = summarize(a.commitLat), summarize(a.applyLat)
	for k, s := range a.rpcs {
		s.RoundTrip = summarize(a.rtts[k])
		for _, d := range a.rtts[k] {
			if d > a.opts.SlowRPC {
				s.Slow++
			}
		}
		r.RPCs = append(r.RPCs, *s)
	}
	sort.Slice(r.RPCs, func(x, y int) bool {
		p, q := r.RPCs[x], r.RPCs[y]
		if p.Type != q.Type {
			return p.Type < q.Type
		}
		if p.From != q.From {
			return parse.NodeLess(p.From, q.From)
		}
		return parse.NodeLess(p.To, q.To)
	})
	opts := a.opts
	if opts.LinTimeout <= 0 {
		opts.LinTimeout = 10 * time.Second
	}
	if !opts.NoLinearizability {
		if lin, err := a.history.check(opts.LinTimeout, opts.LinHTML); lin != nil {
			r.Linearizable = lin
			if lin.Result == string(porcupine.Illegal) {
				r.Violations = append(r.Violations, Violation{Check: CheckLinearizable,
					Detail: fmt.Sprintf("no order of the %d client operations explains what the clients saw", lin.Operations)})
			}
			if err != nil {
				r.Notes = append(r.Notes, "linearizability visualization: "+err.Error())
			}
		}
	}
	r.Checks = checkResults(&r, checkFacts{
		leaders: a.seen.leaders, leadersWithTerm: a.seen.leadersWithTerm, terms: a.seen.terms, truncates: a.seen.truncates,
		roles: a.seen.roles, applies: a.seen.applies, commits: a.seen.commits, lastIndex: a.seen.lastIndex,
		nodes: len(a.nodes), lin: r.Linearizable != nil, linSkipped: opts.NoLinearizability,
		mterms: a.seen.mterms, appendMterms: a.seen.appendMterms, persists: a.seen.persists, acks: a.seen.acks,
	})
	sort.Slice(a.slow, func(x, y int) bool { return a.slow[x].d > a.slow[y].d })
	for _, s := range a.slow[:min(len(a.slow), 5)] {
		rf := a.ref(s.ref)
		rf.Msg += " (round trip " + s.d.Round(time.Microsecond).String() + ")"
		r.Slow = append(r.Slow, rf)
	}
	return r
}

func isReply(typ string) bool {
	return len(typ) > 5 && typ[len(typ)-5:] == "Reply"
}

// checkFacts counts what a test's events state, for deciding which checks could run.
type checkFacts struct {
	leaders, leadersWithTerm, terms, truncates, roles, applies, commits, lastIndex, nodes int
	mterms, appendMterms, persists, acks                                                  int
	lin, linSkipped                                                                       bool
}

// checkResults turns the violations and the facts seen into one result per check.
func checkResults(r *Report, f checkFacts) []CheckResult {
	violated, warned := map[string]bool{}, map[string]int{}
	for _, v := range r.Violations {
		if v.Warning {
			warned[v.Check]++
		} else {
			violated[v.Check] = true
		}
	}
	res := func(name string, ran bool, why, notWhy string) CheckResult {
		switch {
		case violated[name]:
			return CheckResult{Name: name, Status: Violated}
		case warned[name] > 0:
			return CheckResult{Name: name, Status: Warned, Why: fmt.Sprintf("%d findings of uncertain attribution, below", warned[name])}
		case ran:
			return CheckResult{Name: name, Status: Passed, Why: why}
		}
		return CheckResult{Name: name, Status: NotChecked, Why: notWhy}
	}
	out := []CheckResult{
		res(CheckOneLeader, f.leadersWithTerm > 0,
			fmt.Sprintf("%d leader elections with a known term", f.leadersWithTerm),
			map[bool]string{true: "leader events state no term", false: "no event states that a node became leader"}[f.leaders > 0]),
		res(CheckTermMonotonic, f.terms > 0, fmt.Sprintf("%d events state their node's term", f.terms),
			"no event states its node's term"),
		res(CheckLeaderAppend, f.truncates > 0 && f.roles > 0, fmt.Sprintf("%d log truncations", f.truncates),
			"the log states no truncations with the node's role"),
		res(CheckSameApply, f.applies > 0, fmt.Sprintf("%d applied entries", f.applies), "no event states an applied index"),
		res(CheckCommitForward, f.commits > 0, fmt.Sprintf("%d commit index changes", f.commits), "no event states a commit index"),
		res(CheckLeaderComplete, f.lastIndex > 0 && (f.commits > 0 || f.applies > 0), "",
			"the log states no log lengths, or no commits"),
		res(CheckAdoptsTerm, f.mterms > 0, fmt.Sprintf("%d received messages state their term", f.mterms),
			"no received message but vote requests states its term (mterm)"),
		res(CheckStaleAppend, f.appendMterms > 0, fmt.Sprintf("%d received AppendEntries state their term", f.appendMterms),
			"no received AppendEntries states its term (mterm)"),
		res(CheckDurableAck, f.persists > 0 && f.acks > 0, fmt.Sprintf("%d acknowledgements", f.acks),
			"the log states no persists, or no acknowledgements"),
	}
	linWhy := "no client operations (invoke/return events) in the log"
	if f.linSkipped {
		linWhy = "not run here"
	}
	out = append(out, res(CheckLinearizable, f.lin && !f.linSkipped, "", linWhy))
	return out
}
