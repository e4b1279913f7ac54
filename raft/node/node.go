// Package node runs a Raft core as a live server: one goroutine owns the core, its timers, its
// storage and its state machine, takes messages from a transport and commands from clients,
// and carries out each Ready in order (persist with fsync, then send, then apply).
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/kv"
	"github.com/raftviz/raftviz/raft/storage"
)

// Sender delivers messages to peers. Send must not block for long: a transport queues or
// drops, as the network would.
type Sender interface {
	Send(m raft.Message)
}

// Config configures a node.
type Config struct {
	ID uint64
	// Peers and Learners are the configuration of a new cluster: with Bootstrap, a node whose
	// storage is empty writes them as its log's first entry (raft.Bootstrap); every later start
	// takes the configuration from the log. Without Bootstrap and with an empty log they stand
	// in for one (as raft.Config says); a node that joins a running cluster leaves them empty
	// and learns the configuration from the leader.
	Peers    []uint64
	Learners []uint64
	// Bootstrap writes the configuration into an empty log at start, before anything else.
	Bootstrap bool
	Storage   storage.Storage
	Sender    Sender
	// TickInterval is the real duration of a Raft tick (default 10ms); with the default
	// ElectionTick 15 and HeartbeatTick 5 elections start after 150-300ms and heartbeats go
	// every 50ms.
	TickInterval                time.Duration
	ElectionTick, HeartbeatTick int
	// Handler receives event lines; nil writes none.
	Handler slog.Handler
	// PreVote and CheckQuorum as in raft.Config.
	PreVote, CheckQuorum bool
	// SnapshotEvery snapshots the state machine and compacts the log once that many entries
	// were applied since the last snapshot (0: never).
	SnapshotEvery int
	// SlowRPC, when positive, writes a "slow" event for every request whose reply took longer
	// (a traffic warning: a congested or distant peer).
	SlowRPC time.Duration
	// InboxSize bounds the queue of received messages (default 4096); a full inbox drops, as a
	// congested network would, and Raft retries.
	InboxSize int
}

// ErrStopped is returned by calls on a node that has stopped or crashed.
var ErrStopped = errors.New("node: stopped")

// NotLeaderError is returned by Submit on a node that is not the leader. Leader is the node
// it believes leads (raft.None when it does not know), so that a client can retry there.
type NotLeaderError struct{ Leader uint64 }

// Error says who leads, when known.
func (e *NotLeaderError) Error() string {
	if e.Leader == raft.None {
		return "not the leader; leader unknown"
	}
	return fmt.Sprintf("not the leader; try node %d", e.Leader)
}

// ErrLeadershipLost is returned by Submit when the leader lost its leadership before the
// command committed; the command may or may not take effect later, and a client retries.
var ErrLeadershipLost = errors.New("node: leadership lost before the command committed; retry")

// Result is what the state machine answered to a submitted command.
type Result struct {
	Index uint64
	kv.Result
}

type proposal struct {
	cmd   []byte
	reply chan proposalResult
}

type proposalResult struct {
	res Result
	err error
}

type sentRPC struct {
	at  time.Time
	typ raft.MessageType
	to  uint64
}

type readRequest struct {
	key   string
	reply chan readResult
}

type readResult struct {
	value string
	found bool
	index uint64
	err   error
}

// reads are the node loop's linearizable reads: waiting for the leader's confirmation, then
// for the state machine to reach the read's index.
type reads struct {
	next      uint64
	waiting   map[uint64]readRequest // by read id, not yet confirmed
	confirmed []confirmedRead
	applied   uint64 // last index applied to the state machine
}

type confirmedRead struct {
	index uint64
	req   readRequest
}

type pending struct {
	term  uint64
	reply chan proposalResult
}

// Node is a running Raft server.
type Node struct {
	cfg    Config
	inbox  chan raft.Message
	propc  chan proposal
	inspc  chan func(*raft.Raft)
	readc  chan readRequest
	stopc  chan bool // true: clean stop; false: crash
	done   chan struct{}
	tracer *raft.Tracer

	reads    *reads // owned by the loop
	snap     *raft.Snapshot
	lastTerm uint64 // term of the last applied entry
	// inflight holds the send time of requests, for SlowRPC; only the loop touches it.
	inflight map[raft.RPCID]sentRPC

	mu      sync.Mutex
	status  raft.Status
	kv      *kv.Store
	stopErr error
}

