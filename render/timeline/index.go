package timeline

import (
	"context"
	"maps"
	"regexp"
	"slices"
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
	crashed uint64 // a node's bit (index.bit): it is down
	discon  uint64 // a node's bit: it is disconnected
	part    bool   // the network is partitioned
}

// index is what the timeline derives from a test's events, event by event as they come:
// columns and state changes.
type index struct {
	nodes []string       // the columns, in natural order
	col   map[string]int // a node's column
	// bit is a node's bit in change.crashed and discon: nodes are numbered as they appear, so
	// that a column added later changes no change already recorded (the first 64 have one).
	bit     map[string]uint64
	changes []change
	kinds   []string // distinct structured kinds, sorted
	// group is the Raft group whose terms, leaders and roles the index follows ("": every
	// event, a log of one group); groups are those the events name, in order of appearance.
	group   string
	groups  []string
	inGroup map[string]bool
	// lives follows each node's process; silent holds the last events of nodes that wrote
	// nothing more until they started again (killed without a word, as kill -9 does): the
	// crash no line states happened after them.
	lives  parse.Lives
	silent map[int]string
	// observed is the number of events folded in.
	observed int
	// commits are the free-text lines where a node's commit index goes up, read on the
	// first commit jump, not when the test opens, so that opening a test costs nothing for
	// them.
	commits commitScan
}

// commitScan finds the free-text lines where a node's commit index goes up: events holds
// them (in order), last is each node's highest so far, and read is how many events were read.
// Classic logs say "commit" on every heartbeat (the leader's commit index), so the word alone
// does not make a commit.
type commitScan struct {
	events []int32
	last   map[string]uint64
	read   int
}

// clone returns a copy that reads on without changing s.
func (s *commitScan) clone() commitScan {
	return commitScan{events: s.events[:len(s.events):len(s.events)], last: maps.Clone(s.last), read: s.read}
}

// readTo reads the free-text events of ev up to to (stopping early, with false, when ctx
// ends; ctx may be nil).
func (s *commitScan) readTo(ctx context.Context, ev *evstore.Events, to int) bool {
	for ; s.read < to; s.read++ {
		if s.read%4096 == 0 && ctx != nil && ctx.Err() != nil {
			return false
		}
		if ev.Kind(s.read) == "" {
			e := ev.At(s.read)
			s.observe(&e, s.read)
		}
	}
	return true
}

// newIndex returns an index of no events that follows Raft group group ("": all events).
func newIndex(group string) *index {
	return &index{col: map[string]int{}, bit: map[string]uint64{}, changes: []change{{idx: 0}},
		group: group, inGroup: map[string]bool{}, silent: map[int]string{}}
}

// buildIndex indexes a test's events.
func buildIndex(ev *evstore.Events) *index {
	ix := newIndex("")
	ix.observeTo(ev, ev.Len())
	return ix
}

// observeTo folds in the events up to to.
func (ix *index) observeTo(ev *evstore.Events, to int) {
	for ; ix.observed < to; ix.observed++ {
		ix.observe(ev, ix.observed)
	}
}

// addNode gives node n a column, in natural order among the others, unless it has one.
func (ix *index) addNode(n string) {
	if _, ok := ix.col[n]; ok || n == eventline.ClusterNode || n == "" {
		return
	}
	at, _ := slices.BinarySearchFunc(ix.nodes, n, func(a, b string) int {
		if parse.NodeLess(a, b) {
			return -1
		}
		return 1
	})
	ix.nodes = slices.Insert(ix.nodes, at, n)
	for c := at; c < len(ix.nodes); c++ {
		ix.col[ix.nodes[c]] = c
	}
	if len(ix.bit) < 64 {
		ix.bit[n] = 1 << len(ix.bit)
	}
}

