package transport

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Peers and clients prove that they hold the cluster key (TCPConfig.Key) before a node reads
// anything of theirs but their hello. The node that accepts a connection writes a challenge
// first (frameChallenge: 32 random bytes); the one that dialled answers with a proof frame,
// HMAC-SHA256(key, purpose | challenge | hello), and then its hello. A stranger who can reach the port, or who
// replays a hello it saw, cannot answer a fresh challenge, and its connection is closed before a
// message of its is read: a forged vote request with term 2^64-1 never reaches Raft.
//
// What this does not do: the frames after the hello are not authenticated or encrypted, so an
// attacker who sits on the path between two nodes and can rewrite their TCP stream is not kept
// out (run the cluster on a private network, or through a TLS tunnel, for that). It was chosen
// over mutual TLS for the operator's sake: one key file, generated at bootstrap and copied to
// the servers that join, instead of a certificate authority (docs/RELIABILITY.md).
const (
	frameChallenge = 7
	frameProof     = 8
	challengeSize  = 32
	macSize        = sha256.Size
)

// Purposes keep a peer's proof from being replayed as a client's and the other way round.
const (
	purposePeer   = "raftviz peer hello\x00"
	purposeClient = "raftviz client hello\x00"
)

// errNoKey and errBadKey name what was wrong with a connection's proof, in the node's log and
// in the refusal the dialler reads.
var (
	errNoKey  = errors.New("this cluster needs its key (--cluster-key FILE): the connection sent none")
	errBadKey = errors.New("wrong cluster key")
)

// KeySize is the length of the keys NewKey makes.
const KeySize = 32

// NewKey returns a random cluster key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// WriteKeyFile writes a new random key to path, as hex, readable by its owner only; it fails
// when the file exists (a key is never replaced by accident: the cluster's members hold it).
func WriteKeyFile(path string) ([]byte, error) {
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// ReadKeyFile reads a key file: hex, as WriteKeyFile writes it, at least 16 bytes of key.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a cluster key (hex, as raftrun node writes it at bootstrap)", path)
	}
	if len(k) < 16 {
		return nil, fmt.Errorf("%s: a cluster key of %d bytes is too short (16 at least)", path, len(k))
	}
	return k, nil
}

// proof is the MAC that answers a challenge with a hello.
func proof(key []byte, purpose string, challenge, hello []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write(challenge)
	m.Write(hello)
	return m.Sum(nil)
}

// challenge writes a fresh challenge on an accepted connection and returns it; nil when the
// transport has no key (then no connection is asked for a proof).
func (t *TCP) challenge(c net.Conn) ([]byte, error) {
	if len(t.cfg.Key) == 0 {
		return nil, nil
	}
	ch := make([]byte, challengeSize)
	if _, err := rand.Read(ch); err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	if _, err := c.Write(appendFrame(nil, frameChallenge, ch)); err != nil {
		return nil, err
	}
	return ch, nil
}

// readHello reads a connection's hello, and on a keyed transport the proof before it, checked
// against the challenge (nil: no key, no proof).
func (t *TCP) readHello(fr *frameReader, challenge []byte) (kind byte, hello []byte, err error) {
	if challenge == nil {
		return fr.read(maxHelloSize)
	}
	kind, mac, err := fr.read(maxHelloSize)
	if err != nil {
		return 0, nil, err
	}
	if kind != frameProof {
		return kind, nil, errNoKey
	}
	mac = append([]byte(nil), mac...) // the reader's buffer is reused for the hello
	if kind, hello, err = fr.read(maxHelloSize); err != nil {
		return 0, nil, err
	}
	purpose := purposePeer
	if kind == frameClientHello {
		purpose = purposeClient
	}
	if !hmac.Equal(mac, proof(t.cfg.Key, purpose, challenge, hello)) {
		return kind, nil, errBadKey
	}
	return kind, hello, nil
}

// answerChallenge reads the challenge a node writes first on a connection this side dialled,
// and returns the frames to send: the proof and the hello. With no key the hello goes alone and
// nothing is read (a node without a key sends no challenge).
func answerChallenge(c net.Conn, r *bufio.Reader, key []byte, purpose string, kind byte, hello []byte, timeout time.Duration) ([]byte, error) {
	if len(key) == 0 {
		return appendFrame(nil, kind, hello), nil
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("no challenge from %s (does it run with the cluster key?): %w", c.RemoteAddr(), err)
	}
	n := int(uint32(hdr[0])<<24 | uint32(hdr[1])<<16 | uint32(hdr[2])<<8 | uint32(hdr[3]))
	if hdr[4] != frameChallenge || n != challengeSize+1 {
		return nil, fmt.Errorf("%s sent no challenge (frame kind %d)", c.RemoteAddr(), hdr[4])
	}
	ch := make([]byte, challengeSize)
	if _, err := io.ReadFull(r, ch); err != nil {
		return nil, err
	}
	return appendFrame(appendFrame(nil, frameProof, proof(key, purpose, ch, hello)), kind, hello), nil
}