// Start loads the node's storage and starts its loop.
func Start(cfg Config) (*Node, error) {
	if cfg.Storage == nil || cfg.Sender == nil {
		return nil, errors.New("node: Storage and Sender are required")
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 10 * time.Millisecond
	}
	if cfg.ElectionTick <= 0 {
		cfg.ElectionTick = 15
	}
	if cfg.HeartbeatTick <= 0 {
		cfg.HeartbeatTick = 5
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = 4096
	}
	hs, ents, err := cfg.Storage.Load()
	if err != nil {
		return nil, fmt.Errorf("node %d: loading storage: %w", cfg.ID, err)
	}
	snap, err := cfg.Storage.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("node %d: loading snapshot: %w", cfg.ID, err)
	}
	if cfg.Bootstrap && hs == (raft.HardState{}) && len(ents) == 0 && snap == nil {
		bhs, first := raft.Bootstrap(cfg.Peers, cfg.Learners)
		if err := cfg.Storage.Save(bhs, []raft.Entry{first}); err != nil {
			return nil, fmt.Errorf("node %d: writing the first configuration: %w", cfg.ID, err)
		}
		hs, ents = bhs, []raft.Entry{first}
	}
	store := kv.New()
	if snap != nil {
		if err := store.Restore(snap.Data); err != nil {
			return nil, fmt.Errorf("node %d: %w", cfg.ID, err)
		}
	}
	tracer := raft.NewTracer(cfg.Handler, raft.ID(cfg.ID), nil)
	if w, ok := cfg.Storage.(*storage.WAL); ok && w.Repaired() != nil && tracer.On() {
		rep := w.Repaired()
		tracer.Emit("corrupt", fmt.Sprintf("storage had a torn tail (%s): cut %d bytes at offset %d", rep.Reason, rep.Dropped, rep.Offset),
			hs.Term, raft.Follower, slog.Int64("offset", rep.Offset), slog.String("action", "truncated"))
	}
	r, err := raft.New(raft.Config{ID: cfg.ID, Peers: cfg.Peers, Learners: cfg.Learners, HardState: hs, Entries: ents, Snapshot: snap,
		ElectionTick: cfg.ElectionTick, HeartbeatTick: cfg.HeartbeatTick, TickInterval: cfg.TickInterval,
		PreVote: cfg.PreVote, CheckQuorum: cfg.CheckQuorum, Tracer: tracer})
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", cfg.ID, err)
	}
	n := &Node{cfg: cfg, inbox: make(chan raft.Message, cfg.InboxSize), propc: make(chan proposal, 256),
		inspc: make(chan func(*raft.Raft)), readc: make(chan readRequest), stopc: make(chan bool, 1), done: make(chan struct{}),
		tracer: tracer, kv: store, status: r.Status(), snap: snap}
	if cfg.SlowRPC > 0 {
		n.inflight = make(map[raft.RPCID]sentRPC)
	}
	go n.run(r)
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() uint64 { return n.cfg.ID }

// Step hands the node a message from a peer. It never blocks: when the inbox is full the
// message is dropped, and Raft's retries recover.
func (n *Node) Step(m raft.Message) {
	select {
	case n.inbox <- m:
	case <-n.done:
	default:
		if n.tracer.On() {
			n.tracer.EmitStateless("drop", "inbox full, drops "+m.Type.String()+" from "+raft.ID(m.From),
				slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()),
				slog.String("from", raft.ID(m.From)), slog.String("to", raft.ID(m.To)), slog.String("reason", "inbox_full"))
		}
	}
}

