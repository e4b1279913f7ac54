package raft_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/storage"
)

// withEnv adds the handler RAFT_DEBUG asks for, so that go test -v shows the event lines
// (visualize.sh and raftrun test set it).
func withEnv(h slog.Handler) slog.Handler {
	if env := raft.HandlerFromEnv(); env != nil {
		return slog.NewMultiHandler(h, env)
	}
	return h
}

// network drives cores by hand: messages wait in a queue until the test delivers or drops
// them, and time passes only when the test ticks a node. It is how the paper's figures are
// replayed step by step.
type network struct {
	t       *testing.T
	reads   map[uint64][]raft.ReadState
	peers   []uint64
	nodes   map[uint64]*raft.Raft
	stores  map[uint64]*storage.Memory
	applied map[uint64][]raft.Entry
	queue   []raft.Message
	cfg     func(*raft.Config)
	trace   bytes.Buffer
}

func newNetwork(t *testing.T, n int, cfg func(*raft.Config)) *network {
	nw := &network{t: t, nodes: map[uint64]*raft.Raft{}, stores: map[uint64]*storage.Memory{},
		applied: map[uint64][]raft.Entry{}, cfg: cfg}
	for i := 1; i <= n; i++ {
		nw.peers = append(nw.peers, uint64(i))
	}
	for _, id := range nw.peers {
		nw.stores[id] = storage.NewMemory()
		nw.start(id)
	}
	t.Cleanup(func() {
		if err := eventline.CheckText(nw.trace.Bytes()); err != nil {
			t.Errorf("an event line departs from docs/FORMAT.md: %v", err)
		}
		if t.Failed() {
			t.Logf("event lines:\n%s", nw.trace.String())
		}
	})
	return nw
}

func (nw *network) start(id uint64) {
	hs, ents, _ := nw.stores[id].Reopen().Load()
	c := raft.Config{ID: id, Peers: nw.peers, HardState: hs, Entries: ents, ElectionTick: 10, HeartbeatTick: 1,
		Rand: rand.New(rand.NewPCG(id, 1)), RPCBase: 1,
		Tracer: raft.NewTracer(withEnv(eventline.NewTextHandler(&nw.trace, nil)), raft.ID(id), nil)}
	if nw.cfg != nil {
		nw.cfg(&c)
	}
	r, err := raft.New(c)
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.nodes[id] = r
	nw.applied[id] = nil
}

// bootstrapFromLogs starts every node again from a log whose first entry states the
// configuration (raft.Bootstrap), as a real cluster's nodes start, with no peers of their own:
// from here on, only logs state configurations.
func (nw *network) bootstrapFromLogs() {
	nw.cfg = func(c *raft.Config) { c.Peers = nil }
	for _, id := range nw.peers {
		nw.crash(id)
		nw.stores[id] = storage.NewMemory()
		hs, e := raft.Bootstrap(nw.peers, nil)
		if err := nw.stores[id].Save(hs, []raft.Entry{e}); err != nil {
			nw.t.Fatal(err)
		}
		nw.start(id)
	}
}

func (nw *network) crash(id uint64) {
	delete(nw.nodes, id)
	nw.stores[id].Close()
}

// process runs a node's Ready cycles, queueing its messages.
func (nw *network) process(id uint64) {
	r := nw.nodes[id]
	for r.HasReady() {
		rd := r.Ready()
		if err := nw.stores[id].Save(rd.HardState, rd.Entries); err != nil {
			nw.t.Fatal(err)
		}
		nw.queue = append(nw.queue, rd.Messages...)
		nw.applied[id] = append(nw.applied[id], rd.Committed...)
		if nw.reads == nil {
			nw.reads = map[uint64][]raft.ReadState{}
		}
		nw.reads[id] = append(nw.reads[id], rd.ReadStates...)
		r.Advance(rd)
	}
}

// deliver hands every queued message for which keep returns true to its receiver (dropping
// the others), repeatedly, until the queue is empty. A nil keep delivers everything.
func (nw *network) deliver(keep func(m raft.Message) bool) int {
	return nw.deliverEdited(func(m raft.Message) (raft.Message, bool) { return m, keep == nil || keep(m) })
}

// deliverEdited is deliver with a network that may also change what it carries.
func (nw *network) deliverEdited(edit func(m raft.Message) (raft.Message, bool)) int {
	delivered := 0
	for len(nw.queue) > 0 {
		m, keep := edit(nw.queue[0])
		nw.queue = nw.queue[1:]
		r, up := nw.nodes[m.To]
		if !up || !keep {
			continue
		}
		if err := r.Step(m); err != nil {
			nw.t.Fatal(err)
		}
		delivered++
		nw.process(m.To)
	}
	return delivered
}

func (nw *network) campaign(id uint64) {
	nw.nodes[id].Campaign()
	nw.process(id)
}

func (nw *network) propose(id uint64, cmd string) uint64 {
	idx, err := nw.nodes[id].Propose([]byte(cmd))
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.process(id)
	return idx
}

