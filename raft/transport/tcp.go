package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
)

// Frames on a connection: length uint32 (of kind+payload) | kind byte | payload. A connection
// starts with a hello frame naming the cluster and the sender; a node drops connections from
// another cluster, so that two clusters on one network never mix.
const (
	frameHello   = 1
	frameMessage = 2
	// frameRefuse is the only frame a node writes back on a peer's connection: why it refuses
	// the peer (Admit), before it closes the connection.
	frameRefuse = 6
	// frameOtherCluster tells a dialler that this node belongs to another cluster. Unlike a
	// refusal it says nothing against the dialler, which runs on; it remembers why the peer
	// hears nothing (PeerTrouble), so that adding such a node can say so.
	frameOtherCluster = 9
	// helloMagic names the wire format: "RVZ" and its version. Version 2 added the entry type
	// to every entry; a peer of another version is refused with both versions named, instead
	// of having its messages misread.
	helloMagic = "RVZ2"
)

// TCPConfig configures a TCP transport.
type TCPConfig struct {
	ID        uint64
	ClusterID uint64
	// Listen is the address to accept peers on ("host:port"; port 0 picks one).
	Listen string
	// Advertise is the address other nodes should dial to reach this one; it travels in the
	// connection hello, so that nodes learn a new member's address when it first connects.
	// Default: the listener's address.
	Advertise string
	// Announce connects to every peer as soon as it is known, so that the peers learn this
	// node's address before it has anything to send (a server joining a cluster). Off, a
	// connection is opened with the first message.
	Announce bool
	// AwaitIdentity holds the announcing connections until SetIdentity: their hello then
	// carries this node's incarnation, which a peer records while the node is a learner (a
	// hello without one is neither checked nor recorded, and the node, once a voter, would be
	// refused at its next restart by a peer that knew an earlier copy of it).
	AwaitIdentity bool
	// Peers maps the other nodes' ids to their addresses; SetPeer can add them later.
	Peers map[uint64]string
	// Links, when set, lets a harness cut this node off (checked on send and receive).
	Links *Links
	// DialTimeout and WriteTimeout bound network calls (defaults 500ms and 2s).
	DialTimeout, WriteTimeout time.Duration
	// MaxMessageSize bounds a frame (default MaxMessageSize).
	MaxMessageSize int
	// QueueSize bounds the messages waiting for one peer (default 1024); more are dropped.
	QueueSize int
	// Listener, when set, is used instead of listening on Listen.
	Listener net.Listener
	// MaxConns bounds the inbound connections (peers and clients; default 1024): more are
	// closed at once.
	MaxConns int
	// HelloTimeout bounds the wait for a connection's first frame (default 5s), and
	// IdleTimeout the silence on a connection after it (default 2m): a connection that sends
	// nothing is closed. Peers send heartbeats, and a closed connection is redialled.
	HelloTimeout, IdleTimeout time.Duration
	// MaxBufferedBytes bounds the memory all inbound connections may hold for frames being
	// read (default 256 MiB); a connection whose frame would pass it is closed.
	MaxBufferedBytes int64
	// Handler receives drop events (another cluster, oversized frames); nil writes none.
	Handler slog.Handler
	// OnRefused, when set, is told when a peer refused this node's connection, and why.
	OnRefused func(peer uint64, reason string)
	// Key is the cluster key (ReadKeyFile). With a key, every connection, peer's or client's,
	// must prove it holds the same key before anything but its hello is read (see auth.go);
	// without one, any connection that names the cluster id is taken.
	Key []byte
}

// TCP is a transport over TCP connections: one outgoing connection per peer, redialled with
// back-off when it breaks.
type TCP struct {
	cfg    TCPConfig
	ln     net.Listener
	tracer *raft.Tracer

	mu      sync.Mutex
	peers   map[uint64]*peer
	inbound map[net.Conn]struct{}
	recv    Receiver
	clients ClientHandler
	closed  bool
	wg      sync.WaitGroup
	stop    chan struct{}
	// ctx ends when the transport closes: client requests in flight are cancelled with it.
	ctx    context.Context
	cancel context.CancelFunc
	// buffered is the memory held by inbound frame buffers, against MaxBufferedBytes.
	buffered atomic.Int64
	// incarnation and admit: see SetIdentity; identified is closed by its first call.
	incarnation atomic.Uint64
	admit       func(peer, incarnation uint64) error
	identified  chan struct{}
	identOnce   sync.Once
	// trouble: per peer, why it and this node cannot talk (PeerTrouble).
	trouble map[uint64]string
}

