package node

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/storage"
)

// Clock tells a driver the time: the wall clock in a live node, the virtual clock in the
// simulator. It stamps event lines and measures round trips and fsyncs; ticks come from
// whoever runs the driver.
type Clock interface {
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Hooks let a test harness watch what a driver does to its state machine; the simulator's
// safety checker is one. Nil hooks are skipped.
type Hooks struct {
	// Applied is called after each committed entry is applied.
	Applied func(e raft.Entry)
	// Restored is called after the state machine was replaced by a snapshot from the leader.
	Restored func(meta raft.SnapshotMeta)
}

// Done receives the outcome of a proposal: the state machine's answer once the command is
// applied at the index it was given, or why it never will be (ErrLeadershipLost,
// ErrStopped). It is called on the driver's goroutine and must not block.
type Done func(Result, error)

// ReadDone receives the outcome of a linearizable read: the read's index once the state
// machine has applied everything committed when the read arrived (the caller reads its state
// machine then, inside ReadDone, on the driver's goroutine), or why it never will be.
type ReadDone func(index uint64, err error)

type sentRPC struct {
	at  time.Time
	typ raft.MessageType
	to  uint64
}

type confirmedRead struct {
	index uint64
	done  ReadDone
}

type pending struct {
	term uint64
	done Done
}

// Driver is a node without a goroutine: it owns a Raft core, its storage and its state
// machine, and carries out the core's work in the order durability needs (Ready). The live
// Node runs one in its loop, fed by a ticker and channels; the simulator calls the same
// driver from its event loop on a virtual clock, a simulated network and a simulated disk, so
// that what the simulator checks is what production runs. A Driver is not safe for
// concurrent use.
type Driver struct {
	cfg    Config
	r      *raft.Raft
	tracer *raft.Tracer
	clock  Clock
	hooks  Hooks

	waiting map[uint64]pending // proposals by index
	// Linearizable reads: waiting for the leader's confirmation, then for the state machine
	// to reach the read's index.
	readSeq   uint64
	reads     map[uint64]ReadDone
	confirmed []confirmedRead
	applied   uint64 // last index applied to the state machine
	// appliedBytes: the bytes of commands applied since the last snapshot (SnapshotBytes).
	appliedBytes int64
	lastTerm     uint64 // term of the last applied entry
	// inflight holds the send time of requests, for SlowRPC.
	inflight map[raft.RPCID]sentRPC

	sm StateMachine

	stopped bool
}

// NewDriver loads the node's storage (writing the first configuration when cfg.Bootstrap asks
// for it) and builds its Raft core and state machine.
func NewDriver(cfg Config) (*Driver, error) {
	if cfg.Storage == nil || cfg.Sender == nil || cfg.StateMachine == nil {
		return nil, errors.New("node: Storage, Sender and StateMachine are required")
	}
	cfg.defaults()
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
	d := &Driver{cfg: cfg, clock: cfg.Clock, hooks: cfg.Hooks, waiting: map[uint64]pending{}, reads: map[uint64]ReadDone{}, sm: cfg.StateMachine}
	if snap != nil {
		if err := d.sm.Restore(snap.Data); err != nil {
			return nil, fmt.Errorf("node %d: %w", cfg.ID, err)
		}
		d.applied, d.lastTerm = snap.Meta.Index, snap.Meta.Term
	}
	d.tracer = raft.NewTracer(cfg.Handler, raft.ID(cfg.ID), d.clock.Now)
	if w, ok := cfg.Storage.(interface{ Repaired() *storage.Repair }); ok && w.Repaired() != nil && d.tracer.On() {
		rep := w.Repaired()
		d.tracer.Emit(eventline.KindCorrupt, fmt.Sprintf("storage had a torn tail (%s): cut %d bytes at offset %d", rep.Reason, rep.Dropped, rep.Offset),
			hs.Term, raft.Follower, slog.Int64("offset", rep.Offset), slog.String("action", "truncated"))
	}
	d.r, err = raft.New(raft.Config{ID: cfg.ID, Peers: cfg.Peers, Learners: cfg.Learners, HardState: hs, Entries: ents, Snapshot: snap,
		ElectionTick: cfg.ElectionTick, HeartbeatTick: cfg.HeartbeatTick, TickInterval: cfg.TickInterval,
		SnapshotChunk: cfg.SnapshotChunk, Rand: cfg.Rand, RPCBase: cfg.RPCBase,
		PreVote: cfg.PreVote, CheckQuorum: cfg.CheckQuorum, Tracer: d.tracer})
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", cfg.ID, err)
	}
	if cfg.SlowRPC > 0 {
		d.inflight = make(map[raft.RPCID]sentRPC)
	}
	return d, nil
}

