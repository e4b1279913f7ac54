package raft

// raftLog is a node's in-memory view of its log: every entry after the snapshot point, how far
// it is on stable storage, committed and handed to the state machine.
//
// Invariants: entries[i].Index == snapIndex+1+i; applied <= committed; stabled <= lastIndex().
type raftLog struct {
	snapIndex uint64 // last index covered by the snapshot (0: none)
	snapTerm  uint64
	entries   []Entry
	stabled   uint64 // highest index known to be on stable storage
	committed uint64
	applied   uint64 // highest index handed to the state machine
}

func (l *raftLog) lastIndex() uint64 { return l.snapIndex + uint64(len(l.entries)) }

func (l *raftLog) lastTerm() uint64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// term returns the term of the entry at index i, and false when the log does not hold it.
func (l *raftLog) term(i uint64) (uint64, bool) {
	switch {
	case i == l.snapIndex:
		return l.snapTerm, true
	case i < l.snapIndex || i > l.lastIndex():
		return 0, false
	}
	return l.entries[i-l.snapIndex-1].Term, true
}

func (l *raftLog) matchTerm(i, term uint64) bool {
	t, ok := l.term(i)
	return ok && t == term
}

// slice returns entries [lo, hi] (inclusive), at most max of them (max <= 0: no limit).
// The result shares memory with the log; callers that keep it must not modify it.
func (l *raftLog) slice(lo, hi uint64, max int) []Entry {
	if lo <= l.snapIndex {
		lo = l.snapIndex + 1
	}
	if hi > l.lastIndex() {
		hi = l.lastIndex()
	}
	if lo > hi {
		return nil
	}
	if max > 0 && hi-lo+1 > uint64(max) {
		hi = lo + uint64(max) - 1
	}
	return l.entries[lo-l.snapIndex-1 : hi-l.snapIndex]
}

// isUpToDate reports whether a log ending at (lastIndex, lastTerm) is at least as up to date as
// this one (paper section 5.4.1): a later last term wins, equal terms compare lengths.
func (l *raftLog) isUpToDate(lastIndex, lastTerm uint64) bool {
	myTerm := l.lastTerm()
	return lastTerm > myTerm || (lastTerm == myTerm && lastIndex >= l.lastIndex())
}

// firstIndexOfTerm returns the first index at or before i whose entry has the same term as the
// entry at i; a follower reports it so that the leader can skip the whole term at once.
func (l *raftLog) firstIndexOfTerm(i uint64) uint64 {
	t, ok := l.term(i)
	if !ok {
		return i
	}
	for i > l.snapIndex+1 {
		if pt, _ := l.term(i - 1); pt != t {
			break
		}
		i--
	}
	return i
}

// lastIndexOfTerm returns the highest index whose entry has term t, or 0 when there is none.
func (l *raftLog) lastIndexOfTerm(t uint64) uint64 {
	for i := len(l.entries) - 1; i >= 0; i-- {
		switch et := l.entries[i].Term; {
		case et == t:
			return l.entries[i].Index
		case et < t:
			return 0 // terms only grow along a log
		}
	}
	return 0
}

// truncateFrom deletes entries from index i on.
func (l *raftLog) truncateFrom(i uint64) {
	l.entries = l.entries[:i-l.snapIndex-1]
	if l.stabled >= i {
		l.stabled = i - 1
	}
}

// appendEntries adds entries after the current last index. The caller has already removed any
// conflicting suffix, so ents[0].Index == lastIndex()+1.
func (l *raftLog) appendEntries(ents ...Entry) {
	if n := len(l.entries) + len(ents); n > cap(l.entries) {
		// Grow by doubling. append grows a large slice by about a quarter at a time, and each
		// step copies the whole log into a new array the collector must then scan: with a long
		// log under load that was 5% of a leader's CPU (raftrun bench --cpuprofile).
		grown := make([]Entry, len(l.entries), max(2*cap(l.entries), n, 64))
		copy(grown, l.entries)
		l.entries = grown
	}
	l.entries = append(l.entries, ents...)
}

// unstable returns the entries not yet on stable storage.
func (l *raftLog) unstable() []Entry {
	return l.slice(l.stabled+1, l.lastIndex(), 0)
}

// nextApply returns committed entries that are on stable storage here and not yet applied.
// Applying only stable entries means a node's state machine never runs ahead of what it would
// find in its own storage after a crash.
func (l *raftLog) nextApply() []Entry {
	hi := min(l.committed, l.stabled)
	if Mutated(MutApplyBeforeCommit) {
		hi = l.stabled
	}
	if hi <= l.applied {
		return nil
	}
	return l.slice(l.applied+1, hi, 0)
}
