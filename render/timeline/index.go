package timeline

import (
	"regexp"
	"sort"
	"strconv"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/evstore"
	"github.com/raftviz/raftviz/render"
)

// rowKind says what a screen row shows.
type rowKind uint8

const (
	rowEvent rowKind = iota // one event
	rowFold                 // a run of heartbeat events folded into one row
	rowTerm                 // a separator where the term changes
	rowGap                  // blank space standing for time passing (proportional mode)
)

// row is one line of the timeline. It refers to events by index, so that a million rows cost
// a few bytes each and nothing is rendered before it is on screen.
type row struct {
	idx  int32 // the event (first of a fold)
	n    int32 // events in a fold; the gap in microseconds / 1000 for rowGap (ms); the term for rowTerm
	kind rowKind
}

// change records where the cluster's term, leader or faults change; lookups binary-search
// them, so the state at any row costs O(log changes) and memory is proportional to changes.
type change struct {
	idx     int
	term    uint64
	leader  string
	crashed uint64 // bit i: node i (in column order) is down
	discon  uint64 // bit i: node i is disconnected
	part    bool   // the network is partitioned
}

// index is what the timeline derives from a test once: columns and state changes.
type index struct {
	nodes   []string
	col     map[string]int
	changes []change
	kinds   []string // distinct structured kinds, sorted
	// commits are the events of free-text lines where a node's commit index goes up (in
	// order); lastCommit is each node's highest so far. Classic logs say "commit" on every
	// heartbeat (the leader's commit index), so the word alone does not make a commit. They
	// are found on the first commit jump, not when the test opens (commitsScanned: events
	// read so far), so that opening a test costs nothing for them.
	commits        []int32
	lastCommit     map[string]uint64
	commitsScanned int
}

// buildIndex indexes a test's events. Its columns are the nodes that wrote lines and those
// that were sent messages (the arrow view draws to them).
func buildIndex(ev *evstore.Events) *index {
	ix := &index{nodes: render.WithMessagePeers(ev.Nodes(), ev.All()), col: map[string]int{}}
	for i, n := range ix.nodes {
		ix.col[n] = i
	}
	ix.changes = []change{{idx: 0}}
	kinds := map[string]bool{}
	for i := range ev.Len() {
		ix.observe(ev, i, kinds)
	}
	for k := range kinds {
		ix.kinds = append(ix.kinds, k)
	}
	sort.Strings(ix.kinds)
	return ix
}

// newNode reports whether the events from from on (appended to the test) bring a node that
// has no column: one that writes its first line, or is sent its first message.
func (ix *index) newNode(ev *evstore.Events, from int) bool {
	for i := from; i < ev.Len(); i++ {
		event := ev.At(i)
		e := &event
		if _, ok := ix.col[e.Node]; !ok && e.Node != eventline.ClusterNode {
			return true
		}
		if from, to, _, ok := render.MessageEnds(e); ok {
			_, okFrom := ix.col[from]
			_, okTo := ix.col[to]
			if !okFrom || !okTo {
				return true
			}
		}
	}
	return false
}

// observe folds event i into the change list (called for every event, in order; also for
// events appended in follow mode).
func (ix *index) observe(ev *evstore.Events, i int, kinds map[string]bool) {
	event := ev.At(i)
	e := &event
	if kinds != nil && e.Kind != "" {
		kinds[e.Kind] = true
	}
	cur := ix.changes[len(ix.changes)-1]
	next := cur
	next.idx = i
	if term, ok := e.Term(); ok && term > next.term {
		next.term = term
		next.leader = ""
	}
	if e.BecameLeader() {
		if term, ok := e.Term(); !ok || term >= next.term {
			next.leader = e.Node
		}
	}
	bit := uint64(0)
	if c, ok := ix.col[e.Node]; ok && c < 64 {
		bit = 1 << c
	}
	switch e.FaultKind() {
	case eventline.KindCrash, eventline.KindStop:
		next.crashed |= bit
		if next.leader == e.Node {
			next.leader = ""
		}
	case eventline.KindRestart, eventline.KindStart:
		next.crashed &^= bit
	case eventline.KindDisconnect:
		next.discon |= bit
	case eventline.KindReconnect:
		next.discon &^= bit
	case eventline.KindPartition:
		next.part = true
	case eventline.KindHeal:
		next.part = false
	}
	if next.term != cur.term || next.leader != cur.leader || next.crashed != cur.crashed ||
		next.discon != cur.discon || next.part != cur.part {
		if cur.idx == i {
			ix.changes[len(ix.changes)-1] = next
		} else {
			ix.changes = append(ix.changes, next)
		}
	}
}