func (nw *network) proposeConf(id uint64, cc raft.ConfChange) uint64 {
	idx, err := nw.nodes[id].ProposeConfChange(cc)
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.process(id)
	return idx
}

func (nw *network) tick(id uint64, n int) {
	for i := 0; i < n; i++ {
		nw.nodes[id].Tick()
	}
	nw.process(id)
}

// among keeps only messages between the given nodes.
func among(ids ...uint64) func(raft.Message) bool {
	in := map[uint64]bool{}
	for _, id := range ids {
		in[id] = true
	}
	return func(m raft.Message) bool { return in[m.From] && in[m.To] }
}

func TestElectionAndReplication(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	st := nw.nodes[1].Status()
	if st.Role != raft.Leader || st.Term != 1 {
		t.Fatalf("node 1: %v term %d, want leader of term 1", st.Role, st.Term)
	}
	idx := nw.propose(1, "set a 1")
	nw.deliver(nil)
	for _, id := range nw.peers {
		a := nw.applied[id]
		if len(a) != int(idx) || string(a[idx-1].Data) != "set a 1" {
			t.Fatalf("node %d applied %v", id, a)
		}
	}
}

func TestVoteRules(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	nw.propose(1, "set a 1")
	nw.deliver(nil)
	// Node 3 is partitioned away and its log is behind when it campaigns.
	nw.propose(1, "set a 2")
	nw.deliver(among(1, 2))
	nw.campaign(3)
	var votes []raft.Message
	nw.deliver(func(m raft.Message) bool {
		if m.Type == raft.MsgVoteResp {
			votes = append(votes, m)
		}
		return true
	})
	if len(votes) != 2 {
		t.Fatalf("got %d vote replies, want 2", len(votes))
	}
	for _, v := range votes {
		if v.Granted {
			t.Fatalf("node %d granted a vote to a candidate with a stale log", v.From)
		}
	}
	if nw.nodes[3].Status().Role == raft.Leader {
		t.Fatal("a candidate with a stale log won")
	}
	// Its higher term still deposed the leader; node 1 or 2 wins the next election, and node
	// 3 gets the missing entry.
	nw.campaign(2)
	nw.deliver(nil)
	if st := nw.nodes[2].Status(); st.Role != raft.Leader {
		t.Fatalf("node 2 did not win: %v", st.Role)
	}
	nw.propose(2, "set a 3")
	nw.deliver(nil)
	if got, want := len(nw.applied[3]), len(nw.applied[2]); got != want {
		t.Fatalf("node 3 applied %d entries, leader %d", got, want)
	}
}

// TestFigure8 replays the paper's Figure 8: an entry of an old term stored on a majority must
// not be committed by counting replicas, because a later leader may still overwrite it.
func TestFigure8(t *testing.T) {
	nw := newNetwork(t, 5, func(c *raft.Config) { c.MaxEntriesPerMsg = 1 })
	nw.campaign(1)
	nw.deliver(nil) // term 1: node 1 leads; its no-op (index 1) commits everywhere
	// (a) node 1 appends x at index 2 and crashes before sending it.
	nw.propose(1, "set x 1")
	nw.queue = nil
	nw.crash(1)
	// (b) node 5 wins term 2 with votes from 3 and 4, appends its no-op at index 2, crashes.
	nw.campaign(5)
	nw.deliver(func(m raft.Message) bool {
		return among(3, 4, 5)(m) && (m.Type == raft.MsgVote || m.Type == raft.MsgVoteResp)
	})
	if nw.nodes[5].Status().Role != raft.Leader {
		t.Fatal("node 5 did not win term 2")
	}
	nw.crash(5)
	// (c) node 1 restarts and wins term 3 (votes from 2 and 3), then copies x (term 1) to 2
	// and 3, so that x sits on a majority, while its own term-3 no-op reaches nobody: the
	// network carries AppendEntries cut before their term-3 entries, as if each batch had
	// ended there.
	noTerm3 := func(m raft.Message) (raft.Message, bool) {
		if i := slices.IndexFunc(m.Entries, func(e raft.Entry) bool { return e.Term == 3 }); i >= 0 {
			m.Entries = m.Entries[:i]
		}
		return m, among(1, 2, 3)(m)
	}
	nw.start(1)
	nw.campaign(1) // term 2: 3 and 4 already voted for 5 in it
	nw.deliver(among(1, 2, 3))
	nw.campaign(1)
	nw.deliverEdited(noTerm3)
	if st := nw.nodes[1].Status(); st.Role != raft.Leader || st.Term != 3 {
		t.Fatalf("node 1: %v term %d, want leader of term 3", st.Role, st.Term)
	}
	nw.tick(1, 1) // a heartbeat probes 2 and 3, which lack index 2
	nw.deliverEdited(noTerm3)
	st := nw.nodes[1].Status()
	if st.Match[2] != 2 || st.Match[3] != 2 {
		t.Fatalf("x did not reach a majority: match %v", st.Match)
	}
	if st.Commit >= 2 {
		t.Fatalf("node 1 committed index 2 (term 1) by counting replicas in term 3: commit %d", st.Commit)
	}
	// (d) node 1 crashes; node 5 restarts and wins term 4 with votes from 2, 3 and 4, and
	// overwrites x with its term-2 no-op everywhere. That is allowed only because x was never
	// committed, and nobody applied it.
	nw.queue = nil
	nw.crash(1)
	nw.start(5)
	nw.campaign(5) // term 3: 2 and 3 already voted for 1 in it
	nw.deliver(nil)
	nw.campaign(5)
	nw.deliver(nil)
	if nw.nodes[5].Status().Role != raft.Leader {
		t.Fatal("node 5 did not win term 4")
	}
	nw.propose(5, "set y 1")
	nw.deliver(nil)
	for _, id := range []uint64{2, 3, 4, 5} {
		for _, e := range nw.applied[id] {
			if string(e.Data) == "set x 1" {
				t.Fatalf("node %d applied x, which was overwritten", id)
			}
		}
		if len(nw.applied[id]) < 3 {
			t.Fatalf("node %d applied only %d entries", id, len(nw.applied[id]))
		}
	}
}

