package raft

import "fmt"

// None is the empty node id: no vote, no known leader.
const None uint64 = 0

// EntryType says whose an entry is: the state machine's or the protocol's.
type EntryType uint8

// Entry types. The type travels with the entry (in messages and in the write-ahead log), so
// that no command a client submits can be taken for a membership change, whatever its bytes.
const (
	// EntryNormal holds a state machine command; with empty Data it is the no-op a new leader
	// appends to commit entries of earlier terms (Raft dissertation 6.4).
	EntryNormal EntryType = iota
	// EntryConf holds a membership change or a whole configuration (conf.go); the state
	// machine never sees it.
	EntryConf
)

// String is the type's name.
func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "normal"
	case EntryConf:
		return "conf"
	}
	return fmt.Sprintf("entrytype(%d)", uint8(t))
}

// Entry is one log entry.
type Entry struct {
	Index uint64
	Term  uint64
	Type  EntryType
	Data  []byte
}

// HardState is what a node must persist before it answers or sends anything: its current term,
// its vote in that term, and (as a hint for restarts) the commit index it knew.
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// IsEmpty reports whether hs is the zero state.
func (hs HardState) IsEmpty() bool { return hs == HardState{} }

// Role is a node's role in the protocol.
type Role uint8

// Roles.
const (
	Follower Role = iota
	Candidate
	Leader
	Dead         // stopped or crashed: only the harness reports it
	PreCandidate // asking for pre-votes before it raises its term (Config.PreVote)
)

// String is the role as docs/FORMAT.md spells it.
func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	case Dead:
		return "dead"
	case PreCandidate:
		return "precandidate"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// SnapshotMeta says what a snapshot covers: every entry up to Index (of term Term).
type SnapshotMeta struct {
	Index uint64
	Term  uint64
	// Voters and Learners are the configuration at Index (empty: the node's initial one), and
	// Incarnations the members' incarnations it records (ConfIdentity).
	Voters, Learners []uint64
	Incarnations     map[uint64]uint64
}

// Snapshot is the state machine's state after applying every entry up to Meta.Index; the log
// before it can be discarded (dissertation chapter 5).
type Snapshot struct {
	Meta SnapshotMeta
	Data []byte
}