// Raft returns the driver's core, for inspection and for calls (Campaign, TransferLeadership)
// that must be followed by Ready.
func (d *Driver) Raft() *raft.Raft { return d.r }

// Status returns the core's state.
func (d *Driver) Status() raft.Status { return d.r.Status() }

// Tracer returns the tracer of the node's event lines (nil when they are off).
func (d *Driver) Tracer() *raft.Tracer { return d.tracer }

// Tick advances the core's clock by one tick.
// A stopped driver ignores it.
func (d *Driver) Tick() {
	if !d.stopped {
		d.r.Tick()
	}
}

// Step hands the core a message. A message the core cannot take (not addressed to it) is
// written as a drop and returned as an error; a stopped driver refuses every message with
// ErrStopped (it must not answer peers after a failed write).
func (d *Driver) Step(m raft.Message) error {
	if d.stopped {
		return ErrStopped
	}
	if d.inflight != nil && m.Type.IsResponse() {
		if s, ok := d.inflight[m.RPC]; ok {
			delete(d.inflight, m.RPC)
			if rtt := d.clock.Now().Sub(s.at); rtt > d.cfg.SlowRPC && d.tracer.On() {
				st := d.r.Status()
				d.tracer.Emit(eventline.KindSlow, fmt.Sprintf("slow %s round trip to %d: %v", s.typ, s.to, rtt.Round(time.Microsecond)),
					st.Term, st.Role, slog.String("rpc", m.RPC.String()), slog.String("type", s.typ.String()),
					slog.String("peer", raft.ID(s.to)), slog.Duration("rtt", rtt), slog.Duration("threshold", d.cfg.SlowRPC))
			}
		}
	}
	err := d.r.Step(m)
	if err != nil && d.tracer.On() {
		st := d.r.Status()
		d.tracer.Emit(eventline.KindDrop, err.Error(), st.Term, st.Role, slog.String("reason", eventline.ReasonMisrouted))
	}
	return err
}

// Propose submits a command. It returns the index the command was given; done is called once
// it is applied there, or when it never will be. A follower refuses with a *NotLeaderError, a
// leader that cannot take commands now (a transfer, a pending membership change) with its
// reason; done is not called then.
func (d *Driver) Propose(cmd []byte, done Done) (uint64, error) {
	return d.propose(func() (uint64, error) { return d.r.Propose(cmd) }, done)
}

// ProposeConfChange submits a membership change, as Propose submits a command; done is
// called once the change is applied (committed), with its index and no value.
func (d *Driver) ProposeConfChange(cc raft.ConfChange, done Done) (uint64, error) {
	return d.propose(func() (uint64, error) { return d.r.ProposeConfChange(cc) }, done)
}

func (d *Driver) propose(propose func() (uint64, error), done Done) (uint64, error) {
	if d.stopped {
		return 0, ErrStopped
	}
	idx, err := propose()
	if errors.Is(err, raft.ErrNotLeader) {
		return 0, &NotLeaderError{Leader: d.r.Status().Lead}
	}
	if err != nil {
		return 0, err
	}
	d.waiting[idx] = pending{term: d.r.Status().Term, done: done}
	return idx, nil
}

// Read starts a linearizable read (ReadIndex); done is called once the leader has confirmed
// its leadership and applied everything committed when the read arrived: the state machine
// may be read inside done. A follower refuses at once with a *NotLeaderError.
func (d *Driver) Read(done ReadDone) error {
	if d.stopped {
		return ErrStopped
	}
	d.readSeq++
	id := d.readSeq
	switch err := d.r.ReadIndex(id); {
	case errors.Is(err, raft.ErrNotLeader):
		return &NotLeaderError{Leader: d.r.Status().Lead}
	case err != nil:
		return err
	}
	d.reads[id] = done
	return nil
}