// SetIdentity sets this node's incarnation (storage.Incarnation), which travels in every hello
// so that peers can tell a node that lost its data from the one they knew, and admit, which
// decides on every peer's hello whether to take its messages: an error refuses the connection
// and is sent to the peer as the reason (TCPConfig.OnRefused). Call it before Serve; hellos
// sent before it carry no incarnation.
func (t *TCP) SetIdentity(incarnation uint64, admit func(peer, incarnation uint64) error) {
	t.incarnation.Store(incarnation)
	t.mu.Lock()
	t.admit = admit
	t.mu.Unlock()
	t.identOnce.Do(func() { close(t.identified) })
}

// maxHelloSize bounds a connection's first frame: nothing is buffered for a stranger beyond it.
// It holds the sender's address book (about 100 peers of 30-byte addresses).
const maxHelloSize = 4096

type peer struct {
	id    uint64
	addr  string
	queue chan []byte
	done  chan struct{} // closed when the peer is replaced
	greet bool          // connect at once (see setPeer)
	// hearsay: the address came from a third node's address book, not from the configuration
	// or the node itself; the node's own word replaces it.
	hearsay bool
}

// maxHearsayPeers bounds the peers learnt from other nodes' address books: each costs a queue
// and a goroutine, and a hello can name a thousand (a cluster has a few members).
const maxHearsayPeers = 64

// ListenTCP binds the transport's listener. Call Serve to start accepting.
func ListenTCP(cfg TCPConfig) (*TCP, error) {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 500 * time.Millisecond
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 2 * time.Second
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = MaxMessageSize
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1024
	}
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = 5 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.MaxBufferedBytes <= 0 {
		cfg.MaxBufferedBytes = 256 << 20
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("transport: %w", err)
		}
	}
	t := &TCP{cfg: cfg, ln: ln, peers: make(map[uint64]*peer), inbound: make(map[net.Conn]struct{}),
		stop: make(chan struct{}), tracer: raft.NewTracer(cfg.Handler, raft.ID(cfg.ID), nil), identified: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if t.cfg.Advertise == "" {
		t.cfg.Advertise = ln.Addr().String()
	}
	for id, addr := range cfg.Peers {
		t.SetPeer(id, addr)
	}
	return t, nil
}

// SetHandler sets where the transport writes its drop events (the event log may be opened only
// after the port is bound). Call it before Serve and before any Send.
func (t *TCP) SetHandler(h slog.Handler) {
	t.tracer = raft.NewTracer(h, raft.ID(t.cfg.ID), nil)
}

// Addr returns the address the transport listens on.
func (t *TCP) Addr() string { return t.ln.Addr().String() }

// SetPeer sets (or changes) a peer's address and starts its sender.
func (t *TCP) SetPeer(id uint64, addr string) { t.setPeer(id, addr, false) }

// setPeer is SetPeer; greet connects at once, so that a peer learnt from a hello (a server
// joining) gets this node's hello and address book back, and announces itself to the members
// it learns of.
func (t *TCP) setPeer(id uint64, addr string, greet bool) { t.setPeerFrom(id, addr, greet, false) }

// setPeerFrom is setPeer; hearsay marks an address learnt from a third node's address book.
func (t *TCP) setPeerFrom(id uint64, addr string, greet, hearsay bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || id == t.cfg.ID {
		return
	}
	if p, ok := t.peers[id]; ok {
		if p.addr == addr {
			return
		}
		close(p.done) // its sender exits; a new one dials the new address
	}
	p := &peer{id: id, addr: addr, queue: make(chan []byte, t.cfg.QueueSize), done: make(chan struct{}), greet: greet, hearsay: hearsay}
	t.peers[id] = p
	t.wg.Add(1)
	go t.sendLoop(p)
}

