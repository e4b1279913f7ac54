package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftviz/raftviz/raft"
)

// TestPreVoteKeepsRejoiningNodeQuiet isolates a follower for a long time and reconnects it.
// Without pre-vote it campaigns in term after term and its return deposes the leader; with
// pre-vote (and check-quorum's leader lease) its term stays put and the leader keeps leading.
func TestPreVoteKeepsRejoiningNodeQuiet(t *testing.T) {
	for _, pre := range []bool{false, true} {
		t.Run(fmt.Sprintf("prevote=%v", pre), func(t *testing.T) {
			s := newSim(t, Config{Nodes: 3, Seed: 31, PreVote: pre, CheckQuorum: pre})
			l := mustLeader(t, s)
			s.RunFor(200 * time.Millisecond) // every node hears of the leader
			term := s.Status(l).Term
			f := l%3 + 1
			s.Disconnect(f)
			s.RunFor(3 * time.Second)
			isolatedTerm := s.Status(f).Term
			s.Reconnect(f)
			mustLeader(t, s)
			s.RunFor(time.Second)
			l2, _ := s.Leader()
			newTerm := s.Status(l2).Term
			if pre {
				if isolatedTerm != term || l2 != l || newTerm != term {
					t.Fatalf("with pre-vote: isolated node's term %d (was %d); leader %d term %d after rejoin, want %d term %d",
						isolatedTerm, term, l2, newTerm, l, term)
				}
			} else {
				if isolatedTerm <= term+3 || newTerm <= term {
					t.Fatalf("without pre-vote the isolated node should campaign (term %d -> %d) and depose the leader (term %d -> %d)",
						term, isolatedTerm, term, newTerm)
				}
			}
			mustCommit(t, s, "set after 1")
			noViolation(t, s)
		})
	}
}

// TestCheckQuorumLeaderStepsDown cuts the leader off: with check-quorum it steps down within
// two election timeouts, so clients stop sending it commands; without, it believes it leads.
func TestCheckQuorumLeaderStepsDown(t *testing.T) {
	for _, cq := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkquorum=%v", cq), func(t *testing.T) {
			s := newSim(t, Config{Nodes: 3, Seed: 5, CheckQuorum: cq})
			l := mustLeader(t, s)
			s.Disconnect(l)
			s.RunFor(700 * time.Millisecond) // more than two maximum election timeouts (300ms)
			role := s.Status(l).Role
			if cq && role == raft.Leader {
				t.Fatal("a leader cut off from the majority still leads with check-quorum on")
			}
			if !cq && role != raft.Leader {
				t.Fatalf("without check-quorum the cut-off leader became %v", role)
			}
			s.Reconnect(l)
			mustCommit(t, s, "set x 1")
			noViolation(t, s)
		})
	}
}

func TestTransferLeadership(t *testing.T) {
	s := newSim(t, Config{Nodes: 5, Seed: 8, PreVote: true, CheckQuorum: true})
	l := mustLeader(t, s)
	mustCommit(t, s, "set a 1")
	to := l%5 + 1
	term := s.Status(l).Term
	if err := s.Transfer(to); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Propose(l, "set a 2"); err == nil {
		t.Fatal("the leader took a command while handing over")
	}
	if !s.RunUntil(func() bool { l2, ok := s.Leader(); return ok && l2 == to }, time.Second) {
		l2, _ := s.Leader()
		t.Fatalf("leader is %d, want %d", l2, to)
	}
	if got := s.Status(to).Term; got != term+1 {
		t.Fatalf("transfer took the term from %d to %d, want one election", term, got)
	}
	mustCommit(t, s, "set a 3")
	if err := s.Transfer(99); err == nil {
		t.Fatal("transfer to an unknown node accepted")
	}
	noViolation(t, s)
}

// TestRandomizedSafetyWithPreVote runs the randomized fault test with pre-vote, check-quorum
// and leadership transfers.
func TestRandomizedSafetyWithPreVote(t *testing.T) {
	for seed := 1; seed <= *seeds/2; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s, buf := newSimLog(t, Config{Nodes: 5, Seed: uint64(1000 + seed), PreVote: true, CheckQuorum: true,
				DropRate: 0.05, DupRate: 0.02, ReorderRate: 0.1})
			for round := 0; round < 4; round++ {
				if err := s.Chaos(*simSteps/4, AllFaults); err != nil {
					t.Fatal(err)
				}
				_ = s.Transfer(uint64(1 + s.rand.IntN(5)))
			}
			if err := s.Settle(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			checkLinearizable(t, buf)
		})
	}
}

// TestLaggingFollowerGetsSnapshot compacts the logs while a follower is away: it can only
// catch up by InstallSnapshot, sent in chunks, and then restarts from that snapshot.
func TestLaggingFollowerGetsSnapshot(t *testing.T) {
	s, buf := newSimLog(t, Config{Nodes: 3, Seed: 41, SnapshotEvery: 50, SnapshotChunk: 256})
	l := mustLeader(t, s)
	f := l%3 + 1
	mustCommit(t, s, "set before 1")
	s.Disconnect(f)
	for i := 0; i < 300; i++ {
		mustCommit(t, s, fmt.Sprintf("set k%d %d", i, i))
	}
	if st := s.Status(l); st.SnapIndex < 250 {
		t.Fatalf("leader's snapshot at %d: it did not compact", st.SnapIndex)
	}
	s.Reconnect(f)
	idx := mustCommit(t, s, "set after 1")
	if v, _ := s.Get(f, "k299"); v != "299" {
		t.Fatalf("follower %d: k299=%q", f, v)
	}
	lines := buf.String()
	if !strings.Contains(lines, "installs snapshot") || strings.Count(lines, "type=InstallSnapshot to="+fmt.Sprint(f)) < 3 {
		t.Fatalf("no chunked InstallSnapshot to %d in the event lines", f)
	}
	// Restart from the snapshot: the state is back before any leader says anything.
	s.Crash(f)
	s.Restart(f)
	if st := s.Status(f); st.SnapIndex == 0 {
		t.Fatal("the restarted follower has no snapshot")
	}
	if v, _ := s.Get(f, "k100"); v != "100" {
		t.Fatalf("after restart from the snapshot: k100=%q", v)
	}
	_ = idx
	mustCommit(t, s, "set last 1")
	noViolation(t, s)
}

