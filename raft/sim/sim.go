// Package sim runs a Raft cluster in one goroutine on a virtual clock, a simulated network and
// simulated disks, so that a run is fully determined by its seed: same seed, same event lines,
// byte for byte. Each node is the production driver (raft/node.Driver), the code a live node
// runs. The network can lose, delay, duplicate and reorder messages; nodes can be
// disconnected, partitioned, crashed (losing everything but what their disk made durable) and
// restarted, between events or in the middle of their I/O. A checker watches the safety
// properties of Raft (Figure 3 of the paper) at every step.
package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/kv"
	raftnode "github.com/raftviz/raftviz/raft/node"
	"github.com/raftviz/raftviz/raft/storage"
)

// Epoch is the wall-clock time of virtual time zero; event lines of a simulation start at
// 00:00:00.000000.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Config describes a simulated cluster and its network.
type Config struct {
	Nodes int    // number of nodes, ids 1..Nodes (default 3)
	Seed  uint64 // seeds every random choice
	// Handler receives the event lines; nil writes none.
	Handler slog.Handler
	// TickInterval is the virtual duration of a Raft tick (default 10ms).
	TickInterval time.Duration
	// ElectionTick and HeartbeatTick as in raft.Config (defaults 15 and 5: elections after
	// 150-300ms, heartbeats every 50ms, the timings of the classic Raft labs).
	ElectionTick, HeartbeatTick int
	// MinLatency and MaxLatency bound a message's delivery delay (defaults 1ms and 5ms).
	MinLatency, MaxLatency time.Duration
	// DropRate is the probability that the network loses a message.
	DropRate float64
	// DupRate is the probability that the network delivers a message twice.
	DupRate float64
	// ReorderRate is the probability that a message is held back for up to LongDelay, so that
	// later messages overtake it.
	ReorderRate float64
	LongDelay   time.Duration // default 100ms
	// SnapshotEvery makes each node snapshot its state machine and compact its log once that
	// many entries were applied since its last snapshot (0: never).
	SnapshotEvery int
	// SnapshotChunk is the InstallSnapshot chunk size (raft.Config.SnapshotChunk).
	SnapshotChunk int
	// PreVote and CheckQuorum switch on raft.Config's options of those names on every node.
	PreVote, CheckQuorum bool
	// Storage opens a node's storage, at start and at every restart; nil gives each node a
	// simulated disk (see Disk), which survives crashes as a disk would.
	Storage func(id uint64) (storage.Storage, error)
	// Disk sets the failures of the simulated disks.
	Disk DiskFaults
}

func (c *Config) defaults() {
	if c.Nodes <= 0 {
		c.Nodes = 3
	}
	if c.TickInterval <= 0 {
		c.TickInterval = 10 * time.Millisecond
	}
	if c.ElectionTick <= 0 {
		c.ElectionTick = 15
	}
	if c.HeartbeatTick <= 0 {
		c.HeartbeatTick = 5
	}
	if c.MinLatency <= 0 {
		c.MinLatency = time.Millisecond
	}
	if c.MaxLatency < c.MinLatency {
		c.MaxLatency = max(c.MinLatency, 5*time.Millisecond)
	}
	if c.LongDelay <= 0 {
		c.LongDelay = 100 * time.Millisecond
	}
}

// node is one simulated server: its durable storage outlives crashes, everything else does not.
type node struct {
	id          uint64
	d           *raftnode.Driver // nil while crashed
	r           *raft.Raft       // d's core
	kv          *kv.Store        // d's state machine
	store       storage.Storage
	disk        *disk        // store, when it is the simulated disk
	applied     []raft.Entry // entries applied by the current incarnation, after appliedBase
	appliedBase uint64       // the index of the snapshot its state machine started from
	incarnation int
	connected   bool
	// crashIn, when positive, crashes the node at its crashIn-th I/O step from now (see
	// CrashDuringIO).
	crashIn int
	// initVoters and initLearners are the configuration the node was created with (its
	// storage may hold later ones); removed marks a node taken out of the cluster.
	initVoters, initLearners []uint64
	removed                  bool
}

