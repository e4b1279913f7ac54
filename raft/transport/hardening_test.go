package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse/eventline"
)

// serving starts a transport that answers every client request "ok" and is closed (and
// checked for leaked goroutines) when the test ends.
func serving(t *testing.T, cfg TCPConfig) *TCP {
	t.Helper()
	leaked := leaktest.Check(t)
	if cfg.Listen == "" && cfg.Listener == nil {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.ID == 0 {
		cfg.ID, cfg.ClusterID = 1, 7
	}
	tr, err := ListenTCP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr.ServeClients(func(ctx context.Context, cmd []byte) Reply { return Reply{Status: ReplyOK, Text: "ok"} })
	tr.Serve(&collector{})
	t.Cleanup(func() {
		tr.Close()
		leaked()
	})
	return tr
}

// closedSoon reports whether the server closes c within d (a read returns EOF or a reset).
func closedSoon(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestClientConnectionsLeaveNoGoroutines: each client connection used to leave a goroutine
// waiting for the transport to stop (20,000 connections, 20,001 goroutines).
func TestClientConnectionsLeaveNoGoroutines(t *testing.T) {
	tr := serving(t, TCPConfig{})
	base := runtime.NumGoroutine()
	for i := 0; i < 200; i++ {
		c, err := DialClient(tr.Addr(), 7, nil, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.Do("get x"); err != nil || r.Text != "ok" {
			t.Fatalf("request %d: %v %+v", i, err, r)
		}
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after 200 closed client connections, %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHelloIsSmallAndPrompt: a connection's first frame may not announce more than a hello's
// size (one announcing 16 MiB was buffered before its hello was checked: 100 connections took
// 1.62 GB), and a connection that says nothing is closed after HelloTimeout.
func TestHelloIsSmallAndPrompt(t *testing.T) {
	tr := serving(t, TCPConfig{HelloTimeout: 200 * time.Millisecond})
	big, err := net.Dial("tcp", tr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	hdr := binary.BigEndian.AppendUint32(nil, 16<<20)
	big.Write(append(hdr, frameHello))
	if !closedSoon(big, 2*time.Second) {
		t.Error("a hello announcing 16 MiB was not refused at once")
	}
	silent, err := net.Dial("tcp", tr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if !closedSoon(silent, 3*time.Second) {
		t.Error("a connection that sent nothing was kept past HelloTimeout")
	}
}

// flakyListener fails its first Accepts as a process out of file descriptors does.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsAreRetried: an accept error (EMFILE) used to end the accept loop for good:
// the node never answered again, and nothing was logged.
func TestAcceptErrorsAreRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln}
	fl.failures.Store(3)
	var log lockedBuffer
	tr := serving(t, TCPConfig{Listener: fl, Handler: eventline.NewTextHandler(&log, nil)})
	c, err := DialClient(tr.Addr(), 7, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, err := c.Do("get x"); err != nil || r.Text != "ok" {
		t.Fatalf("after accept errors: %v %+v", err, r)
	}
	if n := strings.Count(log.String(), "reason=accept_error"); n != 3 {
		t.Errorf("%d accept errors logged, want 3:\n%s", n, log.String())
	}
	if err := eventline.CheckText([]byte(log.String())); err != nil {
		t.Errorf("an event line departs from docs/FORMAT.md: %v", err)
	}
}

// TestConnectionCap: connections beyond MaxConns are closed at once.
func TestConnectionCap(t *testing.T) {
	tr := serving(t, TCPConfig{MaxConns: 2})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", tr.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if closedSoon(conns[0], 200*time.Millisecond) || closedSoon(conns[1], 200*time.Millisecond) {
		t.Fatal("a connection within the cap was closed")
	}
	if !closedSoon(conns[2], 2*time.Second) {
		t.Fatal("the connection over the cap was kept")
	}
}

// TestFrameMemoryBudget: frames are read into buffers charged to MaxBufferedBytes; a peer
// whose frame would pass it is cut off, and the budget is whole again once it is gone.
func TestFrameMemoryBudget(t *testing.T) {
	var log lockedBuffer
	tr := serving(t, TCPConfig{MaxBufferedBytes: 64 << 10, MaxMessageSize: 1 << 20, Handler: eventline.NewTextHandler(&log, nil)})
	hello := appendFrame(nil, frameHello, (&TCP{cfg: TCPConfig{ID: 2, ClusterID: 7, Advertise: "127.0.0.1:1"}}).hello())
	c, err := net.Dial("tcp", tr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(hello)
	c.Write(append(binary.BigEndian.AppendUint32(nil, 512<<10), frameMessage))
	c.Write(make([]byte, 128<<10)) // more than the budget, of the frame announced
	if !closedSoon(c, 2*time.Second) || !strings.Contains(log.String(), "reason=memory") {
		t.Fatalf("a frame over the memory budget was read; log:\n%s", log.String())
	}
	if err := eventline.CheckText([]byte(log.String())); err != nil {
		t.Errorf("an event line departs from docs/FORMAT.md: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for tr.buffered.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still charged after the connection ended", tr.buffered.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHeldFramesHoldNoBudget: connections that announce large frames and send nothing more
// used to take the whole read budget at the announcement (about 35 held 8 MiB requests, and
// every new client got EOF, with nothing logged). The budget is charged as bytes arrive, and a
// frame whose body does not come is closed after its deadline.
func TestHeldFramesHoldNoBudget(t *testing.T) {
	tr := serving(t, TCPConfig{MaxBufferedBytes: 16 << 20, HelloTimeout: 300 * time.Millisecond}) // 40 x 2 MiB announced: 5x the budget
	var held []*Client
	for i := 0; i < 40; i++ {
		c, err := DialClient(tr.Addr(), 7, nil, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.conn.Write(append(binary.BigEndian.AppendUint32(nil, 2<<20), frameRequest))
		held = append(held, c)
	}
	time.Sleep(50 * time.Millisecond)
	c, err := DialClient(tr.Addr(), 7, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, err := c.Do("get x"); err != nil || r.Text != "ok" {
		t.Fatalf("a client after 40 held 2 MiB frames: %v %+v (budget charged: %d bytes)", err, r, tr.buffered.Load())
	}
	for i, h := range held {
		if !closedSoon(h.conn, 10*time.Second) {
			t.Fatalf("held frame %d: its connection was kept past the body's deadline", i)
		}
	}
}

// BenchmarkClientConnections opens and closes b.N client connections, one request each, and
// reports the goroutines and heap left afterwards (they must not grow with b.N):
//
//	go test ./raft/transport -run '^$' -bench ClientConnections -benchtime 20000x
func BenchmarkClientConnections(b *testing.B) {
	tr, err := ListenTCP(TCPConfig{ID: 1, ClusterID: 7, Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	tr.ServeClients(func(ctx context.Context, cmd []byte) Reply { return Reply{Status: ReplyOK, Text: "ok"} })
	tr.Serve(&collector{})
	settle := func() (int, uint64) {
		time.Sleep(100 * time.Millisecond)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapInuse
	}
	g0, h0 := settle()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := DialClient(tr.Addr(), 7, nil, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Do("get x"); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.StopTimer()
	g1, h1 := settle()
	b.ReportMetric(float64(g1-g0), "goroutines-left")
	b.ReportMetric(float64(int64(h1)-int64(h0))/(1<<20), "heap-MB-left")
}

// BenchmarkHostileMemory measures what hostile connections can make a node's transport hold:
// 160 forged hellos, each naming about 100 peers with bogus addresses (each hearsay peer costs
// a queue and a sender), 40 connections that announce an 8 MiB frame and send nothing more,
// and 500 idle connections, all at once; it reports the heap in use and the goroutines while
// they are open (docs/RELIABILITY.md):
//
//	go test ./raft/transport -run '^$' -bench HostileMemory -benchtime 1x
func BenchmarkHostileMemory(b *testing.B) {
	for b.Loop() {
		tr, err := ListenTCP(TCPConfig{ID: 1, ClusterID: 7, Listen: "127.0.0.1:0", DialTimeout: 20 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		tr.ServeClients(func(ctx context.Context, cmd []byte) Reply { return Reply{Status: ReplyOK, Text: "ok"} })
		tr.Serve(&collector{})
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		var conns []net.Conn
		dial := func() net.Conn {
			c, err := net.Dial("tcp", tr.Addr())
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
			return c
		}
		for i := 0; i < 160; i++ {
			forger := &TCP{cfg: TCPConfig{ID: uint64(1000 + i), ClusterID: 7, Advertise: "10.255.255.1:1"}, peers: map[uint64]*peer{}}
			for j := 0; j < 100; j++ {
				id := uint64(10000 + i*100 + j)
				forger.peers[id] = &peer{id: id, addr: "10.255.255.1:1"}
			}
			dial().Write(appendFrame(nil, frameHello, forger.hello()))
		}
		for i := 0; i < 40; i++ {
			c, err := DialClient(tr.Addr(), 7, nil, time.Second)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c.conn)
			c.conn.Write(append(binary.BigEndian.AppendUint32(nil, 8<<20), frameRequest))
		}
		for i := 0; i < 500; i++ {
			dial()
		}
		time.Sleep(500 * time.Millisecond)
		runtime.GC()
		var during runtime.MemStats
		runtime.ReadMemStats(&during)
		b.ReportMetric(float64(int64(during.HeapInuse)-int64(before.HeapInuse))/(1<<20), "heap-MB")
		b.ReportMetric(float64(runtime.NumGoroutine()-g0), "goroutines")
		b.ReportMetric(float64(tr.buffered.Load())/(1<<20), "budget-MB")
		for _, c := range conns {
			c.Close()
		}
		tr.Close()
	}
}