// Applied returns the index of the last entry applied to the state machine.
func (d *Driver) Applied() uint64 { return d.applied }

// Ready carries out the core's Ready cycles, each in this order: send requests, persist
// (write and fsync), send replies, apply. Requests (AppendEntries, RequestVote) leave before
// the fsync, so that a leader writes its log while its followers write theirs (Raft
// dissertation 10.2.1); that is safe because the core counts its own vote and its own log
// towards a majority only once they are durable (Advance tells it), and no reply is stepped
// before Ready returns. Replies promise durable state (a vote, stored entries) and leave only
// after it. An error is a storage failure: the caller must stop the node (Fail), never carry
// on with state it could not make durable.
func (d *Driver) Ready() error {
	if d.stopped {
		return nil
	}
	r := d.r
	for r.HasReady() {
		rd := r.Ready()
		early := raft.Mutated(raft.MutReplyBeforeFsync)
		for _, m := range rd.Messages {
			if !m.Type.IsResponse() || early {
				d.send(m)
			}
		}
		if rd.Snapshot != nil {
			// A snapshot from the leader: keep it, and start the state machine from it.
			if err := d.cfg.Storage.SaveSnapshot(*rd.Snapshot); err != nil {
				return err
			}
			if err := d.sm.Restore(rd.Snapshot.Data); err != nil {
				return err
			}
			d.applied, d.lastTerm = rd.Snapshot.Meta.Index, rd.Snapshot.Meta.Term
			if d.hooks.Restored != nil {
				d.hooks.Restored(rd.Snapshot.Meta)
			}
		}
		if !rd.HardState.IsEmpty() || len(rd.Entries) > 0 {
			start := d.clock.Now()
			if err := d.cfg.Storage.Save(rd.HardState, rd.Entries); err != nil {
				return err
			}
			r.TracePersist(rd, d.clock.Now().Sub(start))
		}
		for _, m := range rd.Messages {
			if m.Type.IsResponse() && !early {
				d.send(m)
			}
		}
		for _, e := range rd.Committed {
			d.apply(e)
		}
		for _, st := range rd.ReadStates {
			if done, ok := d.reads[st.ID]; ok {
				delete(d.reads, st.ID)
				d.confirmed = append(d.confirmed, confirmedRead{index: st.Index, done: done})
			}
		}
		r.Advance(rd)
	}
	d.serveReads()
	if err := d.maybeSnapshot(); err != nil {
		return err
	}
	// A command waits for its own index; if another leader's entry landed there, or this
	// node is no longer the leader of the command's term, it will never commit as proposed.
	if r.Status().Role != raft.Leader {
		d.failWaiting(ErrLeadershipLost)
	}
	return nil
}

// failWaiting answers every proposal and unconfirmed read with err, in index order (so that a
// simulation that writes the answers repeats exactly).
func (d *Driver) failWaiting(err error) {
	for _, idx := range slices.Sorted(maps.Keys(d.waiting)) {
		p := d.waiting[idx]
		delete(d.waiting, idx)
		p.done(Result{}, err)
	}
	// Unconfirmed reads die with the leadership (the core dropped them).
	for _, id := range slices.Sorted(maps.Keys(d.reads)) {
		done := d.reads[id]
		delete(d.reads, id)
		done(0, err)
	}
}

func (d *Driver) send(m raft.Message) {
	d.r.TraceSend(m)
	if d.inflight != nil && !m.Type.IsResponse() {
		d.trackRPC(m)
	}
	d.cfg.Sender.Send(m)
}

func (d *Driver) trackRPC(m raft.Message) {
	now := d.clock.Now()
	if len(d.inflight) >= 4096 {
		// Requests whose replies were lost never come back; forget the old ones.
		for id, s := range d.inflight {
			if now.Sub(s.at) > 10*d.cfg.SlowRPC {
				delete(d.inflight, id)
			}
		}
	}
	d.inflight[m.RPC] = sentRPC{at: now, typ: m.Type, to: m.To}
}

