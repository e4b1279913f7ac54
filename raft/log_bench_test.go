package raft

import "testing"

// BenchmarkLogAppend appends entries one at a time to a log that grows to 400,000 entries, as
// a leader's log grows under load between snapshots: what growing the log's array costs per
// entry.
func BenchmarkLogAppend(b *testing.B) {
	data := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		var l raftLog
		for i := uint64(1); i <= 400_000; i++ {
			l.appendEntries(Entry{Index: i, Term: 1, Data: data})
		}
	}
}