// Sim is a simulated cluster. It is not safe for concurrent use.
type Sim struct {
	cfg   Config
	rand  *rand.Rand
	now   time.Duration
	queue eventQueue
	seq   uint64
	steps int
	nodes []*node
	peers []uint64
	group map[uint64]int // partition group of each node; nil: no partition
	check checker
	opSeq uint64 // client operations so far (their ids and session numbers)
}

// New starts a cluster of cfg.Nodes fresh nodes.
func New(cfg Config) (*Sim, error) {
	cfg.defaults()
	if cfg.HeartbeatTick >= cfg.ElectionTick {
		return nil, fmt.Errorf("sim: heartbeat tick %d must be below election tick %d", cfg.HeartbeatTick, cfg.ElectionTick)
	}
	s := &Sim{cfg: cfg, rand: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
	s.check.init()
	for i := 1; i <= cfg.Nodes; i++ {
		s.peers = append(s.peers, uint64(i))
	}
	for _, id := range s.peers {
		n := &node{id: id, connected: true, initVoters: slices.Clone(s.peers)}
		s.nodes = append(s.nodes, n)
		if err := s.boot(n); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Now returns the virtual time since the start.
func (s *Sim) Now() time.Duration { return s.now }

// Steps returns the number of events processed so far.
func (s *Sim) Steps() int { return s.steps }

// Seed returns the run's seed.
func (s *Sim) Seed() uint64 { return s.cfg.Seed }

// Nodes returns the node ids.
func (s *Sim) Nodes() []uint64 { return slices.Clone(s.peers) }

func (s *Sim) clock() time.Time { return Epoch.Add(s.now) }

func (s *Sim) node(id uint64) (*node, error) {
	if id < 1 || id > uint64(len(s.nodes)) {
		return nil, fmt.Errorf("sim: no node %d (nodes are 1..%d)", id, len(s.nodes))
	}
	return s.nodes[id-1], nil
}

// boot starts (or restarts) a node from its storage.
func (s *Sim) boot(n *node) error {
	switch {
	case s.cfg.Storage != nil:
		st, err := s.cfg.Storage(n.id)
		if err != nil {
			return fmt.Errorf("sim: node %d storage: %w", n.id, err)
		}
		n.store = st
	case n.disk == nil:
		d, err := newDisk(s, n)
		if err != nil {
			return fmt.Errorf("sim: node %d disk: %w", n.id, err)
		}
		n.disk, n.store = d, d
	default:
		if err := n.disk.reopen(); err != nil {
			s.emitCorrupt(n, err)
			return err
		}
	}
	sm := kv.New()
	d, err := raftnode.NewDriver(raftnode.Config{
		ID: n.id, Peers: n.initVoters, Learners: n.initLearners, Storage: n.store, Sender: simSender{s}, StateMachine: sm,
		TickInterval: s.cfg.TickInterval, ElectionTick: s.cfg.ElectionTick, HeartbeatTick: s.cfg.HeartbeatTick,
		PreVote: s.cfg.PreVote, CheckQuorum: s.cfg.CheckQuorum, SnapshotEvery: s.cfg.SnapshotEvery, SnapshotChunk: s.cfg.SnapshotChunk,
		// Each incarnation draws from its own stream, derived from the run's seed.
		Rand:    rand.New(rand.NewPCG(s.rand.Uint64(), n.id)),
		RPCBase: uint64(n.incarnation)*100000 + 1,
		Handler: s.cfg.Handler,
		Clock:   simClock{s},
		Hooks: raftnode.Hooks{
			Applied: func(e raft.Entry) {
				s.check.apply(s, n, e)
				n.applied = append(n.applied, e)
				s.io(n, "after applying index "+strconv.FormatUint(e.Index, 10))
			},
			Restored: func(meta raft.SnapshotMeta) {
				s.check.restore(s, n, meta)
				n.applied, n.appliedBase = nil, meta.Index
			},
		},
	})
	if err != nil {
		return err
	}
	n.d, n.r, n.kv = d, d.Raft(), sm
	n.applied, n.appliedBase = nil, d.Applied()
	n.incarnation++
	// Nodes tick out of phase, as real machines' timers do.
	s.schedule(time.Duration(s.rand.Int64N(int64(s.cfg.TickInterval)))+1, event{kind: evTick, to: n.id, inc: n.incarnation})
	s.check.observe(s, n)
	return nil
}

// RunFor processes events for d of virtual time.
func (s *Sim) RunFor(d time.Duration) {
	s.runUntil(s.now+d, nil)
}

// RunUntil processes events until cond holds (checked after every event) or limit of virtual
// time has passed. It reports whether cond held.
func (s *Sim) RunUntil(cond func() bool, limit time.Duration) bool {
	if cond() {
		return true
	}
	return s.runUntil(s.now+limit, cond)
}

func (s *Sim) runUntil(end time.Duration, cond func() bool) bool {
	for s.queue.Len() > 0 && s.queue[0].at <= end {
		ev := heap.Pop(&s.queue).(event)
		s.now = ev.at
		s.steps++
		s.handle(ev)
		if cond != nil && cond() {
			return true
		}
	}
	s.now = end
	return false
}

func (s *Sim) handle(ev event) {
	n := s.nodes[ev.to-1]
	switch ev.kind {
	case evTick:
		if n.d == nil || ev.inc != n.incarnation {
			return // the node crashed; its timer died with it
		}
		s.drive(n, func(d *raftnode.Driver) error { d.Tick(); return nil })
		s.schedule(s.cfg.TickInterval, ev)
	case evDeliver:
		m := ev.msg
		if n.d == nil {
			s.drop(m, eventline.ReasonCrashed)
			return
		}
		if !s.reachable(m.From, m.To) {
			s.drop(m, eventline.ReasonPartition)
			return
		}
		s.drive(n, func(d *raftnode.Driver) error {
			before := d.Status()
			if err := d.Step(m); err != nil {
				s.check.fail(s, "node %d rejected a message: %v", n.id, err)
			}
			s.check.adopted(s, n, m, before)
			return nil
		})
	}
}

// crashSignal unwinds a driver that the simulator crashes in the middle of its I/O.
type crashSignal struct{ step string }

// drive runs f on a node's driver and then its Ready cycles (persist, send, apply), as the
// live node's loop does after every input. A crash planted at one of its I/O steps (see
// CrashDuringIO) stops it there; a failed fsync stops it for good (until a restart). It
// returns f's error.
func (s *Sim) drive(n *node, f func(d *raftnode.Driver) error) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		cs, ok := p.(crashSignal)
		if !ok {
			panic(p)
		}
		s.crash(n, "crashes "+cs.step)
	}()
	if err = f(n.d); err != nil {
		return err
	}
	if rerr := n.d.Ready(); rerr != nil {
		n.d.Fail(rerr)
		s.halt(n)
		return nil
	}
	s.check.observe(s, n)
	return nil
}

// io is a node's I/O step (a send, a write, an fsync, an apply): the place a planted crash
// happens.
func (s *Sim) io(n *node, step string) {
	if n.crashIn <= 0 {
		return
	}
	n.crashIn--
	if n.crashIn == 0 {
		panic(crashSignal{step})
	}
}

type simClock struct{ s *Sim }

func (c simClock) Now() time.Time { return c.s.clock() }

// simSender puts a driver's messages on the simulated network; each send is an I/O step.
type simSender struct{ s *Sim }

func (ss simSender) Send(m raft.Message) {
	ss.s.check.promise(ss.s, ss.s.nodes[m.From-1], m)
	ss.s.send(m)
	ss.s.io(ss.s.nodes[m.From-1], "after sending "+m.Type.String()+" to "+raft.ID(m.To))
}

// send puts a message on the simulated network.
func (s *Sim) send(m raft.Message) {
	if !s.reachable(m.From, m.To) {
		s.drop(m, eventline.ReasonPartition)
		return
	}
	if s.cfg.DropRate > 0 && s.rand.Float64() < s.cfg.DropRate {
		s.drop(m, eventline.ReasonLoss)
		return
	}
	s.schedule(s.latency(), event{kind: evDeliver, to: m.To, msg: m})
	if s.cfg.DupRate > 0 && s.rand.Float64() < s.cfg.DupRate {
		s.schedule(s.latency(), event{kind: evDeliver, to: m.To, msg: m})
	}
}

func (s *Sim) latency() time.Duration {
	d := s.cfg.MinLatency
	if spread := s.cfg.MaxLatency - s.cfg.MinLatency; spread > 0 {
		d += time.Duration(s.rand.Int64N(int64(spread) + 1))
	}
	if s.cfg.ReorderRate > 0 && s.rand.Float64() < s.cfg.ReorderRate {
		d += time.Duration(s.rand.Int64N(int64(s.cfg.LongDelay) + 1))
	}
	return d
}

func (s *Sim) reachable(from, to uint64) bool {
	a, b := s.nodes[from-1], s.nodes[to-1]
	if !a.connected || !b.connected {
		return false
	}
	return s.group == nil || s.group[from] == s.group[to]
}

func (s *Sim) drop(m raft.Message, reason string) {
	raft.EmitCluster(s.cfg.Handler, s.clock(), eventline.KindDrop,
		"network drops "+m.Type.String()+" "+raft.ID(m.From)+"->"+raft.ID(m.To),
		slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()),
		slog.String("from", raft.ID(m.From)), slog.String("to", raft.ID(m.To)), slog.String("reason", reason))
}

