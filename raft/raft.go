// Package raft is a Raft consensus core in the style of etcd-io/raft: a deterministic state
// machine that takes clock ticks (Tick), messages (Step) and client commands (Propose) and hands
// back, in a Ready, what must be persisted, sent and applied. It does no I/O and reads no clock,
// so the same inputs always give the same outputs; the node loop (package raft/node), the
// simulator (raft/sim) and the tests drive it. Every decision is written as an event line of
// docs/FORMAT.md through a Tracer.
package raft

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
)

// ErrNotLeader is returned by Propose on a node that is not the leader. Status().Lead says who
// the node believes the leader is.
var ErrNotLeader = errors.New("raft: not the leader")

// ErrReadNotReady is returned by ReadIndex on a new leader that has not yet committed an entry
// of its term: until then it does not know the commit index (dissertation 6.4, step 1).
var ErrReadNotReady = errors.New("raft: leader has not committed in its term yet; retry")

// ErrTransferring is returned by Propose while the leader hands its leadership over.
var ErrTransferring = errors.New("raft: leadership transfer in progress")

// ErrTooLarge is returned (wrapped, with the sizes) by Propose for a command over
// Config.MaxCommandBytes: one that big could not travel in a message to the followers, and a
// client retrying it would only fill the log.
var ErrTooLarge = errors.New("raft: command too large")

// Config configures a Raft node.
type Config struct {
	// ID is the node's id; it must not be None (0).
	ID uint64
	// Peers are the ids of every voter, this node included unless it is a learner; the
	// configuration at start (entries and the snapshot may change it).
	Peers []uint64
	// Learners are the members that receive the log without voting (a new server catching
	// up); a node added to a running cluster starts as one.
	Learners []uint64
	// ElectionTick is the minimum number of ticks without hearing from a leader before a
	// follower campaigns; the actual timeout is drawn from [ElectionTick, 2*ElectionTick).
	ElectionTick int
	// HeartbeatTick is the number of ticks between a leader's heartbeats.
	HeartbeatTick int
	// TickInterval is the real or virtual duration of one tick. It is used only to print
	// timeouts in event lines.
	TickInterval time.Duration
	// Rand draws election timeouts. Nil seeds one from the node id and the clock; the
	// simulator passes a seeded one so that runs repeat.
	Rand *rand.Rand
	// HardState, Snapshot and Entries are what the node's storage holds (on a restart);
	// Entries follow the snapshot (they start at Snapshot.Meta.Index+1, or 1 without one).
	HardState HardState
	Snapshot  *Snapshot
	Entries   []Entry
	// SnapshotChunk is the size of the InstallSnapshot chunks a leader sends (default 64 KiB).
	SnapshotChunk int
	// MaxEntriesPerMsg caps the entries of one AppendEntries (default 64).
	MaxEntriesPerMsg int
	// MaxBytesPerMsg caps the entries' data in one AppendEntries (default 1 MiB, as etcd's
	// MaxSizePerMsg), so that a batch of large commands stays well under the transport's frame
	// limit: a follower far behind catches up in smaller messages instead of none. One entry is
	// sent whatever its size.
	MaxBytesPerMsg int
	// MaxCommandBytes caps one command (default 8 MiB, half the TCP transport's frame limit):
	// a larger one is refused by Propose with ErrTooLarge before it reaches the log.
	MaxCommandBytes int
	// MaxInflightMsgs caps the AppendEntries with entries a leader has sent to one follower
	// and not yet seen acknowledged (default 256), so that a slow follower does not get
	// unbounded messages queued towards it.
	MaxInflightMsgs int
	// Tracer writes event lines; nil writes none.
	Tracer *Tracer
	// PreVote makes a node that times out first ask whether it could win (a pre-vote, at its
	// term + 1) before it raises its term, so that a node rejoining after a partition does not
	// depose a healthy leader (Raft dissertation 9.6).
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a majority for an
	// election timeout, and makes nodes that hear from a leader ignore vote requests (the
	// leader lease of dissertation 4.2.3 and 9.6).
	CheckQuorum bool
	// RPCBase is the first RPC sequence number. Zero draws a random 32-bit base so that the
	// ids of two incarnations of a node do not collide (docs/FORMAT.md, "RPC ids").
	RPCBase uint64
}

// ReadState says a read may be served once the state machine has applied Index: at the time
// the read arrived, the node was the leader and Index was its commit index.
type ReadState struct {
	ID    uint64
	Index uint64
}

type pendingRead struct {
	id, index uint64
}

// Raft is one node's protocol state. It is not safe for concurrent use; its driver serialises
// all calls.
type Raft struct {
	id    uint64
	peers []uint64 // voters, sorted, self included

	term uint64
	vote uint64
	lead uint64
	role Role
	log  raftLog

	electionTick     int
	heartbeatTick    int
	tickInterval     time.Duration
	electionElapsed  int
	heartbeatElapsed int
	electionTimeout  int // randomized, in ticks
	rand             *rand.Rand

	votes       map[uint64]bool
	progress    map[uint64]*progress
	maxBatch    int
	maxBytes    int
	maxCommand  int
	maxInflight int

	// conf is the configuration in effect (peers holds its voters); baseConf is the one the
	// log's configuration entries start from; pendingConf is the index of the newest
	// configuration entry, which must commit before another change is accepted.
	conf, baseConf membership
	pendingConf    uint64

	preVote, checkQuorum bool
	recentActive         map[uint64]bool // leader: peers heard from since the last quorum check
	transferee           uint64          // leader: the node leadership is being handed to

	// Snapshots: the newest one (sent to followers that are too far behind), one being
	// received, and one received and installed, waiting for the driver (Ready.Snapshot).
	snap        *Snapshot
	snapChunk   int
	receiving   *Snapshot
	pendingSnap *Snapshot

	// Linearizable reads (ReadIndex): reads wait in id order for a majority to echo an id
	// sent after them; readAcks holds the highest id each peer echoed.
	readSeq    uint64
	reads      []pendingRead
	readAcks   map[uint64]uint64
	readStates []ReadState

	// broadcast is set when new entries wait to be sent; Ready sends them, so that all
	// proposals of one Ready cycle travel in one message per follower.
	broadcast bool
	// commitChanged is set when the leader's commit index moved; Ready then tells every
	// follower, including those with nothing new to receive.
	commitChanged bool
	msgs          []Message
	rpcSeq        uint64
	prevHS        HardState
	tr            *Tracer
}