// learnAddresses takes the addresses a hello from node from tells: from's own, which replaces
// one learnt from a third node (a forged book must not lock the real node out), and those of
// its address book for nodes this one does not know (a server being added, or a member telling
// a joining server where the others are), at most maxHearsayPeers of them. Known addresses stay.
func (t *TCP) learnAddresses(from uint64, book map[uint64]string) {
	if addr := book[from]; addr != "" && from != t.cfg.ID {
		t.mu.Lock()
		p, ok := t.peers[from]
		replace := !ok || p.hearsay && p.addr != addr
		t.mu.Unlock()
		if replace {
			t.setPeerFrom(from, addr, true, false)
		}
	}
	for id, addr := range book {
		if id == from || addr == "" || id == t.cfg.ID || t.PeerAddr(id) != "" {
			continue
		}
		t.mu.Lock()
		hearsay := 0
		for _, p := range t.peers {
			if p.hearsay {
				hearsay++
			}
		}
		t.mu.Unlock()
		if hearsay >= maxHearsayPeers {
			if t.tracer.On() {
				t.tracer.EmitStateless(eventline.KindDrop, "ignores the rest of node "+raft.ID(from)+"'s address book: "+
					strconv.Itoa(maxHearsayPeers)+" peers learnt from others already",
					slog.String("from", raft.ID(from)), slog.String("reason", eventline.ReasonRefused))
			}
			return
		}
		t.setPeerFrom(id, addr, true, true)
	}
}

// Serve starts accepting peers' connections and handing their messages to r.
func (t *TCP) Serve(r Receiver) {
	t.mu.Lock()
	t.recv = r
	t.mu.Unlock()
	t.wg.Add(1)
	go t.acceptLoop()
}

// Send queues m for its peer; it is dropped when the peer is unknown, cut off by the links,
// or its queue is full.
func (t *TCP) Send(m raft.Message) {
	if !t.cfg.Links.CanTalk(m.From, m.To) {
		return
	}
	t.mu.Lock()
	p, ok := t.peers[m.To]
	closed := t.closed
	t.mu.Unlock()
	if !ok || closed {
		return
	}
	frame := appendFrame(nil, frameMessage, Marshal(m))
	if len(frame) > t.cfg.MaxMessageSize {
		t.drop(m, eventline.ReasonTooLarge)
		return
	}
	select {
	case p.queue <- frame:
	default:
		t.drop(m, eventline.ReasonQueueFull)
	}
}

func (t *TCP) drop(m raft.Message, reason string) {
	if t.tracer.On() {
		t.tracer.EmitStateless(eventline.KindDrop, "transport drops "+m.Type.String()+" to "+raft.ID(m.To)+": "+reason,
			slog.String("rpc", m.RPC.String()), slog.String("type", m.Type.String()),
			slog.String("from", raft.ID(m.From)), slog.String("to", raft.ID(m.To)), slog.String("reason", reason))
	}
}

func appendFrame(dst []byte, kind byte, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)+1))
	dst = append(dst, kind)
	return append(dst, payload...)
}

// hello is the payload of a connection's first frame: magic | cluster id | sender id | its
// address | the addresses of the peers it knows (count, then id | address each) | its
// incarnation. The address book lets a server that joins knowing one member learn where the
// others are from the first member that connects to it.
func (t *TCP) hello() []byte {
	p := []byte(helloMagic)
	p = binary.AppendUvarint(p, t.cfg.ClusterID)
	p = binary.AppendUvarint(p, t.cfg.ID)
	p = appendString(p, t.cfg.Advertise)
	t.mu.Lock()
	book := make([]*peer, 0, len(t.peers))
	for _, pr := range t.peers {
		book = append(book, pr)
	}
	t.mu.Unlock()
	var entries []byte
	n := 0
	for _, pr := range book {
		if len(p)+len(entries)+len(pr.addr)+32 > maxHelloSize-16 {
			break
		}
		entries = binary.AppendUvarint(entries, pr.id)
		entries = appendString(entries, pr.addr)
		n++
	}
	p = binary.AppendUvarint(p, uint64(n))
	p = append(p, entries...)
	p = binary.AppendUvarint(p, t.incarnation.Load())
	return p
}

func appendString(p []byte, s string) []byte {
	p = binary.AppendUvarint(p, uint64(len(s)))
	return append(p, s...)
}

// PeerAddr returns the address the transport dials for a peer ("" when unknown).
func (t *TCP) PeerAddr(id uint64) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.peers[id]; ok {
		return p.addr
	}
	return ""
}

