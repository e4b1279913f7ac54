package sim

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/raftviz/raftviz/raft"
)

// checker verifies Raft's safety properties (paper, Figure 3) as the simulation runs:
//
//   - election safety: at most one leader per term;
//   - a node's term never decreases, across restarts too;
//   - state machine safety: no two nodes apply different entries at one index, and each node
//     applies indexes in order without gaps;
//   - leader completeness: every applied (so committed) entry is in the log of every later
//     leader;
//   - log matching: checked on demand by CheckLogs, since it compares whole logs.
//
// The first violation is kept, with the virtual time and step at which it was seen.
type checker struct {
	leaders   map[uint64]uint64     // term -> leader
	terms     map[uint64]uint64     // node -> highest term seen
	committed map[uint64]raft.Entry // index -> entry applied somewhere
	// knownIn is, per committed index, the term of the node that applied it first: the entry
	// was committed in that term or an earlier one. Leader completeness binds leaders of later
	// terms only; a leader of an older term elected late (a partitioned minority's votes were
	// enough in its term) need not hold an entry committed in a newer one.
	knownIn  map[uint64]uint64
	maxIndex uint64
	err      error
}

func (c *checker) init() {
	c.leaders = make(map[uint64]uint64)
	c.terms = make(map[uint64]uint64)
	c.committed = make(map[uint64]raft.Entry)
	c.knownIn = make(map[uint64]uint64)
}

// ErrViolation marks the errors that are safety violations (as opposed to a cluster that did
// not recover in time).
var ErrViolation = errors.New("safety violation")

func (c *checker) fail(s *Sim, format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: seed %d, step %d, at %v: %s", ErrViolation, s.cfg.Seed, s.steps, s.now, fmt.Sprintf(format, args...))
	}
}

// adopted checks Figure 2's rule for all servers: a node that handles a message of a higher
// term takes that term (and steps down). Vote requests are exempt: a pre-vote never changes a
// term, and with check-quorum a node that hears from a live leader ignores a vote request.
func (c *checker) adopted(s *Sim, n *node, m raft.Message, before raft.Status) {
	if n.d == nil {
		return
	}
	st := n.d.Status()
	if m.Type == raft.MsgApp && m.Term < before.Term && (st.LastIndex != before.LastIndex || st.LastTerm != before.LastTerm) {
		c.fail(s, "node %d in term %d changed its log for an AppendEntries of term %d", n.id, before.Term, m.Term)
	}
	if m.Term <= before.Term || m.Type == raft.MsgVote || m.Type == raft.MsgPreVote || m.Type == raft.MsgPreVoteResp {
		return
	}
	if st.Term < m.Term {
		c.fail(s, "node %d handled %s of term %d and stayed in term %d", n.id, m.Type, m.Term, st.Term)
	}
}

// promise checks a reply as it leaves: what it promises (a vote, stored entries) must be on
// the node's disk already, or a crash could take back a promise the receiver relies on.
func (c *checker) promise(s *Sim, n *node, m raft.Message) {
	if n.disk == nil || !m.Type.IsResponse() {
		return
	}
	hs, ents, _ := n.disk.durable.Load()
	switch {
	case m.Type == raft.MsgVoteResp && m.Granted:
		if hs.Term != m.Term || hs.Vote != m.To {
			c.fail(s, "node %d granted its vote to %d in term %d while its disk held term %d, vote %d", n.id, m.To, m.Term, hs.Term, hs.Vote)
		}
	case m.Type == raft.MsgAppResp && m.Success:
		last := uint64(len(ents))
		if snap, _ := n.disk.durable.Snapshot(); snap != nil {
			last += snap.Meta.Index
		}
		if m.Match > last {
			c.fail(s, "node %d acknowledged index %d to %d while its disk held entries up to %d", n.id, m.Match, m.To, last)
		}
	}
}

// observe checks a node's state after it handled an event.
func (c *checker) observe(s *Sim, n *node) {
	if n.r == nil {
		return
	}
	st := n.r.Status()
	if st.Term < c.terms[n.id] {
		c.fail(s, "node %d's term went back from %d to %d", n.id, c.terms[n.id], st.Term)
	}
	c.terms[n.id] = max(c.terms[n.id], st.Term)
	if st.Role != raft.Leader {
		return
	}
	if l, ok := c.leaders[st.Term]; ok {
		if l != n.id {
			c.fail(s, "two leaders in term %d: %d and %d", st.Term, l, n.id)
		}
		return
	}
	c.leaders[st.Term] = n.id
	// A new leader: it must hold every entry committed so far (those its snapshot covers
	// are in its state).
	log := n.r.Entries(1)
	for idx := st.SnapIndex + 1; idx <= c.maxIndex; idx++ {
		e, ok := c.committed[idx]
		if !ok || c.knownIn[idx] >= st.Term {
			continue
		}
		k := idx - st.SnapIndex - 1
		if k >= uint64(len(log)) || log[k].Term != e.Term {
			c.fail(s, "leader %d of term %d lacks committed entry %d (term %d)", n.id, st.Term, idx, e.Term)
			return
		}
	}
}