// New returns a node in the follower role, restored from cfg.HardState and cfg.Entries.
func New(cfg Config) (*Raft, error) {
	if cfg.ID == None {
		return nil, errors.New("raft: node id 0 is reserved")
	}
	var base SnapshotMeta
	if cfg.Snapshot != nil {
		base = cfg.Snapshot.Meta
	}
	for i, e := range cfg.Entries {
		if e.Index != base.Index+uint64(i+1) {
			return nil, fmt.Errorf("raft: stored entry %d has index %d, want consecutive from %d", i, e.Index, base.Index+1)
		}
		if i > 0 && e.Term < cfg.Entries[i-1].Term {
			return nil, fmt.Errorf("raft: stored entry %d has term %d after term %d", e.Index, e.Term, cfg.Entries[i-1].Term)
		}
	}
	// The configuration is the log's (its first entry, Bootstrap) or the snapshot's when they
	// state one; Peers and Learners only stand in for a log that does not (a node started
	// before configurations were logged, the simulator). A node with none at all joins: it
	// waits for a leader to send it the log.
	logged := cfg.Snapshot != nil && len(cfg.Snapshot.Meta.Voters) > 0
	for _, e := range cfg.Entries {
		if _, _, ok := DecodeConfiguration(e); ok {
			logged = true
			break
		}
	}
	if !logged && len(cfg.Peers)+len(cfg.Learners) > 0 && !slices.Contains(cfg.Peers, cfg.ID) && !slices.Contains(cfg.Learners, cfg.ID) {
		return nil, fmt.Errorf("raft: node %d is not among its peers %v or learners %v", cfg.ID, cfg.Peers, cfg.Learners)
	}
	if cfg.ElectionTick <= 0 {
		cfg.ElectionTick = 10
	}
	if cfg.HeartbeatTick <= 0 {
		cfg.HeartbeatTick = 1
	}
	if cfg.HeartbeatTick >= cfg.ElectionTick {
		return nil, fmt.Errorf("raft: heartbeat tick %d must be below election tick %d", cfg.HeartbeatTick, cfg.ElectionTick)
	}
	if cfg.MaxEntriesPerMsg <= 0 {
		cfg.MaxEntriesPerMsg = 64
	}
	if cfg.MaxBytesPerMsg <= 0 {
		cfg.MaxBytesPerMsg = 1 << 20
	}
	if cfg.MaxCommandBytes <= 0 {
		cfg.MaxCommandBytes = 8 << 20
	}
	if cfg.MaxInflightMsgs <= 0 {
		cfg.MaxInflightMsgs = 256
	}
	if cfg.SnapshotChunk <= 0 {
		cfg.SnapshotChunk = 64 << 10
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(cfg.ID, uint64(time.Now().UnixNano())))
	}
	if cfg.RPCBase == 0 {
		cfg.RPCBase = uint64(cfg.Rand.Uint32()) + 1
	}
	peers := slices.Clone(cfg.Peers)
	slices.Sort(peers)
	peers = slices.Compact(peers)
	learners := slices.Clone(cfg.Learners)
	slices.Sort(learners)
	learners = slices.Compact(learners)
	r := &Raft{
		id:            cfg.ID,
		peers:         peers,
		term:          cfg.HardState.Term,
		vote:          cfg.HardState.Vote,
		electionTick:  cfg.ElectionTick,
		heartbeatTick: cfg.HeartbeatTick,
		tickInterval:  cfg.TickInterval,
		rand:          cfg.Rand,
		maxBatch:      cfg.MaxEntriesPerMsg,
		maxBytes:      cfg.MaxBytesPerMsg,
		maxCommand:    cfg.MaxCommandBytes,
		maxInflight:   cfg.MaxInflightMsgs,
		rpcSeq:        cfg.RPCBase - 1,
		preVote:       cfg.PreVote,
		checkQuorum:   cfg.CheckQuorum,
		tr:            cfg.Tracer,
	}
	r.log.snapIndex, r.log.snapTerm = base.Index, base.Term
	r.log.entries = slices.Clone(cfg.Entries)
	r.log.stabled = r.log.lastIndex()
	// The stored commit index is a hint: everything up to it was committed, and everything up
	// to it is in the stored log (a node persists entries before it learns they commit). A
	// snapshot holds only committed, applied entries.
	r.log.committed = max(min(cfg.HardState.Commit, r.log.lastIndex()), base.Index)
	r.log.applied = base.Index
	r.snap = cfg.Snapshot
	r.snapChunk = cfg.SnapshotChunk
	r.baseConf = membership{voters: peers, learners: learners}
	if cfg.Snapshot != nil && len(cfg.Snapshot.Meta.Voters) > 0 {
		r.baseConf = membership{voters: slices.Clone(cfg.Snapshot.Meta.Voters), learners: slices.Clone(cfg.Snapshot.Meta.Learners),
			incarnations: maps.Clone(cfg.Snapshot.Meta.Incarnations)}
	}
	r.setConf(r.confAt(r.log.lastIndex()))
	r.pendingConf = r.lastConfIndex()
	r.prevHS = r.hardState()
	r.role = Follower
	if r.tr.On() {
		attrs := []slog.Attr{slog.String("peers", joinIDs(r.peers))}
		if len(r.conf.learners) > 0 {
			attrs = append(attrs, slog.String("learners", joinIDs(r.conf.learners)))
		}
		attrs = append(attrs, slog.Uint64("last_index", r.log.lastIndex()), slog.Uint64("last_term", r.log.lastTerm()),
			slog.Uint64("commit", r.log.committed), idAttr("vote", r.vote))
		if r.log.snapIndex > 0 {
			attrs = append(attrs, slog.Uint64("snapshot", r.log.snapIndex))
		}
		r.tr.Emit(eventline.KindStart, "starts", r.term, r.role, attrs...)
	}
	r.resetElectionTimeout()
	return r, nil
}

func (r *Raft) hardState() HardState {
	return HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed}
}

// Status is a snapshot of a node's protocol state.
type Status struct {
	// Voters and Learners are the configuration in effect.
	Voters, Learners []uint64
	ID               uint64
	Term             uint64
	Vote             uint64
	Lead             uint64
	Role             Role
	Commit           uint64
	Applied          uint64
	LastIndex        uint64
	LastTerm         uint64
	// Match is, on a leader, the highest index known replicated on each voter.
	Match map[uint64]uint64
	// SnapIndex is the last index covered by the node's snapshot (0: none).
	SnapIndex uint64
	// Incarnations are the members' incarnations the configuration records (ConfIdentity).
	Incarnations map[uint64]uint64
}

// Status returns the node's state.
func (r *Raft) Status() Status {
	s := Status{ID: r.id, Term: r.term, Vote: r.vote, Lead: r.lead, Role: r.role,
		Commit: r.log.committed, Applied: r.log.applied,
		LastIndex: r.log.lastIndex(), LastTerm: r.log.lastTerm(), SnapIndex: r.log.snapIndex,
		Voters: slices.Clone(r.conf.voters), Learners: slices.Clone(r.conf.learners), Incarnations: maps.Clone(r.conf.incarnations)}
	if r.role == Leader {
		s.Match = make(map[uint64]uint64, len(r.progress))
		for id, pr := range r.progress {
			s.Match[id] = pr.match
		}
	}
	return s
}

// ID returns the node's id.
func (r *Raft) ID() uint64 { return r.id }

// Entries returns a copy of the node's log entries from index lo to its end.
func (r *Raft) Entries(lo uint64) []Entry {
	return slices.Clone(r.log.slice(lo, r.log.lastIndex(), 0))
}

func (r *Raft) quorum() int {
	if Mutated(MutQuorumOffByOne) {
		return max(len(r.peers)/2, 1)
	}
	return len(r.peers)/2 + 1
}

func (r *Raft) resetElectionTimeout() {
	r.electionElapsed = 0
	r.electionTimeout = r.electionTick + r.rand.IntN(r.electionTick)
	if r.tr.On() {
		r.tr.Emit(eventline.KindTimer, "resets election timer", r.term, r.role,
			slog.String("timer", "election"), slog.String("action", "reset"),
			slog.Duration("timeout", time.Duration(r.electionTimeout)*r.tickInterval))
	}
}

// Tick advances the node's logical clock by one tick.
func (r *Raft) Tick() {
	switch r.role {
	case Leader:
		r.heartbeatElapsed++
		r.electionElapsed++
		if r.electionElapsed >= r.electionTick {
			r.electionElapsed = 0
			if r.transferee != None {
				r.endTransfer("abort")
			}
			if r.checkQuorum && !r.quorumActive() {
				if r.tr.On() {
					r.tr.Emit(eventline.KindTimer, "has not heard from a majority for an election timeout", r.term, r.role,
						slog.String("timer", "election"), slog.String("action", "fire"))
				}
				r.becomeFollower(r.term, None, eventline.ReasonCheckQuorum, None)
				return
			}
		}
		if r.heartbeatElapsed >= r.heartbeatTick {
			r.heartbeatElapsed = 0
			if r.tr.On() {
				r.tr.Emit(eventline.KindTimer, "heartbeat timeout, sending AppendEntries", r.term, r.role,
					slog.String("timer", "heartbeat"), slog.String("action", "fire"))
			}
			r.broadcastAppend(true)
		}
	default:
		r.electionElapsed++
		if !r.conf.isVoter(r.id) {
			r.electionElapsed = 0 // a learner or a removed node never campaigns
			return
		}
		if r.electionElapsed >= r.electionTimeout {
			if r.tr.On() {
				r.tr.Emit(eventline.KindTimer, "election timeout, campaigning", r.term, r.role,
					slog.String("timer", "election"), slog.String("action", "fire"),
					slog.Duration("timeout", time.Duration(r.electionTimeout)*r.tickInterval))
			}
			if r.preVote {
				r.preCampaign()
			} else {
				r.campaign(eventline.ReasonTimeout, false)
			}
		}
	}
}

// quorumActive reports whether the leader heard from a majority (itself included) since the
// last check, and starts a new round of listening.
func (r *Raft) quorumActive() bool {
	active := 1
	for _, p := range r.peers {
		if p != r.id && r.recentActive[p] {
			active++
		}
	}
	r.recentActive = make(map[uint64]bool, len(r.peers))
	return active >= r.quorum()
}