func (s *Sim) schedule(after time.Duration, ev event) {
	s.seq++
	ev.at = s.now + after
	ev.seq = s.seq
	heap.Push(&s.queue, ev)
}

// emitNode writes a harness event (crash, restart, disconnect, reconnect) on a node's column.
func (s *Sim) emitNode(n *node, kind, msg string) {
	if s.cfg.Handler == nil {
		return
	}
	tr := raft.NewTracer(s.cfg.Handler, raft.ID(n.id), s.clock)
	if n.d == nil {
		// A node that is down has no term in memory; its disk's is not what it would say.
		tr.EmitStateless(kind, msg, slog.String("state", raft.Dead.String()))
		return
	}
	st := n.d.Status()
	if kind == eventline.KindCrash {
		st.Role = raft.Dead // with the term it had in memory
	}
	tr.Emit(kind, msg, st.Term, st.Role)
}

// Crash stops a node without a clean shutdown: it loses everything but what its disk made
// durable, and messages to it are lost until it restarts.
func (s *Sim) Crash(id uint64) error {
	n, err := s.node(id)
	if err != nil {
		return err
	}
	if n.d == nil {
		return fmt.Errorf("sim: node %d is already down", id)
	}
	s.crash(n, "crashes")
	return nil
}

// CrashDuringIO plants a crash in a running node: it dies at its k-th I/O step from now (a
// send, a write, an fsync, an apply), in the middle of whatever it is doing then, rather
// than between two events.
func (s *Sim) CrashDuringIO(id uint64, k int) error {
	n, err := s.node(id)
	if err != nil {
		return err
	}
	if n.d == nil {
		return fmt.Errorf("sim: node %d is down", id)
	}
	n.crashIn = max(k, 1)
	return nil
}

// crash takes a node down: the driver and everything in memory are gone; the disk keeps
// what it made durable, and of a write it had not synced, maybe a part (see disk).
func (s *Sim) crash(n *node, msg string) {
	s.emitNode(n, eventline.KindCrash, msg)
	s.halt(n)
}

// halt marks a node as stopped (its driver already stopped, or killed).
func (s *Sim) halt(n *node) {
	n.d, n.r, n.crashIn = nil, nil, 0
	if n.disk != nil {
		n.disk.crash()
	} else {
		_ = n.store.Close()
	}
}

// Restart boots a crashed node from its storage.
func (s *Sim) Restart(id uint64) error {
	n, err := s.node(id)
	if err != nil {
		return err
	}
	if n.d != nil {
		return fmt.Errorf("sim: node %d is running", id)
	}
	s.emitNode(n, eventline.KindRestart, "restarts")
	return s.boot(n)
}

// Disconnect cuts a node off the network (it keeps running).
func (s *Sim) Disconnect(id uint64) error {
	n, err := s.node(id)
	if err != nil {
		return err
	}
	n.connected = false
	s.emitNode(n, eventline.KindDisconnect, "disconnected")
	return nil
}

// Reconnect puts a disconnected node back on the network.
func (s *Sim) Reconnect(id uint64) error {
	n, err := s.node(id)
	if err != nil {
		return err
	}
	n.connected = true
	s.emitNode(n, eventline.KindReconnect, "reconnected")
	return nil
}