func (d *Driver) apply(e raft.Entry) {
	var value any
	var err error
	result := ""
	switch {
	case e.Type == raft.EntryConf:
		result = "conf" // membership is the core's business, not the state machine's
	case len(e.Data) > 0:
		value, err = d.sm.Apply(e.Index, e.Data)
		if d.tracer.On() { // rendering the answer costs; only event lines need it
			result = resultText(value, err)
		}
	}
	d.r.TraceApply(e, result)
	d.applied, d.lastTerm = e.Index, e.Term
	d.appliedBytes += int64(len(e.Data))
	if d.hooks.Applied != nil {
		d.hooks.Applied(e)
	}
	p, ok := d.waiting[e.Index]
	if !ok {
		return
	}
	delete(d.waiting, e.Index)
	if e.Term != p.term {
		p.done(Result{}, ErrLeadershipLost)
		return
	}
	p.done(Result{Index: e.Index, Value: value}, err)
}

// resultText renders a state machine's answer for the apply event (fmt's rendering, so a
// String method is used when the answer has one).
func resultText(value any, err error) string {
	switch {
	case err != nil:
		return "error: " + err.Error()
	case value == nil:
		return ""
	}
	if s, ok := value.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(value)
}

// serveReads answers the confirmed reads whose index the state machine has reached.
func (d *Driver) serveReads() {
	kept := d.confirmed[:0]
	for _, c := range d.confirmed {
		if c.index > d.applied {
			kept = append(kept, c)
			continue
		}
		c.done(c.index, nil)
	}
	d.confirmed = kept
}

// maybeSnapshot snapshots the state machine and compacts the log when SnapshotEvery entries,
// or entries of SnapshotBytes, were applied since the last snapshot.
func (d *Driver) maybeSnapshot() error {
	every := uint64(d.cfg.SnapshotEvery)
	byCount := every > 0 && d.applied >= d.r.Status().SnapIndex+every
	byBytes := d.cfg.SnapshotBytes > 0 && d.appliedBytes >= d.cfg.SnapshotBytes
	if d.applied == 0 || !byCount && !byBytes || d.applied <= d.r.Status().SnapIndex {
		return nil
	}
	d.appliedBytes = 0
	data, err := d.sm.Snapshot()
	if err != nil {
		return fmt.Errorf("snapshotting the state machine: %w", err)
	}
	// Compact fills in the configuration the snapshot holds; then it is made durable. (If the
	// save fails the node stops, and its storage still has the whole log.)
	snap, err := d.r.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: d.applied, Term: d.lastTerm}, Data: data})
	if err != nil {
		return err
	}
	return d.cfg.Storage.SaveSnapshot(snap)
}

// Stop ends the driver: every proposal and read still waiting gets ErrStopped. A clean stop
// writes a stop event and closes the storage (its error is returned); an unclean one (a
// crash) says nothing and abandons the storage as a killed process would, except for closing
// it, which the kernel would do.
func (d *Driver) Stop(clean bool) error {
	if d.stopped {
		return nil
	}
	d.stopped = true
	d.failWaiting(ErrStopped)
	for _, c := range d.confirmed {
		c.done(0, ErrStopped)
	}
	d.confirmed = nil
	if !clean {
		_ = d.cfg.Storage.Close()
		return nil
	}
	if d.tracer.On() {
		d.tracer.Emit(eventline.KindStop, "stops", d.r.Status().Term, raft.Dead)
	}
	return d.cfg.Storage.Close()
}

// Fail stops a driver whose storage failed (Ready's error): it writes a crash event and must
// not go on answering peers with promises it could not make durable.
func (d *Driver) Fail(err error) {
	if d.tracer.On() {
		d.tracer.Emit(eventline.KindCrash, "storage failed, stopping: "+err.Error(), d.r.Status().Term, raft.Dead, slog.String("reason", eventline.ReasonStorage))
	}
	_ = d.Stop(false)
}

func (c *Config) defaults() {
	if c.TickInterval <= 0 {
		c.TickInterval = 10 * time.Millisecond
	}
	c.ElectionTick = cmp.Or(c.ElectionTick, 15)
	c.HeartbeatTick = cmp.Or(c.HeartbeatTick, 5)
	c.InboxSize = cmp.Or(c.InboxSize, 4096)
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
}