// Campaign makes the node start an election now, as if its election timer had fired.
func (r *Raft) Campaign() {
	if r.role != Leader {
		r.campaign(eventline.ReasonForced, true)
	}
}

func (r *Raft) setRole(role Role, reason string, extra ...slog.Attr) {
	prev := r.role
	r.role = role
	if prev != role && r.tr.On() {
		attrs := append([]slog.Attr{slog.String("prev", prev.String()), slog.String("reason", reason)}, extra...)
		r.tr.Emit(eventline.KindState, "becomes "+role.String(), r.term, r.role, attrs...)
	}
}

func (r *Raft) setTerm(term uint64, reason string, from uint64) {
	prev := r.term
	r.term = term
	r.vote = None
	if r.tr.On() {
		attrs := []slog.Attr{slog.Uint64("prev", prev), slog.String("reason", reason)}
		if from != None {
			attrs = append(attrs, slog.String("from", ID(from)))
		}
		r.tr.Emit(eventline.KindTerm, "term "+strconv.FormatUint(prev, 10)+" -> "+strconv.FormatUint(term, 10), r.term, r.role, attrs...)
	}
}

func (r *Raft) campaign(reason string, force bool) {
	r.setTerm(r.term+1, eventline.ReasonCampaign, None)
	r.vote = r.id
	r.lead = None
	r.setRole(Candidate, reason)
	r.resetElectionTimeout()
	r.votes = map[uint64]bool{r.id: true}
	if r.tallyVotes() {
		return // a single-node cluster elects itself
	}
	for _, p := range r.peers {
		if p == r.id {
			continue
		}
		r.send(Message{Type: MsgVote, To: p, Term: r.term, Force: force,
			LastIndex: r.log.lastIndex(), LastTerm: r.log.lastTerm()})
	}
}

// preCampaign asks the others whether they would vote for this node in the next term,
// without raising its own term: a node cut off from the cluster keeps failing here and
// rejoins with the term it left with.
func (r *Raft) preCampaign() {
	r.lead = None
	r.setRole(PreCandidate, eventline.ReasonTimeout)
	r.resetElectionTimeout()
	r.votes = map[uint64]bool{r.id: true}
	if r.tallyPreVotes() {
		return
	}
	for _, p := range r.peers {
		if p == r.id {
			continue
		}
		r.send(Message{Type: MsgPreVote, To: p, Term: r.term + 1,
			LastIndex: r.log.lastIndex(), LastTerm: r.log.lastTerm()})
	}
}

func (r *Raft) tallyPreVotes() bool {
	if r.grantedVotes() < r.quorum() {
		return false
	}
	r.campaign(eventline.ReasonPreVoteWon, false)
	return true
}

// grantedVotes counts the (pre-)votes granted by voters of the current configuration. A
// candidate's own vote counts only once it is durable (Advance recounts then): a node that
// crashed before its fsync comes back without having voted, and may vote for another
// candidate in the same term. (A pre-vote promises nothing and needs no disk.)
func (r *Raft) grantedVotes() int {
	granted := 0
	for id, g := range r.votes {
		if !g || !r.conf.isVoter(id) {
			continue
		}
		if id == r.id && r.role == Candidate && !r.ownVoteDurable() && !Mutated(MutCountNonDurableVote) {
			continue
		}
		granted++
	}
	return granted
}

func (r *Raft) ownVoteDurable() bool {
	return r.prevHS.Term == r.term && r.prevHS.Vote == r.id
}

// tallyVotes makes the candidate leader when a majority granted its vote.
func (r *Raft) tallyVotes() bool {
	granted := r.grantedVotes()
	if granted < r.quorum() {
		return false
	}
	r.becomeLeader(granted)
	return true
}

func (r *Raft) becomeFollower(term, lead uint64, reason string, from uint64) {
	// The new term first: every event after a message of a higher term is in that term.
	if term > r.term {
		r.setTerm(term, reason, from)
	}
	if r.transferee != None {
		if from == r.transferee {
			r.endTransfer("done")
		} else {
			r.endTransfer("abort")
		}
	}
	wasFollower := r.role == Follower
	// Reads waiting for confirmation can never be confirmed by a node that no longer leads;
	// the driver sees them vanish and tells its clients to retry elsewhere.
	r.reads, r.readAcks = nil, nil
	r.setRole(Follower, reason)
	r.setLead(lead)
	r.progress = nil
	r.votes = nil
	if !wasFollower {
		r.resetElectionTimeout()
	}
}

func (r *Raft) setLead(lead uint64) {
	if lead == r.lead {
		return
	}
	r.lead = lead
	if lead != None && lead != r.id && r.tr.On() {
		r.tr.Emit(eventline.KindLeader, "learns leader is "+ID(lead), r.term, r.role, slog.String("leader", ID(lead)))
	}
}

func (r *Raft) becomeLeader(votes int) {
	r.lead = r.id
	r.setRole(Leader, eventline.ReasonWon, slog.Int("votes", votes))
	r.heartbeatElapsed, r.electionElapsed = 0, 0
	r.recentActive = make(map[uint64]bool, len(r.peers))
	// A change appended by an earlier leader may not be committed yet: no new one before it.
	r.pendingConf = r.lastConfIndex()
	r.progress = make(map[uint64]*progress, len(r.peers))
	for _, p := range r.conf.members() {
		r.progress[p] = &progress{next: r.log.lastIndex() + 1}
	}
	// A new leader commits entries of earlier terms only by committing one of its own term
	// (paper 5.4.2); appending a no-op right away makes that happen without waiting for a
	// client (dissertation 6.4). (The seeded Figure 8 bug leaves it out, as the paper's
	// figure does.)
	if !Mutated(MutCommitOldTerm) {
		r.appendAsLeader(Entry{})
	}
	r.broadcastAppend(true)
}

// ReadIndex starts a linearizable read with the given id (ids must grow): once a majority has
// confirmed that this node still leads, Ready.ReadStates carries the id with the commit index
// the read must wait for. It fails on a follower (ErrNotLeader) and on a leader that has not
// yet committed an entry in its term (ErrReadNotReady).
func (r *Raft) ReadIndex(id uint64) error {
	if r.role != Leader {
		return ErrNotLeader
	}
	if t, _ := r.log.term(r.log.committed); t != r.term {
		return ErrReadNotReady
	}
	if len(r.peers) == 1 {
		r.confirmRead(pendingRead{id: id, index: r.log.committed})
		return nil
	}
	r.readSeq = max(r.readSeq, id)
	r.reads = append(r.reads, pendingRead{id: id, index: r.log.committed})
	// A heartbeat round carrying the id asks the followers to confirm the leadership.
	r.broadcastAppend(true)
	return nil
}

func (r *Raft) confirmRead(p pendingRead) {
	r.readStates = append(r.readStates, ReadState{ID: p.id, Index: p.index})
	if r.tr.On() {
		r.tr.Emit(eventline.KindRead, "confirms read "+strconv.FormatUint(p.id, 10)+" at index "+strconv.FormatUint(p.index, 10), r.term, r.role,
			slog.Uint64("read_id", p.id), slog.Uint64("index", p.index), slog.String("mode", "read_index"))
	}
}

// ackRead records that a peer echoed read id up to id, and confirms the reads a majority has
// now echoed.
func (r *Raft) ackRead(from, id uint64) {
	if id == 0 || len(r.reads) == 0 {
		return
	}
	if r.readAcks == nil {
		r.readAcks = make(map[uint64]uint64)
	}
	r.readAcks[from] = max(r.readAcks[from], id)
	for len(r.reads) > 0 {
		p := r.reads[0]
		acks := 1 // the leader itself
		for peer, got := range r.readAcks {
			if peer != r.id && got >= p.id {
				acks++
			}
		}
		if acks < r.quorum() {
			return
		}
		r.confirmRead(p)
		r.reads = r.reads[1:]
	}
}

