package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Clients share a node's TCP port with its peers: a client connection starts with a client
// hello instead of a peer hello, then sends requests (a command's text) and reads one reply
// per request.
const (
	frameClientHello = 3
	frameRequest     = 4
	frameReply       = 5
	clientMagic      = "RVZC"
)

// ReplyStatus says how a node answered a client.
type ReplyStatus uint8

// Reply statuses.
const (
	ReplyOK        ReplyStatus = 1 // Text is the result
	ReplyNotLeader ReplyStatus = 2 // Leader is the node to try (0: unknown)
	ReplyError     ReplyStatus = 3 // Text says what went wrong; the request may be retried
	ReplyRefused   ReplyStatus = 4 // Text says why the request can never succeed as asked: do not retry
)

// Reply is a node's answer to a client request.
type Reply struct {
	Status ReplyStatus
	Leader uint64
	Text   string
}

func (r Reply) marshal() []byte {
	b := []byte{byte(r.Status)}
	b = binary.AppendUvarint(b, r.Leader)
	return append(b, r.Text...)
}

func unmarshalReply(b []byte) (Reply, error) {
	if len(b) < 2 {
		return Reply{}, errShort
	}
	r := Reply{Status: ReplyStatus(b[0])}
	leader, n := binary.Uvarint(b[1:])
	if n <= 0 || r.Status < ReplyOK || r.Status > ReplyRefused {
		return Reply{}, errors.New("transport: malformed reply")
	}
	r.Leader, r.Text = leader, string(b[1+n:])
	return r, nil
}

// ClientHandler answers one client request. It is called on the connection's goroutine.
type ClientHandler func(ctx context.Context, cmd []byte) Reply

// ServeClients makes the transport answer client connections with h. Call it before Serve.
func (t *TCP) ServeClients(h ClientHandler) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clients = h
}

// serveClient runs one client connection after its hello.
func (t *TCP) serveClient(c net.Conn, fr *frameReader, payload []byte) {
	if len(payload) < len(clientMagic) || string(payload[:len(clientMagic)]) != clientMagic {
		return
	}
	cluster, n := binary.Uvarint(payload[len(clientMagic):])
	t.mu.Lock()
	h := t.clients
	t.mu.Unlock()
	if h == nil {
		return
	}
	if n <= 0 || cluster != t.cfg.ClusterID {
		c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		c.Write(appendFrame(nil, frameReply, Reply{Status: ReplyError,
			Text: fmt.Sprintf("wrong cluster id %d (this is cluster %d)", cluster, t.cfg.ClusterID)}.marshal()))
		return
	}
	// Requests in flight end with the transport (no goroutine per connection waits for it: one
	// did, and every client connection left one behind until the node stopped).
	ctx := t.ctx
	for {
		c.SetReadDeadline(time.Now().Add(t.cfg.IdleTimeout))
		kind, b, err := fr.read(t.cfg.MaxMessageSize)
		if err != nil || kind != frameRequest {
			t.logFrameError(c.RemoteAddr().String(), err)
			return
		}
		reply := h(ctx, b)
		c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		if _, err := c.Write(appendFrame(nil, frameReply, reply.marshal())); err != nil {
			return
		}
	}
}

// Client talks to one node.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// DialClient connects to a node as a client of cluster clusterID; key is the cluster key (nil
// for a cluster that runs without one).
func DialClient(addr string, clusterID uint64, key []byte, timeout time.Duration) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	hello := binary.AppendUvarint([]byte(clientMagic), clusterID)
	frame, err := answerChallenge(conn, r, key, purposeClient, frameClientHello, hello, timeout)
	if err == nil {
		conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err = conn.Write(frame)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Client{conn: conn, r: r, timeout: timeout}, nil
}

// Do sends a command and waits for the node's reply.
func (c *Client) Do(cmd string) (Reply, error) {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(appendFrame(nil, frameRequest, []byte(cmd))); err != nil {
		return Reply{}, err
	}
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
			return Reply{}, err
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		if n < 1 || n > MaxMessageSize || hdr[4] != frameReply && hdr[4] != frameChallenge {
			return Reply{}, errors.New("transport: malformed reply frame")
		}
		b := make([]byte, n-1)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return Reply{}, err
		}
		if hdr[4] == frameChallenge {
			continue // a node with a key asks a client without one: its refusal follows
		}
		return unmarshalReply(b)
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }
