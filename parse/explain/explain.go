// Package explain goes from a failing test to the earliest anomaly a rule finds in its events,
// and the events that show it: the step after seeing that a test failed, which is otherwise
// scrolling through thousands of rows.
//
// Each rule is a small function over one test's events and its analysis (package analyze). A
// rule says what it found, when, how sure it is (stated: the log says so, such as a violated
// safety check; inferred: read from what the log does not say, such as a node that stops
// printing), and the few events that show it. When no rule finds anything, the explanation
// says so and shows each node's last events: it never invents a cause.
package explain

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/profile"
)

// Certainty says how a finding is known.
const (
	Stated   = "stated"   // facts the log states (events, a violated check)
	Inferred = "inferred" // read from what the log does not say
)

// Step is one event of an explanation: when, which node, where in the input (Line, File) and in
// the test (Event: its index, the timeline's row), and what it says.
type Step struct {
	Time  string `json:"time"`
	Node  string `json:"node"`
	Line  int32  `json:"line"`
	File  int16  `json:"file,omitempty"`
	Event int    `json:"event"` // -1: a finding that points at no event (a test that printed none)
	Msg   string `json:"msg"`
}

// noEvent is the At of a finding in a test with no event to point at.
var noEvent = Step{Event: -1}

// Finding is what one rule found.
type Finding struct {
	Rule      string `json:"rule"`
	Anomaly   string `json:"anomaly"`
	Certainty string `json:"certainty"`
	At        Step   `json:"at"`
	Chain     []Step `json:"chain"`
	at        int64  // time of At, for ordering
	safety    bool   // found by a Safety rule
	failure   bool   // found by a Failure rule
}

// Explanation is a failing test's, or one with a violation: its symptom and what the rules
// found: violated checks first, then the rest, each earliest first.
type Explanation struct {
	Test     string    `json:"test"`
	Status   string    `json:"status"`
	Symptom  string    `json:"symptom"`
	Findings []Finding `json:"findings"`
	// Last, when no rule found anything, are each node's last events.
	Last []Step `json:"last_events,omitempty"`
}

// maxChain bounds the events of a finding.
const maxChain = 15

// lastPerNode is how many events of each node an explanation with no finding shows.
const lastPerNode = 5

// Rule finds one kind of anomaly in a test.
type Rule struct {
	Name string
	// Doc says what the rule looks for, for raftviz explain -h and docs.
	Doc string
	// Safety: the rule finds a broken safety property the log states; such findings come first
	// (in a run with faults, terms without a leader are what a partition does: a bug shows in
	// a safety finding).
	Safety bool
	// Failure: the rule reads the failure itself (where a panic happened), which comes before
	// everything.
	Failure bool
	Find    func(*Case) []Finding
}

// Rules are every rule, in the order their findings are listed when they happen at one time.
var Rules = []Rule{
	{Name: "panic", Doc: "the test panicked: in which function and line of the code under test (the panicking goroutine's first frame outside Go's own packages)", Failure: true, Find: panicPlace},
	{Name: "deadlock", Doc: "the test timed out with goroutines of the code under test waiting for a lock: where they wait", Failure: true, Find: waitingForLocks},
	{Name: "violation", Doc: "a safety check analyze runs is violated (two leaders in a term, a committed entry lost, ...)", Safety: true, Find: violations},
	{Name: "double-vote", Doc: "a node grants its vote to two candidates in one term (a vote not kept on disk, or not checked)", Safety: true, Find: doubleVotes},
	{Name: "stale-vote", Doc: "a node grants its vote to a candidate whose log is behind its own (Raft's election restriction not checked)", Safety: true, Find: staleVotes},
	{Name: "apply-order", Doc: "a node applies an index it applied already, or one below it, with no restart or snapshot between (state machine safety)", Safety: true, Find: applyOrder},
	{Name: "slow-heartbeat", Doc: "a follower's election timer fires while its leader, up and not cut off, has sent it nothing for longer than that timeout", Find: slowHeartbeats},
	{Name: "leaderless", Doc: "two or more terms in a row elect no leader: who campaigned, and how the votes went", Find: leaderless},
	{Name: "stuck", Doc: "a leader proposes an entry and, leading on for a second or more, never commits it: which followers refused its AppendEntries", Find: stuck},
	{Name: "lagging", Doc: "a server's commit index stays far behind the cluster's to the end, though it runs on and no fault of it is stated", Find: lagging},
	{Name: "silent", Doc: "a server stops printing long before the test ends, with no crash or disconnection stated", Find: silent},
}

// Case is what the rules read: one test and its analysis.
type Case struct {
	Test   *parse.Test
	Report analyze.Report
	// failed: the test failed, or the run failed while it ran (it has no result of its own).
	failed bool
	start  int64
	byLine map[lineKey]int // event index by input line, for a check's references
}

type lineKey struct {
	line int32
	file int16
}

// NeedsExplaining reports whether a test failed or its analysis found a violation.
func NeedsExplaining(t *parse.Test, r analyze.Report) bool {
	return t.Status == parse.StatusFail || r.Failures() > 0
}

// Explain runs every rule on a test and its analysis.
func Explain(t *parse.Test, r analyze.Report) Explanation {
	return explain(t, r, t.Status == parse.StatusFail)
}

// ExplainUnfinished is Explain for a test with no result of its own (UNKNOWN) in a run that
// failed: the process ended while the test ran (log.Fatal, os.Exit, a crash of the test
// binary), which a test that fails is, whatever its log says.
func ExplainUnfinished(t *parse.Test, r analyze.Report) Explanation {
	return explain(t, r, true)
}