// TransferLeadership hands leadership to another voter (dissertation 3.10): the leader stops
// taking commands, brings the target's log up to date, and tells it to campaign at once
// (TimeoutNow). The transfer is abandoned after an election timeout.
func (r *Raft) TransferLeadership(to uint64) error {
	switch {
	case r.role != Leader:
		return ErrNotLeader
	case to == r.id:
		return nil
	case !slices.Contains(r.peers, to):
		return fmt.Errorf("raft: node %d is not a voter", to)
	}
	if r.transferee != None {
		r.endTransfer("abort")
	}
	r.transferee = to
	r.electionElapsed = 0
	if r.tr.On() {
		r.tr.Emit(eventline.KindTransfer, "hands leadership to "+ID(to), r.term, r.role, slog.String("to", ID(to)), slog.String("action", "start"))
	}
	if r.progress[to].match == r.log.lastIndex() {
		r.send(Message{Type: MsgTimeoutNow, To: to, Term: r.term})
	} else {
		r.sendAppend(to, false)
	}
	return nil
}

func (r *Raft) endTransfer(action string) {
	if r.tr.On() {
		r.tr.Emit(eventline.KindTransfer, "leadership transfer to "+ID(r.transferee)+": "+action, r.term, r.role,
			slog.String("to", ID(r.transferee)), slog.String("action", action))
	}
	r.transferee = None
}

// Propose appends a command to the leader's log and returns its index. It fails with
// ErrNotLeader on any other node. Whatever its bytes, a command is the state machine's: a
// membership change goes through ProposeConfChange.
func (r *Raft) Propose(data []byte) (uint64, error) {
	return r.propose(Entry{Type: EntryNormal, Data: data})
}

// ProposeConfChange appends a membership change to the leader's log and returns its index. It
// takes effect once appended; the leader accepts no second change until this one is committed
// (ErrConfPending), and refuses one that can never succeed (ErrRefused).
func (r *Raft) ProposeConfChange(cc ConfChange) (uint64, error) {
	return r.propose(Entry{Type: EntryConf, Data: cc.Encode()})
}

func (r *Raft) propose(e Entry) (uint64, error) {
	if r.role != Leader {
		if r.tr.On() {
			r.tr.Emit(eventline.KindRedirect, "refuses command, not leader", r.term, r.role, idAttr("leader", r.lead))
		}
		return 0, ErrNotLeader
	}
	if r.transferee != None {
		return 0, ErrTransferring
	}
	if len(e.Data) > r.maxCommand {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(e.Data), r.maxCommand)
	}
	if e.Type == EntryConf {
		cc, ok := DecodeConfChange(e)
		if !ok {
			return 0, refused(nil, "malformed membership change %q", e.Data)
		}
		if r.pendingConf > r.log.committed && cc.Type != ConfIdentity {
			return 0, ErrConfPending
		}
		if err := r.conf.check(cc); err != nil {
			return 0, err
		}
		if pr := r.progress[cc.Node]; cc.Type == ConfPromote && (pr == nil || pr.match < r.log.committed) {
			return 0, ErrLearnerBehind
		}
	}
	e = r.appendAsLeader(e)
	if r.tr.On() {
		r.tr.Emit(eventline.KindPropose, "proposes "+cmdText(e)+" at "+strconv.FormatUint(e.Index, 10), r.term, r.role,
			slog.Uint64("index", e.Index), slog.String("cmd", cmdText(e)))
	}
	return e.Index, nil
}

func (r *Raft) appendAsLeader(e Entry) Entry {
	e.Index = r.log.lastIndex() + 1
	e.Term = r.term
	r.log.appendEntries(e)
	r.broadcast = true
	if r.tr.On() {
		r.traceAppend(e.Index, e.Index, None)
	}
	r.observeConf([]Entry{e})
	return e
}

func (r *Raft) traceAppend(first, last, from uint64) {
	n := last - first + 1
	msg := "appends " + strconv.FormatUint(n, 10) + " entries at " + strconv.FormatUint(first, 10)
	if n == 1 {
		msg = "appends entry " + strconv.FormatUint(first, 10)
	}
	attrs := []slog.Attr{slog.Uint64("first", first), slog.Uint64("last", last), slog.Uint64("entries", n)}
	if from != None {
		attrs = append(attrs, slog.String("from", ID(from)))
	}
	r.tr.Emit(eventline.KindAppend, msg, r.term, r.role, attrs...)
}

// broadcastAppend sends AppendEntries to the followers: with heartbeat to all (each one also
// probes the follower's log, which repairs a pipeline that lost messages), otherwise to those
// with new entries to receive, and, when commitChanged is set, to the others as well so that
// they learn the new commit index.
func (r *Raft) broadcastAppend(heartbeat bool) {
	notify := r.commitChanged
	r.broadcast, r.commitChanged = false, false
	for _, p := range r.conf.members() {
		if p == r.id {
			continue
		}
		switch pr := r.progress[p]; {
		case heartbeat || pr.next <= r.log.lastIndex():
			r.sendAppend(p, heartbeat)
		case notify:
			r.sendCommit(p)
		}
	}
}

// sendAppend sends the follower the entries from its next index, as far as flow control
// allows (progress.go). A heartbeat is sent whatever the window: without entries when the
// window is full, at next-1, so that a follower that lost one of the messages in flight rejects
// it and the leader probes back to what it has.
func (r *Raft) sendAppend(to uint64, heartbeat bool) {
	pr := r.progress[to]
	prev := pr.next - 1
	prevTerm, ok := r.log.term(prev)
	if !ok || pr.sending {
		// The entry before next was compacted away: the follower needs the snapshot.
		r.sendSnapshot(to)
		return
	}
	var ents []Entry
	if pr.mayAppend(r.maxInflight) || (heartbeat && pr.state == stateProbe) {
		ents = limitBytes(r.log.slice(pr.next, r.log.lastIndex(), r.maxBatch), r.maxBytes)
	} else if !heartbeat {
		return
	}
	r.send(Message{Type: MsgApp, To: to, Term: r.term, PrevIndex: prev, PrevTerm: prevTerm,
		Entries: slices.Clone(ents), Commit: r.log.committed, ReadID: r.readSeq})
	pr.commitSent = max(pr.commitSent, min(r.log.committed, prev+uint64(len(ents))))
	if len(ents) > 0 {
		pr.sentEntries(ents[len(ents)-1].Index)
	}
}

// entryOverhead is what an entry costs on the wire besides its data (index, term, type, length).
const entryOverhead = 32

// limitBytes keeps the leading entries whose data fits in max bytes, and at least one.
func limitBytes(ents []Entry, max int) []Entry {
	size := 0
	for i, e := range ents {
		size += len(e.Data) + entryOverhead
		if i > 0 && size > max {
			return ents[:i]
		}
	}
	return ents
}

// sendSnapshot sends the chunk of the newest snapshot at the follower's offset. One chunk is
// in flight at a time; heartbeats resend it, so a lost chunk costs a heartbeat interval.
func (r *Raft) sendSnapshot(to uint64) {
	pr := r.progress[to]
	if r.snap == nil {
		return // nothing compacted yet: cannot happen, the log would have the entry
	}
	if !pr.sending {
		pr.sending, pr.snapOffset = true, 0
		if r.tr.On() {
			r.tr.Emit(eventline.KindSnapshot, "sends snapshot to "+ID(to), r.term, r.role, slog.Uint64("index", r.snap.Meta.Index),
				slog.Uint64("eterm", r.snap.Meta.Term), slog.Int("bytes", len(r.snap.Data)), slog.String("action", "sending"))
		}
	}
	off := min(pr.snapOffset, uint64(len(r.snap.Data)))
	end := min(off+uint64(r.snapChunk), uint64(len(r.snap.Data)))
	done := end == uint64(len(r.snap.Data))
	m := Message{Type: MsgSnap, To: to, Term: r.term, SnapIndex: r.snap.Meta.Index, SnapTerm: r.snap.Meta.Term,
		Offset: off, Data: slices.Clone(r.snap.Data[off:end]), Done: done, Commit: r.log.committed}
	if done {
		m.Voters, m.Learners, m.Incarnations = r.snap.Meta.Voters, r.snap.Meta.Learners, r.snap.Meta.Incarnations
	}
	r.send(m)
}

