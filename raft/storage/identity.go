package storage

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A node's data directory has an identity, its incarnation: a random number drawn when the
// directory is first used. A node whose directory was wiped (or replaced by another) comes back
// with another incarnation, and its peers can tell: it may have forgotten a vote it cast or
// entries it acknowledged, so counting it again as the member they knew could elect two leaders
// in one term or lose a committed write. Peers remember each other's incarnations in a
// PeerBook in their own directories.

const (
	incarnationName = "INCARNATION"
	peerBookName    = "PEERS"
)

// Incarnation returns the incarnation of the data directory dir, drawing and saving one when
// the directory has none yet (a new node, or one whose data was wiped).
func Incarnation(dir string) (uint64, error) {
	path := filepath.Join(dir, incarnationName)
	b, err := os.ReadFile(path)
	if err == nil {
		v, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 64)
		if perr != nil || v == 0 {
			return 0, &CorruptError{Path: path, Reason: "not an incarnation"}
		}
		return v, nil
	}
	if !os.IsNotExist(err) {
		return 0, fmt.Errorf("storage: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("storage: %w", err)
	}
	var v uint64
	for v == 0 {
		var raw [8]byte
		rand.Read(raw[:])
		v = binary.LittleEndian.Uint64(raw[:])
	}
	if err := writeFileAtomic(OSFS{}, path, []byte(strconv.FormatUint(v, 16)+"\n")); err != nil {
		return 0, err
	}
	return v, nil
}

// ErrLostState matches a peer refused by PeerBook.Check.
var ErrLostState = errors.New("storage: the peer lost its data")

type lostStateError struct{ peer uint64 }

func (e *lostStateError) Error() string {
	return fmt.Sprintf("node %d came back with other data than the member this cluster knows (its data directory was wiped or replaced), "+
		"so it may have forgotten votes and entries; remove it (raftrun client remove %d) and start it again with an empty --data and --join",
		e.peer, e.peer)
}

func (e *lostStateError) Is(target error) bool { return target == ErrLostState }

// LostState is the refusal of a peer that came back with other data than the member this
// cluster knows (it matches ErrLostState), for a check other than the PeerBook's (the
// incarnations the configuration records).
func LostState(peer uint64) error { return &lostStateError{peer: peer} }

// PeerBook remembers the incarnation of every peer this node has heard from, durably.
type PeerBook struct {
	path  string
	mu    sync.Mutex
	known map[uint64]uint64
}

// OpenPeerBook reads the peer book of the data directory dir (empty when it has none).
func OpenPeerBook(dir string) (*PeerBook, error) {
	b := &PeerBook{path: filepath.Join(dir, peerBookName), known: map[uint64]uint64{}}
	data, err := os.ReadFile(b.path)
	if os.IsNotExist(err) {
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		id, inc, ok := strings.Cut(sc.Text(), " ")
		p, err1 := strconv.ParseUint(id, 10, 64)
		v, err2 := strconv.ParseUint(inc, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, &CorruptError{Path: b.path, Reason: "malformed line " + strconv.Quote(sc.Text())}
		}
		b.known[p] = v
	}
	return b, nil
}

// Check decides whether to take messages from peer, which says it is incarnation inc: yes when
// the book knows no other incarnation of it (and it is noted), or when the peer is not a voter
// (removed, or added again as a learner: a new server; its new incarnation replaces the old).
// A voter that comes back with other data is refused with an error matching ErrLostState. An
// incarnation of 0 (a peer that sends none) is not checked.
func (b *PeerBook) Check(peer, inc uint64, voter bool) error {
	if inc == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.known[peer]
	switch {
	case ok && old == inc:
		return nil
	case ok && voter:
		return &lostStateError{peer: peer}
	}
	b.known[peer] = inc
	return b.save()
}

func (b *PeerBook) save() error {
	ids := make([]uint64, 0, len(b.known))
	for id := range b.known {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var buf bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&buf, "%d %x\n", id, b.known[id])
	}
	return writeFileAtomic(OSFS{}, b.path, buf.Bytes())
}
