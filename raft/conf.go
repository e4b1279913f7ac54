package raft

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/raftviz/raftviz/parse/eventline"
)

// Membership changes, one server at a time (Raft dissertation 4.1): a new server joins as a
// learner (it receives the log but neither votes nor counts towards commits), is promoted to
// voter once it has caught up, and any server can be removed. A configuration takes effect as
// soon as its entry is appended, committed or not, and a leader accepts no second change until
// the first is committed.

// ConfChangeType is the kind of a membership change.
type ConfChangeType uint8

// Membership changes.
const (
	ConfAddLearner ConfChangeType = iota + 1
	ConfPromote
	ConfRemove
	// ConfIdentity records a member's incarnation (the identity of its data directory) in the
	// configuration, so that every member, also one that joins later, can tell the member from
	// a server that comes back under its id with its data wiped. It changes no quorum, so it
	// may be proposed while another change is uncommitted.
	ConfIdentity
)

// String is the action as event lines write it.
func (t ConfChangeType) String() string {
	switch t {
	case ConfAddLearner:
		return "add_learner"
	case ConfPromote:
		return "promote"
	case ConfRemove:
		return "remove"
	case ConfIdentity:
		return "identity"
	}
	return "conf(" + strconv.Itoa(int(t)) + ")"
}

// ConfChange is one membership change.
type ConfChange struct {
	Type ConfChangeType
	Node uint64
	// Incarnation is the node's incarnation, for ConfIdentity (never 0).
	Incarnation uint64
}

// Encode renders the change as the data of a configuration entry (EntryConf): "add_learner 4",
// "identity 4 9f3c...".
func (cc ConfChange) Encode() []byte {
	s := cc.Type.String() + " " + strconv.FormatUint(cc.Node, 10)
	if cc.Type == ConfIdentity {
		s += " " + strconv.FormatUint(cc.Incarnation, 16)
	}
	return []byte(s)
}

// DecodeConfChange reads a configuration entry that holds one change; ok is false for any
// other entry.
func DecodeConfChange(e Entry) (ConfChange, bool) {
	if e.Type != EntryConf {
		return ConfChange{}, false
	}
	action, node, _ := strings.Cut(string(e.Data), " ")
	node, inc, hasInc := strings.Cut(node, " ")
	id, err := strconv.ParseUint(node, 10, 64)
	if err != nil || id == None {
		return ConfChange{}, false
	}
	if action == ConfIdentity.String() {
		v, err := strconv.ParseUint(inc, 16, 64)
		if !hasInc || err != nil || v == 0 {
			return ConfChange{}, false
		}
		return ConfChange{Type: ConfIdentity, Node: id, Incarnation: v}, true
	}
	if hasInc {
		return ConfChange{}, false
	}
	for _, t := range []ConfChangeType{ConfAddLearner, ConfPromote, ConfRemove} {
		if t.String() == action {
			return ConfChange{Type: t, Node: id}, true
		}
	}
	return ConfChange{}, false
}

// confSetPrefix starts the configuration entry that states a whole configuration: the first
// entry of a cluster's log (Bootstrap), like hashicorp/raft's BootstrapCluster.
const confSetPrefix = "set "

// EncodeConfiguration renders a whole configuration as the data of a configuration entry.
func EncodeConfiguration(voters, learners []uint64) []byte {
	return []byte(confSetPrefix + "voters=" + joinIDs(sortedIDs(voters)) + " learners=" + joinIDs(sortedIDs(learners)))
}

// DecodeConfiguration reads a configuration entry written by EncodeConfiguration; ok is false
// for any other entry.
func DecodeConfiguration(e Entry) (voters, learners []uint64, ok bool) {
	if e.Type != EntryConf {
		return nil, nil, false
	}
	rest, found := bytes.CutPrefix(e.Data, []byte(confSetPrefix))
	if !found {
		return nil, nil, false
	}
	v, l, _ := strings.Cut(string(rest), " ")
	vs, ok1 := strings.CutPrefix(v, "voters=")
	ls, ok2 := strings.CutPrefix(l, "learners=")
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	if voters, ok1 = parseIDs(vs); !ok1 || len(voters) == 0 {
		return nil, nil, false
	}
	if learners, ok2 = parseIDs(ls); !ok2 {
		return nil, nil, false
	}
	return voters, learners, true
}

// EncodeIncarnations renders members' incarnations as text ("1=9f3c,2=77a1", by id), as
// snapshots carry them on disk and over the network.
func EncodeIncarnations(incs map[uint64]uint64) []byte {
	var b []byte
	for i, id := range slices.Sorted(maps.Keys(incs)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
		b = append(b, '=')
		b = strconv.AppendUint(b, incs[id], 16)
	}
	return b
}