// Submit proposes a command and waits until it is applied, returning the state machine's
// answer. On a follower it fails at once with a *NotLeaderError.
func (n *Node) Submit(ctx context.Context, cmd []byte) (Result, error) {
	p := proposal{cmd: cmd, reply: make(chan proposalResult, 1)}
	select {
	case n.propc <- p:
	case <-n.done:
		return Result{}, ErrStopped
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case r := <-p.reply:
		return r.res, r.err
	case <-n.done:
		return Result{}, ErrStopped
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Status returns the node's protocol state as of its last step.
func (n *Node) Status() raft.Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.status
}

// Log returns a copy of the node's log from index 1, and its commit index.
func (n *Node) Log() ([]raft.Entry, uint64, error) {
	var ents []raft.Entry
	var commit uint64
	done := make(chan struct{})
	f := func(r *raft.Raft) {
		ents, commit = r.Entries(1), r.Status().Commit
		close(done)
	}
	select {
	case n.inspc <- f:
		<-done
		return ents, commit, nil
	case <-n.done:
		return nil, 0, ErrStopped
	}
}

// TransferLeadership asks the node, which must lead, to hand leadership to node to.
func (n *Node) TransferLeadership(to uint64) error {
	errc := make(chan error, 1)
	select {
	case n.inspc <- func(r *raft.Raft) { errc <- r.TransferLeadership(to) }:
		return <-errc
	case <-n.done:
		return ErrStopped
	}
}

// Get reads a key from the node's own copy of the state machine. It may be stale; a
// linearizable read is a "get" submitted through the log.
func (n *Node) Get(key string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.kv.Get(key)
}

// Stop shuts the node down cleanly and closes its storage.
func (n *Node) Stop() error { return n.halt(true) }

// Crash stops the node as a killed process would stop: no goodbye, nothing flushed beyond
// what was already synced. Its storage can be reopened to restart it.
func (n *Node) Crash() error { return n.halt(false) }

func (n *Node) halt(clean bool) error {
	select {
	case n.stopc <- clean:
	default:
	}
	<-n.done
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopErr
}

// Done is closed when the node's loop has ended.
func (n *Node) Done() <-chan struct{} { return n.done }

func (n *Node) run(r *raft.Raft) {
	defer close(n.done)
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	waiting := make(map[uint64]pending)
	rs := &reads{waiting: map[uint64]readRequest{}}
	if n.snap != nil {
		rs.applied, n.lastTerm = n.snap.Meta.Index, n.snap.Meta.Term
	}
	n.reads = rs
	for {
		select {
		case <-ticker.C:
			r.Tick()
		case m := <-n.inbox:
			n.step(r, m)
		case p := <-n.propc:
			n.propose(r, p, waiting)
		case f := <-n.inspc:
			f(r)
		case rq := <-n.readc:
			n.startRead(r, rq)
		case clean := <-n.stopc:
			n.shutdown(r, clean, waiting)
			return
		}
		// Take whatever else already arrived before doing I/O, so that one fsync covers
		// many commands (group commit) and many messages.
		for more := true; more; {
			select {
			case m := <-n.inbox:
				n.step(r, m)
			case p := <-n.propc:
				n.propose(r, p, waiting)
			default:
				more = false
			}
		}
		if err := n.ready(r, waiting); err != nil {
			n.fail(r, err, waiting)
			return
		}
		n.mu.Lock()
		n.status = r.Status()
		n.mu.Unlock()
	}
}

// Read reads a key linearizably without writing to the log (ReadIndex): the leader confirms
// with a heartbeat round that it still leads, waits until it has applied everything committed
// when the read arrived, and reads its state machine. A follower answers *NotLeaderError.
func (n *Node) Read(ctx context.Context, key string) (value string, found bool, index uint64, err error) {
	rq := readRequest{key: key, reply: make(chan readResult, 1)}
	select {
	case n.readc <- rq:
	case <-n.done:
		return "", false, 0, ErrStopped
	case <-ctx.Done():
		return "", false, 0, ctx.Err()
	}
	select {
	case res := <-rq.reply:
		return res.value, res.found, res.index, res.err
	case <-n.done:
		return "", false, 0, ErrStopped
	case <-ctx.Done():
		return "", false, 0, ctx.Err()
	}
}

func (n *Node) startRead(r *raft.Raft, rq readRequest) {
	n.reads.next++
	id := n.reads.next
	switch err := r.ReadIndex(id); {
	case errors.Is(err, raft.ErrNotLeader):
		rq.reply <- readResult{err: &NotLeaderError{Leader: r.Status().Lead}}
	case err != nil:
		rq.reply <- readResult{err: err}
	default:
		n.reads.waiting[id] = rq
	}
}

// maybeSnapshot snapshots the state machine and compacts the log when SnapshotEvery entries
// were applied since the last snapshot.
func (n *Node) maybeSnapshot(r *raft.Raft) error {
	every := uint64(n.cfg.SnapshotEvery)
	applied := n.reads.applied
	if every == 0 || applied < r.Status().SnapIndex+every {
		return nil
	}
	n.mu.Lock()
	data := n.kv.Snapshot()
	n.mu.Unlock()
	// Compact fills in the configuration the snapshot holds; then it is made durable. (If the
	// save fails the node stops, and its storage still has the whole log.)
	snap, err := r.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: applied, Term: n.lastTerm}, Data: data})
	if err != nil {
		return err
	}
	return n.cfg.Storage.SaveSnapshot(snap)
}