func (r *Raft) handleSnapshotResp(m Message) {
	pr := r.progress[m.From]
	if pr == nil || !pr.sending || r.snap == nil || m.SnapIndex != r.snap.Meta.Index {
		return // a reply about an older snapshot, or a duplicate
	}
	if m.Match != 0 {
		// Installed: replicate the log from there.
		pr.sending, pr.snapOffset = false, 0
		pr.match = max(pr.match, m.Match)
		pr.probe(pr.match + 1)
		r.maybeCommit()
		if r.role != Leader {
			return
		}
		if pr.next <= r.log.lastIndex() {
			r.sendAppend(m.From, false)
		}
		return
	}
	if m.Offset != pr.snapOffset || m.Success {
		pr.snapOffset = m.Offset
		r.sendSnapshot(m.From)
	}
}

// handleSnapshot receives a chunk of a snapshot from the leader.
func (r *Raft) handleSnapshot(m Message) {
	if r.role != Follower {
		r.becomeFollower(m.Term, m.From, eventline.ReasonStepdown, m.From)
	}
	r.setLead(m.From)
	r.electionElapsed = 0
	reply := Message{Type: MsgSnapResp, To: m.From, Term: r.term, RPC: m.RPC, SnapIndex: m.SnapIndex}
	if m.SnapIndex <= r.log.committed {
		// Already have everything it covers.
		reply.Success, reply.Match = true, r.log.committed
		r.send(reply)
		return
	}
	rc := r.receiving
	if m.Offset == 0 || rc == nil || rc.Meta.Index != m.SnapIndex || rc.Meta.Term != m.SnapTerm {
		rc = &Snapshot{Meta: SnapshotMeta{Index: m.SnapIndex, Term: m.SnapTerm}}
		r.receiving = rc
	}
	if m.Offset != uint64(len(rc.Data)) {
		// A lost or repeated chunk: say where to resume.
		reply.Offset = uint64(len(rc.Data))
		r.send(reply)
		return
	}
	rc.Data = append(rc.Data, m.Data...)
	reply.Success, reply.Offset = true, uint64(len(rc.Data))
	if !m.Done {
		r.send(reply)
		return
	}
	r.receiving = nil
	rc.Meta.Voters, rc.Meta.Learners, rc.Meta.Incarnations = m.Voters, m.Learners, m.Incarnations
	r.installSnapshot(rc)
	reply.Match = rc.Meta.Index
	r.send(reply)
}

// installSnapshot replaces the log with a snapshot from the leader. Entries after it are kept
// when the log agrees with the snapshot's last entry (Figure 13, step 6).
func (r *Raft) installSnapshot(s *Snapshot) {
	idx, term := s.Meta.Index, s.Meta.Term
	if r.log.matchTerm(idx, term) {
		r.log.entries = slices.Clone(r.log.slice(idx+1, r.log.lastIndex(), 0))
	} else {
		r.log.entries = nil
	}
	r.log.snapIndex, r.log.snapTerm = idx, term
	r.log.stabled = max(r.log.stabled, idx)
	if r.log.stabled > r.log.lastIndex() {
		r.log.stabled = r.log.lastIndex()
	}
	r.log.committed = max(r.log.committed, idx)
	r.log.applied = idx
	r.snap, r.pendingSnap = s, s
	if len(s.Meta.Voters) > 0 {
		r.baseConf = membership{voters: slices.Clone(s.Meta.Voters), learners: slices.Clone(s.Meta.Learners), incarnations: maps.Clone(s.Meta.Incarnations)}
	}
	r.setConf(r.confAt(r.log.lastIndex()))
	if r.tr.On() {
		r.tr.Emit(eventline.KindSnapshot, "installs snapshot up to "+strconv.FormatUint(idx, 10), r.term, r.role,
			slog.Uint64("index", idx), slog.Uint64("eterm", term), slog.Int("bytes", len(s.Data)), slog.String("action", "installed"))
	}
}

// Compact records a snapshot the driver took of its state machine after applying every entry
// up to snap.Meta.Index (of term snap.Meta.Term), and discards the log up to there. Followers
// too far behind are sent this snapshot. It returns the snapshot with its configuration
// filled in: that is what the driver must persist.
func (r *Raft) Compact(snap Snapshot) (Snapshot, error) {
	idx := snap.Meta.Index
	switch {
	case idx <= r.log.snapIndex:
		return snap, nil
	case idx > r.log.applied:
		return snap, fmt.Errorf("raft: snapshot at %d is past the applied index %d", idx, r.log.applied)
	}
	if t, ok := r.log.term(idx); !ok || t != snap.Meta.Term {
		return snap, fmt.Errorf("raft: snapshot at %d has term %d, the log has %d", idx, snap.Meta.Term, t)
	}
	at := r.confAt(idx)
	snap.Meta.Voters, snap.Meta.Learners, snap.Meta.Incarnations = at.voters, at.learners, maps.Clone(at.incarnations)
	r.log.entries = slices.Clone(r.log.slice(idx+1, r.log.lastIndex(), 0))
	r.log.snapIndex, r.log.snapTerm = idx, snap.Meta.Term
	r.baseConf = at
	r.snap = &snap
	if r.tr.On() {
		r.tr.Emit(eventline.KindSnapshot, "takes snapshot up to "+strconv.FormatUint(idx, 10), r.term, r.role,
			slog.Uint64("index", idx), slog.Uint64("eterm", snap.Meta.Term), slog.Int("bytes", len(snap.Data)), slog.String("action", "taken"))
		r.tr.Emit(eventline.KindCompact, "discards log up to "+strconv.FormatUint(idx, 10), r.term, r.role, slog.Uint64("index", idx))
	}
	return snap, nil
}

// sendCommit tells a follower that has nothing new to receive about the commit index. While
// entries are still in flight to it, the message anchors at the follower's known match, which
// it certainly holds, instead of at next-1, which it would reject until they arrive.
func (r *Raft) sendCommit(to uint64) {
	pr := r.progress[to]
	if pr.match+1 == pr.next {
		r.sendAppend(to, true)
		return
	}
	prevTerm, ok := r.log.term(pr.match)
	if !ok {
		r.sendAppend(to, true)
		return
	}
	r.send(Message{Type: MsgApp, To: to, Term: r.term, PrevIndex: pr.match, PrevTerm: prevTerm,
		Commit: min(r.log.committed, pr.match), ReadID: r.readSeq})
	pr.commitSent = max(pr.commitSent, min(r.log.committed, pr.match))
}

// send queues a message for the next Ready. Requests get a fresh RPC id; replies carry the id
// of the request they answer, which the caller sets.
func (r *Raft) send(m Message) {
	m.From = r.id
	if !m.Type.IsResponse() {
		r.rpcSeq++
		m.RPC = RPCID{Node: r.id, Seq: r.rpcSeq}
	}
	r.msgs = append(r.msgs, m)
}

