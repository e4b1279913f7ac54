// Package cluster runs N Raft nodes in one process, over TCP on the loopback interface or an
// in-memory network, and injects faults into them: disconnect, partition, crash (stop without a
// clean shutdown) and restart from storage. Tests, raftrun and the demo use it.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/kv"
	"github.com/raftviz/raftviz/raft/node"
	"github.com/raftviz/raftviz/raft/storage"
	"github.com/raftviz/raftviz/raft/transport"
)

// Options configures a cluster.
type Options struct {
	Nodes int // default 3
	// TCP runs every node on its own loopback TCP port; otherwise they share an in-memory
	// network.
	TCP bool
	// Dir keeps each node's write-ahead log in Dir/<id>; empty keeps storage in memory (which
	// still survives Crash and Restart).
	Dir string
	// Handler receives the event lines of every node and of the cluster; nil writes none.
	Handler slog.Handler
	// Timing, as in node.Config.
	TickInterval                time.Duration
	ElectionTick, HeartbeatTick int
	// ClusterID tags TCP connections (default 1).
	ClusterID uint64
	// PreVote and CheckQuorum as in raft.Config.
	PreVote, CheckQuorum bool
	// SnapshotEvery as in node.Config.
	SnapshotEvery int
}

type member struct {
	id    uint64
	node  *node.Node // nil while crashed
	kv    *kv.Store  // node's state machine (a new one at each start); read on node's goroutine
	tcp   *transport.TCP
	addr  string
	mem   *storage.Memory
	store storage.Storage
	// lastTerm is the term a crashed node had, so that its harness events (restart) report
	// the term it will come back with rather than 0.
	lastTerm uint64
	// initVoters and initLearners are the configuration the node was created with.
	initVoters, initLearners []uint64
	removed                  bool
}

// Cluster is a running cluster. Its methods are safe for concurrent use.
type Cluster struct {
	opts  Options
	links *transport.Links
	net   *transport.Mem
	peers []uint64

	mu      sync.Mutex
	members map[uint64]*member
	opID    atomic.Uint64
}

// Start starts every node.
func Start(opts Options) (*Cluster, error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.ClusterID == 0 {
		opts.ClusterID = 1
	}
	c := &Cluster{opts: opts, links: &transport.Links{}, members: make(map[uint64]*member)}
	c.net = transport.NewMem(c.links)
	for i := 1; i <= opts.Nodes; i++ {
		c.peers = append(c.peers, uint64(i))
	}
	for _, id := range c.peers {
		c.members[id] = &member{id: id, initVoters: slices.Clone(c.peers)}
	}
	if opts.TCP {
		// Bind every listener first, so that each node knows every address when it starts.
		for _, id := range c.peers {
			t, err := transport.ListenTCP(transport.TCPConfig{ID: id, ClusterID: opts.ClusterID,
				Listen: "127.0.0.1:0", Links: c.links, Handler: opts.Handler})
			if err != nil {
				c.Close()
				return nil, err
			}
			c.members[id].tcp, c.members[id].addr = t, t.Addr()
		}
		for _, m := range c.members {
			for _, o := range c.members {
				m.tcp.SetPeer(o.id, o.addr)
			}
		}
	}
	for _, id := range c.peers {
		if err := c.boot(c.members[id]); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Peers returns the ids of the voting members.
func (c *Cluster) Peers() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.peers)
}

// Addr returns a node's TCP address ("" on the in-memory network).
func (c *Cluster) Addr(id uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.members[id]; ok {
		return m.addr
	}
	return ""
}

