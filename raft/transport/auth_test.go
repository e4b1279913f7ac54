package transport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
)

// keyedNode starts node 1 of cluster 7 with key, receiving into c and logging into log.
func keyedNode(t *testing.T, key []byte, c *collector, log *lockedBuffer) *TCP {
	t.Helper()
	tr, err := ListenTCP(TCPConfig{ID: 1, ClusterID: 7, Listen: "127.0.0.1:0", Key: key, Handler: eventline.NewTextHandler(log, nil)})
	if err != nil {
		t.Fatal(err)
	}
	tr.ServeClients(func(context.Context, []byte) Reply { return Reply{Status: ReplyOK, Text: "ok"} })
	tr.Serve(c)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestHostilePeersAreKeptOut: with a cluster key, a peer without it, or with another, never has
// a message stepped, however high its term (one forged vote request of term 2^64-1 used to
// stall the cluster for good), and is told why; a hello replayed on another connection fails
// its challenge; a peer with the key is heard; clients need the key too.
func TestHostilePeersAreKeptOut(t *testing.T) {
	t.Cleanup(leaktest.Check(t)) // after the node's own cleanup closed it
	key, err := WriteKeyFile(filepath.Join(t.TempDir(), "cluster.key"))
	if err != nil {
		t.Fatal(err)
	}
	var got collector
	var log lockedBuffer
	a := keyedNode(t, key, &got, &log)

	for _, c := range []struct {
		name string
		key  []byte
		want string
	}{{"no key", nil, errNoKey.Error()}, {"another key", []byte("0123456789abcdef0123"), errBadKey.Error()}} {
		var mu sync.Mutex
		var refusal string
		m, err := ListenTCP(TCPConfig{ID: 2, ClusterID: 7, Listen: "127.0.0.1:0", Key: c.key, Peers: map[uint64]string{1: a.Addr()},
			OnRefused: func(_ uint64, reason string) { mu.Lock(); refusal = reason; mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		m.Serve(&collector{})
		deadline := time.Now().Add(5 * time.Second)
		for {
			m.Send(raft.Message{Type: raft.MsgVote, From: 2, To: 1, Term: math.MaxUint64})
			mu.Lock()
			r := refusal
			mu.Unlock()
			if r != "" {
				if !strings.Contains(r, c.want) {
					t.Errorf("%s: refused with %q, want %q", c.name, r, c.want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: never told why it is refused", c.name)
			}
			time.Sleep(10 * time.Millisecond)
		}
		m.Close()
	}
	if n := got.count(); n != 0 {
		t.Fatalf("%d messages of peers without the key were stepped: %+v", n, got.msgs)
	}
	if !strings.Contains(log.String(), "reason="+eventline.ReasonUnauthenticated) {
		t.Errorf("no unauthenticated drop in the node's log:\n%s", log.String())
	}

	// A hello proved for one challenge, sent on another connection.
	first, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	friend := &TCP{cfg: TCPConfig{ID: 2, ClusterID: 7, Advertise: "x:1"}}
	recorded, err := answerChallenge(first, bufio.NewReader(first), key, purposePeer, frameHello, friend.hello(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	replay, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	replay.Write(recorded)
	replay.Write(appendFrame(nil, frameMessage, Marshal(raft.Message{Type: raft.MsgVote, From: 2, To: 1, Term: math.MaxUint64})))
	if !closedAfterChallenge(replay, 3*time.Second) {
		t.Error("a replayed hello was taken")
	}

	// The real peer, with the key.
	b, err := ListenTCP(TCPConfig{ID: 2, ClusterID: 7, Listen: "127.0.0.1:0", Key: key, Peers: map[uint64]string{1: a.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	b.Serve(&collector{})
	defer b.Close()
	deadline := time.Now().Add(5 * time.Second)
	for got.count() == 0 {
		b.Send(raft.Message{Type: raft.MsgApp, From: 2, To: 1, Term: 3})
		if time.Now().After(deadline) {
			t.Fatal("the peer with the key was not heard")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m := got.msgs[0]; m.Term != 3 {
		t.Errorf("stepped %+v, want the keyed peer's term 3", m)
	}

	// Clients.
	for _, c := range []struct {
		key    []byte
		status ReplyStatus
		text   string
	}{{nil, ReplyRefused, errNoKey.Error()}, {[]byte("0123456789abcdef0123"), ReplyRefused, errBadKey.Error()}, {key, ReplyOK, "ok"}} {
		cl, err := DialClient(a.Addr(), 7, c.key, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		r, err := cl.Do("get x")
		cl.Close()
		if err != nil || r.Status != c.status || !strings.Contains(r.Text, c.text) {
			t.Errorf("client with key %x: %v %+v, want %d %q", c.key, err, r, c.status, c.text)
		}
	}
}

// TestKeyFiles: a key file is written once (never over an existing one), read back, and
// refused when it is not a key.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	k, err := WriteKeyFile(path)
	if err != nil || len(k) != KeySize {
		t.Fatal(k, err)
	}
	if _, err := WriteKeyFile(path); err == nil {
		t.Error("an existing key file was replaced")
	}
	if r, err := ReadKeyFile(path); err != nil || string(r) != string(k) {
		t.Errorf("read back %x, %v; wrote %x", r, err, k)
	}
	for name, text := range map[string]string{"short": "abcd\n", "nothex": "not a key at all, no\n"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadKeyFile(p); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// closedAfterChallenge reports whether the node closes c within d, whatever it wrote first (its
// challenge, a refusal).
func closedAfterChallenge(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
