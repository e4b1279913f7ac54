// Package node runs a Raft core as a server. A Driver owns the core, its storage and its state
// machine and carries out each Ready in the order durability needs; a Node runs a Driver on
// its own goroutine with a ticker, taking messages from a transport and commands from clients.
// The simulator (raft/sim) runs the same Driver on a virtual clock.
package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/storage"
)

// StateMachine is the application a node replicates: raft/kv's Store, or any other. A node
// calls it from one goroutine (its loop, or the simulator's), in log order, and only with
// committed commands; the leader's no-ops and configuration entries never reach it. Every node
// applies the same commands in the same order, so Apply must be deterministic: it may depend
// on the command, the index and the state, never on the clock or the node.
type StateMachine interface {
	// Apply executes the command of the committed entry at index and returns the answer its
	// proposer receives (Result.Value). An error is the command's own failure, the same on
	// every node (a malformed command): it goes to the proposer, and the node carries on.
	Apply(index uint64, cmd []byte) (any, error)
	// Snapshot encodes the whole state, for log compaction.
	Snapshot() ([]byte, error)
	// Restore replaces the whole state with a snapshot's (one the leader sent, or the one
	// storage kept at a restart). An error stops the node.
	Restore(snapshot []byte) error
}

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
	// StateMachine is the application the log is applied to.
	StateMachine StateMachine
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
	// SnapshotBytes snapshots and compacts too once the commands applied since the last
	// snapshot hold that many bytes (0: by count only). The log is kept in memory: bounded by
	// count alone, 300 commands of 1 MB each held 470-580 MB per node.
	SnapshotBytes int64
	// SlowRPC, when positive, writes a "slow" event for every request whose reply took longer
	// (a traffic warning: a congested or distant peer).
	SlowRPC time.Duration
	// InboxSize bounds the queue of received messages (default 4096); a full inbox drops, as a
	// congested network would, and Raft retries.
	InboxSize int
	// Clock stamps event lines and times round trips (default: the wall clock).
	Clock Clock
	// Hooks watch the state machine (tests, the simulator's checker).
	Hooks Hooks
	// SnapshotChunk, Rand and RPCBase as in raft.Config (the simulator sets them so that its
	// runs repeat).
	SnapshotChunk int
	Rand          *rand.Rand
	RPCBase       uint64
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

// Is makes errors.Is(err, raft.ErrNotLeader) hold, as it does for the core's refusal.
func (e *NotLeaderError) Is(target error) bool { return target == raft.ErrNotLeader }

// ErrLeadershipLost is returned by Submit when the leader lost its leadership before the
// command committed; the command may or may not take effect later, and a client retries.
var ErrLeadershipLost = errors.New("node: leadership lost before the command committed; retry")

// Result is what the state machine answered to a submitted command: the index the command was
// applied at and the value StateMachine.Apply returned.
type Result struct {
	Index uint64
	Value any
}

type proposalResult struct {
	res Result
	err error
}

type readResult struct {
	index uint64
	err   error
}

// Node is a running Raft server: a Driver on its own goroutine.
type Node struct {
	cfg   Config
	d     *Driver
	inbox chan raft.Message
	// calls are work for the loop (proposals, reads, inspections), run on its goroutine.
	calls chan func(*Driver)
	stopc chan bool // true: clean stop; false: crash
	done  chan struct{}

	mu      sync.Mutex
	status  raft.Status
	stopErr error
}

// Start loads the node's storage and starts its loop.
func Start(cfg Config) (*Node, error) {
	d, err := NewDriver(cfg)
	if err != nil {
		return nil, err
	}
	cfg = d.cfg
	n := &Node{cfg: cfg, d: d, inbox: make(chan raft.Message, cfg.InboxSize), calls: make(chan func(*Driver), 256),
		stopc: make(chan bool, 1), done: make(chan struct{}), status: d.Status()}
	go n.run()
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
		if t := n.d.Tracer(); t.On() {
			t.EmitStateless(eventline.KindDrop, "inbox full, drops "+m.Type.String()+" from "+raft.ID(m.From),
				slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()),
				slog.String("from", raft.ID(m.From)), slog.String("to", raft.ID(m.To)), slog.String("reason", eventline.ReasonInboxFull))
		}
	}
}