// TestRandomizedSafetyWithSnapshots runs the fault test with frequent snapshots and tiny
// chunks, so that compaction, InstallSnapshot and restarts from snapshots all happen under
// faults.
func TestRandomizedSafetyWithSnapshots(t *testing.T) {
	for seed := 1; seed <= *seeds/2; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s, buf := newSimLog(t, Config{Nodes: 5, Seed: uint64(2000 + seed), SnapshotEvery: 10, SnapshotChunk: 64,
				PreVote: seed%2 == 0, CheckQuorum: seed%2 == 0, DropRate: 0.05, DupRate: 0.02, ReorderRate: 0.1})
			if err := s.Chaos(*simSteps, AllFaults); err != nil {
				t.Fatal(err)
			}
			if err := s.Settle(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			checkLinearizable(t, buf)
		})
	}
}

// TestAddServerUnderLoad adds a brand-new node while clients keep writing: it catches up as a
// learner (by snapshot, as the logs are compacted) and becomes a voter.
func TestAddServerUnderLoad(t *testing.T) {
	s := newSim(t, Config{Nodes: 3, Seed: 51, SnapshotEvery: 40})
	mustLeader(t, s)
	for i := 0; i < 100; i++ {
		mustCommit(t, s, fmt.Sprintf("set a%d %d", i, i))
	}
	// Writes keep coming while the new server joins.
	for i := 0; i < 20; i++ {
		if l, ok := s.Leader(); ok {
			s.Propose(l, fmt.Sprintf("set during%d %d", i, i))
		}
	}
	id, err := s.AddServer(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, "set after 1")
	l, _ := s.Leader()
	st := s.Status(l)
	if len(st.Voters) != 4 || !slices.Contains(st.Voters, id) || len(st.Learners) != 0 {
		t.Fatalf("configuration after adding %d: voters %v learners %v", id, st.Voters, st.Learners)
	}
	if v, _ := s.Get(id, "a99"); v != "99" {
		t.Fatalf("the new node has a99=%q", v)
	}
	// With four voters, three are a majority: one crash must not stop progress, and the new
	// node counts.
	for _, n := range s.Nodes() {
		if n != l && n != id {
			s.Crash(n)
			break
		}
	}
	mustCommit(t, s, "set three 1")
	noViolation(t, s)
}

func TestRemoveFollowerAndLeader(t *testing.T) {
	s := newSim(t, Config{Nodes: 5, Seed: 52})
	l := mustLeader(t, s)
	f := l%5 + 1
	if err := s.RemoveServer(f, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, "set after_follower 1")
	if st := s.Status(l); len(st.Voters) != 4 || slices.Contains(st.Voters, f) {
		t.Fatalf("voters after removing %d: %v", f, st.Voters)
	}
	// Remove the leader: it steps down once the removal commits, and the rest elect one.
	if err := s.RemoveServer(l, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	l2 := mustLeader(t, s)
	if l2 == l || l2 == f {
		t.Fatalf("leader after removing %d is %d", l, l2)
	}
	mustCommit(t, s, "set after_leader 1")
	if st := s.Status(l2); len(st.Voters) != 3 {
		t.Fatalf("voters: %v", st.Voters)
	}
	// One change at a time: a second change while one is uncommitted is refused.
	rest := s.Status(l2).Voters
	s.Disconnect(rest[0])
	s.Disconnect(rest[1])
	if rest[0] == l2 || rest[1] == l2 {
		s.Reconnect(rest[0])
		s.Reconnect(rest[1])
		t.Skip("the leader is among the nodes cut off; nothing more to check")
	}
	if _, err := s.proposeConf(l2, raft.ConfChange{Type: raft.ConfRemove, Node: rest[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.proposeConf(l2, raft.ConfChange{Type: raft.ConfRemove, Node: rest[1]}); !errors.Is(err, raft.ErrConfPending) {
		t.Fatalf("a second change while one is pending: %v", err)
	}
	s.Reconnect(rest[0])
	s.Reconnect(rest[1])
	noViolation(t, s)
}

// TestRandomizedSafetyWithMembership runs the fault test while servers are added and
// removed, with snapshots on.
func TestRandomizedSafetyWithMembership(t *testing.T) {
	for seed := 1; seed <= *seeds/4; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s, buf := newSimLog(t, Config{Nodes: 5, Seed: uint64(3000 + seed), SnapshotEvery: 15, SnapshotChunk: 128,
				PreVote: true, CheckQuorum: true, DropRate: 0.03, ReorderRate: 0.1})
			for round := 0; round < 4; round++ {
				if err := s.Chaos(*simSteps/4, AllFaults); err != nil {
					t.Fatal(err)
				}
				// Membership changes need a working cluster: heal it first, then change.
				if err := s.Settle(30 * time.Second); err != nil {
					t.Fatal(err)
				}
				var err error
				if round%2 == 0 {
					_, err = s.AddServer(10 * time.Second)
				} else {
					voters := s.Status(mustLeader(t, s)).Voters
					err = s.RemoveServer(voters[s.rand.IntN(len(voters))], 10*time.Second)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Settle(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			checkLinearizable(t, buf)
		})
	}
}
