package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/storage"
)

// listMachine is a state machine of the tests' own (the node knows no key-value store): it
// keeps the commands applied, answers each with how many it now holds, and fails the command
// "fail" without changing anything, as a deterministic application would.
type listMachine struct{ cmds []string }

func (m *listMachine) Apply(_ uint64, cmd []byte) (any, error) {
	if string(cmd) == "fail" {
		return nil, errors.New("refused")
	}
	m.cmds = append(m.cmds, string(cmd))
	return len(m.cmds), nil
}

func (m *listMachine) Snapshot() ([]byte, error) { return []byte(strings.Join(m.cmds, "\n")), nil }

func (m *listMachine) Restore(b []byte) error {
	m.cmds = nil
	if len(b) > 0 {
		m.cmds = strings.Split(string(b), "\n")
	}
	return nil
}

// journal records, in order, what a driver did to its disk and its network.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, s)
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.events, "\n")
}

func (j *journal) Send(m raft.Message) { j.add("send " + m.Type.String()) }

// journaledStorage writes to a Memory and notes each save; failAfter > 0 makes the save of
// that number fail (a disk that stopped accepting writes).
type journaledStorage struct {
	*storage.Memory
	j         *journal
	saves     int
	failAfter int
}

func (s *journaledStorage) Save(hs raft.HardState, ents []raft.Entry) error {
	s.saves++
	if s.failAfter > 0 && s.saves >= s.failAfter {
		return errors.New("disk full")
	}
	s.j.add(fmt.Sprintf("save term=%d vote=%d entries=%d", hs.Term, hs.Vote, len(ents)))
	return s.Memory.Save(hs, ents)
}

func newDriver(t *testing.T, peers []uint64, st *journaledStorage, log *bytes.Buffer) *Driver {
	t.Helper()
	return newDriverOn(t, Config{ID: 1, Peers: peers, Bootstrap: true, Storage: st, Sender: st.j, StateMachine: &listMachine{},
		ElectionTick: 10, HeartbeatTick: 1, Handler: eventline.NewTextHandler(log, nil), RPCBase: 1})
}

