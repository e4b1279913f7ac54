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
}

// Check statuses.
const (
	Passed     = "passed"
	Violated   = "violated"
	NotChecked = "not_checked"
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

type sentReq struct {
	at  int64
	ref int
}

// nodeState is what the analysis tracks per node while walking the events.
type nodeState struct {
	termKnown               bool // false until the node states a term (again, after a fresh instance)
	term, commit, lastIndex uint64
	termEv, commitEv        int
	role                    string
	lastHB                  int64  // last AppendEntries received from a leader (0: none yet)
	leading                 uint64 // the term this node leads (0: none)
	server                  bool   // the node wrote more than client events
	hbLeader                string
	stats                   NodeStats
	// active: the node wrote an event since it last started; down: its last word was a crash
	// or stop; restarted: a restart event came before its start. A start of an active node
	// that is not down is a process that died without a word (kill -9) and came back: merged
	// per-node logs of separate processes show only that.
	active, down, restarted bool
}

// Test analyses one test.
func Test(t *parse.Test, opts Options) Report {
	if opts.SlowRPC <= 0 {
		opts.SlowRPC = 100 * time.Millisecond
	}
	r := Report{Test: t.Name, Status: t.Status.String(), Events: len(t.Events), Violations: []Violation{}}
	if t.Attempt > 1 {
		r.Test += "#" + strconv.Itoa(t.Attempt)
	}
	for _, o := range t.Output() {
		r.Output = append(r.Output, o.Text)
	}
	ev := t.Events
	var start int64
	if len(ev) > 0 {
		start = ev[0].Time
	}
	instances := map[string]int{} // fresh instances of each node id so far
	ref := func(i int) Ref {
		e := &ev[i]
		return Ref{Time: e.FormatTime(start, false), Node: e.Node, Line: e.Line, File: e.File, Msg: e.Msg}
	}
	violate := func(check, detail string, idx ...int) {
		v := Violation{Check: check, Detail: detail}
		for _, i := range idx {
			if i >= 0 {
				v.Events = append(v.Events, ref(i))
				if ev[i].Flags&parse.FlagAmbiguous != 0 && !v.Warning {
					v.Warning = true
					v.Reason = fmt.Sprintf("line %d was printed while other tests ran in parallel; it may belong to another test", ev[i].Line)
				}
				if k := instances[ev[i].Node]; k > 1 && !v.Warning {
					// etcd-io/raft's table tests create many instances with the same id up
					// front and run them one after another without a line saying which.
					v.Warning = true
					v.Reason = fmt.Sprintf("the test created %d instances of node %s; the log does not say which one printed line %d",
						k, ev[i].Node, ev[i].Line)
				}
			}
		}
		r.Violations = append(r.Violations, v)
	}
	// What the log states, per check: a check runs only on the facts it needs.
	var seen struct {
		leaders, leadersWithTerm, terms, truncates, roles, applies, commits, lastIndex int
	}

	nodes := map[string]*nodeState{}
	node := func(id string) *nodeState {
		n, ok := nodes[id]
		if !ok {
			n = &nodeState{termEv: -1, commitEv: -1, stats: NodeStats{Node: id}}
			nodes[id] = n
		}
		return n
	}
	type termInfo struct {
		leader                       string
		leaderEv, firstEv, firstCand int
		endAt                        int64 // when the leader stopped leading (0: it led to the end)
		candidates                   map[string]bool
		votes                        int
		wonAt                        int
	}
	// Terms are kept per instance of the cluster: a fresh instance of a node already seen
	// (etcd-io/raft's table tests build many clusters with the same ids in one test) starts a new
	// one, so that term 1 of one cluster is not compared with term 1 of the next.
	terms := map[uint64]*termInfo{}
	var epochs []map[uint64]*termInfo
	inEpoch := map[string]bool{}
	termOf := func(t uint64, i int) *termInfo {
		ti, ok := terms[t]
		if !ok {
			ti = &termInfo{leaderEv: -1, firstEv: i, firstCand: -1, wonAt: -1, candidates: map[string]bool{}}
			terms[t] = ti
		}
		return ti
	}
	type applied struct {
		term uint64
		cmd  string
		ev   int
	}
	applies := map[uint64]applied{}
	var maxCommitted uint64
	maxCommittedEv := -1
	type proposal struct {
		at   int64
		term uint64
	}
	proposed := map[uint64]proposal{} // index -> when the leader proposed it, in which term
	var commitLat, applyLat []time.Duration
	leaderCommit := map[string]uint64{} // leader node -> commit index already measured
	rpcs := map[rpcKey]*RPCStats{}
	rtts := map[rpcKey][]time.Duration{}
	inflight := map[string]sentReq{} // rpc id + type -> request send
	type slowRef struct {
		d   time.Duration
		ref int
	}
	var slow []slowRef

	for i := range ev {
		e := &ev[i]
		if e.Node == eventline.ClusterNode {
			continue
		}
		n := node(e.Node)
		if e.Kind != eventline.KindInvoke && e.Kind != eventline.KindReturn {
			n.server = true
		}
		if e.FreshInstance() {
			instances[e.Node]++
			if inEpoch[e.Node] {
				epochs = append(epochs, terms)
				terms = map[uint64]*termInfo{}
				clear(inEpoch)
				for _, o := range nodes {
					o.leading = 0
				}
			}
			inEpoch[e.Node] = true
			n.termKnown, n.term, n.termEv, n.role, n.leading = false, 0, -1, "", 0
			n.commit, n.commitEv, n.lastIndex = 0, -1, 0
			continue
		}
		inEpoch[e.Node] = true
		if term, ok := e.Term(); ok {
			seen.terms++
			if n.termKnown && term < n.term {
				violate(CheckTermMonotonic, fmt.Sprintf("node %s went from term %d back to %d", e.Node, n.term, term), n.termEv, i)
			}
			if !n.termKnown || term > n.term {
				if n.termKnown {
					n.stats.TermChanges++
				}
				n.term, n.termEv, n.termKnown = term, i, true
			} else if term == n.term {
				n.termEv = i
			}
			termOf(term, i)
		}
		if n.leading != 0 {
			// Leadership ends with a new term, another role, or a crash.
			t, _ := e.Term()
			st, hasState := e.Field("state")
			if t > n.leading || (hasState && st != "leader") || e.FaultKind() == eventline.KindCrash {
				if ti := terms[n.leading]; ti != nil && ti.endAt == 0 {
					ti.endAt = e.Time
				}
				n.leading = 0
			}
		}
		if st, ok := e.Field("state"); ok {
			n.role = st
			seen.roles++
		}
		campaign := e.BecameCandidate()
		if e.Kind == eventline.KindTerm {
			reason, _ := e.Field("reason")
			campaign = campaign || reason == "campaign"
		}
		if campaign {
			if term, ok := e.Term(); ok {
				ti := termOf(term, i)
				ti.candidates[e.Node] = true
				if ti.firstCand < 0 {
					ti.firstCand = i
				}
			}
		}
		if e.BecameLeader() {
			seen.leaders++
			term, ok := e.Term()
			if !ok {
				if !n.termKnown {
					continue // a leader of an unknown term proves nothing
				}
				term = n.term
			}
			seen.leadersWithTerm++
			ti := termOf(term, i)
			switch {
			case ti.leader == "":
				ti.leader, ti.leaderEv, ti.wonAt = e.Node, i, i
				n.leading = term
				if v, ok := e.FieldInt("votes"); ok {
					ti.votes = int(v)
				}
			case ti.leader != e.Node:
				violate(CheckOneLeader, fmt.Sprintf("term %d has two leaders: %s and %s", term, ti.leader, e.Node), ti.leaderEv, i)
			}
			if seen.lastIndex > 0 && n.lastIndex < maxCommitted {
				violate(CheckLeaderComplete, fmt.Sprintf("node %s became leader of term %d with %d entries, but index %d was committed",
					e.Node, term, n.lastIndex, maxCommitted), maxCommittedEv, i)
			}
		}
		switch e.FaultKind() {
		case eventline.KindCrash:
			n.stats.Crashes++
			n.commit, n.lastHB = 0, 0 // volatile state is lost
		case eventline.KindRestart:
			n.stats.Restarts++
			n.restarted, n.down = true, false
		case eventline.KindStart:
			switch {
			case n.restarted: // counted at its restart event
			case n.down:
				n.stats.Restarts++
			case n.active:
				n.stats.Crashes++
				n.stats.Restarts++
			}
			n.commit, n.lastHB = 0, 0
			n.active, n.down, n.restarted = false, false, false
		}
		switch e.Kind {
		case eventline.KindCrash, eventline.KindStop:
			n.down = true
		case eventline.KindStart, eventline.KindRestart:
		default:
			n.active = true
		}
		if e.Kind == "" {
			continue
		}
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
				seen.lastIndex++
			}
		case eventline.KindSnapshot:
			if a, _ := e.Field("action"); a == "installed" || a == "loaded" {
				if v, ok := e.FieldInt("index"); ok && uint64(v) > n.lastIndex {
					n.lastIndex = uint64(v)
				}
			}
		case eventline.KindTruncate:
			seen.truncates++
			idx, _ := e.FieldInt("index")
			if n.role == "leader" {
				violate(CheckLeaderAppend, fmt.Sprintf("leader %s deleted its entries from index %d", e.Node, idx), i)
			}
			if idx > 0 {
				n.lastIndex = uint64(idx) - 1
			}
		case eventline.KindPropose:
			if v, ok := e.FieldInt("index"); ok {
				term, _ := e.Term()
				proposed[uint64(v)] = proposal{e.Time, term}
			}
		case eventline.KindCommit:
			c, ok := e.FieldInt("commit")
			if !ok {
				break
			}
			seen.commits++
			if uint64(c) < n.commit {
				violate(CheckCommitForward, fmt.Sprintf("node %s's commit index went from %d back to %d", e.Node, n.commit, c), n.commitEv, i)
			}
			n.commit, n.commitEv = uint64(c), i
			n.stats.Commits++
			if n.role == "leader" {
				// Only the proposing leader's own commits count: an entry that a later leader
				// commits after a failover measures the failover, not replication.
				term, _ := e.Term()
				for idx := leaderCommit[e.Node] + 1; idx <= uint64(c); idx++ {
					if p, ok := proposed[idx]; ok && p.term == term {
						commitLat = append(commitLat, time.Duration(e.Time-p.at))
					}
				}
				leaderCommit[e.Node] = max(leaderCommit[e.Node], uint64(c))
			}
			if uint64(c) > maxCommitted {
				maxCommitted, maxCommittedEv = uint64(c), i
			}
		case eventline.KindApply:
			idx, ok := e.FieldInt("index")
			if !ok {
				break
			}
			seen.applies++
			et, _ := e.FieldInt("eterm")
			cmd, _ := e.Field("cmd")
			n.stats.Applies++
			n.stats.LastApplied = uint64(idx)
			if prev, ok := applies[uint64(idx)]; ok {
				if prev.term != uint64(et) || prev.cmd != cmd {
					violate(CheckSameApply, fmt.Sprintf("index %d: node %s applied %q (term %d), node %s applied %q (term %d)",
						idx, ev[prev.ev].Node, prev.cmd, prev.term, e.Node, cmd, et), prev.ev, i)
				}
			} else {
				applies[uint64(idx)] = applied{term: uint64(et), cmd: cmd, ev: i}
			}
			if uint64(idx) > maxCommitted {
				maxCommitted, maxCommittedEv = uint64(idx), i
			}
			if n.role == "leader" {
				if p, ok := proposed[uint64(idx)]; ok && p.term == uint64(et) {
					applyLat = append(applyLat, time.Duration(e.Time-p.at))
					delete(proposed, uint64(idx))
				}
			}
		case eventline.KindSend, eventline.KindRecv:
			typ, _ := e.Field("type")
			rpc, _ := e.Field("rpc")
			var k rpcKey
			if e.Kind == eventline.KindSend {
				to, _ := e.Field("to")
				k = rpcKey{typ, e.Node, to}
			} else {
				from, _ := e.Field("from")
				k = rpcKey{typ, from, e.Node}
			}
			s, ok := rpcs[k]
			if !ok {
				s = &RPCStats{Type: typ, From: k.from, To: k.to}
				rpcs[k] = s
			}
			if e.Kind == eventline.KindSend {
				s.Sent++
				if rpc != "" && !isReply(typ) {
					inflight[rpc+" "+typ] = sentReq{at: e.Time, ref: i}
				}
			} else {
				s.Received++
				if rpc != "" && isReply(typ) {
					req := typ[:len(typ)-len("Reply")]
					if sr, ok := inflight[rpc+" "+req]; ok {
						delete(inflight, rpc+" "+req)
						d := time.Duration(e.Time - sr.at)
						rk := rpcKey{req, e.Node, k.from}
						rtts[rk] = append(rtts[rk], d)
						if d > opts.SlowRPC {
							slow = append(slow, slowRef{d, i})
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
		}
	}

	// Terms, in order, with how long each leader led; instance by instance.
	epochs = append(epochs, terms)
	var end int64
	if len(ev) > 0 {
		end = ev[len(ev)-1].Time
	}
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
			out := Term{Term: tn, Leader: ti.leader, Start: ref(ti.firstEv).Time, Votes: ti.votes, Candidates: len(ti.candidates)}
			if len(epochs) > 1 {
				out.Instance = inst + 1
			}
			if ti.leaderEv >= 0 {
				until := end
				if ti.endAt != 0 {
					until = ti.endAt
				}
				out.Led = time.Duration(until - ev[ti.leaderEv].Time).Seconds()
				if ti.firstCand >= 0 {
					out.Election = time.Duration(ev[ti.leaderEv].Time - ev[ti.firstCand].Time).Seconds()
				}
			}
			r.Terms = append(r.Terms, out)
		}
	}
	for _, id := range t.Nodes() {
		if n, ok := nodes[id]; ok && n.server {
			r.Nodes = append(r.Nodes, n.stats)
		}
	}
	r.Commit, r.Apply = summarize(commitLat), summarize(applyLat)
	for k, s := range rpcs {
		s.RoundTrip = summarize(rtts[k])
		for _, d := range rtts[k] {
			if d > opts.SlowRPC {
				s.Slow++
			}
		}
		r.RPCs = append(r.RPCs, *s)
	}
	sort.Slice(r.RPCs, func(a, b int) bool {
		x, y := r.RPCs[a], r.RPCs[b]
		if x.Type != y.Type {
			return x.Type < y.Type
		}
		if x.From != y.From {
			return parse.NodeLess(x.From, y.From)
		}
		return parse.NodeLess(x.To, y.To)
	})
	if opts.LinTimeout <= 0 {
		opts.LinTimeout = 10 * time.Second
	}
	if !opts.NoLinearizability {
		if lin, err := CheckHistory(t, opts.LinTimeout, opts.LinHTML); lin != nil {
			r.Linearizable = lin
			if lin.Result == string(porcupine.Illegal) {
				violate(CheckLinearizable, fmt.Sprintf("no order of the %d client operations explains what the clients saw", lin.Operations))
			}
			if err != nil {
				r.Notes = append(r.Notes, "linearizability visualization: "+err.Error())
			}
		}
	}
	r.Checks = checkResults(&r, checkFacts{
		leaders: seen.leaders, leadersWithTerm: seen.leadersWithTerm, terms: seen.terms, truncates: seen.truncates,
		roles: seen.roles, applies: seen.applies, commits: seen.commits, lastIndex: seen.lastIndex,
		nodes: len(nodes), lin: r.Linearizable != nil, linSkipped: opts.NoLinearizability,
	})
	sort.Slice(slow, func(a, b int) bool { return slow[a].d > slow[b].d })
	for _, s := range slow[:min(len(slow), 5)] {
		rf := ref(s.ref)
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
	lin, linSkipped                                                                       bool
}

// checkResults turns the violations and the facts seen into one result per check.
func checkResults(r *Report, f checkFacts) []CheckResult {
	violated := map[string]bool{}
	for _, v := range r.Violations {
		violated[v.Check] = true
	}
	res := func(name string, ran bool, why, notWhy string) CheckResult {
		switch {
		case violated[name]:
			return CheckResult{Name: name, Status: Violated}
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
	}
	linWhy := "no client operations (invoke/return events) in the log"
	if f.linSkipped {
		linWhy = "not run here"
	}
	out = append(out, res(CheckLinearizable, f.lin && !f.linSkipped, "", linWhy))
	return out
}
