package transport

import (
	"sync"

	"github.com/raftviz/raftviz/raft"
)

// Receiver takes messages addressed to a node; it must not block (node.Node.Step does not).
type Receiver interface {
	Step(m raft.Message)
}

// Links decides which nodes can talk: the fault state shared by a harness and its transports.
// The zero value connects everyone.
type Links struct {
	mu           sync.RWMutex
	disconnected map[uint64]bool
	group        map[uint64]int // nil: no partition
}

// Disconnect cuts a node off from everyone.
func (l *Links) Disconnect(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.disconnected == nil {
		l.disconnected = make(map[uint64]bool)
	}
	l.disconnected[id] = true
}

// Reconnect undoes Disconnect.
func (l *Links) Reconnect(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.disconnected, id)
}

// Partition splits the nodes into groups that cannot reach each other; nodes in no group
// form one more group.
func (l *Links) Partition(groups ...[]uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.group = make(map[uint64]int)
	for i, g := range groups {
		for _, id := range g {
			l.group[id] = i + 1
		}
	}
}

// Heal removes the partition (disconnected nodes stay disconnected).
func (l *Links) Heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.group = nil
}

// Connected reports whether a node is not disconnected.
func (l *Links) Connected(id uint64) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return !l.disconnected[id]
}

// CanTalk reports whether a message from one node reaches another.
func (l *Links) CanTalk(from, to uint64) bool {
	if l == nil {
		return true
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.disconnected[from] || l.disconnected[to] {
		return false
	}
	return l.group == nil || l.group[from] == l.group[to]
}

// Mem is an in-memory network: Send hands a message straight to its receiver's Step when the
// links allow it.
type Mem struct {
	Links *Links
	mu    sync.RWMutex
	nodes map[uint64]Receiver
}

// NewMem returns an in-memory network governed by links (nil: always connected).
func NewMem(links *Links) *Mem { return &Mem{Links: links, nodes: make(map[uint64]Receiver)} }

// Attach registers the receiver of a node's messages (replacing an earlier one, as a
// restarted node does); a nil receiver detaches it.
func (n *Mem) Attach(id uint64, r Receiver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r == nil {
		delete(n.nodes, id)
		return
	}
	n.nodes[id] = r
}

// Send delivers m if its receiver is attached and reachable; otherwise it is lost.
func (n *Mem) Send(m raft.Message) {
	if !n.Links.CanTalk(m.From, m.To) {
		return
	}
	n.mu.RLock()
	r := n.nodes[m.To]
	n.mu.RUnlock()
	if r != nil {
		r.Step(m)
	}
}