func (c *Cluster) boot(m *member) error {
	var err error
	switch {
	case c.opts.Dir != "":
		m.store, err = storage.OpenWAL(filepath.Join(c.opts.Dir, raft.ID(m.id)))
		if err != nil {
			return err
		}
	case m.mem == nil:
		m.mem = storage.NewMemory()
		m.store = m.mem
	default:
		m.store = m.mem.Reopen()
	}
	if c.opts.TCP && m.tcp == nil {
		m.tcp, err = transport.ListenTCP(transport.TCPConfig{ID: m.id, ClusterID: c.opts.ClusterID,
			Listen: m.addr, Links: c.links, Handler: c.opts.Handler})
		if err != nil {
			m.store.Close()
			return err
		}
		for _, o := range c.members {
			m.tcp.SetPeer(o.id, o.addr)
		}
	}
	var sender node.Sender = c.net
	if m.tcp != nil {
		sender = m.tcp
	}
	sm := kv.New()
	n, err := node.Start(node.Config{ID: m.id, Peers: m.initVoters, Learners: m.initLearners, Storage: m.store, Sender: sender, StateMachine: sm,
		TickInterval: c.opts.TickInterval, ElectionTick: c.opts.ElectionTick, HeartbeatTick: c.opts.HeartbeatTick,
		PreVote: c.opts.PreVote, CheckQuorum: c.opts.CheckQuorum, SnapshotEvery: c.opts.SnapshotEvery, Handler: c.opts.Handler})
	if err != nil {
		m.store.Close()
		return err
	}
	m.node, m.kv = n, sm
	if m.tcp != nil {
		m.tcp.Serve(n)
	} else {
		c.net.Attach(m.id, n)
	}
	return nil
}

func (c *Cluster) member(id uint64) (*member, error) {
	m, ok := c.members[id]
	if !ok {
		return nil, fmt.Errorf("no node %d (nodes are %s)", id, joinIDs(c.peers))
	}
	return m, nil
}

// emit writes a harness event on a node's column.
func (c *Cluster) emit(id uint64, kind, msg string) {
	if c.opts.Handler == nil {
		return
	}
	m := c.members[id]
	term, role := m.lastTerm, raft.Dead
	if m.node != nil {
		st := m.node.Status()
		term, role = st.Term, st.Role
	}
	if kind == eventline.KindCrash {
		role = raft.Dead // with the term it had: the node is gone, whatever it was
	}
	raft.NewTracer(c.opts.Handler, raft.ID(id), nil).Emit(kind, msg, term, role)
}

// Node returns a running node, or nil when it is crashed or unknown.
func (c *Cluster) Node(id uint64) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.members[id]; ok {
		return m.node
	}
	return nil
}

// running returns a running node and its state machine (nil when it is down).
func (c *Cluster) running(id uint64) (*node.Node, *kv.Store) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.members[id]; ok && m.node != nil {
		return m.node, m.kv
	}
	return nil, nil
}

// Get reads a key from a node's own copy of the state machine, which may be stale (Read is
// linearizable). ok is false when the key is missing; err says the node is down.
func (c *Cluster) Get(ctx context.Context, id uint64, key string) (value string, ok bool, err error) {
	n, sm := c.running(id)
	if n == nil {
		return "", false, fmt.Errorf("node %d is down", id)
	}
	err = n.View(ctx, func() { value, ok = sm.Get(key) })
	return value, ok, err
}

// Result is the answer to a command: the index it was applied at and the key-value store's
// result.
type Result struct {
	Index uint64
	kv.Result
}

// Running reports whether a node is up.
func (c *Cluster) Running(id uint64) bool { return c.Node(id) != nil }

// Disconnect cuts a node off the network; it keeps running.
func (c *Cluster) Disconnect(id uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.member(id); err != nil {
		return err
	}
	c.links.Disconnect(id)
	c.emit(id, eventline.KindDisconnect, "disconnected")
	return nil
}

// Reconnect puts a node back on the network.
func (c *Cluster) Reconnect(id uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.member(id); err != nil {
		return err
	}
	c.links.Reconnect(id)
	c.emit(id, eventline.KindReconnect, "reconnected")
	return nil
}

// Connected reports whether a node is on the network.
func (c *Cluster) Connected(id uint64) bool { return c.links.Connected(id) }

// Partition splits the network into groups; nodes in no group form one more group.
func (c *Cluster) Partition(groups ...[]uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, g := range groups {
		for _, id := range g {
			if _, err := c.member(id); err != nil {
				return err
			}
		}
		parts = append(parts, joinIDs(g))
	}
	c.links.Partition(groups...)
	raft.EmitCluster(c.opts.Handler, time.Now(), eventline.KindPartition, "network partitioned "+strings.Join(parts, " | "),
		slog.String("groups", strings.Join(parts, "|")))
	return nil
}

