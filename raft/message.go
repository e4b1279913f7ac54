package raft

import (
	"fmt"
	"strconv"
)

// MessageType is the kind of a Raft message.
type MessageType uint8

// Message types. Names are those of docs/FORMAT.md's type field.
const (
	MsgVote MessageType = iota + 1
	MsgVoteResp
	MsgPreVote
	MsgPreVoteResp
	MsgApp
	MsgAppResp
	MsgTimeoutNow
	MsgSnap
	MsgSnapResp
)

var messageTypeNames = [...]string{
	MsgVote:        "RequestVote",
	MsgVoteResp:    "RequestVoteReply",
	MsgPreVote:     "PreVote",
	MsgPreVoteResp: "PreVoteReply",
	MsgApp:         "AppendEntries",
	MsgAppResp:     "AppendEntriesReply",
	MsgTimeoutNow:  "TimeoutNow",
	MsgSnap:        "InstallSnapshot",
	MsgSnapResp:    "InstallSnapshotReply",
}

// String is the type as event lines write it.
func (t MessageType) String() string {
	if int(t) < len(messageTypeNames) && messageTypeNames[t] != "" {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// IsResponse reports whether t answers a request (and so carries the request's RPC id).
func (t MessageType) IsResponse() bool {
	return t == MsgVoteResp || t == MsgPreVoteResp || t == MsgAppResp || t == MsgSnapResp
}

// RPCID names one request and its reply: the sender of the request and a per-node sequence
// number (docs/FORMAT.md, "RPC ids").
type RPCID struct {
	Node uint64
	Seq  uint64
}

// String formats the id as SENDER-SEQ.
func (id RPCID) String() string {
	return strconv.FormatUint(id.Node, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// Message is one Raft RPC, request or reply. Only the fields of its Type are meaningful.
type Message struct {
	Type MessageType
	From uint64
	To   uint64
	Term uint64
	RPC  RPCID

	// RequestVote and PreVote: the candidate's last log entry. Force marks an election that a
	// leader asked for (leadership transfer): voters grant it even while they hear from that
	// leader.
	LastIndex uint64
	LastTerm  uint64
	Force     bool
	// Vote replies.
	Granted bool

	// AppendEntries.
	PrevIndex uint64
	PrevTerm  uint64
	Entries   []Entry
	Commit    uint64

	// ReadID rides on AppendEntries and is echoed by the reply: a leader confirms it still
	// leads, for linearizable reads, when a majority echoes an id it sent after the read
	// arrived (ReadIndex, dissertation 6.4).
	ReadID uint64

	// InstallSnapshot: one chunk of the snapshot covering SnapIndex/SnapTerm, at Offset;
	// Done marks the last chunk. The reply's Offset says how much the follower has; its Match
	// is SnapIndex once the snapshot is installed.
	SnapIndex uint64
	SnapTerm  uint64
	Offset    uint64
	Data      []byte
	Done      bool
	// Voters, Learners and Incarnations, on the last chunk, are the configuration the
	// snapshot holds.
	Voters, Learners []uint64
	Incarnations     map[uint64]uint64

	// AppendEntries replies. On success Match is the highest index known to match the leader's
	// log. On failure ConflictIndex/ConflictTerm let the leader skip a whole term at once
	// (the optimisation at the end of the paper's section 5.3).
	Success       bool
	Match         uint64
	ConflictIndex uint64
	ConflictTerm  uint64
}
