package raft

// Mutation is a classic Raft bug that can be seeded into this implementation, one at a time,
// to show that the simulator's checker and raftviz's analysis catch it (mutation testing;
// docs/RELIABILITY.md has the table). The switch exists only in test binaries built with
// -tags raftmutation: in every other build Mutated is a constant false and the compiler
// removes the bugs.
type Mutation int

// The seeded bugs.
const (
	NoMutation Mutation = iota
	// MutVoteIgnoresLog grants votes without the up-to-date log check (paper 5.4.1).
	MutVoteIgnoresLog
	// MutCommitOldTerm commits an entry of an earlier term by counting its replicas (Figure 8).
	MutCommitOldTerm
	// MutVoteNotPersisted never writes votedFor to disk: a restarted node votes again.
	MutVoteNotPersisted
	// MutApplyBeforeCommit applies entries once they are on disk, committed or not.
	MutApplyBeforeCommit
	// MutAcceptStaleAppend takes AppendEntries from a leader of an older term.
	MutAcceptStaleAppend
	// MutTruncateOnHeartbeat deletes the entries after an AppendEntries that matched (a
	// heartbeat, or a reordered shorter message), instead of only a conflicting suffix.
	MutTruncateOnHeartbeat
	// MutNoStepDownOnReply ignores a higher term carried by a reply.
	MutNoStepDownOnReply
	// MutCountNonDurableVote lets a candidate count its own vote before it is on disk.
	MutCountNonDurableVote
	// MutReplyBeforeFsync makes the node driver send replies (votes, acknowledgements)
	// before the fsync of what they promise.
	MutReplyBeforeFsync
	// MutQuorumOffByOne takes half of the voters, not a majority, as a quorum.
	MutQuorumOffByOne
	// MutWALSkipsFsync makes the write-ahead log write without an fsync: what the node
	// promised lives in the page cache until a crash takes it.
	MutWALSkipsFsync
	// MutWALCutsCorruption makes the write-ahead log take a damaged record in the middle of
	// the log for a torn tail and cut it, with everything after it, instead of refusing to
	// start.
	MutWALCutsCorruption
	mutationCount
)

var mutationNames = [...]string{"none", "vote ignores log", "commit old term", "vote not persisted",
	"apply before commit", "accept stale append", "truncate on heartbeat", "no step-down on reply",
	"count non-durable vote", "reply before fsync", "quorum off by one", "WAL skips fsync",
	"WAL cuts corruption"}

// String names the bug.
func (m Mutation) String() string {
	if m < 0 || m >= mutationCount {
		return "mutation?"
	}
	return mutationNames[m]
}

// Mutations lists every seeded bug.
func Mutations() []Mutation {
	ms := make([]Mutation, 0, mutationCount-1)
	for m := NoMutation + 1; m < mutationCount; m++ {
		ms = append(ms, m)
	}
	return ms
}
