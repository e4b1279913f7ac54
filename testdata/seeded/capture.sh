#!/usr/bin/env bash
# Real failing runs of another implementation with one known bug seeded in each: a student's
# 6.5840 Raft (Ferriem/6.5840 at 1f53383fe90a68d429b3d2f01d150aeda50f7572, the corpus's
# "ferriem"), its debug output on, run with its own tests. `raftviz explain` is judged on them
# against the cause, which is known here (cmd/raftviz golden files explain_seeded_*).
#
#   testdata/seeded/capture.sh SRC
#
# and etcd-io/raft v3.7.0 (from the module proxy), its own tests, the default logger:
#
#   etcdraft_stale_vote.log  raft.go's vote grant without r.raftLog.isUpToDate(candLastID).
#                            Truth, read in the log: in TestLeaderElectionOverwriteNewerLogs
#                            node 3 (last entry index 1 of term 2) casts its vote for 1 (index 1
#                            of term 1) at term 2 and 1 becomes leader; in TestDuelingCandidates
#                            node 1 (index 1 of term 1) votes for 3 (index 0 of term 0). Both
#                            tests fail on testify's "Not equal" of the nodes' states.
#   etcdraft_double_vote.log raft.go's canVote always true: a node votes whatever vote it has.
#                            Truth: TestFollowerVote's node 1 "[..., vote: 2] cast MsgVote for
#                            3" at term 1; in TestLeaderElectionOverwriteNewerLogs nodes 4 and
#                            5, having voted for 3 in term 2, vote for 1; in
#                            TestPreVoteWithSplitVote nodes 2 and 3, each having voted for
#                            itself in term 3, vote for each other and both become leader.
#
# SRC holds that repository's files at that commit (git archive of the commit). Each bug is one
# sed of src/raft/leader_election.go, RequestVote's grant condition:
#
#   ferriem_double_vote.log  votedFor not checked: a server votes for every candidate of a term
#                            (go test -run '2A$'). Truth, read in the log: TestInitialElection2A
#                            fails "term 2 has 2 (>1) leaders"; server 1 voted for 2 and then
#                            for 0 in term 2, and both became leader.
#   ferriem_stale_vote.log   isUpToDate not checked: a vote goes to a candidate whose log is
#                            behind (go test -run 'FailAgree|FailNoAgree|Rejoin|Backup').
#                            Truth: in TestRejoin2B the partitioned leader 2 (entries 102-104 of
#                            term 1, never committed) is elected in term 4 with server 1's vote,
#                            overwrites the committed entry 103 at index 2, and the tester's
#                            log.Fatalf ends the run: "apply error: commit index=2 server=2 102 !=
#                            server=1 103" (no --- FAIL line; the package FAILs).
#   ferriem_deadlock.log     RequestVote's first "defer rf.mu.Unlock()" dropped: the first vote
#                            request leaves the lock held (go test -run 'InitialElection2A$'
#                            -timeout 8s). Truth: the test times out; the goroutine dump has
#                            the RequestVote handlers waiting in rf.mu.Lock() at
#                            leader_election.go:76, and the ticker and AppendEntries behind them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: capture.sh SRC}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { # name sed tests [timeout]
	rm -rf "$work/$1"
	cp -r "$src" "$work/$1"
	chmod -R u+w "$work/$1"
	sed -i 's/const Debug = false/const Debug = true/' "$work/$1/src/raft/util.go"
	sed -i "$2" "$work/$1/src/raft/leader_election.go"
	(cd "$work/$1/src/raft" && GOFLAGS=-mod=mod go test -race -vet=off -v -count 1 -run "$3" -timeout "${4:-120s}" . 2>&1 || true) |
		head -n 20000 >"$here/$1.log"
	echo "$1: $(wc -l <"$here/$1.log") lines" >&2
}
run ferriem_double_vote 's/if (rf.votedFor == -1 || rf.votedFor == args.From) \&\& rf.isUpToDate/if rf.isUpToDate/' '2A$'
run ferriem_stale_vote 's/ \&\& rf.isUpToDate(args.LastLogTerm, args.LastLogIndex) {/ {/' 'FailAgree|FailNoAgree|Rejoin|Backup'
run ferriem_deadlock '0,/\tdefer rf.mu.Unlock()/s//\t\/\/ seeded: no unlock/' 'InitialElection2A$' 8s

# etcd-io/raft: a copy of the module's source with one sed of raft.go, and some of its tests.
(cd "$work" && go mod init seeded >/dev/null 2>&1 || true)
dir=$(cd "$work" && go mod download -json go.etcd.io/raft/v3@v3.7.0 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
etcdraft() { # name sed tests
	rm -rf "$work/$1"
	cp -r "$dir" "$work/$1"
	chmod -R u+w "$work/$1"
	sed -i "$2" "$work/$1/raft.go"
	(cd "$work/$1" && go test -v -count=1 -run "$3" . 2>&1 || true) >"$here/$1.log"
	echo "$1: $(wc -l <"$here/$1.log") lines" >&2
}
etcdraft etcdraft_stale_vote 's/if canVote \&\& r.raftLog.isUpToDate(candLastID) {/if canVote {/' \
	'^(TestLeaderElectionOverwriteNewerLogs|TestDuelingCandidates)$'
etcdraft etcdraft_double_vote 's/canVote := r.Vote == m.GetFrom() ||/canVote := true || r.Vote == m.GetFrom() ||/' \
	'^(TestLeaderElectionOverwriteNewerLogs|TestPreVoteWithSplitVote|TestFollowerVote)$'