func explain(t *parse.Test, r analyze.Report, failed bool) Explanation {
	c := &Case{Test: t, Report: r, failed: failed, byLine: make(map[lineKey]int, len(t.Events))}
	c.start, _ = t.Start()
	for i := range t.Events {
		c.byLine[lineKey{t.Events[i].Line, t.Events[i].File}] = i
	}
	ex := Explanation{Test: r.Test, Status: t.Status.String(), Symptom: symptom(t, r), Findings: []Finding{}}
	for _, rule := range Rules {
		for _, f := range rule.Find(c) {
			f.Rule, f.safety, f.failure = rule.Name, rule.Safety, rule.Failure
			if f.Chain == nil {
				f.Chain = []Step{}
			}
			if len(f.Chain) > maxChain {
				f.Chain = f.Chain[:maxChain]
			}
			ex.Findings = append(ex.Findings, f)
		}
	}
	// Broken safety properties first (Rule.Safety), then the rest; each earliest first.
	rank := func(f Finding) int {
		switch {
		case f.failure:
			return 0
		case f.safety:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ex.Findings, func(a, b Finding) int {
		switch {
		case rank(a) != rank(b):
			return rank(a) - rank(b)
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	if len(ex.Findings) == 0 {
		ex.Last = c.lastEvents(lastPerNode)
	}
	if _, ok := testerWords(t); !ok && strings.TrimSpace(t.Reason()) == "" {
		// No words of the test's own: the symptom is the earliest violated check.
		for _, f := range ex.Findings {
			if f.Rule == "violation" {
				ex.Symptom = f.Anomaly
				break
			}
		}
	}
	return ex
}

// symptom is the failure in the test's own words, or the violated check.
func symptom(t *parse.Test, r analyze.Report) string {
	if reason := strings.TrimSpace(t.Reason()); reason != "" {
		return reason
	}
	if words, ok := testerWords(t); ok {
		return words
	}
	for _, v := range r.Violations {
		if !v.Warning {
			return v.Check + ": " + v.Detail
		}
	}
	if t.Panicked {
		return "the test panicked"
	}
	if t.Status == parse.StatusUnknown {
		return "the run failed while the test ran, and the test has no result line: the process ended (log.Fatal, os.Exit, a crash)"
	}
	return "the test failed without saying why"
}

// testerWords finds the failure a test harness stated in a line that was read as an event: the
// 6.824-style tester's log.Fatalf("apply error: ...") has the log's own date prefix, so the
// line reads as a server's. Any built-in profile's failure rule (docs/PROFILES.md) names such
// words; the last event that matches one, among the test's last ones, is the symptom.
func testerWords(t *parse.Test) (string, bool) {
	for i := len(t.Events) - 1; i >= 0 && i >= len(t.Events)-testerLookBack; i-- {
		msg := t.Events[i].Msg
		for _, pr := range profile.Builtins() {
			if pr.IsFailure([]byte(msg)) {
				return strings.TrimSpace(msg), true
			}
		}
	}
	return "", false
}

// testerLookBack is how many of a test's last events testerWords reads: a harness's failure
// stops the run at once.
const testerLookBack = 50

// step is event i as a Step.
func (c *Case) step(i int) Step {
	e := &c.Test.Events[i]
	return Step{Time: e.FormatTime(c.start, false), Node: e.Node, Line: e.Line, File: e.File, Event: i, Msg: e.Msg}
}

// sendOf is the send that event i, a receive, received: the happens-before edge from one node
// to another. A log that numbers its RPCs (rpc=, which a request and its reply share) is
// matched by that number; otherwise the receive is the latest send before it of its type from
// its sender to its node in the message's term. -1 when there is none.
func (c *Case) sendOf(i int) int {
	e := &c.Test.Events[i]
	typ, okType := e.Field("type")
	from, okFrom := e.Field("from")
	if e.Kind != eventline.KindRecv || !okType || !okFrom {
		return -1
	}
	rpc, byRPC := e.Field("rpc")
	mterm, byTerm := e.Field("mterm")
	for j := i - 1; j >= 0 && i-j <= sendLookBack; j-- {
		s := &c.Test.Events[j]
		if s.Kind != eventline.KindSend || s.Node != from {
			continue
		}
		if t, _ := s.Field("type"); t != typ {
			continue
		}
		if to, _ := s.Field("to"); to != e.Node {
			continue
		}
		if r, _ := s.Field("rpc"); byRPC && r != rpc {
			continue
		}
		if t, _ := s.Field("term"); !byRPC && byTerm && t != mterm {
			continue
		}
		return j
	}
	return -1
}

// sendLookBack bounds how far before a receive sendOf looks for its send.
const sendLookBack = 1 << 14

// withSends adds to a chain the send of each receive in it (sendOf), so that the chain goes
// from node to node by happens-before: a send, its receipt, what the receiver did.
func (c *Case) withSends(chain []Step) []Step {
	in := map[int]bool{}
	for _, s := range chain {
		in[s.Event] = true
	}
	out := chain
	for _, s := range chain {
		if j := c.sendOf(s.Event); j >= 0 && !in[j] {
			in[j] = true
			out = append(out, c.step(j))
		}
	}
	slices.SortStableFunc(out, func(a, b Step) int { return a.Event - b.Event })
	return out
}

// lastEvents are each server's last n events, nodes in the order they appear.
func (c *Case) lastEvents(n int) []Step {
	var out []Step
	for _, node := range c.servers() {
		var idx []int
		for i := len(c.Test.Events) - 1; i >= 0 && len(idx) < n; i-- {
			if c.Test.Events[i].Node == node {
				idx = append(idx, i)
			}
		}
		for k := len(idx) - 1; k >= 0; k-- {
			out = append(out, c.step(idx[k]))
		}
	}
	return out
}

// servers are the test's nodes that are not the cluster lane or a client.
func (c *Case) servers() []string {
	var out []string
	for _, n := range c.Test.Nodes() {
		if n != eventline.ClusterNode {
			out = append(out, n)
		}
	}
	return out
}

// violations: each violated check (not a warning) is a stated finding, shown by the events
// that prove its earliest violation; how many more there are of the same check is said, not
// listed.
func violations(c *Case) []Finding {
	var out []Finding
	byCheck := map[string]int{} // check -> its finding in out
	more := map[string]int{}
	for _, v := range c.Report.Violations {
		if v.Warning {
			continue
		}
		f := Finding{Anomaly: v.Check + ": " + v.Detail, Certainty: Stated}
		for _, ref := range v.Events {
			i, ok := c.byLine[lineKey{ref.Line, ref.File}]
			if !ok {
				continue
			}
			f.Chain = append(f.Chain, c.step(i))
		}
		if len(f.Chain) == 0 {
			continue
		}
		f.At = f.Chain[0]
		f.at = c.Test.Events[f.At.Event].Time
		if v.Check == analyze.CheckOneLeader {
			f.Chain = c.elections(f.Chain)
		}
		k, seen := byCheck[v.Check]
		switch {
		case !seen:
			byCheck[v.Check] = len(out)
			out = append(out, f)
		case f.at < out[k].at:
			out[k] = f
			more[v.Check]++
		default:
			more[v.Check]++
		}
	}
	for check, n := range more {
		f := &out[byCheck[check]]
		f.Anomaly += fmt.Sprintf(" (and %d more of this check)", n)
	}
	return out
}

// elections puts before each leader of the chain the votes that elected it: the voters' grants
// (vote events naming it, in its term) and its receipt of them (granted RequestVoteReplies), in
// the order they happened, so that two leaders of one term show where a voter voted twice or a
// majority was counted wrong.
func (c *Case) elections(leaders []Step) []Step {
	var out []Step
	seen := map[int]bool{}
	for _, l := range leaders {
		le := &c.Test.Events[l.Event]
		term, ok := le.Field("term")
		if !ok {
			out = append(out, l)
			continue
		}
		for i := 0; i < l.Event; i++ {
			e := &c.Test.Events[i]
			if t, _ := e.Field("term"); t != term || seen[i] {
				continue
			}
			granted, _ := e.Field("granted")
			prevote, _ := e.Field("prevote")
			if granted != "true" || prevote == "true" {
				continue
			}
			cand, _ := e.Field("candidate")
			typ, _ := e.Field("type")
			if e.Kind == eventline.KindVote && cand == le.Node || e.Kind == eventline.KindRecv && e.Node == le.Node && typ == "RequestVoteReply" {
				seen[i] = true
				out = append(out, c.step(i))
			}
		}
		out = append(out, l)
	}
	return c.withSends(out)
}

// staleVotes: a node may grant its vote only to a candidate whose log is at least as up to date
// as its own: a later last term, or the same one and at least as long (§5.4.1). The candidate's
// last entry is stated in the RequestVote the voter received; the voter's own is followed
// through its events: what it started with, the entries it appended (the term of an entry is
// known when the leader of that term appended it as its own), truncations, snapshots and
// applies (which state the entry's term). Where the voter's last entry's term is not known,
// nothing is said. A vote that states both logs (etcd-io/raft's) is compared as it says.
func staleVotes(c *Case) []Finding {
	type entry struct{ term, index int64 }
	type logOf struct {
		last  int64
		terms map[int64]int64 // index -> term, where known
	}
	logs := map[string]*logOf{}
	leaderOwn := map[entry]bool{} // entries a leader appended in its own term
	request := map[string]int{}   // voter+candidate+term -> the RequestVote received
	var out []Finding
	more := 0
	for i := range c.Test.Events {
		e := &c.Test.Events[i]
		lg := logs[e.Node]
		switch e.Kind {
		case eventline.KindStart:
			li, ok1 := e.FieldInt("last_index")
			lt, ok2 := e.FieldInt("last_term")
			if ok1 && ok2 {
				logs[e.Node] = &logOf{last: li, terms: map[int64]int64{li: lt}}
			} else {
				delete(logs, e.Node)
			}
		case eventline.KindAppend:
			first, ok1 := e.FieldInt("first")
			last, ok2 := e.FieldInt("last")
			term, ok3 := e.FieldInt("term")
			if !ok1 || !ok2 || !ok3 || lg == nil {
				continue
			}
			state, _ := e.Field("state")
			_, fromLeader := e.Field("from")
			for idx := first; idx <= last && idx-first < 1<<16; idx++ {
				switch {
				case state == "leader" && !fromLeader:
					leaderOwn[entry{term, idx}] = true
					lg.terms[idx] = term
				case leaderOwn[entry{term, idx}]:
					lg.terms[idx] = term
				default:
					delete(lg.terms, idx)
				}
			}
			lg.last = max(lg.last, last)
		case eventline.KindTruncate:
			if idx, ok := e.FieldInt("index"); ok && lg != nil {
				for k := range lg.terms {
					if k >= idx {
						delete(lg.terms, k)
					}
				}
				lg.last = idx - 1
			}
		case eventline.KindSnapshot, eventline.KindApply:
			idx, ok1 := e.FieldInt("index")
			et, ok2 := e.FieldInt("eterm")
			if action, _ := e.Field("action"); ok1 && ok2 && lg != nil && action != "sending" {
				lg.terms[idx] = et
				lg.last = max(lg.last, idx)
			}
		case eventline.KindRecv:
			if typ, _ := e.Field("type"); typ == "RequestVote" {
				from, _ := e.Field("from")
				mterm, _ := e.Field("mterm")
				request[e.Node+"\x00"+from+"\x00"+mterm] = i
			}
		case eventline.KindVote:
			granted, _ := e.Field("granted")
			prevote, _ := e.Field("prevote")
			cand, _ := e.Field("candidate")
			term, _ := e.Field("term")
			if granted != "true" || prevote == "true" {
				continue
			}
			if f, ok := c.statedStaleVote(i); ok {
				if len(out) > 0 {
					more++
				} else {
					out = append(out, f)
				}
				continue
			}
			if lg == nil {
				continue
			}
			j, ok := request[e.Node+"\x00"+cand+"\x00"+term]
			if !ok {
				continue
			}
			req := &c.Test.Events[j]
			ci, ok1 := req.FieldInt("last_index")
			ct, ok2 := req.FieldInt("last_term")
			vt, ok3 := lg.terms[lg.last]
			if !ok1 || !ok2 || !ok3 || ct > vt || ct == vt && ci >= lg.last {
				continue
			}
			if len(out) > 0 {
				more++
				continue
			}
			f := Finding{Anomaly: staleVote(e.Node, term, cand, ci, ct, lg.last, vt), Certainty: Inferred}
			f.Chain = []Step{c.step(j), c.step(i)}
			if k := c.leaderOf(cand, term, i); k >= 0 {
				f.Chain = append(f.Chain, c.step(k)) // what the vote did
			}
			f.Chain = c.withSends(f.Chain)
			f.At = c.step(i)
			f.at = e.Time
			out = append(out, f)
		}
	}
	if more > 0 {
		out[0].Anomaly += fmt.Sprintf(" (and %d more such votes)", more)
	}
	return out
}

// applyOrder: each node applies its log's entries once each, in index order; after a
// restart it may apply them again from its snapshot, and a snapshot installed moves it on. An
// apply of an index at or below the last one the node applied, with neither between, is an
// entry applied twice or out of order. (A gap is not one: many logs apply no-op and
// configuration entries without saying so.)
func applyOrder(c *Case) []Finding {
	last := map[string]int{} // node -> its last apply event
	var out []Finding
	more := 0
	for i := range c.Test.Events {
		e := &c.Test.Events[i]
		switch e.Kind {
		case eventline.KindStart, eventline.KindRestart, eventline.KindCrash, eventline.KindStop:
			delete(last, e.Node)
		case eventline.KindSnapshot:
			if action, _ := e.Field("action"); action == "installed" {
				delete(last, e.Node)
			}
		case eventline.KindApply:
			idx, ok := e.FieldInt("index")
			if !ok {
				continue
			}
			j, seen := last[e.Node]
			last[e.Node] = i
			if !seen {
				continue
			}
			prev, _ := c.Test.Events[j].FieldInt("index")
			if idx > prev {
				continue
			}
			if len(out) > 0 {
				more++
				continue
			}
			what := "again"
			if idx < prev {
				what = "out of order"
			}
			out = append(out, Finding{Certainty: Stated, at: e.Time, Chain: []Step{c.step(j), c.step(i)}, At: c.step(i),
				Anomaly: fmt.Sprintf("node %s applied index %d after index %d, with no restart or snapshot between: an entry applied %s", e.Node, idx, prev, what)})
		}
	}
	if more > 0 {
		out[0].Anomaly += fmt.Sprintf(" (and %d more such applies)", more)
	}
	return out
}

// slowHeartbeats: a leader must reach each follower more often than the follower's election
// timeout, or the follower campaigns and the cluster loses its leader for nothing. A
// follower's election timer that fires (or its becoming a candidate on a timeout) while the
// leader of its term still leads, and no fault touches either (a crash, a restart, a
// disconnection, a partition, a message dropped between them), with no message sent by the
// leader to it for longer than its stated election timeout, is such a case: the heartbeats are
// too slow, or the leader's sending is blocked. The timeout must be stated (timer events'
// timeout=): without it nothing is said.
func slowHeartbeats(c *Case) []Finding {
	type lead struct {
		node, term string
		at         int // the event where it became leader
	}
	var leader *lead
	lastSend := map[string]int{} // follower -> the leader's last send to it
	timeout := map[string]int64{}
	lastFault := -1 // the last fault event, anywhere: a partition or a drop may touch anyone
	var out []Finding
	more := 0
	for i := range c.Test.Events {
		e := &c.Test.Events[i]
		term, _ := e.Field("term")
		state, _ := e.Field("state")
		switch {
		case isFault(e.Kind) || e.Kind == eventline.KindRestart || e.Kind == eventline.KindStart ||
			e.Kind == eventline.KindReconnect || e.Kind == eventline.KindHeal || e.Kind == eventline.KindDrop:
			lastFault = i
			if leader != nil && e.Node == leader.node && e.Kind != eventline.KindDrop {
				leader = nil
			}
		case e.Kind == eventline.KindState && state == "leader":
			leader = &lead{e.Node, term, i}
			clear(lastSend)
		case e.Kind == eventline.KindState && leader != nil && e.Node == leader.node:
			leader = nil // it stepped down
		case e.Kind == eventline.KindSend && leader != nil && e.Node == leader.node:
			if to, ok := e.Field("to"); ok {
				lastSend[to] = i
			}
		}
		if e.Kind == eventline.KindTimer {
			if d, ok := e.Field("timeout"); ok {
				if tm, _ := e.Field("timer"); tm == "election" {
					if dur, err := time.ParseDuration(d); err == nil {
						timeout[e.Node] = int64(dur)
					}
				}
			}
		}
		if leader == nil || e.Node == leader.node || term != leader.term {
			continue
		}
		tm, _ := e.Field("timer")
		action, _ := e.Field("action")
		reason, _ := e.Field("reason")
		fired := e.Kind == eventline.KindTimer && tm == "election" && action == "fire" ||
			e.Kind == eventline.KindState && (state == "candidate" || state == "precandidate") && reason == "timeout"
		to, known := timeout[e.Node]
		if !fired || !known {
			continue
		}
		from, ok := lastSend[e.Node]
		if !ok {
			from = leader.at
		}
		if lastFault > from || e.Time-c.Test.Events[from].Time <= to {
			continue
		}
		if len(out) > 0 {
			more++
			continue
		}
		gap := e.Time - c.Test.Events[from].Time
		f := Finding{
			Anomaly: fmt.Sprintf("node %s's election timer fired while %s led term %s, up and not cut off, but had sent it nothing for %s, longer than its election timeout (%s): heartbeats slower than the election timeout, or the leader's sending blocked",
				e.Node, leader.node, leader.term, secs(gap), time.Duration(to)),
			Certainty: Inferred,
			Chain:     []Step{c.step(leader.at)},
			At:        c.step(i),
			at:        e.Time,
		}
		if ok {
			f.Chain = append(f.Chain, c.step(from))
		}
		f.Chain = append(f.Chain, c.step(i))
		out = append(out, f)
	}
	if more > 0 {
		out[0].Anomaly += fmt.Sprintf(" (and %d more such timeouts)", more)
	}
	return out
}

// staleVote says that voter granted its vote to cand, whose last entry (ci, ct) is behind its
// own (vi, vt).
func staleVote(voter, term, cand string, ci, ct, vi, vt int64) string {
	return fmt.Sprintf("node %s granted its vote in term %s to %s, whose log ends at index %d of term %d, behind its own (index %d of term %d): a vote without checking that the candidate's log is up to date",
		voter, term, cand, ci, ct, vi, vt)
}

// statedStaleVote is a stale vote whose event states both logs' last entries (etcd-io/raft's
// "2 [logterm: 2, index: 1, vote: 0] cast MsgVote for 1 [logterm: 1, index: 1] at term 2").
func (c *Case) statedStaleVote(i int) (Finding, bool) {
	e := &c.Test.Events[i]
	vi, ok1 := e.FieldInt("last_index")
	vt, ok2 := e.FieldInt("last_term")
	ci, ok3 := e.FieldInt("candidate_last_index")
	ct, ok4 := e.FieldInt("candidate_last_term")
	if !ok1 || !ok2 || !ok3 || !ok4 || ct > vt || ct == vt && ci >= vi {
		return Finding{}, false
	}
	cand, _ := e.Field("candidate")
	term, _ := e.Field("term")
	f := Finding{
		Anomaly:   staleVote(e.Node, term, cand, ci, ct, vi, vt),
		Certainty: Stated,
		Chain:     []Step{c.step(i)},
		At:        c.step(i),
		at:        e.Time,
	}
	if k := c.leaderOf(cand, term, i); k >= 0 {
		f.Chain = append(f.Chain, c.step(k))
	}
	return f, true
}

// leaderOf is the event after event from in which node becomes leader of term, or -1.
func (c *Case) leaderOf(node, term string, from int) int {
	for k := from + 1; k < len(c.Test.Events); k++ {
		e := &c.Test.Events[k]
		if e.Node != node || e.Kind != eventline.KindState {
			continue
		}
		if st, _ := e.Field("state"); st == "leader" {
			if t, _ := e.Field("term"); t == term {
				return k
			}
		}
	}
	return -1
}

// doubleVotes: Raft lets a node vote once per term (Figure 2); one that grants its vote to two
// candidates in one term can elect two leaders. The log states both grants; what the node did
// in between (a restart: its vote was not on disk) is shown with them.
func doubleVotes(c *Case) []Finding {
	type key struct {
		node, term string
	}
	first := map[key]int{} // the node's first grant in the term
	reported := map[key]bool{}
	var out []Finding
	for i := range c.Test.Events {
		e := &c.Test.Events[i]
		if e.Kind == eventline.KindStart && freshStart(e) {
			// A node with nothing on disk: a new cluster of the test (a table of cases), whose
			// votes have nothing to do with the last one's.
			for k := range first {
				if k.node == e.Node {
					delete(first, k)
				}
			}
			continue
		}
		if e.Kind != eventline.KindVote {
			continue
		}
		granted, _ := e.Field("granted")
		prevote, _ := e.Field("prevote")
		term, okTerm := e.Field("term")
		cand, okCand := e.Field("candidate")
		if granted != "true" || prevote == "true" || !okTerm || !okCand {
			continue
		}
		k := key{e.Node, term}
		if had, ok := e.Field("voted_for"); ok && had != cand && had != "" && had != "0" && had != "none" && !reported[k] {
			// The vote's own line says the node had voted already in the term (etcd-io/raft's
			// "[logterm: 0, index: 0, vote: 3] cast MsgVote for 1 ... at term 2").
			reported[k] = true
			out = append(out, Finding{Certainty: Stated, at: e.Time, Chain: []Step{c.step(i)}, At: c.step(i),
				Anomaly: fmt.Sprintf("node %s granted its vote in term %s to %s though it had voted for %s in that term", e.Node, term, cand, had)})
			continue
		}
		j, seen := first[k]
		if !seen {
			first[k] = i
			continue
		}
		other, _ := c.Test.Events[j].Field("candidate")
		if other == cand || reported[k] {
			continue
		}
		reported[k] = true
		f := Finding{Certainty: Stated, at: e.Time,
			Anomaly: fmt.Sprintf("node %s granted its vote in term %s twice: to %s, then to %s", e.Node, term, other, cand)}
		f.Chain = append(f.Chain, c.step(j))
		for m := j + 1; m < i; m++ {
			if ev := &c.Test.Events[m]; ev.Node == e.Node && (ev.Kind == eventline.KindStart || ev.Kind == eventline.KindRestart ||
				ev.Kind == eventline.KindCrash || ev.Kind == eventline.KindStop) {
				f.Chain = append(f.Chain, c.step(m))
				f.Anomaly += " (it restarted in between: the first vote was not kept)"
				break
			}
		}
		f.Chain = append(f.Chain, c.step(i))
		f.At = f.Chain[len(f.Chain)-1]
		out = append(out, f)
	}
	return out
}

// panicPlace: a Go panic prints the panicking goroutine first, its frames innermost first; the
// first frame outside Go's own packages (runtime, reflect, testing, sync, ...) is the code that
// panicked. The test's last events before the panic come with it.
func panicPlace(c *Case) []Finding {
	other := c.Test.Other
	for i := range other {
		text := strings.TrimSpace(other[i].Text)
		if other[i].Kind != parse.OtherCrash || !strings.HasPrefix(text, "panic: ") || strings.HasPrefix(text, "panic: test timed out") {
			continue
		}
		fn, file, ok := firstOwnFrame(other[i+1:])
		if !ok {
			return nil
		}
		f := Finding{Certainty: Stated, At: noEvent,
			Anomaly: fmt.Sprintf("the test panicked in %s at %s: %s", fn, file, strings.TrimPrefix(text, "panic: "))}
		// The events just before the panic's line, the last of them its place in the timeline.
		last := -1
		for k := range c.Test.Events {
			if e := &c.Test.Events[k]; e.File == other[i].File && e.Line < other[i].Line {
				last = k
			}
		}
		for k := max(last-4, 0); k <= last && last >= 0; k++ {
			f.Chain = append(f.Chain, c.step(k))
		}
		if last >= 0 {
			f.At, f.at = c.step(last), c.Test.Events[last].Time
		}
		return []Finding{f}
	}
	return nil
}

// goroutine is one goroutine of a Go trace: its state ("running", "sync.Mutex.Lock", "chan
// receive, 2 minutes") and its first frame outside Go's own packages ("" when none).
type goroutine struct {
	state, fn, file string
}

// goroutines reads the goroutines of a trace (the lines after a panic), in order.
func goroutines(lines []parse.OtherLine) []goroutine {
	var out []goroutine
	for k := 0; k < len(lines); k++ {
		text := strings.TrimSpace(lines[k].Text)
		if strings.HasPrefix(text, "goroutine ") && strings.HasSuffix(text, "]:") {
			if open := strings.IndexByte(text, '['); open > 0 {
				out = append(out, goroutine{state: text[open+1 : len(text)-2]})
			}
			continue
		}
		g := len(out) - 1
		if g < 0 || out[g].fn != "" || text == "" || strings.HasPrefix(text, "created by ") || k+1 >= len(lines) {
			continue
		}
		name := text
		if p := strings.LastIndexByte(name, '('); p > 0 && strings.HasSuffix(name, ")") {
			name = name[:p] // the arguments
		}
		where := strings.TrimSpace(lines[k+1].Text)
		k++ // the frame's file line
		if goOwn(name) {
			continue
		}
		if sp := strings.IndexByte(where, ' '); sp > 0 {
			where = where[:sp] // "+0x5a5"
		}
		out[g].fn, out[g].file = name, path.Base(where)
	}
	return out
}

// firstOwnFrame is the first goroutine's first frame outside Go's own packages: the code that
// panicked.
func firstOwnFrame(lines []parse.OtherLine) (fn, file string, ok bool) {
	gs := goroutines(lines)
	if len(gs) == 0 || gs[0].fn == "" {
		return "", "", false
	}
	return gs[0].fn, gs[0].file, true
}

// waitingForLocks: a test that times out with goroutines of the code under test waiting for a
// lock (sync.Mutex.Lock, RWMutex, a semaphore) hung on a lock that was taken and never given
// back, as a rule. Where they wait, by the number waiting there, is the finding; the dump does
// not say who holds the lock.
func waitingForLocks(c *Case) []Finding {
	other := c.Test.Other
	for i := range other {
		text := strings.TrimSpace(other[i].Text)
		if other[i].Kind != parse.OtherCrash || !strings.HasPrefix(text, "panic: test timed out") {
			continue
		}
		count := map[string]int{}
		var places []string
		waiting := 0
		for _, g := range goroutines(other[i+1:]) {
			state, _, _ := strings.Cut(g.state, ",")
			if g.fn == "" || !strings.Contains(state, "Lock") && !strings.Contains(state, "semacquire") {
				continue
			}
			waiting++
			place := g.fn + " at " + g.file
			if count[place] == 0 {
				places = append(places, place)
			}
			count[place]++
		}
		if waiting == 0 {
			return nil
		}
		slices.SortStableFunc(places, func(a, b string) int { return count[b] - count[a] })
		var where []string
		for k, p := range places {
			if k == 3 {
				where = append(where, plural(len(places)-3, "more place"))
				break
			}
			where = append(where, fmt.Sprintf("%d in %s", count[p], p))
		}
		f := Finding{Certainty: Inferred, At: noEvent,
			Anomaly: fmt.Sprintf("the test timed out with %s of the code under test waiting for a lock (%s): a lock taken and never released, as a rule (a deadlock)",
				plural(waiting, "goroutine"), strings.Join(where, ", "))}
		// Each node's last event: where each stopped.
		f.Chain = c.lastEvents(1)
		if len(f.Chain) > 0 {
			f.At = f.Chain[len(f.Chain)-1]
			f.at = c.Test.Events[f.At.Event].Time
		}
		return []Finding{f}
	}
	return nil
}

// goOwn reports whether a function is of Go's own packages (the standard library's first path
// elements, and the runtime's panic), not of the code under test.
func goOwn(fn string) bool {
	first, _, _ := strings.Cut(fn, "/")
	first, _, _ = strings.Cut(first, ".")
	return stdRoots[first]
}

// stdRoots are the first elements of the standard library's import paths.
var stdRoots = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range strings.Fields(`archive bufio builtin bytes cmp compress container context crypto database
		debug embed encoding errors expvar flag fmt go hash html image index internal io iter log maps
		math mime net os panic path plugin reflect regexp runtime slices sort strconv strings structs
		sync syscall testing text time unicode unique unsafe weak`) {
		m[r] = true
	}
	return m
}()

// freshStart reports whether a start event is of a node with nothing on disk (term 0).
func freshStart(e *parse.Event) bool {
	for _, k := range []string{"term", "init_term"} {
		if v, ok := e.Field(k); ok {
			return v == "0"
		}
	}
	return false
}

// leaderless: a run of two or more consecutive terms (of one cluster instance and group) that
// elected no leader is a cluster that cannot make progress: split votes, a candidate that
// cannot win, a partition. The chain is the campaigns and votes of those terms.
func leaderless(c *Case) []Finding {
	var out []Finding
	terms := c.Report.Terms
	for i := 0; i < len(terms); {
		j := i
		// Term 0 is where every node starts: no election is expected in it.
		for j < len(terms) && terms[j].Term > 0 && terms[j].Leader == "" && terms[j].Instance == terms[i].Instance && terms[j].Group == terms[i].Group {
			j++
		}
		if j-i >= 2 {
			out = append(out, c.leaderlessRun(terms[i:j]))
		}
		i = max(j, i+1)
	}
	return out
}

func (c *Case) leaderlessRun(run []analyze.Term) Finding {
	lo, hi := run[0].Term, run[len(run)-1].Term
	most := 0
	for _, t := range run {
		most = max(most, t.Candidates)
	}
	f := Finding{Certainty: Stated,
		Anomaly: fmt.Sprintf("terms %d-%d elected no leader (%d terms in a row, at most %s in one)", lo, hi, len(run), plural(most, "candidate"))}
	if run[0].Group != "" {
		f.Anomaly += " in group " + run[0].Group
	}
	for i := range c.Test.Events {
		e := &c.Test.Events[i]
		term, ok := e.FieldInt("term")
		if !ok || uint64(term) < lo || uint64(term) > hi {
			continue
		}
		state, _ := e.Field("state")
		campaign := e.Kind == eventline.KindState && (state == "candidate" || state == "precandidate")
		if campaign || e.Kind == eventline.KindVote {
			f.Chain = append(f.Chain, c.step(i))
		}
	}
	if len(f.Chain) == 0 {
		f.Certainty = Inferred // the terms are known, the campaigns are not in the log
		return f
	}
	f.At = f.Chain[0]
	f.at = c.Test.Events[f.At.Event].Time
	return f
}

// silentShare is how much of the test's span a server must be silent for at its end to be
// found silent.
const silentShare = 0.3

// silent: a server that prints nothing for the last part of the test while the others go on,
// and of which no crash, stop or disconnection is stated, has crashed, hung or deadlocked
// without a word (a goroutine blocked on a lock is the usual cause in a lab's Raft).
func silent(c *Case) []Finding {
	if !c.failed {
		return nil // a test that passed stopped its servers as it meant to
	}
	ev := c.Test.Events
	var first, end int64
	timed := false
	for i := range ev {
		if ev[i].Flags&parse.FlagTime == 0 {
			continue
		}
		if !timed {
			first, timed = ev[i].Time, true
		}
		end = max(end, ev[i].Time)
	}
	span := end - first
	if !timed || span <= 0 {
		return nil
	}
	var out []Finding
	for _, node := range c.servers() {
		last, count, faulted := -1, 0, false
		for i := range ev {
			e := &ev[i]
			if fault := isFault(e.Kind); fault && (e.Node == node || faultNames(e, node)) {
				faulted = true
			}
			if e.Node == node {
				last, count = i, count+1
			}
		}
		if last < 0 || count < 3 || faulted || ev[last].Flags&parse.FlagTime == 0 {
			continue
		}
		gap := end - ev[last].Time
		if float64(gap) < silentShare*float64(span) {
			continue
		}
		f := Finding{Certainty: Inferred, at: ev[last].Time,
			Anomaly: fmt.Sprintf("node %s prints nothing for the last %.0f%% of the test (%s), and no crash or disconnection of it is stated: it hung, deadlocked or died silently",
				node, 100*float64(gap)/float64(span), secs(gap))}
		for i := max(0, last-200); i <= last; i++ {
			if ev[i].Node == node {
				f.Chain = append(f.Chain, c.step(i))
			}
		}
		if len(f.Chain) > 3 {
			f.Chain = f.Chain[len(f.Chain)-3:]
		}
		f.At = f.Chain[len(f.Chain)-1]
		out = append(out, f)
	}
	return out
}

// isFault reports whether an event kind is a stated fault or stop.
func isFault(kind string) bool {
	switch kind {
	case eventline.KindCrash, eventline.KindStop, eventline.KindDisconnect, eventline.KindPartition:
		return true
	}
	return false
}

// faultNames reports whether a fault event (of the harness, say) names node.
func faultNames(e *parse.Event, node string) bool {
	for _, k := range []string{"peer", "node", "to", "nodes", "group"} {
		if v, ok := e.Field(k); ok && slices.Contains(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '|' || r == ' ' }), node) {
			return true
		}
	}
	return false
}

// secs renders nanoseconds as seconds.
func secs(ns int64) string { return fmt.Sprintf("%.3fs", float64(ns)/1e9) }

// plural is "1 candidate", "3 candidates".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// stuckAfter is how long a leader must lead on after a proposal it never commits for the
// proposal to be found stuck.
const stuckAfter = int64(1e9)

// stuck: in a failing test, a leader that proposes an entry and, leading on for stuckAfter or
// more, never commits it, cannot reach a majority: its followers refuse its AppendEntries (a
// log that disagrees and a back-off that does not find where), or do not answer. The chain is
// the proposal and the refusals the leader received.
func stuck(c *Case) []Finding {
	if !c.failed {
		return nil
	}
	ev := c.Test.Events
	type lead struct {
		node      string
		term      int64
		from, end int // events: where it began leading, and the first after it (len: the end)
		commit    int64
	}
	var leads []*lead
	current := map[string]*lead{} // node -> its leadership now, if any
	end := func(l *lead, at int) {
		if l.end == 0 {
			l.end = at
		}
	}
	for i := range ev {
		e := &ev[i]
		term, hasTerm := e.FieldInt("term")
		if l := current[e.Node]; l != nil && hasTerm && term != l.term {
			end(l, i) // a new term: it leads no more
			delete(current, e.Node)
		}
		switch state, _ := e.Field("state"); {
		case e.Kind == eventline.KindState && state == "leader" && hasTerm:
			if current[e.Node] == nil {
				l := &lead{node: e.Node, term: term, from: i}
				leads, current[e.Node] = append(leads, l), l
			}
		case e.Kind == eventline.KindState || isFault(e.Kind) && e.Node != eventline.ClusterNode:
			if l := current[e.Node]; l != nil {
				end(l, i)
				delete(current, e.Node)
			}
		}
	}
	for _, l := range current {
		end(l, len(ev))
	}
	var out []Finding
	for _, l := range leads {
		commit := int64(0)
		var proposed = -1 // the first proposal not committed yet
		for i := l.from; i < l.end; i++ {
			e := &ev[i]
			if e.Node != l.node {
				continue
			}
			switch e.Kind {
			case eventline.KindCommit:
				if v, ok := e.FieldInt("commit"); ok {
					commit = max(commit, v)
				}
				if proposed >= 0 {
					if idx, _ := ev[proposed].FieldInt("index"); commit >= idx {
						proposed = -1
					}
				}
			case eventline.KindPropose:
				if idx, ok := e.FieldInt("index"); ok && idx > commit && proposed < 0 {
					proposed = i
				}
			}
		}
		if proposed < 0 {
			continue
		}
		last := ev[l.end-1].Time
		if l.end < len(ev) {
			last = ev[l.end].Time
		}
		if last-ev[proposed].Time < stuckAfter {
			continue
		}
		idx, _ := ev[proposed].FieldInt("index")
		f := Finding{Certainty: Inferred, at: ev[proposed].Time}
		f.Chain = append(f.Chain, c.step(proposed))
		refusers := map[string]int{}
		for i := proposed + 1; i < l.end; i++ {
			e := &ev[i]
			typ, _ := e.Field("type")
			success, _ := e.Field("success")
			if e.Node == l.node && e.Kind == eventline.KindRecv && typ == "AppendEntriesReply" && success == "false" {
				from, _ := e.Field("from")
				refusers[from]++
				if len(f.Chain) < maxChain {
					f.Chain = append(f.Chain, c.step(i))
				}
			}
		}
		f.At = f.Chain[0]
		f.Anomaly = fmt.Sprintf("leader %s of term %d proposed index %d and, leading on for %s, never committed it", l.node, l.term, idx, secs(last-ev[proposed].Time))
		if len(refusers) == 0 {
			f.Anomaly += ": no follower's refusal is in the log (they did not answer, or the log does not say)"
		} else {
			var who []string
			for _, n := range slices.Sorted(maps.Keys(refusers)) {
				who = append(who, fmt.Sprintf("%s (%d)", n, refusers[n]))
			}
			f.Anomaly += ": refused AppendEntries from " + strings.Join(who, ", ")
		}
		out = append(out, f)
	}
	return out
}

// lagBehind is how many entries a server's commit index must end behind the cluster's to be
// found lagging.
const lagBehind = 10

// lagging: in a failing test, a server whose last commit index ends lagBehind or more entries
// behind the highest any server reached, though it prints on until the last part of the test
// and no fault of it is stated, never caught up: its log disagrees and the leader's back-off
// does not find where, or it misses the leader's commit index. The chain is its last commit and
// the highest.
func lagging(c *Case) []Finding {
	if !c.failed {
		return nil
	}
	ev := c.Test.Events
	lastCommit := map[string]int{} // server -> its last commit event
	lastSeen := map[string]int{}
	faulted := map[string]bool{}
	top, topAt := int64(-1), -1
	for i := range ev {
		e := &ev[i]
		lastSeen[e.Node] = i
		if isFault(e.Kind) {
			faulted[e.Node] = true
			for _, n := range c.servers() {
				if faultNames(e, n) {
					faulted[n] = true
				}
			}
		}
		if e.Kind != eventline.KindCommit {
			continue
		}
		v, ok := e.FieldInt("commit")
		if !ok {
			continue
		}
		lastCommit[e.Node] = i
		if v > top {
			top, topAt = v, i
		}
	}
	if topAt < 0 {
		return nil
	}
	var out []Finding
	for _, n := range c.servers() {
		i, ok := lastCommit[n]
		if !ok || faulted[n] || lastSeen[n] < len(ev)*9/10 {
			continue // never committed (a rule of its own), faulted, or silent at the end
		}
		v, _ := ev[i].FieldInt("commit")
		if top-v < lagBehind {
			continue
		}
		f := Finding{Certainty: Inferred, at: ev[i].Time,
			Anomaly: fmt.Sprintf("node %s's commit index ends at %d while %s's reaches %d, though %s runs on and no fault of it is stated: it never caught up",
				n, v, ev[topAt].Node, top, n)}
		f.Chain = []Step{c.step(i), c.step(topAt)}
		if topAt < i {
			f.Chain[0], f.Chain[1] = f.Chain[1], f.Chain[0]
		}
		f.At = c.step(i)
		out = append(out, f)
	}
	return out
}