// Heal removes the partition.
func (c *Cluster) Heal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.links.Heal()
	raft.EmitCluster(c.opts.Handler, time.Now(), eventline.KindHeal, "network healed")
}

// Crash stops a node the way a killed process stops: no clean shutdown, nothing but what its
// storage already synced survives, its connections break.
func (c *Cluster) Crash(id uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.member(id)
	if err != nil {
		return err
	}
	if m.node == nil {
		return fmt.Errorf("node %d is already down", id)
	}
	c.net.Attach(id, nil)
	if m.tcp != nil {
		m.tcp.Close()
		m.tcp = nil
	}
	m.node.Crash()
	// Said once the node has stopped, with the term it had then: it is the node's last event
	// (said before, the node's loop went on for a moment, and its term could be ahead of it).
	c.emit(id, eventline.KindCrash, "crashes")
	m.lastTerm = m.node.Status().Term
	m.node = nil
	return nil
}

// Restart boots a crashed node from its storage.
func (c *Cluster) Restart(id uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.member(id)
	if err != nil {
		return err
	}
	if m.node != nil {
		return fmt.Errorf("node %d is running", id)
	}
	if m.removed {
		return fmt.Errorf("node %d was removed from the cluster", id)
	}
	c.emit(id, eventline.KindRestart, "restarts")
	return c.boot(m)
}