// Step hands the node a message from a peer.
func (r *Raft) Step(m Message) error {
	if m.To != r.id {
		return fmt.Errorf("raft: node %d got a message for %d", r.id, m.To)
	}
	if m.From == None || m.From == r.id {
		if r.tr.On() {
			r.tr.Emit(eventline.KindDrop, "ignores "+m.Type.String()+" from unknown node "+ID(m.From), r.term, r.role,
				slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()),
				slog.String("from", ID(m.From)), slog.String("to", ID(m.To)), slog.String("reason", eventline.ReasonUnknownPeer))
		}
		return nil
	}
	if r.tr.On() {
		r.traceMessage(eventline.KindRecv, m)
	}
	if r.role == Leader && r.recentActive != nil {
		r.recentActive[m.From] = true
	}
	switch {
	case m.Term > r.term && m.Type.IsResponse() && Mutated(MutNoStepDownOnReply):
	case m.Term > r.term:
		isVote := m.Type == MsgVote || m.Type == MsgPreVote
		if isVote && len(r.conf.voters) > 0 && !r.conf.isVoter(m.From) {
			// A candidate this node's configuration does not count: a removed server that
			// timed out, or a stranger with a forged term (2^64-1 once stalled every election
			// for good). Its vote cannot count for it here, and its term must not become this
			// node's; a voter added by an entry this node has not received yet is voted for by
			// the nodes that have it, and its term arrives with its AppendEntries once it leads.
			r.refuseVote(m, r.term, "it is not a voter of this node's configuration", eventline.ReasonNotVoter)
			return nil
		}
		if isVote && r.noMemory() && beyondBootstrap(m.LastIndex, m.LastTerm) && !Mutated(MutVoteIgnoresLog) {
			// This node holds no state of its own (no vote, no entry beyond a new cluster's
			// configuration): a new member, or one whose data was wiped and that was started
			// again as a new cluster's instead of joining. The candidate's cluster existed (its
			// log holds more), and what this node acknowledged before it lost its data may be
			// what the candidate lacks: its vote could elect a leader that deletes acknowledged
			// entries. It refuses, without taking the term (so that a restart finds it as it
			// was), until a leader has given it entries; a new cluster's candidates (nothing
			// beyond the configuration) are voted for.
			r.refuseVote(m, m.Term, "it holds no state of its own", eventline.ReasonNoMemory)
			return nil
		}
		if isVote && !m.Force && r.checkQuorum && r.lead != None && r.electionElapsed < r.electionTick {
			// Leader lease: this node heard from a leader less than an election timeout ago,
			// so the cluster has a leader and the candidate is disruptive (dissertation 4.2.3).
			r.refuseVote(m, r.term, "a leader is alive", eventline.ReasonLeaderAlive)
			return nil
		}
		switch {
		case m.Type == MsgPreVote:
			// A pre-vote request does not change the receiver's term.
		case m.Type == MsgPreVoteResp && m.Granted:
			// Granted pre-votes carry the term the pre-candidate asked about.
		default:
			lead := None
			if m.Type == MsgApp || m.Type == MsgSnap {
				lead = m.From
			}
			r.becomeFollower(m.Term, lead, eventline.ReasonHigherTerm, m.From)
		}
	case m.Term < r.term && m.Type == MsgApp && Mutated(MutAcceptStaleAppend):
	case m.Term < r.term:
		// A stale request is answered with our term, so that its sender steps down; a stale
		// reply is dropped.
		switch m.Type {
		case MsgApp:
			r.send(Message{Type: MsgAppResp, To: m.From, Term: r.term, RPC: m.RPC})
		case MsgSnap:
			r.send(Message{Type: MsgSnapResp, To: m.From, Term: r.term, RPC: m.RPC})
		case MsgVote, MsgPreVote:
			resp := MsgVoteResp
			if m.Type == MsgPreVote {
				resp = MsgPreVoteResp
			}
			r.send(Message{Type: resp, To: m.From, Term: r.term, RPC: m.RPC})
			if r.tr.On() {
				r.tr.Emit(eventline.KindVote, "rejects vote for "+ID(m.From)+", stale term", r.term, r.role,
					slog.String("candidate", ID(m.From)), slog.Bool("granted", false), slog.String("reason", eventline.ReasonStaleTerm),
					slog.Bool("prevote", m.Type == MsgPreVote))
			}
		default:
			if r.tr.On() {
				r.tr.Emit(eventline.KindDrop, "ignores stale "+m.Type.String()+" from "+ID(m.From), r.term, r.role,
					slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()),
					slog.String("from", ID(m.From)), slog.String("to", ID(m.To)), slog.String("reason", eventline.ReasonStaleTerm))
			}
		}
		return nil
	}

	switch m.Type {
	case MsgVote, MsgPreVote:
		r.handleVote(m)
	case MsgPreVoteResp:
		if r.role == PreCandidate && m.Term == r.term+1 {
			if _, dup := r.votes[m.From]; !dup {
				r.votes[m.From] = m.Granted
				r.tallyPreVotes()
			}
		}
	case MsgTimeoutNow:
		if r.role != Leader {
			if r.tr.On() {
				r.tr.Emit(eventline.KindTransfer, "leader "+ID(m.From)+" hands over leadership", r.term, r.role,
					slog.String("to", ID(r.id)), slog.String("action", "timeout_now"))
			}
			r.campaign(eventline.ReasonTransfer, true)
		}
	case MsgVoteResp:
		if r.role == Candidate {
			if _, dup := r.votes[m.From]; !dup {
				r.votes[m.From] = m.Granted
				r.tallyVotes()
			}
		}
	case MsgApp:
		r.handleAppend(m)
	case MsgAppResp:
		if r.role == Leader {
			r.handleAppendResp(m)
		}
	case MsgSnap:
		r.handleSnapshot(m)
	case MsgSnapResp:
		if r.role == Leader {
			r.ackRead(m.From, m.ReadID)
			r.handleSnapshotResp(m)
		}
	}
	return nil
}

// refuseVote answers a (pre-)vote request m with a refusal in term, saying why.
func (r *Raft) refuseVote(m Message, term uint64, why, reason string) {
	if r.tr.On() {
		r.tr.Emit(eventline.KindVote, "rejects vote for "+ID(m.From)+", "+why, r.term, r.role,
			slog.String("candidate", ID(m.From)), slog.Bool("granted", false), slog.String("reason", reason),
			slog.Bool("prevote", m.Type == MsgPreVote))
	}
	resp := MsgVoteResp
	if m.Type == MsgPreVote {
		resp = MsgPreVoteResp
	}
	r.send(Message{Type: resp, To: m.From, Term: term, RPC: m.RPC})
}

// noMemory reports whether the node holds no state of its own: no vote in its term, and no
// entry beyond what a new cluster's start writes (the configuration at index 1, term 1:
// Bootstrap; or, started with Peers alone, an empty log). A node whose data was wiped and that
// was started again with the cluster's usual flags looks so: it bootstraps afresh. Its term is
// no sign: the first reply it gets raises it (a refused pre-vote carries the voter's term), and
// a term check let such a node vote a stale leader in (TestWipedFollowerRestartedWithoutJoin...).
func (r *Raft) noMemory() bool {
	return r.vote == None && !beyondBootstrap(r.log.lastIndex(), r.log.lastTerm())
}

// beyondBootstrap reports whether a log ending at (index, term) holds more than a new
// cluster's start writes: the configuration of Bootstrap at index 1, term 1.
func beyondBootstrap(index, term uint64) bool { return index > 1 || term > 1 }

func (r *Raft) handleVote(m Message) {
	pre := m.Type == MsgPreVote
	reason := eventline.ReasonOK
	switch {
	case pre && m.Term > r.term:
		// A pre-vote for a later term: only the log decides.
	case r.vote != None && r.vote != m.From:
		reason = eventline.ReasonAlreadyVoted
	case r.role == Leader:
		reason = eventline.ReasonAlreadyVoted // a leader voted for itself in this term
	}
	if reason == eventline.ReasonOK && !r.log.isUpToDate(m.LastIndex, m.LastTerm) && !Mutated(MutVoteIgnoresLog) {
		reason = eventline.ReasonStaleLog
	}
	granted := reason == eventline.ReasonOK
	if granted && !pre {
		r.vote = m.From
		// Granting a vote resets the election timer (Figure 2), so that the voter does not
		// compete with the candidate it just helped.
		r.resetElectionTimeout()
	}
	if r.tr.On() {
		verb := "votes for "
		switch {
		case pre && granted:
			verb = "would vote for "
		case !granted:
			verb = "rejects vote for "
		}
		attrs := []slog.Attr{slog.String("candidate", ID(m.From)), slog.Bool("granted", granted), slog.String("reason", reason)}
		if pre {
			attrs = append(attrs, slog.Bool("prevote", true))
		}
		r.tr.Emit(eventline.KindVote, verb+ID(m.From), r.term, r.role, attrs...)
	}
	resp := Message{Type: MsgVoteResp, To: m.From, Term: r.term, RPC: m.RPC, Granted: granted}
	if pre {
		resp.Type = MsgPreVoteResp
		if granted {
			resp.Term = m.Term
		}
	}
	r.send(resp)
}

