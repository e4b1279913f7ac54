// Package transport carries Raft messages between nodes: over TCP between processes and
// machines, or through an in-memory network inside one process for tests. Both can cut nodes
// off (disconnect, partition) so that a harness can inject faults.
package transport

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/raftviz/raftviz/raft"
)

// MaxMessageSize is the default limit on one encoded message; larger frames are refused, so
// that a corrupt or hostile peer cannot make a node allocate without bound.
const MaxMessageSize = 16 << 20

var errShort = errors.New("transport: message cut short")

// Marshal encodes a message.
func Marshal(m raft.Message) []byte {
	size := 16 * binary.MaxVarintLen64
	for _, e := range m.Entries {
		size += 3*binary.MaxVarintLen64 + 1 + len(e.Data)
	}
	size += binary.MaxVarintLen64 + len(m.Data)
	b := make([]byte, 0, size)
	b = append(b, byte(m.Type))
	for _, v := range []uint64{m.From, m.To, m.Term, m.RPC.Node, m.RPC.Seq, m.LastIndex, m.LastTerm,
		m.PrevIndex, m.PrevTerm, m.Commit, m.Match, m.ConflictIndex, m.ConflictTerm, m.ReadID,
		m.SnapIndex, m.SnapTerm, m.Offset} {
		b = binary.AppendUvarint(b, v)
	}
	var flags byte
	if m.Granted {
		flags |= 1
	}
	if m.Success {
		flags |= 2
	}
	if m.Force {
		flags |= 4
	}
	if m.Done {
		flags |= 8
	}
	if len(m.Incarnations) > 0 {
		flags |= flagIncarnations
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(m.Data)))
	b = append(b, m.Data...)
	for _, ids := range [][]uint64{m.Voters, m.Learners} {
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = binary.AppendUvarint(b, id)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for _, e := range m.Entries {
		b = binary.AppendUvarint(b, e.Index)
		b = binary.AppendUvarint(b, e.Term)
		b = append(b, byte(e.Type))
		b = binary.AppendUvarint(b, uint64(len(e.Data)))
		b = append(b, e.Data...)
	}
	if flags&flagIncarnations != 0 {
		// Last, and only where there are any (a snapshot's last chunk): every other message
		// is what it was before incarnations travelled.
		incs := raft.EncodeIncarnations(m.Incarnations)
		b = binary.AppendUvarint(b, uint64(len(incs)))
		b = append(b, incs...)
	}
	return b
}

// flagIncarnations marks a message that carries incarnations (after its entries).
const flagIncarnations = 16

// Unmarshal decodes a message. It never panics on bad input.
func Unmarshal(b []byte) (raft.Message, error) {
	var m raft.Message
	if len(b) < 1 {
		return m, errShort
	}
	m.Type = raft.MessageType(b[0])
	if m.Type < raft.MsgVote || m.Type > raft.MsgSnapResp {
		return m, fmt.Errorf("transport: unknown message type %d", b[0])
	}
	b = b[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errShort
		}
		b = b[n:]
		return v, nil
	}
	for _, p := range []*uint64{&m.From, &m.To, &m.Term, &m.RPC.Node, &m.RPC.Seq, &m.LastIndex, &m.LastTerm,
		&m.PrevIndex, &m.PrevTerm, &m.Commit, &m.Match, &m.ConflictIndex, &m.ConflictTerm, &m.ReadID,
		&m.SnapIndex, &m.SnapTerm, &m.Offset} {
		v, err := next()
		if err != nil {
			return m, err
		}
		*p = v
	}
	if len(b) < 1 {
		return m, errShort
	}
	m.Granted, m.Success, m.Force, m.Done = b[0]&1 != 0, b[0]&2 != 0, b[0]&4 != 0, b[0]&8 != 0
	withIncarnations := b[0]&flagIncarnations != 0
	b = b[1:]
	dl, err := next()
	if err != nil {
		return m, err
	}
	if dl > uint64(len(b)) {
		return m, errShort
	}
	if dl > 0 {
		m.Data = append([]byte(nil), b[:dl]...)
	}
	b = b[dl:]
	for _, ids := range []*[]uint64{&m.Voters, &m.Learners} {
		n, err := next()
		if err != nil {
			return m, err
		}
		if n > uint64(len(b)) {
			return m, errShort
		}
		for i := uint64(0); i < n; i++ {
			id, err := next()
			if err != nil {
				return m, err
			}
			*ids = append(*ids, id)
		}
	}
	count, err := next()
	if err != nil {
		return m, err
	}
	if count > uint64(len(b))/4 { // every entry takes at least 4 bytes
		return m, fmt.Errorf("transport: %d entries cannot fit in %d bytes", count, len(b))
	}
	if count > 0 {
		m.Entries = make([]raft.Entry, count)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Index, err = next(); err != nil {
			return m, err
		}
		if e.Term, err = next(); err != nil {
			return m, err
		}
		if len(b) < 1 {
			return m, errShort
		}
		if e.Type = raft.EntryType(b[0]); e.Type > raft.EntryConf {
			return m, fmt.Errorf("transport: unknown entry type %d", b[0])
		}
		b = b[1:]
		n, err := next()
		if err != nil {
			return m, err
		}
		if n > uint64(len(b)) {
			return m, errShort
		}
		if n > 0 {
			e.Data = append([]byte(nil), b[:n]...)
		}
		b = b[n:]
	}
	if withIncarnations {
		n, err := next()
		if err != nil {
			return m, err
		}
		if n == 0 || n > uint64(len(b)) {
			return m, errShort
		}
		incs, ok := raft.DecodeIncarnations(b[:n])
		if !ok {
			return m, fmt.Errorf("transport: malformed incarnations")
		}
		m.Incarnations, b = incs, b[n:]
	}
	if len(b) != 0 {
		return m, fmt.Errorf("transport: %d bytes after the message", len(b))
	}
	return m, nil
}