// DecodeIncarnations reads EncodeIncarnations' text (empty: none).
func DecodeIncarnations(b []byte) (map[uint64]uint64, bool) {
	if len(b) == 0 {
		return nil, true
	}
	incs := map[uint64]uint64{}
	for _, f := range strings.Split(string(b), ",") {
		id, inc, ok := strings.Cut(f, "=")
		n, err1 := strconv.ParseUint(id, 10, 64)
		v, err2 := strconv.ParseUint(inc, 16, 64)
		if !ok || err1 != nil || err2 != nil || n == None || v == 0 {
			return nil, false
		}
		incs[n] = v
	}
	return incs, true
}

func sortedIDs(ids []uint64) []uint64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// parseIDs reads joinIDs' "1,2,3" ("none" or "" is no id).
func parseIDs(s string) ([]uint64, bool) {
	if s == "" || s == "none" {
		return nil, true
	}
	var ids []uint64
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.ParseUint(f, 10, 64)
		if err != nil || id == None {
			return nil, false
		}
		ids = append(ids, id)
	}
	return sortedIDs(ids), true
}

// Bootstrap returns the first entry of a new cluster's log, stating its configuration, and the
// hard state that goes with it (term 1: as if a leader of term 1 had replicated the entry to
// every server). Every server of the new cluster must start with the same one; a server that
// joins later starts with an empty log and learns the configuration from the leader.
func Bootstrap(voters, learners []uint64) (HardState, Entry) {
	return HardState{Term: 1}, Entry{Index: 1, Term: 1, Type: EntryConf, Data: EncodeConfiguration(voters, learners)}
}

// ErrRefused matches (errors.Is) every membership change that can never succeed as asked:
// retrying is useless. ErrAlreadyMember and ErrNotMember match the common cases.
var ErrRefused = errors.New("raft: membership change refused")

// ErrAlreadyMember matches the refusal to add a node that is already a voter or learner.
var ErrAlreadyMember = errors.New("raft: already a member")

// ErrNotMember matches the refusal to remove a node that is not a member.
var ErrNotMember = errors.New("raft: not a member")

// refusal is a refused membership change: its message says what was refused, and it matches
// ErrRefused and its own kind.
type refusal struct {
	msg  string
	kind error // ErrAlreadyMember, ErrNotMember, or nil
}

func refused(kind error, format string, args ...any) error {
	return &refusal{msg: "raft: " + fmt.Sprintf(format, args...), kind: kind}
}

func (e *refusal) Error() string { return e.msg }

// Is makes errors.Is match ErrRefused and the refusal's kind.
func (e *refusal) Is(target error) bool {
	return target == ErrRefused || e.kind != nil && target == e.kind
}

// ErrConfPending is returned by Propose while an earlier membership change is uncommitted.
var ErrConfPending = errors.New("raft: a membership change is still uncommitted; retry after it commits")

// ErrLearnerBehind is returned by Propose for a promotion while the learner has not yet
// caught up with the leader's commit index: promoting it earlier would leave the cluster
// waiting for a voter that cannot vote usefully (dissertation 4.2.1).
var ErrLearnerBehind = errors.New("raft: the learner has not caught up yet; retry")

// membership is a configuration: voters and learners, each sorted, and the incarnations of the
// members recorded (ConfIdentity).
type membership struct {
	voters, learners []uint64
	incarnations     map[uint64]uint64
}

func (m membership) clone() membership {
	return membership{voters: slices.Clone(m.voters), learners: slices.Clone(m.learners), incarnations: maps.Clone(m.incarnations)}
}

func (m membership) isVoter(id uint64) bool   { return slices.Contains(m.voters, id) }
func (m membership) isLearner(id uint64) bool { return slices.Contains(m.learners, id) }
func (m membership) isMember(id uint64) bool  { return m.isVoter(id) || m.isLearner(id) }

// members returns voters and learners.
func (m membership) members() []uint64 { return append(slices.Clone(m.voters), m.learners...) }

// check says whether cc can apply to m.
func (m membership) check(cc ConfChange) error {
	switch cc.Type {
	case ConfAddLearner:
		if m.isVoter(cc.Node) {
			return refused(ErrAlreadyMember, "node %d is already a voter", cc.Node)
		}
		if m.isLearner(cc.Node) {
			return refused(ErrAlreadyMember, "node %d is already a learner", cc.Node)
		}
	case ConfPromote:
		if !m.isLearner(cc.Node) {
			return refused(nil, "node %d is not a learner", cc.Node)
		}
	case ConfRemove:
		if !m.isMember(cc.Node) {
			return refused(ErrNotMember, "node %d is not a member", cc.Node)
		}
		if m.isVoter(cc.Node) && len(m.voters) == 1 {
			return refused(nil, "cannot remove the last voter")
		}
	case ConfIdentity:
		if !m.isMember(cc.Node) {
			return refused(ErrNotMember, "node %d is not a member", cc.Node)
		}
		if cc.Incarnation == 0 {
			return refused(nil, "no incarnation for node %d", cc.Node)
		}
		if old, ok := m.incarnations[cc.Node]; ok && old != cc.Incarnation && m.isVoter(cc.Node) {
			// A voter's recorded identity never changes: one with other data is a server
			// that lost its votes and entries, to be removed and added again.
			return refused(nil, "node %d is a voter of incarnation %x", cc.Node, old)
		}
	default:
		return refused(nil, "unknown membership change %d", cc.Type)
	}
	return nil
}