// call runs f on the loop's goroutine; false when the node has stopped.
func (n *Node) call(ctx context.Context, f func(*Driver)) error {
	select {
	case n.calls <- f:
		return nil
	case <-n.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Submit proposes a command and waits until it is applied, returning the state machine's
// answer. On a follower it fails at once with a *NotLeaderError.
func (n *Node) Submit(ctx context.Context, cmd []byte) (Result, error) {
	return n.submit(ctx, cmd, nil)
}

// ChangeConf proposes a membership change and waits until it is committed; it returns the
// change's index. On a follower it fails at once with a *NotLeaderError.
func (n *Node) ChangeConf(ctx context.Context, cc raft.ConfChange) (uint64, error) {
	res, err := n.submit(ctx, nil, &cc)
	return res.Index, err
}

// submit proposes cmd, or cc when it is not nil. (Not a proposing function of the caller's:
// that would be one more allocation per command, on the path every write takes.)
func (n *Node) submit(ctx context.Context, cmd []byte, cc *raft.ConfChange) (Result, error) {
	reply := make(chan proposalResult, 1)
	done := func(res Result, err error) { reply <- proposalResult{res, err} }
	if err := n.call(ctx, func(d *Driver) {
		var err error
		if cc != nil {
			_, err = d.ProposeConfChange(*cc, done)
		} else {
			_, err = d.Propose(cmd, done)
		}
		if err != nil {
			done(Result{}, err)
		}
	}); err != nil {
		return Result{}, err
	}
	select {
	case r := <-reply:
		return r.res, r.err
	case <-n.done:
		return Result{}, ErrStopped
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Read reads the state machine linearizably without writing to the log (ReadIndex): the
// leader confirms with a heartbeat round that it still leads and waits until it has applied
// everything committed when the read arrived; then view runs, on the node's goroutine, and
// reads the state machine. It returns the read's index. A follower answers *NotLeaderError,
// and view does not run; nor does it after Read has returned.
func (n *Node) Read(ctx context.Context, view func()) (uint64, error) {
	var g callerGuard
	reply := make(chan readResult, 1)
	done := func(idx uint64, err error) {
		if err == nil {
			g.run(view)
		}
		reply <- readResult{idx, err}
	}
	if err := n.call(ctx, func(d *Driver) {
		if err := d.Read(done); err != nil {
			done(0, err)
		}
	}); err != nil {
		return 0, err
	}
	select {
	case res := <-reply:
		return res.index, res.err
	case <-n.done:
		g.leave()
		return 0, ErrStopped
	case <-ctx.Done():
		g.leave()
		return 0, ctx.Err()
	}
}

// View runs f on the node's goroutine, where it may read the state machine: the node's own
// copy, which may be stale (a linearizable read is Read). f does not run after View has
// returned.
func (n *Node) View(ctx context.Context, f func()) error {
	var g callerGuard
	ran := make(chan struct{})
	if err := n.call(ctx, func(*Driver) { g.run(f); close(ran) }); err != nil {
		return err
	}
	select {
	case <-ran:
		return nil
	case <-n.done:
		g.leave()
		return ErrStopped
	case <-ctx.Done():
		g.leave()
		return ctx.Err()
	}
}

// callerGuard runs a caller's function on the node's goroutine only while the caller still
// waits: once it has given up (leave), the function would write to variables the caller has
// moved on from.
type callerGuard struct {
	mu   sync.Mutex
	gone bool
}

func (g *callerGuard) run(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.gone {
		f()
	}
}

func (g *callerGuard) leave() {
	g.mu.Lock()
	g.gone = true
	g.mu.Unlock()
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
	got := make(chan struct{})
	if err := n.call(context.Background(), func(d *Driver) {
		ents, commit = d.Raft().Entries(1), d.Status().Commit
		close(got)
	}); err != nil {
		return nil, 0, err
	}
	select {
	case <-got:
		return ents, commit, nil
	case <-n.done:
		return nil, 0, ErrStopped
	}
}

// TransferLeadership asks the node, which must lead, to hand leadership to node to.
func (n *Node) TransferLeadership(to uint64) error {
	errc := make(chan error, 1)
	if err := n.call(context.Background(), func(d *Driver) { errc <- d.Raft().TransferLeadership(to) }); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-n.done:
		return ErrStopped
	}
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

func (n *Node) run() {
	defer close(n.done)
	d := n.d
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			d.Tick()
		case m := <-n.inbox:
			_ = d.Step(m)
		case f := <-n.calls:
			f(d)
		case clean := <-n.stopc:
			n.stop(d.Stop(clean), nil)
			return
		}
		// Take whatever else already arrived before doing I/O, so that one fsync covers
		// many commands (group commit) and many messages.
		for more := true; more; {
			select {
			case m := <-n.inbox:
				_ = d.Step(m)
			case f := <-n.calls:
				f(d)
			default:
				more = false
			}
		}
		if err := d.Ready(); err != nil {
			d.Fail(err)
			n.stop(nil, fmt.Errorf("node %d: storage: %w", n.cfg.ID, err))
			return
		}
		n.mu.Lock()
		n.status = d.Status()
		n.mu.Unlock()
	}
}

// stop records the end of the loop: the node reports the dead role from now on.
func (n *Node) stop(closeErr, failure error) {
	st := n.d.Status()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.status = raft.Status{ID: st.ID, Term: st.Term, Role: raft.Dead}
	n.stopErr = cmp.Or(failure, closeErr)
}
