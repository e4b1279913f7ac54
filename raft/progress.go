package raft

// Flow control, after etcd-io/raft's tracker: what a leader knows of one follower's log, and
// how many AppendEntries it lets be in flight to it. A follower that is slow, partitioned or
// down costs the leader at most one message per heartbeat (probe) or a bounded window of
// unacknowledged ones (replicate), never one message per proposal.

// progressState says how a leader sends entries to a follower.
type progressState uint8

const (
	// stateProbe: next is a guess (a new leader, or after a rejection). One AppendEntries with
	// entries at a time; the next waits for a reply or the next heartbeat.
	stateProbe progressState = iota
	// stateReplicate: the follower's log is known to match up to next-1. Entries stream without
	// waiting, up to maxInflight unacknowledged messages.
	stateReplicate
)

func (s progressState) String() string {
	if s == stateReplicate {
		return "replicate"
	}
	return "probe"
}

// progress is what a leader knows of one follower's log.
type progress struct {
	match uint64 // highest index known to be replicated there
	next  uint64 // next index to send
	state progressState
	// paused: in probe, an AppendEntries with entries is out and unanswered.
	paused bool
	// inflight: in replicate, the last index of each unacknowledged AppendEntries that carried
	// entries, oldest first. An acknowledgement of match frees every message ending at or below it.
	inflight []uint64
	// commitSent is the highest commit index sent to the follower, so that a follower whose
	// match catches up after a commit is told at once rather than at the next heartbeat.
	commitSent uint64
	// snapOffset is, while the follower receives a snapshot, how much of it it holds;
	// sending is set while a transfer is under way.
	snapOffset uint64
	sending    bool
}

// mayAppend reports whether a message with entries may be sent now.
func (pr *progress) mayAppend(maxInflight int) bool {
	if pr.state == stateProbe {
		return !pr.paused
	}
	return len(pr.inflight) < maxInflight
}

// sentEntries records an AppendEntries carrying entries up to last.
func (pr *progress) sentEntries(last uint64) {
	if pr.state == stateProbe {
		// The next probe resends from the same next: whether these arrive is unknown.
		pr.paused = true
		return
	}
	// Pipeline: assume the entries arrive; a rejection moves next back.
	pr.next = last + 1
	pr.inflight = append(pr.inflight, last)
}

// acknowledged records a success reply: the follower's log matches up to pr.match. A probe
// that succeeded turns into replication from there.
func (pr *progress) acknowledged() {
	if pr.state == stateProbe {
		pr.state, pr.paused = stateReplicate, false
		pr.next = pr.match + 1
	}
	pr.next = max(pr.next, pr.match+1)
	i := 0
	for i < len(pr.inflight) && pr.inflight[i] <= pr.match {
		i++
	}
	// Shift down rather than reslice, so that the window's array is reused, not reallocated.
	pr.inflight = pr.inflight[:copy(pr.inflight, pr.inflight[i:])]
}

// probe starts probing again from next: after a rejection, a lost follower log or a snapshot.
func (pr *progress) probe(next uint64) {
	pr.state, pr.paused, pr.inflight = stateProbe, false, nil
	pr.next = next
}