// Partition splits the network into groups; nodes in no group form one more group.
func (s *Sim) Partition(groups ...[]uint64) error {
	g := make(map[uint64]int, len(s.nodes))
	for _, id := range s.peers {
		g[id] = len(groups)
	}
	var parts []string
	for i, grp := range groups {
		ids := make([]string, 0, len(grp))
		for _, id := range grp {
			if _, err := s.node(id); err != nil {
				return err
			}
			g[id] = i
			ids = append(ids, raft.ID(id))
		}
		parts = append(parts, strings.Join(ids, ","))
	}
	s.group = g
	raft.EmitCluster(s.cfg.Handler, s.clock(), eventline.KindPartition, "network partitioned "+strings.Join(parts, " | "),
		slog.String("groups", strings.Join(parts, "|")))
	return nil
}

// Heal removes every partition (disconnected nodes stay disconnected).
func (s *Sim) Heal() {
	s.group = nil
	raft.EmitCluster(s.cfg.Handler, s.clock(), eventline.KindHeal, "network healed")
}

// Propose submits a command at a node, as a client would. It fails on a node that is down or
// not the leader.
func (s *Sim) Propose(id uint64, cmd string) (uint64, error) {
	return s.proposeAt(id, func(d *raftnode.Driver) (uint64, error) {
		return d.Propose([]byte(cmd), func(raftnode.Result, error) {})
	})
}

// proposeConf submits a membership change at a node.
func (s *Sim) proposeConf(id uint64, cc raft.ConfChange) (uint64, error) {
	return s.proposeAt(id, func(d *raftnode.Driver) (uint64, error) {
		return d.ProposeConfChange(cc, func(raftnode.Result, error) {})
	})
}

func (s *Sim) proposeAt(id uint64, propose func(*raftnode.Driver) (uint64, error)) (uint64, error) {
	n, err := s.node(id)
	if err != nil {
		return 0, err
	}
	if n.d == nil {
		return 0, fmt.Errorf("sim: node %d is down", id)
	}
	var idx uint64
	err = s.drive(n, func(d *raftnode.Driver) (err error) {
		idx, err = propose(d)
		return err
	})
	return idx, err
}

// Campaign makes a node start an election now.
func (s *Sim) Campaign(id uint64) error {
	n, err := s.node(id)
	if err != nil {
		return err
	}
	if n.d == nil {
		return fmt.Errorf("sim: node %d is down", id)
	}
	return s.drive(n, func(d *raftnode.Driver) error { d.Raft().Campaign(); return nil })
}