// serveReads answers the confirmed reads whose index the state machine has reached.
func (n *Node) serveReads() {
	rs := n.reads
	kept := rs.confirmed[:0]
	for _, c := range rs.confirmed {
		if c.index > rs.applied {
			kept = append(kept, c)
			continue
		}
		n.mu.Lock()
		v, ok := n.kv.Get(c.req.key)
		n.mu.Unlock()
		c.req.reply <- readResult{value: v, found: ok, index: c.index}
	}
	rs.confirmed = kept
}

func (n *Node) step(r *raft.Raft, m raft.Message) {
	if n.inflight != nil && m.Type.IsResponse() {
		if s, ok := n.inflight[m.RPC]; ok {
			delete(n.inflight, m.RPC)
			if rtt := time.Since(s.at); rtt > n.cfg.SlowRPC && n.tracer.On() {
				st := r.Status()
				n.tracer.Emit("slow", fmt.Sprintf("slow %s round trip to %d: %v", s.typ, s.to, rtt.Round(time.Microsecond)),
					st.Term, st.Role, slog.String("rpc", m.RPC.String()), slog.String("type", s.typ.String()),
					slog.String("peer", raft.ID(s.to)), slog.Duration("rtt", rtt), slog.Duration("threshold", n.cfg.SlowRPC))
			}
		}
	}
	if err := r.Step(m); err != nil && n.tracer.On() {
		n.tracer.Emit("drop", err.Error(), r.Status().Term, r.Status().Role, slog.String("reason", "misrouted"))
	}
}

func (n *Node) propose(r *raft.Raft, p proposal, waiting map[uint64]pending) {
	idx, err := r.Propose(p.cmd)
	if errors.Is(err, raft.ErrNotLeader) {
		p.reply <- proposalResult{err: &NotLeaderError{Leader: r.Status().Lead}}
		return
	}
	if err != nil {
		// The leader refuses (a transfer under way, a membership change pending or refused):
		// the error keeps its meaning; it is not a redirect to this very node.
		p.reply <- proposalResult{err: err}
		return
	}
	waiting[idx] = pending{term: r.Status().Term, reply: p.reply}
}

// ready carries out the core's Ready cycles: persist, send, apply. Requests (AppendEntries,
// RequestVote) leave before the fsync, so the leader writes its log in parallel with its
// followers (Raft dissertation 10.2.1); that is safe because the loop handles no reply before
// the fsync is done, and the leader counts itself towards a commit only for what is on its
// disk. Replies promise durable state (a vote, stored entries) and leave only after it.
func (n *Node) ready(r *raft.Raft, waiting map[uint64]pending) error {
	for r.HasReady() {
		rd := r.Ready()
		for _, m := range rd.Messages {
			if !m.Type.IsResponse() {
				n.send(r, m)
			}
		}
		if rd.Snapshot != nil {
			// A snapshot from the leader: keep it, and start the state machine from it.
			if err := n.cfg.Storage.SaveSnapshot(*rd.Snapshot); err != nil {
				return err
			}
			n.mu.Lock()
			err := n.kv.Restore(rd.Snapshot.Data)
			n.mu.Unlock()
			if err != nil {
				return err
			}
			n.reads.applied, n.lastTerm = rd.Snapshot.Meta.Index, rd.Snapshot.Meta.Term
		}
		if !rd.HardState.IsEmpty() || len(rd.Entries) > 0 {
			start := time.Now()
			if err := n.cfg.Storage.Save(rd.HardState, rd.Entries); err != nil {
				return err
			}
			r.TracePersist(rd, time.Since(start))
		}
		for _, m := range rd.Messages {
			if m.Type.IsResponse() {
				n.send(r, m)
			}
		}
		for _, e := range rd.Committed {
			n.apply(r, e, waiting)
			n.reads.applied, n.lastTerm = e.Index, e.Term
		}
		for _, st := range rd.ReadStates {
			if rq, ok := n.reads.waiting[st.ID]; ok {
				delete(n.reads.waiting, st.ID)
				n.reads.confirmed = append(n.reads.confirmed, confirmedRead{index: st.Index, req: rq})
			}
		}
		r.Advance(rd)
	}
	n.serveReads()
	if err := n.maybeSnapshot(r); err != nil {
		return err
	}
	// A command waits for its own index; if another leader's entry landed there, or this
	// node is no longer the leader of the command's term, it will never commit as proposed.
	if st := r.Status(); st.Role != raft.Leader {
		for idx, p := range waiting {
			p.reply <- proposalResult{err: ErrLeadershipLost}
			delete(waiting, idx)
		}
		// Unconfirmed reads die with the leadership (the core dropped them).
		for id, rq := range n.reads.waiting {
			rq.reply <- readResult{err: ErrLeadershipLost}
			delete(n.reads.waiting, id)
		}
	}
	return nil
}