// observe folds event i into the index: its node and the nodes it sends to get columns (the
// arrow view draws to them), its kind is listed, and the term, leader and faults it changes
// go into the change list. It is called for every event, in order.
func (ix *index) observe(ev *evstore.Events, i int) {
	event := ev.At(i)
	e := &event
	ix.addNode(e.Node)
	if from, to, _, ok := render.MessageEnds(e); ok {
		ix.addNode(from)
		ix.addNode(to)
	}
	if e.Kind != "" {
		if at, found := slices.BinarySearch(ix.kinds, e.Kind); !found {
			ix.kinds = slices.Insert(ix.kinds, at, e.Kind)
		}
	}
	if g := e.Group(); g != "" && !ix.inGroup[g] {
		ix.inGroup[g] = true
		ix.groups = append(ix.groups, g)
	}
	if life, last := ix.lives.Observe(e, i); life == parse.AfterSilence {
		ix.silentCrash(e.Node, last, i)
	}
	if !e.InGroup(ix.group) {
		return // another group's term 2 is not this one's
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
	bit := ix.bit[e.Node]
	switch e.FaultKind() {
	case eventline.KindCrash, eventline.KindStop:
		next.crashed |= bit
		if next.leader == e.Node {
			next.leader = ""
		}
	case eventline.KindRestart, eventline.KindStart:
		next.crashed &^= bit
		if next.leader == e.Node {
			next.leader = "" // a server starts as a follower
		}
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

// silentCrash marks node down from after its event last to its start at event start: it
// said nothing of dying, but started again (see parse.Lives).
func (ix *index) silentCrash(node string, last, start int) {
	ix.silent[last] = node
	bit := ix.bit[node]
	from := last + 1
	if from >= start || bit == 0 {
		return
	}
	k := sort.Search(len(ix.changes), func(j int) bool { return ix.changes[j].idx >= from })
	if k == len(ix.changes) || ix.changes[k].idx != from {
		c := ix.at(last)
		c.idx = from
		ix.changes = slices.Insert(ix.changes, k, c)
	}
	for ; k < len(ix.changes) && ix.changes[k].idx < start; k++ {
		c := &ix.changes[k]
		c.crashed |= bit
		if c.leader == node {
			c.leader = ""
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

// commitTest returns a jump's test of whether an event advances a commit index: a structured
// commit event, or a free-text line whose commit index is above what its node said before
// (see commitScan.observe), among the events read (see Model.commitJump).
func (ix *index) commitTest() func(int, *parse.Event) bool {
	commits := ix.commits.events[:len(ix.commits.events):len(ix.commits.events)] // later reads append past it
	return func(i int, e *parse.Event) bool {
		if e.Kind != "" {
			return e.Kind == eventline.KindCommit
		}
		k := sort.Search(len(commits), func(j int) bool { return commits[j] >= int32(i) })
		return k < len(commits) && commits[k] == int32(i)
	}
}

// commitNumber reads the commit index a free-text message states: the first number after a
// word starting with "commit" ("commitIndex=5", "commit index is 5", "committed to 5", "leaderCommit
// 5"), optionally after "=", ":", "to", "is" or "up to". found says whether the message talks
// of a commit at all.
var commitNumber = regexp.MustCompile(`(?i)commit[a-z_]*(?:\s+index)?\s*(?:[=:]|\bup to\b|\bto\b|\bis\b)?\s*(\d+)`)

// observe records event i when its message states a commit index above its node's last
// one; a message that speaks of a commit without a number counts unless it is heartbeat
// traffic.
func (s *commitScan) observe(e *parse.Event, i int) {
	if parse.IndexFold(e.Msg, "commit") < 0 {
		return
	}
	m := commitNumber.FindStringSubmatch(e.Msg)
	if m == nil {
		if !isHeartbeat(e) {
			s.events = append(s.events, int32(i))
		}
		return
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return
	}
	if s.last == nil {
		s.last = map[string]uint64{}
	}
	if last, seen := s.last[e.Node]; !seen || n > last {
		s.last[e.Node] = n
		if n > 0 {
			s.events = append(s.events, int32(i))
		}
	}
}