// AddServer adds a brand-new node (empty storage) to the cluster the way the dissertation
// does (4.2.1): as a learner first; once it has caught up with the leader's log it is promoted
// to voter. It returns the new node's id.
func (s *Sim) AddServer(limit time.Duration) (uint64, error) {
	l, err := s.StableLeader(limit)
	if err != nil {
		return 0, err
	}
	id := uint64(len(s.nodes) + 1)
	n := &node{id: id, connected: true, initVoters: s.Status(l).Voters, initLearners: []uint64{id}}
	s.nodes = append(s.nodes, n)
	s.peers = append(s.peers, id)
	if err := s.boot(n); err != nil {
		return 0, err
	}
	if err := s.changeConf(raft.ConfChange{Type: raft.ConfAddLearner, Node: id}, limit); err != nil {
		return id, err
	}
	// Catch up: the learner's log reaches the leader's commit index.
	if !s.RunUntil(func() bool {
		l, ok := s.Leader()
		return ok && s.Status(id).Commit >= s.Status(l).Commit
	}, limit) {
		return id, fmt.Errorf("sim: learner %d did not catch up within %v", id, limit)
	}
	return id, s.changeConf(raft.ConfChange{Type: raft.ConfPromote, Node: id}, limit)
}

// RemoveServer takes a node out of the cluster (the leader too) and stops it once the
// removal is committed.
func (s *Sim) RemoveServer(id uint64, limit time.Duration) error {
	n, err := s.node(id)
	if err != nil {
		return err
	}
	if err := s.changeConf(raft.ConfChange{Type: raft.ConfRemove, Node: id}, limit); err != nil {
		return err
	}
	n.removed = true
	s.peers = slices.DeleteFunc(s.peers, func(x uint64) bool { return x == id })
	if n.r != nil {
		return s.Crash(id)
	}
	return nil
}

// changeConf proposes a membership change at the leader and runs until it is committed,
// retrying while an earlier change is pending or leadership moves.
func (s *Sim) changeConf(cc raft.ConfChange, limit time.Duration) error {
	deadline := s.now + limit
	for s.now < deadline {
		l, err := s.StableLeader(deadline - s.now)
		if err != nil {
			return err
		}
		idx, err := s.proposeConf(l, cc)
		if err != nil {
			if errors.Is(err, raft.ErrConfPending) || errors.Is(err, raft.ErrTransferring) || errors.Is(err, raft.ErrLearnerBehind) {
				s.RunFor(10 * time.Millisecond)
				continue
			}
			return err
		}
		term := s.Status(l).Term
		if s.RunUntil(func() bool {
			for _, n := range s.nodes {
				if n.r != nil && appliedAt(n, idx, term) {
					return true // applied somewhere: committed
				}
			}
			return false
		}, min(2*time.Second, max(deadline-s.now, 0))) {
			return nil
		}
	}
	return fmt.Errorf("sim: %s %d not committed within %v", cc.Type, cc.Node, limit)
}

// ClientOp submits a key-value command at node id as a client would: it writes an invoke
// event, and a return event with the answer when that node applies the command. Commands get
// sessions, so the history can be checked for linearizability. If the node loses the entry
// (or crashes), the client never hears back: its invoke stays open, which a linearizability
// checker treats as "may have happened".
func (s *Sim) ClientOp(id uint64, client string, c kv.Command) error {
	n, err := s.node(id)
	if err != nil || n.d == nil {
		return fmt.Errorf("sim: node %d is down", id)
	}
	s.opSeq++
	c.Client, c.Seq = client, s.opSeq
	opID := strconv.FormatUint(s.opSeq, 10)
	h := s.cfg.Handler
	if h != nil {
		kv.EmitInvoke(h, s.clock(), client, opID, c)
	}
	err = s.drive(n, func(d *raftnode.Driver) error {
		_, err := d.Propose(c.Encode(), func(res raftnode.Result, err error) {
			// A command the session took for a retry gets no answer either: the client
			// never hears back.
			kr, _ := res.Value.(kv.Result)
			if err == nil && !kr.Duplicate && h != nil {
				kv.EmitReturn(h, s.clock(), client, opID, c, kr, nil)
			}
		})
		return err
	})
	if err != nil && h != nil {
		kv.EmitReturn(h, s.clock(), client, opID, c, kv.Result{}, err)
	}
	return err
}