// at returns the cluster state after event i.
func (ix *index) at(i int) change {
	k := sort.Search(len(ix.changes), func(j int) bool { return ix.changes[j].idx > i })
	if k == 0 {
		return change{}
	}
	return ix.changes[k-1]
}

// isEvent reports whether a row holds events (not a term rule or time passing).
func (r row) isEvent() bool { return r.kind == rowEvent || r.kind == rowFold }

// isFaultOrStop reports the events x and X stop on: faults, and a node stopping (the lane
// shows it down as after a crash; a run that ends stops every node).
func isFaultOrStop(e *parse.Event) bool { return e.IsFault() || e.Kind == eventline.KindStop }

// isHeartbeat reports whether an event is routine heartbeat traffic that folding hides:
// timers, empty AppendEntries and their successful replies.
func isHeartbeat(e *parse.Event) bool {
	switch e.Kind {
	case eventline.KindTimer:
		return true
	case eventline.KindSend, eventline.KindRecv:
		switch typ, _ := e.Field("type"); typ {
		case "AppendEntries":
			n, _ := e.Field("entries")
			return n == "0"
		case "AppendEntriesReply":
			ok, _ := e.Field("success")
			return ok == "true"
		}
		return false
	case "":
		return parse.IndexFold(e.Msg, "heartbeat") >= 0
	}
	return false
}

// isElection reports a step of an election: a node becoming candidate or leader.
func isElection(e *parse.Event) bool {
	if e.Kind == eventline.KindState {
		v, _ := e.Field("state")
		return v == "candidate" || v == "leader" || v == "precandidate"
	}
	return e.Kind == "" && (e.BecameCandidate() || e.BecameLeader())
}

// isCommit reports whether event i advances a commit index: a structured commit event, or a
// free-text line whose commit index is above what its node said before (see observeCommit).
func (ix *index) isCommit(ev *evstore.Events, i int32) bool {
	if kind := ev.Kind(int(i)); kind != "" {
		return kind == eventline.KindCommit
	}
	for ; ix.commitsScanned < ev.Len(); ix.commitsScanned++ {
		if ev.Kind(ix.commitsScanned) == "" {
			e := ev.At(ix.commitsScanned)
			ix.observeCommit(&e, ix.commitsScanned)
		}
	}
	k := sort.Search(len(ix.commits), func(j int) bool { return ix.commits[j] >= i })
	return k < len(ix.commits) && ix.commits[k] == i
}

// commitNumber reads the commit index a free-text message states: the first number after a
// word starting with "commit" ("commitIndex=5", "commit index is 5", "committed to 5", "leaderCommit
// 5"), optionally after "=", ":", "to", "is" or "up to". found says whether the message talks
// of a commit at all.
var commitNumber = regexp.MustCompile(`(?i)commit[a-z_]*(?:\s+index)?\s*(?:[=:]|\bup to\b|\bto\b|\bis\b)?\s*(\d+)`)

// observeCommit records event i when its message states a commit index above its node's
// last one; a message that speaks of a commit without a number counts unless it is heartbeat
// traffic.
func (ix *index) observeCommit(e *parse.Event, i int) {
	if parse.IndexFold(e.Msg, "commit") < 0 {
		return
	}
	m := commitNumber.FindStringSubmatch(e.Msg)
	if m == nil {
		if !isHeartbeat(e) {
			ix.commits = append(ix.commits, int32(i))
		}
		return
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return
	}
	if ix.lastCommit == nil {
		ix.lastCommit = map[string]uint64{}
	}
	if last, seen := ix.lastCommit[e.Node]; !seen || n > last {
		ix.lastCommit[e.Node] = n
		if n > 0 {
			ix.commits = append(ix.commits, int32(i))
		}
	}
}
