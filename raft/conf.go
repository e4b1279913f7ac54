package raft

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
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
	}
	return "conf(" + strconv.Itoa(int(t)) + ")"
}

// ConfChange is one membership change.
type ConfChange struct {
	Type ConfChangeType
	Node uint64
}

// Encode renders the change as the data of a configuration entry (EntryConf).
func (cc ConfChange) Encode() []byte {
	return []byte(cc.Type.String() + " " + strconv.FormatUint(cc.Node, 10))
}

// DecodeConfChange reads a configuration entry that holds one change; ok is false for any
// other entry.
func DecodeConfChange(e Entry) (ConfChange, bool) {
	if e.Type != EntryConf {
		return ConfChange{}, false
	}
	action, node, _ := strings.Cut(string(e.Data), " ")
	id, err := strconv.ParseUint(node, 10, 64)
	if err != nil || id == None {
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

// membership is a configuration: voters and learners, each sorted.
type membership struct {
	voters, learners []uint64
}

func (m membership) clone() membership {
	return membership{voters: slices.Clone(m.voters), learners: slices.Clone(m.learners)}
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
			m = membership{voters: v, learners: l}
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
			r.setConf(membership{voters: v, learners: l})
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
		r.pendingConf = e.Index
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
		if r.log.entries[i].Type == EntryConf {
			return r.log.entries[i].Index
		}
	}
	return 0
}