func (n *Node) send(r *raft.Raft, m raft.Message) {
	r.TraceSend(m)
	if n.inflight != nil && !m.Type.IsResponse() {
		n.trackRPC(m)
	}
	n.cfg.Sender.Send(m)
}

func (n *Node) trackRPC(m raft.Message) {
	now := time.Now()
	if len(n.inflight) >= 4096 {
		// Requests whose replies were lost never come back; forget the old ones.
		for id, s := range n.inflight {
			if now.Sub(s.at) > 10*n.cfg.SlowRPC {
				delete(n.inflight, id)
			}
		}
	}
	n.inflight[m.RPC] = sentRPC{at: now, typ: m.Type, to: m.To}
}

func (n *Node) apply(r *raft.Raft, e raft.Entry, waiting map[uint64]pending) {
	var res kv.Result
	var err error
	result := ""
	switch {
	case raft.IsConfChange(e.Data):
		result = "conf" // membership is the core's business, not the state machine's
	case len(e.Data) > 0:
		n.mu.Lock()
		res, err = n.kv.Apply(e.Index, e.Data)
		n.mu.Unlock()
		result = res.String()
		if err != nil {
			result = "error: " + err.Error()
		}
	}
	r.TraceApply(e, result)
	p, ok := waiting[e.Index]
	if !ok {
		return
	}
	delete(waiting, e.Index)
	if e.Term != p.term {
		p.reply <- proposalResult{err: ErrLeadershipLost}
		return
	}
	p.reply <- proposalResult{res: Result{Index: e.Index, Result: res}, err: err}
}

func (n *Node) shutdown(r *raft.Raft, clean bool, waiting map[uint64]pending) {
	for idx, p := range waiting {
		p.reply <- proposalResult{err: ErrStopped}
		delete(waiting, idx)
	}
	for id, rq := range n.reads.waiting {
		rq.reply <- readResult{err: ErrStopped}
		delete(n.reads.waiting, id)
	}
	for _, c := range n.reads.confirmed {
		c.req.reply <- readResult{err: ErrStopped}
	}
	n.reads.confirmed = nil
	st := r.Status()
	n.mu.Lock()
	n.status = raft.Status{ID: st.ID, Term: st.Term, Role: raft.Dead}
	n.mu.Unlock()
	if !clean {
		// A killed process says nothing; the harness writes the crash event. Its file
		// descriptors are closed by the kernel, which is what Close does here.
		_ = n.cfg.Storage.Close()
		return
	}
	if n.tracer.On() {
		n.tracer.Emit("stop", "stops", st.Term, raft.Dead)
	}
	if err := n.cfg.Storage.Close(); err != nil {
		n.mu.Lock()
		n.stopErr = err
		n.mu.Unlock()
	}
}

// fail stops a node whose storage failed: it must not go on answering peers with promises it
// could not make durable.
func (n *Node) fail(r *raft.Raft, err error, waiting map[uint64]pending) {
	st := r.Status()
	if n.tracer.On() {
		n.tracer.Emit("crash", "storage failed, stopping: "+err.Error(), st.Term, raft.Dead, slog.String("reason", "storage"))
	}
	n.shutdown(r, false, waiting)
	n.mu.Lock()
	n.stopErr = fmt.Errorf("node %d: storage: %w", n.cfg.ID, err)
	n.mu.Unlock()
}