// restore checks a snapshot a node's state machine starts from: it must not go back.
func (c *checker) restore(s *Sim, n *node, meta raft.SnapshotMeta) {
	if have := n.appliedBase + uint64(len(n.applied)); meta.Index < have {
		c.fail(s, "node %d restored a snapshot at %d after applying %d", n.id, meta.Index, have)
	}
	if e, ok := c.committed[meta.Index]; ok && e.Term != meta.Term {
		c.fail(s, "node %d restored a snapshot at %d of term %d; index %d was committed in term %d", n.id, meta.Index, meta.Term, meta.Index, e.Term)
	}
}

// apply checks one entry a node applies.
func (c *checker) apply(s *Sim, n *node, e raft.Entry) {
	want := n.appliedBase + uint64(len(n.applied)) + 1
	if e.Index != want {
		c.fail(s, "node %d applied index %d, want %d", n.id, e.Index, want)
	}
	if prev, ok := c.committed[e.Index]; ok {
		if prev.Term != e.Term || !bytes.Equal(prev.Data, e.Data) {
			c.fail(s, "node %d applied %q (term %d) at index %d where another node applied %q (term %d)",
				n.id, e.Data, e.Term, e.Index, prev.Data, prev.Term)
		}
		return
	}
	c.committed[e.Index] = raft.Entry{Index: e.Index, Term: e.Term, Data: slices.Clone(e.Data)}
	c.knownIn[e.Index] = n.r.Status().Term
	c.maxIndex = max(c.maxIndex, e.Index)
}

// CheckLogs verifies the log matching property over every pair of nodes (running or not):
// if two logs hold an entry with the same index and term, they are identical up to it. It
// also checks that every committed entry is still in the storage of a majority.
func (s *Sim) CheckLogs() error {
	if err := s.check.err; err != nil {
		return err
	}
	logs := make([]map[uint64]raft.Entry, len(s.nodes))
	snaps := make([]uint64, len(s.nodes))
	for i, n := range s.nodes {
		logs[i] = map[uint64]raft.Entry{}
		for _, e := range s.Log(n.id) {
			logs[i][e.Index] = e
		}
		if n.r != nil {
			snaps[i] = n.r.Status().SnapIndex
		} else if snap, _ := n.store.Snapshot(); snap != nil {
			snaps[i] = snap.Meta.Index
		}
	}
	for i := range logs {
		for j := i + 1; j < len(logs); j++ {
			// Find the highest index both hold with the same term: everything both hold
			// before it must be equal.
			var top uint64
			for idx, a := range logs[i] {
				if b, ok := logs[j][idx]; ok && a.Term == b.Term && idx > top {
					top = idx
				}
			}
			for idx, a := range logs[i] {
				b, ok := logs[j][idx]
				if idx <= top && ok && (a.Term != b.Term || a.Type != b.Type || !bytes.Equal(a.Data, b.Data)) {
					return fmt.Errorf("seed %d: logs of %d and %d match at index %d but differ at %d",
						s.cfg.Seed, i+1, j+1, top, idx)
				}
			}
		}
	}
	for idx := uint64(1); idx <= s.check.maxIndex; idx++ {
		e, ok := s.check.committed[idx]
		if !ok {
			continue
		}
		holders, members := 0, 0
		for i, l := range logs {
			if s.nodes[i].removed {
				continue
			}
			members++
			if idx <= snaps[i] {
				holders++ // in its snapshot
			} else if le, ok := l[idx]; ok && le.Term == e.Term && bytes.Equal(le.Data, e.Data) {
				holders++
			}
		}
		if holders < members/2+1 {
			return fmt.Errorf("seed %d: committed entry %d (term %d) survives on only %d of %d nodes",
				s.cfg.Seed, idx, e.Term, holders, members)
		}
	}
	return nil
}

// CommittedCount returns how many distinct indexes some node has applied.
func (s *Sim) CommittedCount() int { return len(s.check.committed) }