func newDriverOn(t *testing.T, cfg Config) *Driver {
	t.Helper()
	d, err := NewDriver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// elect ticks a single-node driver until it leads.
func elect(t *testing.T, d *Driver) {
	t.Helper()
	for i := 0; i < 100 && d.Status().Role != raft.Leader; i++ {
		d.Tick()
		if err := d.Ready(); err != nil {
			t.Fatal(err)
		}
	}
	if d.Status().Role != raft.Leader {
		t.Fatal("a single node did not elect itself")
	}
}

func TestDriverAppliesProposalsAndServesReads(t *testing.T) {
	var log bytes.Buffer
	st := &journaledStorage{Memory: storage.NewMemory(), j: &journal{}}
	sm := &listMachine{}
	d := newDriverOn(t, Config{ID: 1, Peers: []uint64{1}, Bootstrap: true, Storage: st, Sender: st.j, StateMachine: sm,
		ElectionTick: 10, HeartbeatTick: 1, Handler: eventline.NewTextHandler(&log, nil), RPCBase: 1})
	elect(t, d)
	var got []string
	for _, cmd := range []string{"a", "fail", "b"} {
		idx, err := d.Propose([]byte(cmd), func(res Result, err error) {
			got = append(got, fmt.Sprintf("%d %v %v", res.Index, res.Value, err))
		})
		if err != nil || idx == 0 {
			t.Fatalf("propose %q: %d %v", cmd, idx, err)
		}
	}
	if len(got) != 0 {
		t.Fatal("a proposal was answered before Ready made it durable")
	}
	if err := d.Ready(); err != nil {
		t.Fatal(err)
	}
	// Index 1 is the bootstrap configuration, 2 the leader's no-op: neither reaches the state
	// machine.
	want := []string{`3 1 <nil>`, `4 <nil> refused`, `5 2 <nil>`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("answers %q, want %q", got, want)
	}
	var read string
	if err := d.Read(func(index uint64, err error) {
		read = fmt.Sprintf("%v %d %v", sm.cmds, index, err)
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.Ready(); err != nil {
		t.Fatal(err)
	}
	if read != "[a b] 5 <nil>" || d.Applied() != 5 {
		t.Fatalf("read: %q, applied %d", read, d.Applied())
	}
	for _, applied := range []string{"applies a at 3 | ev=apply term=2 state=leader index=3 eterm=2 cmd=a result=1",
		`applies fail at 4 | ev=apply term=2 state=leader index=4 eterm=2 cmd=fail result="error: refused"`} {
		if !strings.Contains(log.String(), applied) {
			t.Errorf("no event line %q in\n%s", applied, log.String())
		}
	}
	if err := eventline.CheckText(log.Bytes()); err != nil {
		t.Error(err)
	}
}

// TestDriverRestoresItsStateMachine: a driver snapshots its state machine every SnapshotEvery
// entries; a restart on the same storage rebuilds the same state from the snapshot and the
// log after it.
func TestDriverRestoresItsStateMachine(t *testing.T) {
	st := &journaledStorage{Memory: storage.NewMemory(), j: &journal{}}
	cfg := Config{ID: 1, Peers: []uint64{1}, Bootstrap: true, Storage: st, Sender: st.j, StateMachine: &listMachine{},
		ElectionTick: 10, HeartbeatTick: 1, SnapshotEvery: 4, RPCBase: 1}
	d := newDriverOn(t, cfg)
	elect(t, d)
	for _, cmd := range []string{"a", "b", "c", "d", "e"} {
		if _, err := d.Propose([]byte(cmd), func(Result, error) {}); err != nil {
			t.Fatal(err)
		}
		if err := d.Ready(); err != nil {
			t.Fatal(err)
		}
	}
	if snap, _ := st.Snapshot(); snap == nil || string(snap.Data) == "" {
		t.Fatalf("no snapshot of the state machine was stored: %+v", snap)
	}
	again := restartDriver(t, d, cfg, st)
	if got := strings.Join(again.cmds, ","); got != "a,b,c,d,e" {
		t.Fatalf("after a restart the state machine holds %q", got)
	}
}

// restartDriver stops d as a crash would and starts it again on the same storage with a new
// state machine, elected; it returns that state machine.
func restartDriver(t *testing.T, d *Driver, cfg Config, st *journaledStorage) *listMachine {
	t.Helper()
	if err := d.Stop(false); err != nil {
		t.Fatal(err)
	}
	again := &listMachine{}
	cfg.StateMachine, cfg.Storage = again, &journaledStorage{Memory: st.Memory.Reopen(), j: st.j}
	elect(t, newDriverOn(t, cfg))
	return again
}

// TestDriverRepliesOnlyAfterFsync: a vote is a promise; the reply that carries it leaves only
// after the vote is on disk.
func TestDriverRepliesOnlyAfterFsync(t *testing.T) {
	var log bytes.Buffer
	j := &journal{}
	st := &journaledStorage{Memory: storage.NewMemory(), j: j}
	d := newDriver(t, []uint64{1, 2, 3}, st, &log)
	j.events = nil
	if err := d.Step(raft.Message{Type: raft.MsgVote, From: 2, To: 1, Term: 2, LastIndex: 1, LastTerm: 1,
		RPC: raft.RPCID{Node: 2, Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Ready(); err != nil {
		t.Fatal(err)
	}
	if got, want := j.String(), "save term=2 vote=2 entries=0\nsend RequestVoteReply"; got != want {
		t.Fatalf("order:\n%s\nwant\n%s", got, want)
	}
}

// TestDriverStopsOnStorageFailure: after a failed write the node stops; nothing waiting is
// left hanging and nothing more is accepted.
func TestDriverStopsOnStorageFailure(t *testing.T) {
	var log bytes.Buffer
	st := &journaledStorage{Memory: storage.NewMemory(), j: &journal{}}
	d := newDriver(t, []uint64{1}, st, &log)
	elect(t, d)
	st.failAfter = st.saves + 1
	var answer error
	if _, err := d.Propose([]byte("set x 1"), func(_ Result, err error) { answer = err }); err != nil {
		t.Fatal(err)
	}
	err := d.Ready()
	if err == nil {
		t.Fatal("Ready hid a failed write")
	}
	d.Fail(err)
	if !errors.Is(answer, ErrStopped) {
		t.Fatalf("the waiting proposal got %v, want ErrStopped", answer)
	}
	if _, err := d.Propose([]byte("set y 1"), func(Result, error) {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("a stopped driver took a proposal: %v", err)
	}
	if err := d.Read(func(uint64, error) {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("a stopped driver took a read: %v", err)
	}
	if err := d.Step(raft.Message{Type: raft.MsgVote, From: 2, To: 1, Term: 9}); !errors.Is(err, ErrStopped) {
		t.Fatalf("a stopped driver took a message: %v", err)
	}
	if !strings.Contains(log.String(), "ev=crash") || !strings.Contains(log.String(), "reason=storage") {
		t.Fatalf("no crash event:\n%s", log.String())
	}
}

func TestDriverRefusesMisroutedMessage(t *testing.T) {
	var log bytes.Buffer
	st := &journaledStorage{Memory: storage.NewMemory(), j: &journal{}}
	d := newDriver(t, []uint64{1, 2, 3}, st, &log)
	if err := d.Step(raft.Message{Type: raft.MsgApp, From: 2, To: 3, Term: 1}); err == nil {
		t.Fatal("a message for node 3 was taken by node 1")
	}
	if !strings.Contains(log.String(), "reason=misrouted") {
		t.Fatalf("no drop event:\n%s", log.String())
	}
	if err := eventline.CheckText(log.Bytes()); err != nil {
		t.Error(err)
	}
}

// TestNodeSubmitThenStop runs the live loop: a single node elects itself on its ticker, answers
// a submit and a read, and leaves no goroutine behind when stopped.
func TestNodeSubmitThenStop(t *testing.T) {
	defer leaktest.Check(t)()
	sm := &listMachine{}
	n, err := Start(Config{ID: 1, Peers: []uint64{1}, Bootstrap: true, Storage: storage.NewMemory(),
		Sender: &journal{}, StateMachine: sm, TickInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var res Result
	for {
		res, err = n.Submit(ctx, []byte("k=v"))
		if !errors.Is(err, raft.ErrNotLeader) {
			break
		}
		time.Sleep(time.Millisecond) // not yet elected: the ticker runs on wall time
	}
	if err != nil || res.Index == 0 {
		t.Fatalf("submit: %+v %v", res, err)
	}
	if res.Value != 1 {
		t.Fatalf("submit answered %v, want the state machine's 1", res.Value)
	}
	var read []string
	if idx, err := n.Read(ctx, func() { read = slices.Clone(sm.cmds) }); err != nil || idx < res.Index || !slices.Equal(read, []string{"k=v"}) {
		t.Fatalf("read at %d: %q %v", idx, read, err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	<-n.Done()
	if _, err := n.Submit(ctx, []byte("k=w")); !errors.Is(err, ErrStopped) {
		t.Fatalf("a stopped node took a command: %v", err)
	}
}

// TestDriverSnapshotsByBytes: with SnapshotBytes, a few large commands compact the log long
// before SnapshotEvery entries would (the in-memory log was bounded by count only: 300 commands
// of 1 MB held 470-580 MB per node), and a restart still rebuilds the state.
func TestDriverSnapshotsByBytes(t *testing.T) {
	st := &journaledStorage{Memory: storage.NewMemory(), j: &journal{}}
	cfg := Config{ID: 1, Peers: []uint64{1}, Bootstrap: true, Storage: st, Sender: st.j, StateMachine: &listMachine{},
		ElectionTick: 10, HeartbeatTick: 1, SnapshotEvery: 10000, SnapshotBytes: 3 << 10, RPCBase: 1}
	d := newDriverOn(t, cfg)
	elect(t, d)
	big := strings.Repeat("x", 1<<10)
	for i := 0; i < 7; i++ {
		if _, err := d.Propose([]byte(fmt.Sprint(i, big)), func(Result, error) {}); err != nil {
			t.Fatal(err)
		}
		if err := d.Ready(); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := st.Snapshot()
	if snap == nil || snap.Meta.Index < 5 {
		t.Fatalf("7 commands of 1 KiB with SnapshotBytes 3 KiB: snapshot %+v", snap)
	}
	again := restartDriver(t, d, cfg, st)
	if len(again.cmds) != 7 {
		t.Fatalf("after a restart the state machine holds %d commands, want 7", len(again.cmds))
	}
}