func (r *Raft) handleAppend(m Message) {
	if r.role != Follower {
		r.becomeFollower(m.Term, m.From, eventline.ReasonStepdown, m.From)
	}
	r.setLead(m.From)
	r.electionElapsed = 0
	reply := Message{Type: MsgAppResp, To: m.From, Term: r.term, RPC: m.RPC, ReadID: m.ReadID}

	if m.PrevIndex < r.log.committed {
		// Entries up to our commit index are settled; skip what we already hold. This only
		// happens with delayed or duplicated messages.
		skip := r.log.committed - m.PrevIndex
		if skip >= uint64(len(m.Entries)) {
			reply.Success, reply.Match = true, r.log.committed
			r.send(reply)
			return
		}
		m.PrevTerm, _ = r.log.term(r.log.committed)
		m.PrevIndex = r.log.committed
		m.Entries = m.Entries[skip:]
	}

	if !r.log.matchTerm(m.PrevIndex, m.PrevTerm) {
		if t, ok := r.log.term(m.PrevIndex); ok {
			reply.ConflictTerm = t
			reply.ConflictIndex = r.log.firstIndexOfTerm(m.PrevIndex)
			if r.tr.On() {
				r.tr.Emit(eventline.KindConflict, "log conflicts at "+strconv.FormatUint(m.PrevIndex, 10), r.term, r.role,
					slog.Uint64("index", m.PrevIndex), slog.Uint64("conflict_term", t), slog.Uint64("leader_term", m.PrevTerm))
			}
		} else {
			reply.ConflictIndex = r.log.lastIndex() + 1
		}
		r.send(reply)
		return
	}

	// Find the first new entry that is not already in the log; delete a conflicting suffix
	// only then (never on a mere heartbeat), since a reordered shorter message must not cut
	// entries a later message already appended (Figure 2, receiver rule 3).
	ents := m.Entries
	for len(ents) > 0 {
		t, ok := r.log.term(ents[0].Index)
		if !ok {
			break
		}
		if t != ents[0].Term {
			if r.tr.On() {
				r.tr.Emit(eventline.KindConflict, "log conflicts at "+strconv.FormatUint(ents[0].Index, 10), r.term, r.role,
					slog.Uint64("index", ents[0].Index), slog.Uint64("conflict_term", t), slog.Uint64("leader_term", ents[0].Term))
			}
			if ents[0].Index <= r.log.committed {
				// Never happens with a correct leader: a committed entry cannot differ.
				// Refuse the message rather than destroy committed data.
				if r.tr.On() {
					r.tr.Emit(eventline.KindDrop, "refuses AppendEntries that would overwrite committed entry "+strconv.FormatUint(ents[0].Index, 10),
						r.term, r.role, slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()),
						slog.String("from", ID(m.From)), slog.String("to", ID(m.To)), slog.String("reason", eventline.ReasonOverwritesCommitted))
				}
				r.send(reply)
				return
			}
			r.truncate(ents[0].Index)
			break
		}
		ents = ents[1:]
	}
	if Mutated(MutTruncateOnHeartbeat) && len(ents) == 0 {
		if end := m.PrevIndex + uint64(len(m.Entries)); end < r.log.lastIndex() {
			r.truncate(end + 1)
		}
	}
	if len(ents) > 0 {
		r.log.appendEntries(ents...)
		if r.tr.On() {
			r.traceAppend(ents[0].Index, ents[len(ents)-1].Index, m.From)
		}
		r.observeConf(ents)
	}
	lastNew := m.PrevIndex + uint64(len(m.Entries))
	if m.Commit > r.log.committed {
		r.commitTo(min(m.Commit, lastNew))
	}
	reply.Success, reply.Match = true, lastNew
	r.send(reply)
}

// truncate deletes the log from index from on; handleAppend never passes a committed index.
func (r *Raft) truncate(from uint64) {
	last := r.log.lastIndex()
	r.log.truncateFrom(from)
	if r.pendingConf >= from {
		// A configuration entry was deleted: the one before it is in effect again.
		r.pendingConf = 0
		r.setConf(r.confAt(r.log.lastIndex()))
	}
	if r.tr.On() {
		r.tr.Emit(eventline.KindTruncate, "deletes entries "+strconv.FormatUint(from, 10)+".."+strconv.FormatUint(last, 10), r.term, r.role,
			slog.Uint64("index", from), slog.Uint64("last", last))
	}
}

func (r *Raft) handleAppendResp(m Message) {
	r.ackRead(m.From, m.ReadID) // any reply of this term confirms the leadership
	pr := r.progress[m.From]
	if pr == nil {
		return // no longer a member
	}
	if m.Success {
		if m.Match > pr.match {
			pr.match = m.Match
			r.maybeCommit()
			if r.role != Leader {
				return // the commit removed this leader from the cluster
			}
		}
		pr.acknowledged()
		if m.From == r.transferee && pr.match == r.log.lastIndex() {
			r.send(Message{Type: MsgTimeoutNow, To: m.From, Term: r.term})
		}
		switch {
		case pr.next <= r.log.lastIndex():
			r.sendAppend(m.From, false) // keep a lagging follower streaming
		case pr.commitSent < min(r.log.committed, pr.match):
			r.sendCommit(m.From)
		}
		return
	}
	if m.ConflictTerm == 0 && m.ConflictIndex > 0 && m.ConflictIndex <= pr.match {
		// The follower's log ends below what it acknowledged: it lost its data (a wiped
		// disk). Sending from the remembered match would be refused forever; start again from
		// where its log ends. (It can no longer count towards commits it had counted for:
		// match only goes down here.)
		if r.tr.On() {
			r.tr.Emit(eventline.KindConflict, fmt.Sprintf("node %d's log ends at %d, below the %d it acknowledged: resending from there", m.From, m.ConflictIndex-1, pr.match),
				r.term, r.role, slog.Uint64("index", m.ConflictIndex-1), slog.String("peer", ID(m.From)), slog.String("reason", eventline.ReasonFollowerLostEntries))
		}
		pr.match = m.ConflictIndex - 1
		pr.probe(m.ConflictIndex)
		r.sendAppend(m.From, false)
		return
	}
	next := m.ConflictIndex
	if m.ConflictTerm != 0 {
		if i := r.log.lastIndexOfTerm(m.ConflictTerm); i != 0 {
			next = i + 1
		}
	}
	next = max(next, pr.match+1, 1)
	switch {
	case next < pr.next:
		pr.probe(next)
		r.sendAppend(m.From, false)
	case pr.state == stateProbe:
		// The answer to the probe out (or to an older one): the next may go.
		pr.paused = false
	}
}

// maybeCommit advances the leader's commit index to the highest index stored on a majority,
// but only when that entry is of the current term: counting replicas of an older term's entry
// is unsafe (paper 5.4.2, Figure 8).
func (r *Raft) maybeCommit() {
	matches := make([]uint64, 0, len(r.peers))
	for _, p := range r.peers {
		if p == r.id {
			// The leader counts only what is on its own stable storage.
			matches = append(matches, r.log.stabled)
		} else {
			matches = append(matches, r.progress[p].match)
		}
	}
	slices.Sort(matches)
	n := matches[len(matches)-r.quorum()]
	if n <= r.log.committed {
		return
	}
	if t, _ := r.log.term(n); t != r.term && !Mutated(MutCommitOldTerm) {
		return
	}
	r.commitTo(n)
	// Followers learn the new commit index with the next AppendEntries; send it now rather
	// than a heartbeat later, so that they apply one round trip after the leader.
	r.commitChanged = true
	if r.pendingConf != 0 && r.pendingConf <= n {
		idx := r.pendingConf
		r.pendingConf = 0
		if r.tr.On() {
			r.tr.Emit(eventline.KindConf, "configuration committed", r.term, r.role, slog.String("phase", "committed"),
				slog.Uint64("index", idx), slog.String("voters", joinIDs(r.conf.voters)),
				slog.String("learners", joinIDs(r.conf.learners)))
		}
		if !r.conf.isVoter(r.id) {
			// A leader that removed itself steps down once the removal is committed
			// (dissertation 4.2.2); until then it kept replicating without counting itself.
			r.becomeFollower(r.term, None, eventline.ReasonRemoved, None)
		}
	}
}

func (r *Raft) commitTo(n uint64) {
	if n <= r.log.committed {
		return
	}
	prev := r.log.committed
	r.log.committed = n
	if r.tr.On() {
		r.tr.Emit(eventline.KindCommit, "commits up to "+strconv.FormatUint(n, 10), r.term, r.role,
			slog.Uint64("commit", n), slog.Uint64("prev", prev))
	}
}