// ClientRead reads a key linearizably at node id without a log entry (ReadIndex), as a client
// would: an invoke event, and a return event with the value once the leader has confirmed its
// leadership and applied what was committed when the read arrived.
func (s *Sim) ClientRead(id uint64, client, key string) error {
	n, err := s.node(id)
	if err != nil || n.d == nil {
		return fmt.Errorf("sim: node %d is down", id)
	}
	s.opSeq++
	opID := strconv.FormatUint(s.opSeq, 10)
	c := kv.Command{Op: kv.OpGet, Key: key}
	h := s.cfg.Handler
	if h != nil {
		kv.EmitInvoke(h, s.clock(), client, opID, c)
	}
	err = s.drive(n, func(d *raftnode.Driver) error {
		sm := n.kv
		return d.Read(func(_ uint64, err error) {
			if err == nil && h != nil {
				value, found := sm.Get(key)
				kv.EmitReturn(h, s.clock(), client, opID, c, kv.Result{Value: value, Found: found}, nil)
			}
		})
	})
	if err != nil && h != nil {
		kv.EmitReturn(h, s.clock(), client, opID, c, kv.Result{}, err)
	}
	return err
}

// Transfer asks the current leader to hand its leadership to node to.
func (s *Sim) Transfer(to uint64) error {
	if _, err := s.node(to); err != nil {
		return err
	}
	l, ok := s.Leader()
	if !ok {
		return errors.New("sim: no leader to transfer from")
	}
	return s.drive(s.nodes[l-1], func(d *raftnode.Driver) error { return d.Raft().TransferLeadership(to) })
}

// Alive reports whether a node is running.
func (s *Sim) Alive(id uint64) bool {
	n, err := s.node(id)
	return err == nil && n.d != nil
}

// Connected reports whether a node is on the network.
func (s *Sim) Connected(id uint64) bool {
	n, err := s.node(id)
	return err == nil && n.connected
}

// Status returns a running node's state; a crashed node reports the Dead role.
func (s *Sim) Status(id uint64) raft.Status {
	n, err := s.node(id)
	if err != nil || n.r == nil {
		return raft.Status{ID: id, Role: raft.Dead}
	}
	return n.r.Status()
}

// Log returns a copy of a node's log (its storage when it is down).
func (s *Sim) Log(id uint64) []raft.Entry {
	n, err := s.node(id)
	if err != nil {
		return nil
	}
	if n.d == nil {
		if n.disk != nil {
			_, ents, _ := n.disk.durable.Load()
			return ents
		}
		_, ents, _ := n.store.Load()
		return ents
	}
	return n.r.Entries(1)
}

// Applied returns the entries the current incarnation of a node applied, in order.
func (s *Sim) Applied(id uint64) []raft.Entry {
	n, err := s.node(id)
	if err != nil {
		return nil
	}
	return slices.Clone(n.applied)
}

// Get reads a key from a node's state machine.
func (s *Sim) Get(id uint64, key string) (string, bool) {
	n, err := s.node(id)
	if err != nil || n.d == nil {
		return "", false
	}
	return n.kv.Get(key)
}

// Leader returns the leader a client could use: a running, connected node that believes it is
// leader and whose term is the highest among such nodes. Several nodes may believe they lead
// (in different terms); only the newest counts.
func (s *Sim) Leader() (uint64, bool) {
	var lead, term uint64
	for _, n := range s.nodes {
		if n.r == nil || !n.connected {
			continue
		}
		st := n.r.Status()
		if st.Role == raft.Leader && st.Term >= term {
			lead, term = n.id, st.Term
		}
	}
	return lead, lead != None
}

