package sim

import (
	"fmt"

	"github.com/raftviz/raftviz/raft/kv"
	"slices"
	"strconv"
	"time"
)

// Faults selects what Chaos does to the cluster besides proposing commands. Message loss,
// duplication and reordering are properties of the network (Config.DropRate and friends).
type Faults struct {
	Partition bool // split the network into random groups, and heal it
	// Crash crashes random nodes and restarts them from storage: half of the crashes come
	// between two events, half in the middle of the node's I/O (CrashDuringIO).
	Crash      bool
	Disconnect bool // cut single nodes off and reconnect them
}

// AllFaults turns every fault on.
var AllFaults = Faults{Partition: true, Crash: true, Disconnect: true}

// Chaos runs the cluster for at least steps events while injecting the selected faults at
// random moments and proposing commands at whatever node leads. It keeps at least one node
// running. It returns the first safety violation.
func (s *Sim) Chaos(steps int, f Faults) error {
	end := s.steps + steps
	cmd := 0
	for s.steps < end && s.check.err == nil {
		s.RunFor(time.Duration(10+s.rand.IntN(90)) * time.Millisecond)
		switch x := s.rand.IntN(100); {
		case x < 35:
			// Clients c0..c2 write and read a handful of keys at whoever leads (sometimes a
			// stale leader), so the history has conflicts worth checking.
			if l, ok := s.Leader(); ok {
				cmd++
				c := kv.Command{Op: kv.OpSet, Key: "k" + strconv.Itoa(cmd%5), Value: strconv.Itoa(cmd)}
				switch s.rand.IntN(6) {
				case 0, 1:
					c = kv.Command{Op: kv.OpGet, Key: c.Key}
				case 2:
					// A read without a log entry (ReadIndex), under readers r0..r2: they
					// have no sessions, unlike the log clients.
					_ = s.ClientRead(l, "r"+strconv.Itoa(cmd%3), c.Key)
					continue
				}
				_ = s.ClientOp(l, "c"+strconv.Itoa(cmd%3), c)
			}
		case x < 45 && f.Partition:
			s.randomPartition()
		case x < 55 && f.Partition:
			if s.group != nil {
				s.Heal()
			}
		case x < 62 && f.Crash:
			alive := s.running()
			if len(alive) > 1 {
				id := alive[s.rand.IntN(len(alive))]
				if s.rand.IntN(2) == 0 {
					_ = s.Crash(id)
				} else {
					_ = s.CrashDuringIO(id, 1+s.rand.IntN(8))
				}
			}
		case x < 72 && f.Crash:
			if down := s.down(); len(down) > 0 {
				_ = s.Restart(down[s.rand.IntN(len(down))])
			}
		case x < 77 && f.Disconnect:
			_ = s.Disconnect(s.peers[s.rand.IntN(len(s.peers))])
		case x < 85 && f.Disconnect:
			for _, id := range s.peers {
				if !s.nodes[id-1].connected {
					_ = s.Reconnect(id)
					break
				}
			}
		}
	}
	return s.check.err
}

func (s *Sim) randomPartition() {
	if len(s.peers) < 2 {
		return // one node: nothing to cut apart
	}
	ids := slices.Clone(s.peers)
	s.rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	cut := 1 + s.rand.IntN(len(ids)-1)
	_ = s.Partition(ids[:cut], ids[cut:])
}

func (s *Sim) running() []uint64 {
	var ids []uint64
	for _, n := range s.nodes {
		if n.r != nil {
			ids = append(ids, n.id)
		}
	}
	return ids
}

func (s *Sim) down() []uint64 {
	var ids []uint64
	for _, n := range s.nodes {
		if n.r == nil && !n.removed {
			ids = append(ids, n.id)
		}
	}
	return ids
}

// Settle ends all faults (heals the network, reconnects and restarts every node, stops
// message loss) and checks that the cluster recovers: a leader is elected, a new command
// commits on every node, and every node applied the same sequence of entries. Any safety
// violation seen during the run is returned first.
func (s *Sim) Settle(limit time.Duration) error {
	if err := s.check.err; err != nil {
		return err
	}
	if s.group != nil {
		s.Heal()
	}
	s.cfg.Disk = DiskFaults{}
	for _, n := range s.nodes {
		n.crashIn = 0
		if !n.connected {
			_ = s.Reconnect(n.id)
		}
		if n.d == nil && !n.removed {
			if err := s.Restart(n.id); err != nil {
				return err
			}
		}
	}
	s.cfg.DropRate, s.cfg.DupRate, s.cfg.ReorderRate = 0, 0, 0
	idx, err := s.Commit("settle", limit)
	if err != nil {
		return fmt.Errorf("cluster did not recover: %w", err)
	}
	if err := s.CheckLogs(); err != nil {
		return err
	}
	// Every node applied everything up to the settling command (the checker has compared
	// the entries themselves as they were applied).
	for _, n := range s.nodes {
		if n.removed {
			continue
		}
		if got := n.appliedBase + uint64(len(n.applied)); got < idx {
			return fmt.Errorf("seed %d: node %d applied %d entries, want at least %d", s.cfg.Seed, n.id, got, idx)
		}
	}
	return s.check.err
}