// sendLoop owns the connection to one peer: it dials on demand, writes queued frames, and on
// any error drops the connection (and the frame: Raft retries) and dials again later.
func (t *TCP) sendLoop(p *peer) {
	defer t.wg.Done()
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	backoff := 20 * time.Millisecond
	var retryAt time.Time
	var batch []byte
	// Announce: connect at once, so that the peer learns this node's address from the hello
	// even before there is anything to send (a learner joining a cluster sends nothing at
	// first). It is off otherwise: measured with raftrun bench, connecting eagerly on every
	// restart made failovers slower (p50 230 -> 300 ms), for reasons not yet understood.
	if t.cfg.Announce && t.cfg.AwaitIdentity {
		select {
		case <-t.identified:
		case <-p.done:
			return
		case <-t.stop:
			return
		}
	}
	if t.cfg.Announce || p.greet {
		if c, err := t.dialPeer(p); err == nil {
			conn = c
		}
	}
	for {
		var frame []byte
		select {
		case frame = <-p.queue:
		case <-p.done:
			return
		case <-t.stop:
			return
		}
		if conn == nil {
			if time.Now().Before(retryAt) {
				continue // peer down: drop rather than stall the queue
			}
			c, err := t.dialPeer(p)
			if err != nil {
				retryAt = time.Now().Add(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			conn, backoff = c, 20*time.Millisecond
		}
		// Write what else is already queued in the same system call: under load the queue
		// holds many frames, and one write per frame would cost more than the fsyncs.
		batch = append(batch[:0], frame...)
		for more := true; more && len(batch) < 256<<10; {
			select {
			case f := <-p.queue:
				batch = append(batch, f...)
			default:
				more = false
			}
		}
		conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		if _, err := conn.Write(batch); err != nil {
			conn.Close()
			conn = nil
		}
	}
}

// dialPeer connects to a peer and sends the hello (with its proof, when the cluster has a key:
// the peer's challenge comes first); the connection is watched for a refusal.
func (t *TCP) dialPeer(p *peer) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", p.addr, t.cfg.DialTimeout)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(c, 512)
	frame, err := answerChallenge(c, r, t.cfg.Key, purposePeer, frameHello, t.hello(), t.cfg.DialTimeout+t.cfg.WriteTimeout)
	if err == nil {
		c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		_, err = c.Write(frame)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	t.watchRefusal(p.id, c, r)
	return c, nil
}

// watchRefusal reads the one frame a peer may write back on this node's connection, a refusal
// (reported to OnRefused) or a notice that it is of another cluster (kept for PeerTrouble); a
// challenge, written to a node that has no key, is passed over. The goroutine ends when the
// connection closes (the sender closes it on any error and when it stops).
func (t *TCP) watchRefusal(peer uint64, c net.Conn, r *bufio.Reader) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fr := frameReader{t: t, r: r}
		defer fr.release()
		for {
			kind, payload, err := fr.read(maxHelloSize)
			if err != nil {
				return
			}
			switch kind {
			case frameRefuse:
				if t.cfg.OnRefused != nil {
					t.cfg.OnRefused(peer, string(payload))
				}
				return
			case frameOtherCluster:
				t.noteTrouble(peer, string(payload))
				return
			}
		}
	}()
}

// noteTrouble keeps why a peer and this node cannot talk, for PeerTrouble.
func (t *TCP) noteTrouble(peer uint64, why string) {
	if peer == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.trouble == nil {
		t.trouble = map[uint64]string{}
	}
	if len(t.trouble) < maxHearsayPeers || t.trouble[peer] != "" {
		t.trouble[peer] = why // bounded: strangers can name any id
	}
}

// PeerTrouble returns why a peer and this node cannot talk: the peer took none of this node's
// connections, saying why, or its own hellos are of another cluster; "" when nothing is known
// against it.
func (t *TCP) PeerTrouble(id uint64) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.trouble[id]
}

// acceptLoop accepts connections until the transport closes. An accept error (out of file
// descriptors, say) is logged and retried with back-off: returning would leave a node that
// never answers again.
func (t *TCP) acceptLoop() {
	defer t.wg.Done()
	var backoff time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if t.tracer.On() {
				t.tracer.EmitStateless(eventline.KindDrop, fmt.Sprintf("cannot accept connections: %v; retrying in %v", err, backoff),
					slog.String("reason", eventline.ReasonAcceptError))
			}
			select {
			case <-time.After(backoff):
			case <-t.stop:
				return
			}
			continue
		}
		backoff = 0
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			c.Close()
			return
		}
		if len(t.inbound) >= t.cfg.MaxConns {
			t.mu.Unlock()
			c.Close()
			if t.tracer.On() {
				t.tracer.EmitStateless(eventline.KindDrop, "refuses connection from "+c.RemoteAddr().String()+": too many connections",
					slog.String("from", c.RemoteAddr().String()), slog.String("reason", eventline.ReasonTooManyConnections))
			}
			continue
		}
		t.inbound[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.readLoop(c)
	}
}

var errOtherCluster = errors.New("hello from another cluster")