// None is the zero node id.
const None = raft.None

// StableLeader runs until the connected, running nodes agree on one leader: it leads, and a
// majority of the connected nodes are in its term and follow it. It returns the leader, or an
// error after limit.
func (s *Sim) StableLeader(limit time.Duration) (uint64, error) {
	var lead uint64
	ok := s.RunUntil(func() bool {
		l, ok := s.Leader()
		if !ok {
			return false
		}
		st := s.Status(l)
		agree := 0
		for _, n := range s.nodes {
			if n.r == nil || !n.connected || !s.reachable(l, n.id) {
				continue
			}
			ns := n.r.Status()
			if ns.Term == st.Term && (ns.Lead == l) {
				agree++
			}
		}
		if agree >= len(st.Voters)/2+1 {
			lead = l
			return true
		}
		return false
	}, limit)
	if !ok {
		return 0, fmt.Errorf("no stable leader after %v (seed %d)", limit, s.cfg.Seed)
	}
	return lead, nil
}

// Violation returns the first safety violation the checker found, or nil.
func (s *Sim) Violation() error { return s.check.err }

// ErrNoQuorum is returned by Commit when a command could not commit in time.
var ErrNoQuorum = errors.New("command not committed")

// Commit proposes cmd at the current leader and runs until every running, connected node
// reachable from it has applied it. Like a client, it proposes again (possibly applying the
// command twice) when the leader it used loses its leadership before the entry commits. It
// returns the entry's index.
func (s *Sim) Commit(cmd string, limit time.Duration) (uint64, error) {
	deadline := s.now + limit
	for s.now < deadline {
		lead, err := s.StableLeader(deadline - s.now)
		if err != nil {
			break
		}
		idx, err := s.Propose(lead, cmd)
		if err != nil {
			// Refused (a leadership transfer in progress): let time pass before retrying.
			s.RunFor(10 * time.Millisecond)
			continue
		}
		term := s.Status(lead).Term
		lost := false
		ok := s.RunUntil(func() bool {
			if st := s.Status(lead); st.Role != raft.Leader || st.Term != term {
				lost = true
				return true
			}
			for _, n := range s.nodes {
				if n.r == nil || !n.connected || !s.reachable(lead, n.id) {
					continue
				}
				if !appliedAt(n, idx, term) {
					return false
				}
			}
			return true
		}, min(2*time.Second, max(deadline-s.now, 0)))
		if ok && !lost {
			return idx, nil
		}
		if lost && s.AppliedCount(idx, term) > 0 {
			// It committed before the leader changed: wait for the others to apply it.
			if s.RunUntil(func() bool { return s.AppliedCount(idx, term) == len(s.running()) }, max(deadline-s.now, 0)) {
				return idx, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: %q within %v (seed %d)", ErrNoQuorum, cmd, limit, s.cfg.Seed)
}

func appliedAt(n *node, idx, term uint64) bool {
	if idx <= n.appliedBase {
		return true // inside the snapshot the state machine started from
	}
	for i := len(n.applied) - 1; i >= 0; i-- {
		if e := n.applied[i]; e.Index == idx {
			return e.Term == term
		}
	}
	return false
}

// AppliedCount returns how many running nodes applied index idx of term term.
func (s *Sim) AppliedCount(idx, term uint64) int {
	c := 0
	for _, n := range s.nodes {
		if n.r != nil && appliedAt(n, idx, term) {
			c++
		}
	}
	return c
}

type evKind uint8

const (
	evTick evKind = iota + 1
	evDeliver
)

type event struct {
	at   time.Duration
	seq  uint64 // breaks ties in scheduling order, so runs repeat exactly
	kind evKind
	to   uint64
	inc  int // the incarnation a tick belongs to
	msg  raft.Message
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	ev := old[len(old)-1]
	*q = old[:len(old)-1]
	return ev
}