// Ready is what a node must do next, in this order: persist HardState and Entries (fsync), then
// send Messages, then apply Committed to the state machine; then call Advance.
//
// One relaxation is safe and worth it: requests (Type.IsResponse false) may be sent before the
// fsync, so that a leader writes its log while its followers write theirs (Raft dissertation
// 10.2.1), provided no message is stepped into the node until the fsync is done and Advance
// has been called. Replies carry promises (a vote, stored entries) and must wait.
type Ready struct {
	// HardState is the state to persist; empty when it did not change.
	HardState HardState
	// Entries are to be persisted; Entries[0] may overwrite (truncate) the stored log.
	Entries []Entry
	// Messages go to peers once HardState and Entries are durable (requests may go earlier;
	// see above).
	Messages []Message
	// Committed entries are to be applied, in order.
	Committed []Entry
	// ReadStates are linearizable reads now confirmed (see ReadIndex).
	ReadStates []ReadState
	// Snapshot, when set, came from the leader: persist it and restore the state machine from
	// it before applying Committed (which follow it).
	Snapshot *Snapshot
}

// HasReady reports whether Ready has anything to do.
func (r *Raft) HasReady() bool {
	return r.broadcast || r.commitChanged || len(r.msgs) > 0 || len(r.readStates) > 0 || r.pendingSnap != nil || r.termOrVoteChanged() ||
		r.log.stabled < r.log.lastIndex() || len(r.log.nextApply()) > 0
}

func (r *Raft) termOrVoteChanged() bool {
	return r.term != r.prevHS.Term || r.vote != r.prevHS.Vote
}

// Ready returns the work to do. It must be followed by Advance before the next Step, Tick or
// Propose.
func (r *Raft) Ready() Ready {
	if r.role == Leader && (r.broadcast || r.commitChanged) {
		r.broadcastAppend(false)
	}
	r.broadcast, r.commitChanged = false, false
	rd := Ready{
		Entries:    slices.Clone(r.log.unstable()),
		Messages:   r.msgs,
		Committed:  slices.Clone(r.log.nextApply()),
		ReadStates: r.readStates,
		Snapshot:   r.pendingSnap,
	}
	r.readStates = nil
	// The commit index needs no fsync of its own (it is volatile in the paper; a restarted node
	// relearns it from the leader); it rides along when term, vote or entries are written.
	if r.termOrVoteChanged() || len(rd.Entries) > 0 || rd.Snapshot != nil {
		rd.HardState = r.hardState()
		if Mutated(MutVoteNotPersisted) {
			rd.HardState.Vote = r.prevHS.Vote // what is on disk stays; the new vote is never written
		}
	}
	r.msgs = nil
	return rd
}

// Advance records that rd was carried out: its entries are stable and its committed entries
// applied.
func (r *Raft) Advance(rd Ready) {
	if !rd.HardState.IsEmpty() {
		r.prevHS = rd.HardState
		if Mutated(MutVoteNotPersisted) {
			r.prevHS.Vote = r.vote
		}
	}
	if rd.Snapshot != nil && r.pendingSnap == rd.Snapshot {
		r.pendingSnap = nil
	}
	if n := len(rd.Entries); n > 0 {
		last := rd.Entries[n-1]
		// The log may have been truncated meanwhile; only a still-matching entry is stable.
		if r.log.matchTerm(last.Index, last.Term) && last.Index > r.log.stabled {
			r.log.stabled = last.Index
		}
	}
	if n := len(rd.Committed); n > 0 {
		r.log.applied = max(r.log.applied, rd.Committed[n-1].Index)
	}
	switch r.role {
	case Leader:
		r.maybeCommit() // the leader's own persist may complete a majority
	case Candidate:
		r.tallyVotes() // its own vote may now be durable
	}
}

func (r *Raft) traceMessage(ev string, m Message) {
	var b strings.Builder
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()))
	if ev == eventline.KindSend {
		b.WriteString("sends " + m.Type.String() + " to " + ID(m.To))
		attrs = append(attrs, slog.String("to", ID(m.To)))
	} else {
		b.WriteString("receives " + m.Type.String() + " from " + ID(m.From))
		attrs = append(attrs, slog.String("from", ID(m.From)), slog.Uint64("mterm", m.Term))
	}
	switch m.Type {
	case MsgVote, MsgPreVote:
		attrs = append(attrs, slog.Uint64("last_index", m.LastIndex), slog.Uint64("last_term", m.LastTerm))
	case MsgVoteResp, MsgPreVoteResp:
		attrs = append(attrs, slog.Bool("granted", m.Granted))
		if m.Granted {
			b.WriteString(" (granted)")
		} else {
			b.WriteString(" (rejected)")
		}
	case MsgApp:
		attrs = append(attrs, slog.Uint64("prev_index", m.PrevIndex), slog.Uint64("prev_term", m.PrevTerm),
			slog.Int("entries", len(m.Entries)), slog.Uint64("commit", m.Commit))
		if m.ReadID != 0 {
			attrs = append(attrs, slog.Uint64("read_id", m.ReadID))
		}
		if len(m.Entries) > 0 {
			attrs = append(attrs, slog.Uint64("first", m.Entries[0].Index))
			b.WriteString(" (" + strconv.Itoa(len(m.Entries)) + " entries)")
		} else {
			b.WriteString(" (heartbeat)")
		}
	case MsgSnap:
		attrs = append(attrs, slog.Uint64("snap_index", m.SnapIndex), slog.Uint64("snap_term", m.SnapTerm),
			slog.Uint64("offset", m.Offset), slog.Int("bytes", len(m.Data)), slog.Bool("done", m.Done))
	case MsgSnapResp:
		attrs = append(attrs, slog.Bool("success", m.Success), slog.Uint64("offset", m.Offset))
	case MsgAppResp:
		attrs = append(attrs, slog.Bool("success", m.Success), slog.Uint64("match", m.Match))
		if m.ReadID != 0 {
			attrs = append(attrs, slog.Uint64("read_id", m.ReadID))
		}
		if !m.Success {
			attrs = append(attrs, slog.Uint64("conflict_index", m.ConflictIndex), slog.Uint64("conflict_term", m.ConflictTerm))
			b.WriteString(" (rejected)")
		}
	}
	r.tr.Emit(ev, b.String(), r.term, r.role, attrs...)
}

// TraceSend writes the send event of m. Drivers call it when the message actually leaves,
// after the Ready's state is durable, so that the event order shows persist before send.
func (r *Raft) TraceSend(m Message) {
	if r.tr.On() {
		r.traceMessage(eventline.KindSend, m)
	}
}

// TracePersist writes the persist event of a Ready's durable write.
func (r *Raft) TracePersist(rd Ready, sync time.Duration) {
	if !r.tr.On() || (rd.HardState.IsEmpty() && len(rd.Entries) == 0) {
		return
	}
	// The vote is the one written (the hard state of rd), or else the one already on disk.
	vote := r.prevHS.Vote
	if !rd.HardState.IsEmpty() {
		vote = rd.HardState.Vote
	}
	attrs := []slog.Attr{slog.Uint64("last_index", r.log.lastIndex()), idAttr("vote", vote),
		slog.Int("entries", len(rd.Entries))}
	if sync > 0 {
		attrs = append(attrs, slog.Duration("sync", sync))
	}
	r.tr.Emit(eventline.KindPersist, "persists term "+strconv.FormatUint(r.term, 10)+", "+strconv.Itoa(len(rd.Entries))+" entries", r.term, r.role, attrs...)
}

// TraceApply writes the apply event of e with the state machine's result.
func (r *Raft) TraceApply(e Entry, result string) {
	if !r.tr.On() {
		return
	}
	attrs := []slog.Attr{slog.Uint64("index", e.Index), slog.Uint64("eterm", e.Term), slog.String("cmd", cmdText(e))}
	if result != "" {
		attrs = append(attrs, slog.String("result", result))
	}
	r.tr.Emit(eventline.KindApply, "applies "+cmdText(e)+" at "+strconv.FormatUint(e.Index, 10), r.term, r.role, attrs...)
}

// Tracer returns the node's tracer (nil when tracing is off).
func (r *Raft) Tracer() *Tracer { return r.tr }

// cmdText renders an entry's command for event lines: printable text as is, anything else
// quoted, the leader's no-op as "noop", a configuration entry after "conf ", and long
// commands cut.
func cmdText(e Entry) string {
	if len(e.Data) == 0 {
		return "noop"
	}
	const maxLen = 64
	s := string(e.Data)
	if e.Type == EntryConf {
		s = "conf " + s
	}
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '|' {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}

func joinIDs(ids []uint64) string {
	b := make([]byte, 0, 4*len(ids))
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(b)
}
