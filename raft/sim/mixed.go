package sim

import (
	"fmt"
	"log/slog"
	"time"
)

// Mixed is the randomized run that the soak figures count (docs/RELIABILITY.md): everything
// at once, drawn from the seed. Three or five nodes; pre-vote with check-quorum on every
// other seed; snapshots every 10 to 39 entries, sent in small chunks; a lossy, duplicating,
// reordering network; partitions, disconnections, crashes between events and in the middle of
// I/O; failing fsyncs and corrupt reads; clients with sessions. The run is cut in four
// rounds; after each the cluster is settled and changed: a leadership transfer, then a
// server added or removed. It returns the cluster after its final Settle, or the first
// violation (of the simulator's checker, or a cluster that does not recover).
func Mixed(seed uint64, steps int, h slog.Handler) (*Sim, error) {
	cfg := Config{Nodes: 3 + 2*int(seed%2), Seed: seed, Handler: h,
		PreVote: seed%4 < 2, CheckQuorum: seed%4 < 2,
		SnapshotEvery: 10 + int(seed%30), SnapshotChunk: 128,
		DropRate: 0.05, DupRate: 0.02, ReorderRate: 0.1,
		Disk: DiskFaults{FsyncFail: 0.002, CorruptRead: 0.05}}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	const limit = 30 * time.Second
	for round := range 4 {
		if err := s.Chaos(steps/4, AllFaults); err != nil {
			return s, err
		}
		if round == 3 {
			break
		}
		// Membership changes need a working cluster: heal it first, then change.
		if err := s.Settle(limit); err != nil {
			return s, err
		}
		_ = s.Transfer(s.peers[s.rand.IntN(len(s.peers))])
		switch {
		case round%2 == 0 && len(s.nodes) < 7:
			if _, err := s.AddServer(10 * time.Second); err != nil {
				return s, fmt.Errorf("seed %d: adding a server: %w", seed, err)
			}
		case len(s.peers) > 3:
			l, err := s.StableLeader(limit)
			if err != nil {
				return s, err
			}
			voters := s.Status(l).Voters
			if err := s.RemoveServer(voters[s.rand.IntN(len(voters))], 10*time.Second); err != nil {
				return s, fmt.Errorf("seed %d: removing a server: %w", seed, err)
			}
		}
		// Settle calmed the network and the disks; the next round has them faulty again.
		s.cfg.Disk = cfg.Disk
		s.cfg.DropRate, s.cfg.DupRate, s.cfg.ReorderRate = cfg.DropRate, cfg.DupRate, cfg.ReorderRate
	}
	return s, s.Settle(limit)
}
