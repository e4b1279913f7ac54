package transport

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
)

var sample = []raft.Message{
	{Type: raft.MsgVote, From: 1, To: 2, Term: 3, RPC: raft.RPCID{Node: 1, Seq: 9}, LastIndex: 10, LastTerm: 2},
	{Type: raft.MsgVoteResp, From: 2, To: 1, Term: 3, RPC: raft.RPCID{Node: 1, Seq: 9}, Granted: true},
	{Type: raft.MsgApp, From: 1, To: 3, Term: 5, RPC: raft.RPCID{Node: 1, Seq: 1 << 40}, PrevIndex: 7, PrevTerm: 4, Commit: 6,
		Entries: []raft.Entry{{Index: 8, Term: 5, Data: []byte("set a b")}, {Index: 9, Term: 5}, {Index: 10, Term: 5, Type: raft.EntryConf, Data: []byte("remove 2")}}},
	{Type: raft.MsgAppResp, From: 3, To: 1, Term: 5, Success: false, ConflictIndex: 4, ConflictTerm: 2, Match: 0},
	{Type: raft.MsgSnap, From: 1, To: 4, Term: 6, SnapIndex: 90, SnapTerm: 6, Offset: 1024, Data: []byte("state"), Done: true,
		Voters: []uint64{1, 2, 3}, Learners: []uint64{4}, Incarnations: map[uint64]uint64{1: 0x9f3c, 2: 0x77a1, 4: 0xffffffffffffffff}},
}

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range sample {
		got, err := Unmarshal(Marshal(m))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
		}
		// Every strict prefix is refused, never mistaken for a message or a panic.
		b := Marshal(m)
		for i := 0; i < len(b); i++ {
			if _, err := Unmarshal(b[:i]); err == nil {
				t.Fatalf("%v: prefix of %d bytes accepted", m.Type, i)
			}
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, m := range sample {
		f.Add(Marshal(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		// What decodes survives a round trip (the input may be a non-canonical encoding).
		again, err := Unmarshal(Marshal(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("decoded %+v, round trip gives %+v, %v", m, again, err)
		}
	})
}

type collector struct {
	mu   sync.Mutex
	msgs []raft.Message
}

func (c *collector) Step(m raft.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func waitCount(t *testing.T, c *collector, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d messages, want %d", c.count(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func pair(t *testing.T, cluster1, cluster2 uint64, links *Links, log *lockedBuffer) (*TCP, *TCP, *collector) {
	// leaktest snapshots the goroutines now; the cleanup waits for every new one to end.
	leaked := leaktest.Check(t)
	t.Helper()
	var h = eventline.NewTextHandler(log, nil)
	a, err := ListenTCP(TCPConfig{ID: 1, ClusterID: cluster1, Listen: "127.0.0.1:0", Links: links})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ListenTCP(TCPConfig{ID: 2, ClusterID: cluster2, Listen: "127.0.0.1:0", Links: links, Handler: h,
		MaxMessageSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	a.SetPeer(2, b.Addr())
	b.SetPeer(1, a.Addr())
	got := &collector{}
	a.Serve(&collector{})
	b.Serve(got)
	t.Cleanup(func() {
		a.Close()
		b.Close()
		if err := eventline.CheckText([]byte(log.String())); err != nil {
			t.Errorf("an event line departs from docs/FORMAT.md: %v", err)
		}
		leaked()
	})
	return a, b, got
}

func TestTCPDeliversAndReconnects(t *testing.T) {
	var log lockedBuffer
	a, b, got := pair(t, 7, 7, nil, &log)
	m := raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 1, Entries: []raft.Entry{{Index: 1, Term: 1, Data: []byte("x")}}}
	a.Send(m)
	waitCount(t, got, 1)
	if !reflect.DeepEqual(got.msgs[0], m) {
		t.Fatalf("got %+v", got.msgs[0])
	}
	// The receiver restarts on the same address: the sender redials.
	addr := b.Addr()
	b.Close()
	b2, err := ListenTCP(TCPConfig{ID: 2, ClusterID: 7, Listen: addr})
	if err != nil {
		t.Skipf("cannot rebind %s: %v", addr, err)
	}
	defer b2.Close()
	got2 := &collector{}
	b2.Serve(got2)
	deadline := time.Now().Add(5 * time.Second)
	for got2.count() == 0 && time.Now().Before(deadline) {
		a.Send(m) // the first sends may fall into the broken connection
		time.Sleep(20 * time.Millisecond)
	}
	if got2.count() == 0 {
		t.Fatal("no message after the peer restarted")
	}
}

func TestTCPRefusesOtherCluster(t *testing.T) {
	var log lockedBuffer
	a, _, got := pair(t, 7, 8, nil, &log)
	a.Send(raft.Message{Type: raft.MsgVote, From: 1, To: 2, Term: 1})
	time.Sleep(100 * time.Millisecond)
	if got.count() != 0 {
		t.Fatal("a node accepted a message from another cluster")
	}
	if !strings.Contains(log.String(), "reason=cluster_id") {
		t.Fatalf("no drop event for the foreign cluster: %q", log.String())
	}
}

// TestHelloOfAnotherWireFormat: a peer of another wire format is refused with both formats
// named (its entries would be misread), and a stranger is still "not a raftviz peer".
func TestHelloOfAnotherWireFormat(t *testing.T) {
	tr := &TCP{cfg: TCPConfig{ID: 2, ClusterID: 7}}
	ok := (&TCP{cfg: TCPConfig{ID: 1, ClusterID: 7, Advertise: "127.0.0.1:1"}}).hello()
	if from, _, _, err := tr.checkHello(ok); err != nil || from != 1 {
		t.Fatalf("a hello of this format: from %d, %v", from, err)
	}
	old := append([]byte("RVZ1"), ok[len(helloMagic):]...)
	if _, _, _, err := tr.checkHello(old); err == nil || !strings.Contains(err.Error(), "wire format RVZ1, this node "+helloMagic) {
		t.Fatalf("a hello of wire format 1: %v", err)
	}
	if _, _, _, err := tr.checkHello([]byte("GET / HTTP/1.1")); err == nil || err.Error() != "not a raftviz peer" {
		t.Fatalf("a stranger: %v", err)
	}
}

func TestTCPSizeLimit(t *testing.T) {
	var log lockedBuffer
	a, _, got := pair(t, 7, 7, nil, &log)
	// Node 2 accepts frames up to 1 KiB: a bigger one closes the connection, then small
	// ones flow again over a new connection.
	a.Send(raft.Message{Type: raft.MsgApp, From: 1, To: 2, Entries: []raft.Entry{{Index: 1, Data: make([]byte, 4096)}}})
	deadline := time.Now().Add(5 * time.Second)
	for got.count() == 0 && time.Now().Before(deadline) {
		a.Send(raft.Message{Type: raft.MsgVote, From: 1, To: 2, Term: 1})
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range got.msgs {
		if len(m.Entries) > 0 {
			t.Fatal("an oversized message was delivered")
		}
	}
	if got.count() == 0 {
		t.Fatal("no message after the oversized one")
	}
}

func TestLinksCutTCP(t *testing.T) {
	links := &Links{}
	var log lockedBuffer
	a, _, got := pair(t, 7, 7, links, &log)
	links.Disconnect(1)
	a.Send(raft.Message{Type: raft.MsgVote, From: 1, To: 2, Term: 1})
	time.Sleep(50 * time.Millisecond)
	if got.count() != 0 {
		t.Fatal("a disconnected node's message arrived")
	}
	links.Reconnect(1)
	a.Send(raft.Message{Type: raft.MsgVote, From: 1, To: 2, Term: 1})
	waitCount(t, got, 1)
	links.Partition([]uint64{1}, []uint64{2})
	if links.CanTalk(1, 2) || !links.CanTalk(1, 1) {
		t.Fatal("partition rules wrong")
	}
	links.Heal()
	if !links.CanTalk(1, 2) {
		t.Fatal("heal did not reconnect")
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDropsStateNoTerm: the transport does not know its node's term, so its drop events say
// none. (They said term=0 state=follower, which raftviz analyze read as the term going back.)
func TestDropsStateNoTerm(t *testing.T) {
	defer leaktest.Check(t)()
	var out lockedBuffer
	tr, err := ListenTCP(TCPConfig{ID: 1, ClusterID: 7, Listen: "127.0.0.1:0", QueueSize: 1,
		Peers: map[uint64]string{2: "127.0.0.1:1"}, Handler: eventline.NewTextHandler(&out, nil)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		tr.Send(raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 3})
	}
	tr.Close()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	drops := 0
	for _, l := range lines {
		if !strings.Contains(l, "ev=drop") {
			continue
		}
		drops++
		if strings.Contains(l, " term=") || strings.Contains(l, " state=") {
			t.Fatalf("a transport drop states a Raft state it does not know: %s", l)
		}
	}
	if drops == 0 {
		t.Fatalf("no queue_full drop among:\n%s", out.String())
	}
}

// TestJoiningServerLearnsAddresses: a server that joins knowing one member learns where the
// others are from that member's hello (its address book); addresses it knows are kept.
func TestJoiningServerLearnsAddresses(t *testing.T) {
	defer leaktest.Check(t)()
	a, err := ListenTCP(TCPConfig{ID: 1, Listen: "127.0.0.1:0", Peers: map[uint64]string{2: "127.0.0.1:7002", 3: "127.0.0.1:7003"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	d, err := ListenTCP(TCPConfig{ID: 4, Listen: "127.0.0.1:0", Announce: true,
		Peers: map[uint64]string{1: a.Addr(), 3: "127.0.0.1:9999"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var ca, cd collector
	a.Serve(&ca)
	d.Serve(&cd)
	// d announces itself to a; a learns d's address and writes to it with its own hello.
	deadline := time.Now().Add(5 * time.Second)
	for a.PeerAddr(4) == "" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	a.Send(raft.Message{Type: raft.MsgApp, From: 1, To: 4, Term: 1})
	waitCount(t, &cd, 1)
	if got := d.PeerAddr(2); got != "127.0.0.1:7002" {
		t.Errorf("the joining server's address of node 2: %q", got)
	}
	if got := d.PeerAddr(3); got != "127.0.0.1:9999" {
		t.Errorf("an address the joining server knew was replaced: node 3 at %q", got)
	}
}

// TestAnnounceCarriesTheIncarnation: a joining server (Announce, AwaitIdentity) sends its first
// hello once its identity is set, so the peer sees its incarnation from the first connection
// and can record it while the server is a learner (issue 30, 4: the announce hello carried none,
// and the re-added server was refused at its next restart).
func TestAnnounceCarriesTheIncarnation(t *testing.T) {
	defer leaktest.Check(t)()
	a, err := ListenTCP(TCPConfig{ID: 1, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var mu sync.Mutex
	var seen []uint64
	a.SetIdentity(7, func(peer, inc uint64) error {
		mu.Lock()
		defer mu.Unlock()
		if peer == 4 {
			seen = append(seen, inc)
		}
		return nil
	})
	d, err := ListenTCP(TCPConfig{ID: 4, Listen: "127.0.0.1:0", Announce: true, AwaitIdentity: true,
		Peers: map[uint64]string{1: a.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var ca, cd collector
	a.Serve(&ca)
	time.Sleep(50 * time.Millisecond) // an announce that did not wait would connect now
	d.SetIdentity(42, nil)
	d.Serve(&cd)
	deadline := time.Now().Add(5 * time.Second)
	for a.PeerAddr(4) == "" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 || seen[0] != 42 {
		t.Fatalf("the peer saw incarnations %v of the joining server, want 42 first", seen)
	}
}

// TestAddressBookBombAndLockOut: a hello's address book cannot make a node hold more than
// maxHearsayPeers peers learnt from others, and a node's own hello replaces the address a third
// node's book gave for it (a forged book must not lock the real node out; issue 30, 5).
func TestAddressBookBombAndLockOut(t *testing.T) {
	defer leaktest.Check(t)()
	a, err := ListenTCP(TCPConfig{ID: 1, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var ca collector
	a.Serve(&ca)
	bogus := map[uint64]string{1: a.Addr(), 5: "127.0.0.1:1"}
	for id := uint64(100); id < 400; id++ {
		bogus[id] = "127.0.0.1:1"
	}
	d, err := ListenTCP(TCPConfig{ID: 9, Listen: "127.0.0.1:0", Announce: true, Peers: bogus})
	if err != nil {
		t.Fatal(err)
	}
	var cd collector
	d.Serve(&cd)
	deadline := time.Now().Add(5 * time.Second)
	for a.PeerAddr(9) == "" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	d.Close()
	// A book of 300 strangers (as a hello carries it; here handed over directly, so that the
	// count is taken when the hello has been read whole).
	book := map[uint64]string{}
	for id := uint64(1000); id < 1300; id++ {
		book[id] = "127.0.0.1:1"
	}
	a.learnAddresses(8, book)
	a.mu.Lock()
	hearsay := 0
	for _, p := range a.peers {
		if p.hearsay {
			hearsay++
		}
	}
	a.mu.Unlock()
	if hearsay > maxHearsayPeers {
		t.Errorf("address books made node 1 hold %d peers learnt from others", hearsay)
	}
	// The real node 5 says where it is: its word replaces the book's, if the book named it.
	r5, err := ListenTCP(TCPConfig{ID: 5, Listen: "127.0.0.1:0", Announce: true, Peers: map[uint64]string{1: a.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer r5.Close()
	var c5 collector
	r5.Serve(&c5)
	for a.PeerAddr(5) != r5.Addr() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := a.PeerAddr(5); got != r5.Addr() {
		t.Errorf("node 5 at %q after its own hello, want %q", got, r5.Addr())
	}
}