// TestConflictBacktracking gives a follower a long divergent suffix: the leader must find the
// point of divergence in a few round trips, skipping whole terms, not one entry per trip.
func TestConflictBacktracking(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	// Node 1 appends 100 entries that reach nobody, then loses leadership to node 2, which
	// appends 100 others.
	for i := 0; i < 100; i++ {
		nw.propose(1, fmt.Sprintf("set old %d", i))
	}
	nw.queue = nil
	nw.campaign(2)
	nw.deliver(among(2, 3))
	for i := 0; i < 100; i++ {
		nw.propose(2, fmt.Sprintf("set new %d", i))
	}
	nw.deliver(among(2, 3))
	rejections := 0
	nw.tick(2, 1)
	nw.deliver(func(m raft.Message) bool {
		if m.Type == raft.MsgAppResp && !m.Success && m.From == 1 {
			rejections++
		}
		return true
	})
	if rejections > 3 {
		t.Fatalf("leader needed %d rejections to find the divergence", rejections)
	}
	if a, b := nw.nodes[1].Entries(1), nw.nodes[2].Entries(1); len(a) != len(b) || string(a[len(a)-1].Data) != "set new 99" {
		t.Fatalf("logs did not converge: %d vs %d entries", len(a), len(b))
	}
	if !strings.Contains(nw.trace.String(), "ev=truncate") {
		t.Fatal("no truncate event for the overwritten suffix")
	}
}

func TestStaleLeaderStepsDown(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	nw.campaign(2) // term 2, without node 1 hearing of it
	nw.deliver(among(2, 3))
	// Node 1 still thinks it leads term 1; its next heartbeat is answered with term 2.
	nw.tick(1, 1)
	nw.deliver(nil)
	if st := nw.nodes[1].Status(); st.Role != raft.Follower || st.Term != 2 {
		t.Fatalf("stale leader: %v term %d", st.Role, st.Term)
	}
	nw.tick(2, 1) // the new leader's heartbeat tells it who leads
	nw.deliver(nil)
	if st := nw.nodes[1].Status(); st.Lead != 2 {
		t.Fatalf("deposed leader follows %d, want 2", st.Lead)
	}
	if _, err := nw.nodes[1].Propose([]byte("set z 1")); err != raft.ErrNotLeader {
		t.Fatalf("propose at deposed leader: %v", err)
	}
}

// TestReadIndex confirms a read on a leader that a majority still follows, and never on a
// leader that was deposed behind a partition: that one would serve a stale value.
func TestReadIndex(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(func(m raft.Message) bool { return m.Type == raft.MsgVote || m.Type == raft.MsgVoteResp })
	if err := nw.nodes[1].ReadIndex(1); err != raft.ErrReadNotReady {
		t.Fatalf("read before the leader committed in its term: %v", err)
	}
	nw.tick(1, 1) // the no-op, dropped above, goes out again with the heartbeat
	nw.deliver(nil)
	nw.propose(1, "set x 1")
	nw.deliver(nil)
	if err := nw.nodes[2].ReadIndex(1); err != raft.ErrNotLeader {
		t.Fatalf("read at a follower: %v", err)
	}
	if err := nw.nodes[1].ReadIndex(1); err != nil {
		t.Fatal(err)
	}
	nw.process(1)
	if len(nw.reads[1]) != 0 {
		t.Fatal("read confirmed before any follower answered")
	}
	nw.deliver(nil)
	commit := nw.nodes[1].Status().Commit
	if got := nw.reads[1]; len(got) != 1 || got[0].ID != 1 || got[0].Index != commit {
		t.Fatalf("read states %+v, want id 1 at index %d", got, commit)
	}
	// Node 1 is cut off; 2 and 3 elect 2, which commits x=2. A read at 1 must never be
	// confirmed, even though 1 still believes it leads.
	nw.campaign(2)
	nw.deliver(among(2, 3))
	nw.propose(2, "set x 2")
	nw.deliver(among(2, 3))
	if err := nw.nodes[1].ReadIndex(2); err != nil {
		t.Fatal(err)
	}
	nw.process(1)
	nw.deliver(among(1)) // its heartbeats are lost
	if len(nw.reads[1]) != 1 {
		t.Fatal("a cut-off leader confirmed a read")
	}
	// The partition heals: the replies carry term 2, node 1 steps down, the read is dropped.
	nw.tick(1, 1)
	nw.deliver(nil)
	if len(nw.reads[1]) != 1 || nw.nodes[1].Status().Role == raft.Leader {
		t.Fatalf("deposed leader: reads %+v, role %v", nw.reads[1], nw.nodes[1].Status().Role)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, c := range map[string]raft.Config{
		"zero id":             {ID: 0, Peers: []uint64{1}},
		"not a peer":          {ID: 4, Peers: []uint64{1, 2, 3}},
		"gap in log":          {ID: 1, Peers: []uint64{1}, Entries: []raft.Entry{{Index: 1, Term: 1}, {Index: 3, Term: 1}}},
		"term goes back":      {ID: 1, Peers: []uint64{1}, Entries: []raft.Entry{{Index: 1, Term: 2}, {Index: 2, Term: 1}}},
		"heartbeat>=election": {ID: 1, Peers: []uint64{1}, ElectionTick: 3, HeartbeatTick: 3},
	} {
		if _, err := raft.New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
}

// BenchmarkReplicate measures the core alone: one command proposed, replicated to two
// followers and committed, with event lines off and on.
func BenchmarkReplicate(b *testing.B) {
	for _, traced := range []bool{false, true} {
		b.Run(fmt.Sprintf("trace=%v", traced), func(b *testing.B) {
			t := &testing.T{}
			nw := newNetwork(t, 3, func(c *raft.Config) {
				if !traced {
					c.Tracer = nil
				} else {
					c.Tracer = raft.NewTracer(eventline.NewTextHandler(discard{}, nil), raft.ID(c.ID), nil)
				}
			})
			nw.campaign(1)
			nw.deliver(nil)
			cmd := []byte("set key value")
			b.ReportAllocs()
			for b.Loop() {
				nw.nodes[1].Propose(cmd)
				nw.process(1)
				nw.deliver(nil)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestRefusesToOverwriteCommitted hands a follower an AppendEntries (from a buggy or hostile
// leader) whose entry contradicts a committed one: the follower keeps its log, and its reply
// claims no more than its committed prefix.
func TestRefusesToOverwriteCommitted(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	nw.propose(1, "set a 1")
	nw.deliver(nil)
	before := nw.nodes[2].Entries(1)
	st := nw.nodes[2].Status()
	bad := raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: st.Term, PrevIndex: 0, PrevTerm: 0, Commit: st.Commit,
		Entries: []raft.Entry{{Index: 1, Term: st.Term + 5, Data: []byte("set a evil")}}}
	if err := nw.nodes[2].Step(bad); err != nil {
		t.Fatal(err)
	}
	nw.process(2)
	if got := nw.nodes[2].Entries(1); len(got) != len(before) || string(got[1].Data) != "set a 1" {
		t.Fatalf("log changed: %v", got)
	}
	var reply *raft.Message
	for i := range nw.queue {
		if nw.queue[i].Type == raft.MsgAppResp && nw.queue[i].From == 2 {
			reply = &nw.queue[i]
		}
	}
	if reply == nil || reply.Match > st.Commit {
		t.Fatalf("reply: %+v", reply)
	}
}

// TestWipedFollowerCatchesUp: a follower that lost its disk answers appends with a log shorter
// than the match index the leader remembers. The leader used to resend from that match index
// forever (a send/reject loop, 8.4 MB/s of event lines on each side); it now starts again from
// where the follower's log ends.
func TestWipedFollowerCatchesUp(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	for i := 0; i < 5; i++ {
		nw.propose(1, fmt.Sprintf("set k%d %d", i, i))
		nw.deliver(nil)
	}
	nw.crash(3)
	nw.stores[3] = storage.NewMemory() // its disk is wiped
	nw.start(3)
	for round := 0; round < 20; round++ {
		nw.tick(1, 1)
		nw.deliver(nil)
	}
	last := nw.nodes[1].Status().LastIndex
	if got := nw.nodes[3].Status().LastIndex; got != last {
		t.Fatalf("wiped follower has %d entries after 20 heartbeats, the leader %d", got, last)
	}
	if !strings.Contains(nw.trace.String(), "reason=follower_lost_entries") {
		t.Error("the leader did not say it reset the follower's progress")
	}
}

// TestRefusedMembershipChanges: a membership change that can never succeed says what was
// refused and matches ErrRefused (and its kind), so that callers do not retry it.
func TestRefusedMembershipChanges(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	for _, c := range []struct {
		cc   raft.ConfChange
		kind error
		msg  string
	}{
		{raft.ConfChange{Type: raft.ConfAddLearner, Node: 2}, raft.ErrAlreadyMember, "raft: node 2 is already a voter"},
		{raft.ConfChange{Type: raft.ConfRemove, Node: 9}, raft.ErrNotMember, "raft: node 9 is not a member"},
		{raft.ConfChange{Type: raft.ConfPromote, Node: 9}, raft.ErrRefused, "raft: node 9 is not a learner"},
	} {
		_, err := nw.nodes[1].ProposeConfChange(c.cc)
		if !errors.Is(err, raft.ErrRefused) || !errors.Is(err, c.kind) || err.Error() != c.msg {
			t.Errorf("%v %d: %v", c.cc.Type, c.cc.Node, err)
		}
	}
	if _, err := nw.nodes[1].ProposeConfChange(raft.ConfChange{Type: raft.ConfAddLearner, Node: 4}); err != nil {
		t.Fatalf("a valid change: %v", err)
	}
	if _, err := nw.nodes[1].ProposeConfChange(raft.ConfChange{Type: raft.ConfAddLearner, Node: 5}); errors.Is(err, raft.ErrRefused) || !errors.Is(err, raft.ErrConfPending) {
		t.Errorf("a change while one is pending must be retryable, not refused: %v", err)
	}
}

// TestCommandNeverTakenForMembershipChange: configuration entries are typed, so a client's
// command is the state machine's whatever its bytes. (When a NUL-prefixed text marked
// configuration entries, a command spelling "\x00conf remove 2" removed node 2.)
func TestCommandNeverTakenForMembershipChange(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	for _, forged := range []string{"\x00conf remove 2", "\x00conf set voters=1 learners=none", "remove 2", "set voters=1 learners=none"} {
		idx := nw.propose(1, forged)
		nw.deliver(nil)
		for _, id := range nw.peers {
			if v := nw.nodes[id].Status().Voters; !slices.Equal(v, []uint64{1, 2, 3}) {
				t.Fatalf("after the command %q node %d's voters are %v", forged, id, v)
			}
		}
		if c := nw.nodes[1].Status().Commit; c < idx {
			t.Fatalf("the command %q at %d did not commit (commit %d)", forged, idx, c)
		}
	}
}

// TestJoiningNodeLearnsConfigurationFromTheLog: the configuration lives in the log (its first
// entry, raft.Bootstrap), so a node that joins with no configuration of its own, knowing one
// member at most, learns all the voters from the leader, and a restart reads them back from its
// log: it can never believe in a smaller cluster and win an election with too few votes.
func TestJoiningNodeLearnsConfigurationFromTheLog(t *testing.T) {
	nw := newNetwork(t, 5, nil)
	nw.bootstrapFromLogs()
	if v := nw.nodes[3].Status().Voters; !slices.Equal(v, []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("a bootstrapped node's voters: %v", v)
	}
	nw.stores[6] = storage.NewMemory()
	nw.start(6) // joining: an empty log, no configuration
	nw.tick(6, 100)
	if st := nw.nodes[6].Status(); st.Role != raft.Follower || st.Term != 0 {
		t.Fatalf("a node with no configuration campaigned: %+v", st)
	}
	nw.campaign(1)
	nw.deliver(nil)
	nw.proposeConf(1, raft.ConfChange{Type: raft.ConfAddLearner, Node: 6})
	nw.deliver(nil)
	nw.tick(1, 1)
	nw.deliver(nil)
	nw.proposeConf(1, raft.ConfChange{Type: raft.ConfPromote, Node: 6})
	nw.deliver(nil)
	want := []uint64{1, 2, 3, 4, 5, 6}
	if v := nw.nodes[6].Status().Voters; !slices.Equal(v, want) {
		t.Fatalf("the joined node's voters: %v, want %v", v, want)
	}
	nw.crash(6)
	nw.start(6)
	if v := nw.nodes[6].Status().Voters; !slices.Equal(v, want) {
		t.Fatalf("after a restart the joined node's voters: %v, want %v", v, want)
	}
	// With 2..5 down, node 6 and node 1 are 2 of 6 voters: no election can be won.
	for _, id := range []uint64{1, 2, 3, 4, 5} {
		nw.crash(id)
	}
	for i := 0; i < 10; i++ {
		nw.tick(6, 30)
		nw.deliver(nil)
	}
	if st := nw.nodes[6].Status(); st.Role == raft.Leader {
		t.Fatalf("node 6 became leader of term %d with at most 2 of 6 votes", st.Term)
	}
}

// TestCandidateCountsOwnVoteOnlyWhenDurable steps a granted vote into a candidate whose own
// vote is not on disk yet (a driver that handled replies while its fsync ran would do this):
// the candidate must not win until Advance says its vote is durable. Counting it earlier lets
// a candidate that crashes before the fsync win the term and then, restarted without its vote,
// vote for another candidate in the same term.
func TestCandidateCountsOwnVoteOnlyWhenDurable(t *testing.T) {
	r, err := raft.New(raft.Config{ID: 1, Peers: []uint64{1, 2, 3}, ElectionTick: 10, HeartbeatTick: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.Campaign()
	rd := r.Ready() // term 1's vote for itself, to be persisted; requests may already be out
	if rd.HardState.Term != 1 || rd.HardState.Vote != 1 {
		t.Fatalf("Ready's hard state %+v, want term 1 vote 1", rd.HardState)
	}
	if err := r.Step(raft.Message{Type: raft.MsgVoteResp, From: 2, To: 1, Term: 1, Granted: true}); err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); st.Role == raft.Leader && !raft.Mutated(raft.MutCountNonDurableVote) {
		t.Fatal("the candidate won with a vote of its own that is not on disk")
	}
	r.Advance(rd)
	if st := r.Status(); st.Role != raft.Leader {
		t.Fatalf("after Advance the candidate has 2 of 3 durable votes but is %s", st.Role)
	}
}

// appendsTo counts the AppendEntries with entries the leader sent to a node, and drops them
// (and everything else to or from it): the node is unreachable.
func appendsTo(id uint64, count *int) func(raft.Message) bool {
	return func(m raft.Message) bool {
		if m.To == id && m.Type == raft.MsgApp && len(m.Entries) > 0 {
			*count++
		}
		return m.To != id && m.From != id
	}
}

// TestFlowControlCapsMessagesToUnreachableFollower: a follower that stops answering while it
// replicates gets at most MaxInflightMsgs AppendEntries with entries, however many commands the
// leader takes, then one heartbeat per interval; once back it catches up completely.
func TestFlowControlCapsMessagesToUnreachableFollower(t *testing.T) {
	const window = 4
	nw := newNetwork(t, 3, func(c *raft.Config) { c.MaxInflightMsgs, c.MaxEntriesPerMsg = window, 8 })
	nw.campaign(1)
	nw.deliver(nil)
	nw.propose(1, "set a 1")
	nw.deliver(nil) // node 3 is replicating: it acknowledged the leader's entries
	sent := 0
	for i := 0; i < 200; i++ {
		nw.propose(1, fmt.Sprintf("set k %d", i))
		nw.deliver(appendsTo(3, &sent))
	}
	if sent != window {
		t.Fatalf("%d AppendEntries with entries went to the unreachable follower, want the window of %d", sent, window)
	}
	if st := nw.nodes[1].Status(); st.Match[2] != st.LastIndex || st.Commit != st.LastIndex {
		t.Fatalf("the reachable follower was held back: %+v", st)
	}
	heartbeats := 0
	for i := 0; i < 10; i++ {
		nw.tick(1, 1)
		nw.deliver(func(m raft.Message) bool {
			if m.To == 3 && m.Type == raft.MsgApp {
				heartbeats++
				if len(m.Entries) > 0 {
					t.Errorf("a heartbeat with %d entries went to the follower with a full window", len(m.Entries))
				}
			}
			return m.To != 3 && m.From != 3
		})
	}
	if heartbeats != 10 {
		t.Errorf("%d heartbeats in 10 heartbeat intervals", heartbeats)
	}
	// Back on the network: the next heartbeat is refused (the window's messages were lost),
	// the leader probes back and streams the rest.
	catchUp(t, nw)
}

// catchUp lets node 3 back on the network for one heartbeat of leader 1 and checks that it
// holds the leader's whole log after it.
func catchUp(t *testing.T, nw *network) {
	t.Helper()
	nw.tick(1, 1)
	nw.deliver(nil)
	if st := nw.nodes[1].Status(); st.Match[3] != st.LastIndex {
		t.Fatalf("the follower did not catch up: match %d of %d", st.Match[3], st.LastIndex)
	}
}

// TestFlowControlProbesOneMessageAtATime: a new leader does not know its followers' logs; to
// one that does not answer it sends one AppendEntries with entries per heartbeat interval, not
// one per command.
func TestFlowControlProbesOneMessageAtATime(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	sent := 0
	nw.campaign(1)
	nw.deliver(appendsTo(3, &sent)) // node 3 is down from the start
	for i := 0; i < 50; i++ {
		nw.propose(1, fmt.Sprintf("set k %d", i))
		nw.deliver(appendsTo(3, &sent))
	}
	if sent != 1 {
		t.Fatalf("%d AppendEntries with entries to a follower that never answered, want 1 (the probe)", sent)
	}
	for i := 0; i < 3; i++ {
		nw.tick(1, 1) // HeartbeatTick is 1
		nw.deliver(appendsTo(3, &sent))
	}
	if sent != 4 {
		t.Fatalf("%d probes after 3 heartbeats, want 4", sent)
	}
	catchUp(t, nw)
}

// TestWipedNodeDoesNotElectAStaleLeader: a follower whose data was wiped and that was started
// again as a new cluster's member (not as a joining learner) has no memory of what it
// acknowledged. It must not vote for a candidate of the cluster that existed (a candidate whose
// log has entries of a term): with the old leader down, it would elect a node that missed
// acknowledged writes, and the old leader's entries would be deleted when it came back
// (issue 30, 1). It votes again once a leader has brought it up to date.
func TestWipedNodeDoesNotElectAStaleLeader(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign(1)
	nw.deliver(nil)
	nw.propose(1, "set a 1")
	nw.deliver(nil)
	// Node 3 misses x: nodes 1 and 2 hold it, a majority: acknowledged.
	idx := nw.propose(1, "set x 1")
	nw.deliver(among(1, 2))
	nw.tick(1, 1)
	nw.deliver(among(1, 2))
	if st := nw.nodes[1].Status(); st.Commit < idx {
		t.Fatalf("x (index %d) not committed: commit %d", idx, st.Commit)
	}
	// Nodes 1 and 2 go down; 2's data is wiped and it starts again with the cluster's flags.
	nw.crash(1)
	nw.crash(2)
	nw.stores[2] = storage.NewMemory()
	nw.start(2)
	nw.campaign(3)
	nw.deliver(nil)
	if st := nw.nodes[3].Status(); st.Role == raft.Leader {
		t.Fatal("node 3, which missed an acknowledged write, won with the vote of a wiped node")
	}
	// Node 1 comes back with x and wins; everyone gets x; the wiped node votes again.
	nw.start(1)
	for try := 0; try < 5 && nw.nodes[1].Status().Role != raft.Leader; try++ {
		nw.campaign(1) // node 3's term is higher: node 1's first campaign may only catch up to it
		nw.deliver(nil)
	}
	if st := nw.nodes[1].Status(); st.Role != raft.Leader {
		t.Fatalf("node 1 did not win: %v", st.Role)
	}
	nw.propose(1, "set y 1")
	nw.deliver(nil)
	for _, id := range []uint64{1, 2, 3} {
		found := false
		for _, e := range nw.applied[id] {
			if string(e.Data) == "set x 1" {
				found = true
			}
		}
		if !found {
			t.Errorf("node %d has not applied the acknowledged write x", id)
		}
	}
}

// TestAppendEntriesBoundedByBytes: a follower many large commands behind catches up in
// AppendEntries whose data stays under MaxBytesPerMsg (one entry at least), where a batch by
// count alone would exceed the transport's frame limit and be dropped every time (issue 30, 3).
func TestAppendEntriesBoundedByBytes(t *testing.T) {
	nw := newNetwork(t, 3, func(c *raft.Config) { c.MaxBytesPerMsg = 1 << 20 })
	nw.campaign(1)
	nw.deliver(nil)
	big := strings.Repeat("v", 300<<10)
	for i := 0; i < 20; i++ {
		nw.propose(1, "set k"+strconv.Itoa(i)+" "+big)
		nw.deliver(among(1, 2)) // node 3 is cut off: 20 x 300 KB behind
	}
	largest := 0
	for round := 0; round < 60 && len(nw.applied[3]) < len(nw.applied[1]); round++ {
		nw.tick(1, 1)
		nw.deliver(func(m raft.Message) bool {
			if m.Type == raft.MsgApp {
				size := 0
				for _, e := range m.Entries {
					size += len(e.Data)
				}
				if len(m.Entries) > 1 {
					largest = max(largest, size)
				}
			}
			return true
		})
	}
	if len(nw.applied[3]) != len(nw.applied[1]) {
		t.Fatalf("node 3 applied %d entries, the leader %d", len(nw.applied[3]), len(nw.applied[1]))
	}
	if largest > 1<<20 {
		t.Fatalf("an AppendEntries of several entries carried %d bytes, over the 1 MiB limit", largest)
	}
}

// TestCommandTooLarge: a command over MaxCommandBytes is refused by Propose with ErrTooLarge,
// before it reaches the log; one at the limit is taken.
func TestCommandTooLarge(t *testing.T) {
	nw := newNetwork(t, 3, func(c *raft.Config) { c.MaxCommandBytes = 1 << 10 })
	nw.campaign(1)
	nw.deliver(nil)
	before := nw.nodes[1].Status().LastIndex
	if _, err := nw.nodes[1].Propose(make([]byte, 1<<10+1)); !errors.Is(err, raft.ErrTooLarge) {
		t.Fatalf("a command over the limit: %v, want ErrTooLarge", err)
	}
	if st := nw.nodes[1].Status(); st.LastIndex != before {
		t.Fatalf("the refused command reached the log: last index %d, was %d", st.LastIndex, before)
	}
	if _, err := nw.nodes[1].Propose(make([]byte, 1<<10)); err != nil {
		t.Fatalf("a command at the limit: %v", err)
	}
}

// TestNonMemberCannotRaiseTerms: a vote request from a node outside the configuration (a
// removed server, or a stranger) with a far higher term is refused without taking the term; it
// used to give every node term 2^64-1, after which no election could ever win (issue 30, 2).
func TestNonMemberCannotRaiseTerms(t *testing.T) {
	nw := newNetwork(t, 3, func(c *raft.Config) { c.CheckQuorum = false }) // no leader lease to hide behind
	nw.campaign(1)
	nw.deliver(nil)
	term := nw.nodes[2].Status().Term
	for _, typ := range []raft.MessageType{raft.MsgVote, raft.MsgPreVote} {
		if err := nw.nodes[2].Step(raft.Message{Type: typ, From: 9, To: 2, Term: math.MaxUint64, LastIndex: math.MaxUint64, LastTerm: math.MaxUint64}); err != nil {
			t.Fatal(err)
		}
	}
	nw.process(2)
	if st := nw.nodes[2].Status(); st.Term != term {
		t.Fatalf("node 2 took term %d from a non-member, was %d", st.Term, term)
	}
	var granted []raft.Message
	nw.deliver(func(m raft.Message) bool {
		if m.To == 9 && m.Granted {
			granted = append(granted, m)
		}
		return m.To != 9
	})
	if len(granted) > 0 {
		t.Fatalf("votes granted to a non-member: %+v", granted)
	}
	// The cluster goes on: the leader commits.
	nw.propose(1, "set a 1")
	nw.deliver(nil)
	if len(nw.applied[2]) == 0 || string(nw.applied[2][len(nw.applied[2])-1].Data) != "set a 1" {
		t.Fatalf("node 2 applied %v after the stranger's votes", nw.applied[2])
	}
}

// TestIncarnationsTravelWithTheConfiguration: the incarnation of each member recorded in the
// log (ConfIdentity) is part of the configuration every member holds: a node that joins later
// learns it from the log, a restart reads it back, a voter's recorded incarnation cannot be
// replaced (a server with other data under its id is refused), recording one waits for no other
// membership change, and removing the member forgets it. Before, only the peers that had heard
// from a server knew its incarnation, so one that joined after a server's data was wiped took
// the wiped server on trust.
func TestIncarnationsTravelWithTheConfiguration(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.bootstrapFromLogs()
	nw.campaign(1)
	nw.deliver(nil)
	for id := uint64(1); id <= 3; id++ {
		nw.proposeConf(1, raft.ConfChange{Type: raft.ConfIdentity, Node: id, Incarnation: 0xa0 + id})
	}
	nw.deliver(nil)
	want := map[uint64]uint64{1: 0xa1, 2: 0xa2, 3: 0xa3}
	for id := uint64(1); id <= 3; id++ {
		if got := nw.nodes[id].Status().Incarnations; !maps.Equal(got, want) {
			t.Fatalf("node %d's recorded incarnations: %v, want %v", id, got, want)
		}
	}
	// Recording waits for no pending change, and no change waits for a record.
	nw.stores[4] = storage.NewMemory()
	nw.start(4) // joining: an empty log
	nw.proposeConf(1, raft.ConfChange{Type: raft.ConfAddLearner, Node: 4})
	if _, err := nw.nodes[1].ProposeConfChange(raft.ConfChange{Type: raft.ConfIdentity, Node: 4, Incarnation: 0xb4}); err != nil {
		t.Fatalf("recording the learner's incarnation while its addition is uncommitted: %v", err)
	}
	nw.process(1)
	nw.deliver(nil)
	nw.tick(1, 1)
	nw.deliver(nil)
	nw.proposeConf(1, raft.ConfChange{Type: raft.ConfPromote, Node: 4})
	nw.deliver(nil)
	want[4] = 0xb4
	if got := nw.nodes[4].Status().Incarnations; !maps.Equal(got, want) {
		t.Fatalf("the joined node learned %v, want %v", got, want)
	}
	nw.crash(4)
	nw.start(4)
	if got := nw.nodes[4].Status().Incarnations; !maps.Equal(got, want) {
		t.Fatalf("after a restart the joined node holds %v, want %v", got, want)
	}
	_, err := nw.nodes[1].ProposeConfChange(raft.ConfChange{Type: raft.ConfIdentity, Node: 2, Incarnation: 0xdead})
	if !errors.Is(err, raft.ErrRefused) {
		t.Fatalf("replacing a voter's incarnation: %v, want a refusal", err)
	}
	nw.proposeConf(1, raft.ConfChange{Type: raft.ConfRemove, Node: 3})
	nw.deliver(nil)
	delete(want, 3)
	if got := nw.nodes[2].Status().Incarnations; !maps.Equal(got, want) {
		t.Fatalf("after removing node 3: %v, want %v", got, want)
	}
}

// TestConfIdentityEncoding: a recorded incarnation reads back as written, and malformed ones
// are no configuration change.
func TestConfIdentityEncoding(t *testing.T) {
	cc := raft.ConfChange{Type: raft.ConfIdentity, Node: 7, Incarnation: 0x9f3c00aa77}
	got, ok := raft.DecodeConfChange(raft.Entry{Type: raft.EntryConf, Data: cc.Encode()})
	if !ok || got != cc {
		t.Fatalf("%q reads back as %+v %v", cc.Encode(), got, ok)
	}
	for _, bad := range []string{"identity 7", "identity 7 0", "identity 7 zz", "add_learner 7 1f", "identity 0 1f"} {
		if cc, ok := raft.DecodeConfChange(raft.Entry{Type: raft.EntryConf, Data: []byte(bad)}); ok {
			t.Errorf("%q read as %+v", bad, cc)
		}
	}
	incs := map[uint64]uint64{3: 0x1, 1: 0xffffffffffffffff}
	if back, ok := raft.DecodeIncarnations(raft.EncodeIncarnations(incs)); !ok || !maps.Equal(back, incs) {
		t.Fatalf("%q reads back as %v %v", raft.EncodeIncarnations(incs), back, ok)
	}
}