// AddServer starts a brand-new node (empty storage) and adds it to the cluster: as a learner
// first, promoted to voter once it has caught up (dissertation 4.2.1). It returns its id.
func (c *Cluster) AddServer(ctx context.Context) (uint64, error) {
	l, err := c.Leader(ctx)
	if err != nil {
		return 0, err
	}
	leader := c.Node(l)
	if leader == nil {
		return 0, fmt.Errorf("leader %d went down", l)
	}
	c.mu.Lock()
	id := uint64(len(c.members) + 1)
	m := &member{id: id, initVoters: leader.Status().Voters, initLearners: []uint64{id}}
	c.members[id] = m
	if c.opts.TCP {
		t, err := transport.ListenTCP(transport.TCPConfig{ID: id, ClusterID: c.opts.ClusterID,
			Listen: "127.0.0.1:0", Links: c.links, Handler: c.opts.Handler})
		if err != nil {
			delete(c.members, id)
			c.mu.Unlock()
			return 0, err
		}
		m.tcp, m.addr = t, t.Addr()
		for _, o := range c.members {
			if o.tcp != nil {
				o.tcp.SetPeer(id, m.addr)
				m.tcp.SetPeer(o.id, o.addr)
			}
		}
	}
	err = c.boot(m)
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if err := c.changeConf(ctx, raft.ConfChange{Type: raft.ConfAddLearner, Node: id}); err != nil {
		return id, err
	}
	for { // catch up
		l, err := c.Leader(ctx)
		if err != nil {
			return id, err
		}
		ln, nn := c.Node(l), c.Node(id)
		if ln != nil && nn != nil && nn.Status().Commit >= ln.Status().Commit {
			break
		}
		select {
		case <-ctx.Done():
			return id, fmt.Errorf("node %d did not catch up: %w", id, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := c.changeConf(ctx, raft.ConfChange{Type: raft.ConfPromote, Node: id}); err != nil {
		return id, err
	}
	c.mu.Lock()
	c.peers = append(c.peers, id)
	c.mu.Unlock()
	return id, nil
}

// RemoveServer takes a node (the leader too) out of the cluster and stops it once the removal
// is committed.
func (c *Cluster) RemoveServer(ctx context.Context, id uint64) error {
	c.mu.Lock()
	_, err := c.member(id)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.changeConf(ctx, raft.ConfChange{Type: raft.ConfRemove, Node: id}); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[id]
	m.removed = true
	c.peers = slices.DeleteFunc(c.peers, func(x uint64) bool { return x == id })
	c.net.Attach(id, nil)
	if m.tcp != nil {
		m.tcp.Close()
		m.tcp = nil
	}
	if m.node != nil {
		err := m.node.Stop()
		m.node = nil
		return err
	}
	return nil
}

// changeConf commits a membership change through the leader, retrying while another change
// is pending or leadership moves.
func (c *Cluster) changeConf(ctx context.Context, cc raft.ConfChange) error {
	for {
		_, _, err := c.submit(ctx, func(ctx context.Context, n *node.Node) (Result, error) {
			idx, err := n.ChangeConf(ctx, cc)
			return Result{Index: idx}, err
		})
		if err == nil {
			return nil
		}
		// Only what a retry can change is retried (no leader yet, a change or transfer under
		// way, a learner catching up); a refusal is final.
		if ctx.Err() != nil || errors.Is(err, raft.ErrRefused) {
			return fmt.Errorf("%s %d: %w", cc.Type, cc.Node, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Transfer asks the agreed leader to hand its leadership to node to, and waits until to
// leads.
func (c *Cluster) Transfer(ctx context.Context, to uint64) error {
	c.mu.Lock()
	_, err := c.member(to)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	l, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	if l == to {
		return nil
	}
	if n := c.Node(l); n == nil {
		return fmt.Errorf("leader %d went down", l)
	} else if err := n.TransferLeadership(to); err != nil {
		return err
	}
	for {
		if l, ok := c.agreedLeader(); ok && l == to {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %d did not take over: %w", to, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Close stops every node cleanly and waits for all their goroutines.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, m := range c.members {
		if m.tcp != nil {
			m.tcp.Close()
			m.tcp = nil
		}
		if m.node != nil {
			errs = append(errs, m.node.Stop())
			m.node = nil
		}
	}
	return errors.Join(errs...)
}

// Leader waits until the running, connected nodes agree on one leader: it leads in the
// highest term among them and a majority of the cluster follows it in that term.
func (c *Cluster) Leader(ctx context.Context) (uint64, error) {
	for {
		if l, ok := c.agreedLeader(); ok {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no agreed leader: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *Cluster) agreedLeader() (uint64, bool) {
	var lead, term uint64
	sts := make(map[uint64]raft.Status)
	c.mu.Lock()
	voters := slices.Clone(c.peers)
	c.mu.Unlock()
	for _, id := range voters {
		n := c.Node(id)
		if n == nil || !c.links.Connected(id) {
			continue
		}
		st := n.Status()
		sts[id] = st
		if st.Role == raft.Leader && st.Term > term {
			lead, term = id, st.Term
		}
	}
	if lead == raft.None {
		return 0, false
	}
	agree := 0
	for id, st := range sts {
		if st.Term == term && st.Lead == lead && c.links.CanTalk(lead, id) {
			agree++
		}
	}
	return lead, agree >= len(voters)/2+1
}

// Submit applies a command through whichever node leads, as a client would: it starts at the
// agreed leader, follows redirects, and retries when leadership changes, until ctx ends. It
// returns the result and the node that answered. A retried command may be applied twice.
func (c *Cluster) Submit(ctx context.Context, cmd string) (res Result, by uint64, err error) {
	kc, perr := kv.Parse(cmd)
	if perr != nil {
		return c.submit(ctx, submitter([]byte(cmd)))
	}
	// The harness is one client with a session: a command it retries after a timeout or a
	// change of leader is applied once.
	if kc.Client == "" {
		kc.Client, kc.Seq = "c1", c.opID.Add(1)
	}
	if c.opts.Handler != nil {
		// The request and its answer are client events (invoke, return), so that analysis
		// can check the key-value history for linearizability.
		id := strconv.FormatUint(kc.Seq, 10)
		kv.EmitInvoke(c.opts.Handler, time.Now(), kc.Client, id, kc)
		defer func() { kv.EmitReturn(c.opts.Handler, time.Now(), kc.Client, id, kc, res.Result, err) }()
	}
	return c.submit(ctx, submitter(kc.Encode()))
}

// submitter proposes cmd at a node and waits for the store's result.
func submitter(cmd []byte) func(context.Context, *node.Node) (Result, error) {
	return func(ctx context.Context, n *node.Node) (Result, error) {
		res, err := n.Submit(ctx, cmd)
		kr, _ := res.Value.(kv.Result) // a kv.Store answers kv.Results
		return Result{Index: res.Index, Result: kr}, err
	}
}

// submit runs propose at whichever node leads, following leadership until it succeeds or ctx
// ends.
func (c *Cluster) submit(ctx context.Context, propose func(context.Context, *node.Node) (Result, error)) (Result, uint64, error) {
	var last error
	for {
		l, err := c.Leader(ctx)
		if err != nil {
			if last != nil {
				return Result{}, 0, fmt.Errorf("%w (last error: %v)", err, last)
			}
			return Result{}, 0, err
		}
		n := c.Node(l)
		if n == nil {
			continue
		}
		// A leader cut off after Leader looked may never answer; bound each try.
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		res, err := propose(tctx, n)
		cancel()
		if err == nil {
			return res, l, nil
		}
		last = err
		if ctx.Err() != nil {
			return Result{}, 0, fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		}
	}
}

// Read reads a key linearizably through the leader's ReadIndex path (no log entry), following
// leadership changes until ctx ends. It returns the value, whether the key exists, and the
// node that answered.
func (c *Cluster) Read(ctx context.Context, key string) (value string, found bool, by uint64, err error) {
	if c.opts.Handler != nil {
		kc := kv.Command{Op: kv.OpGet, Key: key, Client: "c1", Seq: c.opID.Add(1)}
		id := strconv.FormatUint(kc.Seq, 10)
		kv.EmitInvoke(c.opts.Handler, time.Now(), "c1", id, kc)
		defer func() {
			kv.EmitReturn(c.opts.Handler, time.Now(), "c1", id, kc, kv.Result{Value: value, Found: found}, err)
		}()
	}
	var last error
	for {
		l, lerr := c.Leader(ctx)
		if lerr != nil {
			if last != nil {
				return "", false, 0, fmt.Errorf("%w (last error: %v)", lerr, last)
			}
			return "", false, 0, lerr
		}
		n, sm := c.running(l)
		if n == nil {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		var v string
		var ok bool
		_, rerr := n.Read(tctx, func() { v, ok = sm.Get(key) })
		cancel()
		if rerr == nil {
			return v, ok, l, nil
		}
		last = rerr
		if ctx.Err() != nil {
			return "", false, 0, fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		}
		time.Sleep(2 * time.Millisecond) // a new leader commits its no-op first
	}
}

// CheckAgreement verifies that every running node's committed entries agree with every
// other's, index by index. It returns the highest index committed on all running nodes.
func (c *Cluster) CheckAgreement() (uint64, error) {
	type nodeLog struct {
		id     uint64
		ents   []raft.Entry
		commit uint64
	}
	var logs []nodeLog
	for _, id := range c.Peers() {
		n := c.Node(id)
		if n == nil {
			continue
		}
		ents, commit, err := n.Log()
		if err != nil {
			continue // crashed meanwhile
		}
		logs = append(logs, nodeLog{id, ents, commit})
	}
	if len(logs) == 0 {
		return 0, errors.New("no node is running")
	}
	// Logs may start after a snapshot: compare the committed indexes both still hold.
	low := logs[0].commit
	for _, a := range logs {
		low = min(low, a.commit)
		byIndex := make(map[uint64]raft.Entry, len(a.ents))
		for _, e := range a.ents {
			byIndex[e.Index] = e
		}
		for _, b := range logs {
			upto := min(a.commit, b.commit)
			for _, eb := range b.ents {
				ea, ok := byIndex[eb.Index]
				if eb.Index > upto || !ok {
					continue
				}
				if ea.Term != eb.Term || !bytes.Equal(ea.Data, eb.Data) {
					return 0, fmt.Errorf("nodes %d and %d committed different entries at index %d: %q (term %d) and %q (term %d)",
						a.id, b.id, eb.Index, ea.Data, ea.Term, eb.Data, eb.Term)
				}
			}
		}
	}
	return low, nil
}

func joinIDs(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = raft.ID(id)
	}
	return strings.Join(s, ",")
}