func (t *TCP) readLoop(c net.Conn) {
	defer t.wg.Done()
	defer func() {
		c.Close()
		t.mu.Lock()
		delete(t.inbound, c)
		t.mu.Unlock()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	// The first frame says who connects; until then nothing grows beyond maxHelloSize, and a
	// connection that says nothing is closed after HelloTimeout.
	c.SetReadDeadline(time.Now().Add(t.cfg.HelloTimeout))
	fr := frameReader{t: t, r: r, conn: c}
	defer fr.release()
	ch, err := t.challenge(c)
	if err != nil {
		return
	}
	kind, payload, err := t.readHello(&fr, ch)
	if errors.Is(err, errNoKey) || errors.Is(err, errBadKey) {
		if t.tracer.On() {
			t.tracer.EmitStateless(eventline.KindDrop, "refuses connection from "+c.RemoteAddr().String()+": "+err.Error(),
				slog.String("from", c.RemoteAddr().String()), slog.String("reason", eventline.ReasonUnauthenticated))
		}
		refusal := appendFrame(nil, frameRefuse, []byte(err.Error()))
		if kind == frameClientHello {
			refusal = appendFrame(nil, frameReply, Reply{Status: ReplyRefused, Text: err.Error()}.marshal())
		}
		c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		c.Write(refusal)
		return
	}
	if err == nil && kind == frameClientHello {
		t.serveClient(c, &fr, payload)
		return
	}
	if err != nil || kind != frameHello {
		return
	}
	from, book, inc, err := t.checkHello(payload)
	t.mu.Lock()
	admit := t.admit
	t.mu.Unlock()
	if err == nil && admit != nil {
		if aerr := admit(from, inc); aerr != nil {
			if t.tracer.On() {
				t.tracer.EmitStateless(eventline.KindDrop, "refuses node "+raft.ID(from)+": "+aerr.Error(),
					slog.String("from", raft.ID(from)), slog.String("reason", eventline.ReasonRefused))
			}
			c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
			c.Write(appendFrame(nil, frameRefuse, []byte(aerr.Error())))
			return
		}
	}
	if err == nil {
		t.learnAddresses(from, book)
	}
	if err != nil {
		if t.tracer.On() {
			t.tracer.EmitStateless(eventline.KindDrop, "refuses connection from "+c.RemoteAddr().String()+": "+err.Error(),
				slog.String("from", c.RemoteAddr().String()), slog.String("reason", eventline.ReasonClusterID))
		}
		if errors.Is(err, errOtherCluster) {
			t.noteTrouble(from, fmt.Sprintf("its hellos name another cluster (%s): start it with --cluster-id %d",
				strings.TrimPrefix(err.Error(), errOtherCluster.Error()+": "), t.cfg.ClusterID))
			c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
			c.Write(appendFrame(nil, frameOtherCluster, []byte(fmt.Sprintf("it says it is node %d of cluster id %d", t.cfg.ID, t.cfg.ClusterID))))
		}
		return
	}
	t.mu.Lock()
	recv := t.recv
	t.mu.Unlock()
	for {
		c.SetReadDeadline(time.Now().Add(t.cfg.IdleTimeout))
		kind, buf, err := fr.read(t.cfg.MaxMessageSize)
		if err != nil {
			t.logFrameError(raft.ID(from), err)
			return
		}
		if kind != frameMessage {
			continue
		}
		m, err := Unmarshal(buf)
		if err != nil || m.From != from || m.To != t.cfg.ID {
			return // a peer that sends garbage is cut off; it redials
		}
		if !t.cfg.Links.CanTalk(m.From, m.To) {
			continue
		}
		recv.Step(m)
	}
}

// checkHello reads a hello: the sender, its address book (its own address included) and its
// incarnation (0 when the hello has none).
func (t *TCP) checkHello(p []byte) (uint64, map[uint64]string, uint64, error) {
	if len(p) < len(helloMagic) || string(p[:len(helloMagic)]) != helloMagic {
		if len(p) >= len(helloMagic) && string(p[:3]) == helloMagic[:3] {
			return 0, nil, 0, fmt.Errorf("peer speaks wire format %s, this node %s: run one raftviz version on every node", p[:len(helloMagic)], helloMagic)
		}
		return 0, nil, 0, errors.New("not a raftviz peer")
	}
	p = p[len(helloMagic):]
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	str := func() (string, bool) {
		l, ok := uvarint()
		if !ok || l > uint64(len(p)) {
			return "", false
		}
		s := string(p[:l])
		p = p[l:]
		return s, true
	}
	cluster, ok1 := uvarint()
	from, ok2 := uvarint()
	if !ok1 || !ok2 {
		return 0, nil, 0, errors.New("bad hello")
	}
	if cluster != t.cfg.ClusterID {
		return from, nil, 0, fmt.Errorf("%w: cluster id %d, want %d", errOtherCluster, cluster, t.cfg.ClusterID)
	}
	book := map[uint64]string{}
	if addr, ok := str(); ok {
		book[from] = addr
	}
	// The address book and the incarnation (absent in the hellos of older versions).
	n, _ := uvarint()
	for i := uint64(0); i < n; i++ {
		id, ok := uvarint()
		addr, ok2 := str()
		if !ok || !ok2 {
			break
		}
		if _, dup := book[id]; !dup {
			book[id] = addr
		}
	}
	inc, _ := uvarint()
	return from, book, inc, nil
}

var (
	errTooLarge   = errors.New("frame over the size limit")
	errOverBudget = errors.New("frame over the transport's memory budget")
)

// logFrameError says why a connection's frame was refused (too large, over the memory budget);
// other errors (the connection closed) say nothing.
func (t *TCP) logFrameError(from string, err error) {
	if !t.tracer.On() || !errors.Is(err, errTooLarge) && !errors.Is(err, errOverBudget) {
		return
	}
	reason := eventline.ReasonTooLarge
	if errors.Is(err, errOverBudget) {
		reason = eventline.ReasonMemory
	}
	t.tracer.EmitStateless(eventline.KindDrop, "closes connection from "+from+": "+err.Error(),
		slog.String("from", from), slog.String("reason", reason))
}

// frameReader reads the frames of one inbound connection into a buffer it reuses. The buffer
// is charged to the transport's MaxBufferedBytes as the frame's bytes arrive, not when a frame
// is announced: a connection that announces a large frame and sends nothing holds nothing (40
// such connections used to take the whole budget, and every new client got EOF). A large
// frame's body must also arrive at a rate a real peer keeps (bodyDeadline).
type frameReader struct {
	t    *TCP
	r    *bufio.Reader
	conn net.Conn // for the body's deadline; nil: none
	buf  []byte
}

// frameChunk is how much of a frame's body is read (and its buffer grown) at a time.
const frameChunk = 256 << 10

// bodyDeadline is how long a frame of n bytes may take to arrive: HelloTimeout, plus a second
// per MiB (a peer on a link slower than 1 MiB/s cannot keep up with Raft's traffic anyway).
func (t *TCP) bodyDeadline(n int) time.Duration {
	return t.cfg.HelloTimeout + time.Duration(n>>20)*time.Second
}

// read returns the next frame's kind and payload (valid until the next read); limit bounds the
// frame's size.
func (f *frameReader) read(limit int) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:4]))
	if n < 1 || n > limit {
		return 0, nil, fmt.Errorf("%w: %d bytes", errTooLarge, n)
	}
	need := n - 1
	if need > frameChunk && f.conn != nil {
		f.conn.SetReadDeadline(time.Now().Add(f.t.bodyDeadline(need)))
	}
	f.buf = f.buf[:0]
	for len(f.buf) < need {
		chunk := min(need-len(f.buf), frameChunk)
		if cap(f.buf)-len(f.buf) < chunk {
			grown := min(max(2*cap(f.buf), len(f.buf)+chunk), need)
			grow := int64(grown - cap(f.buf))
			if f.t.buffered.Add(grow) > f.t.cfg.MaxBufferedBytes {
				f.t.buffered.Add(-grow)
				return 0, nil, fmt.Errorf("%w: %d bytes", errOverBudget, n)
			}
			b := make([]byte, len(f.buf), grown)
			copy(b, f.buf)
			f.buf = b
		}
		end := len(f.buf) + chunk
		if _, err := io.ReadFull(f.r, f.buf[len(f.buf):end]); err != nil {
			return 0, nil, err
		}
		f.buf = f.buf[:end]
	}
	return hdr[4], f.buf, nil
}

// release gives the buffer's memory back to the budget when the connection ends.
func (f *frameReader) release() {
	f.t.buffered.Add(-int64(cap(f.buf)))
	f.buf = nil
}

// Close stops the transport: the listener, every connection and every goroutine.
func (t *TCP) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.stop)
	t.cancel()
	err := t.ln.Close()
	for c := range t.inbound {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}
