package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/kv"
	"github.com/raftviz/raftviz/raft/storage"
)

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
	d, err := NewDriver(Config{ID: 1, Peers: peers, Bootstrap: true, Storage: st, Sender: st.j,
		ElectionTick: 10, HeartbeatTick: 1, Handler: eventline.NewTextHandler(log, nil), RPCBase: 1})
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
	d := newDriver(t, []uint64{1}, st, &log)
	elect(t, d)
	var got []string
	for _, cmd := range []string{"set x 1", "set x 2", "get x"} {
		c, err := kv.Parse(cmd)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := d.Propose(c.Encode(), func(res Result, err error) {
			got = append(got, fmt.Sprintf("%d %q %v %v", res.Index, res.Value, res.Found, err))
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
	// Index 1 is the bootstrap configuration, 2 the leader's no-op.
	want := []string{`3 "" false <nil>`, `4 "1" true <nil>`, `5 "2" true <nil>`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("answers %q, want %q", got, want)
	}
	var read string
	if err := d.Read("x", func(v string, found bool, index uint64, err error) {
		read = fmt.Sprintf("%s %v %d %v", v, found, index, err)
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.Ready(); err != nil {
		t.Fatal(err)
	}
	if read != "2 true 5 <nil>" {
		t.Fatalf("read: %q", read)
	}
	if v, ok := d.Get("x"); v != "2" || !ok || d.Applied() != 5 {
		t.Fatalf("Get x = %q %v, applied %d", v, ok, d.Applied())
	}
	if err := eventline.CheckText(log.Bytes()); err != nil {
		t.Error(err)
	}
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
	if err := d.Read("x", func(string, bool, uint64, error) {}); !errors.Is(err, ErrStopped) {
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
	n, err := Start(Config{ID: 1, Peers: []uint64{1}, Bootstrap: true, Storage: storage.NewMemory(),
		Sender: &journal{}, TickInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _ := kv.Parse("set k v")
	var res Result
	for {
		res, err = n.Submit(ctx, c.Encode())
		if !errors.Is(err, raft.ErrNotLeader) {
			break
		}
		time.Sleep(time.Millisecond) // not yet elected: the ticker runs on wall time
	}
	if err != nil || res.Index == 0 {
		t.Fatalf("submit: %+v %v", res, err)
	}
	if v, found, _, err := n.Read(ctx, "k"); err != nil || !found || v != "v" {
		t.Fatalf("read: %q %v %v", v, found, err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	<-n.Done()
	if _, err := n.Submit(ctx, c.Encode()); !errors.Is(err, ErrStopped) {
		t.Fatalf("a stopped node took a command: %v", err)
	}
}