// apply returns m changed by cc (which check accepted).
func (m membership) apply(cc ConfChange) membership {
	out := m.clone()
	del := func(s []uint64) []uint64 { return slices.DeleteFunc(s, func(x uint64) bool { return x == cc.Node }) }
	switch cc.Type {
	case ConfAddLearner:
		out.learners = append(out.learners, cc.Node)
		slices.Sort(out.learners)
	case ConfPromote:
		out.learners = del(out.learners)
		out.voters = append(out.voters, cc.Node)
		slices.Sort(out.voters)
	case ConfRemove:
		out.voters, out.learners = del(out.voters), del(out.learners)
		delete(out.incarnations, cc.Node)
	case ConfIdentity:
		if out.incarnations == nil {
			out.incarnations = map[uint64]uint64{}
		}
		out.incarnations[cc.Node] = cc.Incarnation
	}
	if cc.Type == ConfAddLearner {
		delete(out.incarnations, cc.Node) // a new server, whatever an earlier one under its id was
	}
	return out
}

// confAt computes the configuration in effect after index idx: the base (the snapshot's, or
// the initial one) replaced by a whole configuration entry and changed by every configuration
// change in the log up to idx.
func (r *Raft) confAt(idx uint64) membership {
	m := r.baseConf.clone()
	for _, e := range r.log.slice(r.log.snapIndex+1, idx, 0) {
		if v, l, ok := DecodeConfiguration(e); ok {
			m = membership{voters: v, learners: l, incarnations: m.incarnations}
		} else if cc, ok := DecodeConfChange(e); ok && m.check(cc) == nil {
			m = m.apply(cc)
		}
	}
	return m
}

// setConf installs a configuration, keeping a leader's progress in step with it.
func (r *Raft) setConf(m membership) {
	r.conf = m
	r.peers = m.voters
	if r.role != Leader {
		return
	}
	for _, id := range m.members() {
		if _, ok := r.progress[id]; !ok {
			r.progress[id] = &progress{next: r.log.lastIndex() + 1}
		}
	}
	for id := range r.progress {
		if !m.isMember(id) {
			delete(r.progress, id)
		}
	}
}

// observeConf applies the configuration entries among newly appended entries: a
// configuration takes effect when appended.
func (r *Raft) observeConf(ents []Entry) {
	for _, e := range ents {
		if v, l, ok := DecodeConfiguration(e); ok {
			r.setConf(membership{voters: v, learners: l, incarnations: r.conf.incarnations})
			r.pendingConf = e.Index
			if r.tr.On() {
				r.tr.Emit(eventline.KindConf, "configuration "+joinIDs(v), r.term, r.role, slog.String("action", "set"),
					slog.String("voters", joinIDs(r.conf.voters)), slog.String("learners", joinIDs(r.conf.learners)),
					slog.Uint64("index", e.Index), slog.String("phase", "appended"))
			}
			continue
		}
		cc, ok := DecodeConfChange(e)
		if !ok || r.conf.check(cc) != nil {
			continue
		}
		r.setConf(r.conf.apply(cc))
		if cc.Type != ConfIdentity {
			r.pendingConf = e.Index
		}
		if r.tr.On() {
			r.tr.Emit(eventline.KindConf, cc.Type.String()+" "+ID(cc.Node), r.term, r.role, slog.String("action", cc.Type.String()),
				slog.String("peer", ID(cc.Node)), slog.String("voters", joinIDs(r.conf.voters)),
				slog.String("learners", joinIDs(r.conf.learners)), slog.Uint64("index", e.Index), slog.String("phase", "appended"))
		}
	}
}

// lastConfIndex returns the index of the newest configuration entry in the log (0: none).
func (r *Raft) lastConfIndex() uint64 {
	for i := len(r.log.entries) - 1; i >= 0; i-- {
		e := r.log.entries[i]
		if cc, ok := DecodeConfChange(e); ok && cc.Type == ConfIdentity {
			continue // changes no quorum: nothing waits for it
		}
		if e.Type == EntryConf {
			return e.Index
		}
	}
	return 0
}
