// Package evstore keeps a test's events compactly, for a viewer that holds a million of them.
//
// A parse.Event is 80 bytes holding four strings, and each event's message and fields are an
// allocation of their own: a million events cost some 250 MB, all of it pointers the garbage
// collector scans on every cycle and grows its heap by. Here an event is a 24-byte record
// without pointers: its time, line, fields and head. The head is an entry of a table of the
// distinct node, kind and message seen (most logs repeat their messages: a 1.28M-event
// simulation has 18,000 distinct ones); the fields are bytes in an arena of chunks. The
// collector never looks inside any of it.
//
// The records are kept in Blocks that never move: a million events are never copied to make
// room, and a test of ten events costs a small first block.
//
// A Builder appends events; Events is a read-only view of the events added up to a point,
// which another goroutine may read while the Builder goes on appending (it only ever writes
// past what a view holds).
package evstore

import (
	"encoding/binary"
	"hash/maphash"
	"sort"
	"unsafe"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// rec is one event: what differs from event to event.
type rec struct {
	time   int64
	fields ref    // the packed eventline.Fields
	head   uint32 // index in heads
	line   int32
}

// head is what events share: a distinct node, kind and message (and input, syntax and
// flags, which seldom change along a test).
type head struct {
	msg    ref
	node   uint32 // index in names
	kind   uint32 // index in names
	file   int16
	syntax parse.Syntax
	flags  uint8
}

// ref is where a length-prefixed string is in the arena: its chunk in the high 32 bits, its
// offset in the low. The zero ref is the empty string (each arena starts with a zero length).
type ref uint64

// Chunks start small, so that a test of ten events costs little, and double up to maxChunk.
const (
	firstChunk = 1 << 10
	maxChunk   = 1 << 20
)

// Events is a read-only view of events. The zero value and nil hold none.
type Events struct {
	recs   Blocks[rec]
	heads  []head
	chunks [][]byte
	names  []string // nodes and kinds; names[0] is ""
	nodes  []string // node ids in the order they first wrote, the cluster left out
	// servers are the nodes with an event other than a client operation's (invoke, return),
	// in the order found; append-only, as nodes, so that views share it safely.
	servers []string
}

// Len returns the number of events.
func (v *Events) Len() int {
	if v == nil {
		return 0
	}
	return v.recs.Len()
}

// rec returns record i.
func (v *Events) rec(i int) *rec { return v.recs.Ptr(i) }

// At returns event i. Its strings point into the store: they need no copy, and stay valid
// (and unchanged) as long as they are held.
func (v *Events) At(i int) parse.Event {
	r := v.rec(i)
	h := &v.heads[r.head]
	return parse.Event{Time: r.time, Node: v.names[h.node], Kind: v.names[h.kind], Msg: v.text(h.msg),
		Fields: eventline.Fields(v.text(r.fields)), Line: r.line, File: h.file, Syntax: h.syntax, Flags: h.flags}
}

// Time returns event i's Time and whether it carried a timestamp (parse.FlagTime), without
// reading its text.
func (v *Events) Time(i int) (int64, bool) {
	r := v.rec(i)
	return r.time, v.heads[r.head].flags&parse.FlagTime != 0
}

// Node returns event i's node.
func (v *Events) Node(i int) string { return v.names[v.heads[v.rec(i).head].node] }

// Kind returns event i's kind.
func (v *Events) Kind(i int) string { return v.names[v.heads[v.rec(i).head].kind] }

// Slice returns events from to to as parse.Events (for code that wants a slice: the
// analysis, an export); their strings point into the store.
func (v *Events) Slice(from, to int) []parse.Event {
	out := make([]parse.Event, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, v.At(i))
	}
	return out
}

// Nodes returns the ids of the nodes that have events, in natural order (parse.SortNodes),
// the servers first and the nodes of client operations only after them, as parse.Tally
// orders them; the cluster pseudo-node left out.
func (v *Events) Nodes() []string {
	if v == nil {
		return nil
	}
	ids := append([]string(nil), v.nodes...)
	parse.SortNodes(ids)
	server := make(map[string]bool, len(v.servers))
	for _, s := range v.servers {
		server[s] = true
	}
	sort.SliceStable(ids, func(i, j int) bool { return server[ids[i]] && !server[ids[j]] })
	return ids
}

// Bytes returns the memory the events hold, about.
func (v *Events) Bytes() int {
	if v == nil {
		return 0
	}
	n := cap(v.heads) * int(unsafe.Sizeof(head{}))
	n += v.recs.Bytes(int(unsafe.Sizeof(rec{})))
	for _, c := range v.chunks {
		n += cap(c)
	}
	for _, s := range v.names {
		n += len(s) + 16
	}
	return n
}

// text reads the string at r.
func (v *Events) text(r ref) string {
	c := v.chunks[r>>32][uint32(r):]
	n, k := binary.Uvarint(c) // put wrote it: never malformed
	if n == 0 {
		return ""
	}
	return unsafe.String(&c[k], int(n))
}

// Builder appends events. Its zero value is ready to use. A Builder is used by one goroutine;
// the views it returns may be read by others.
type Builder struct {
	v    Events
	used int // bytes written in the last chunk
	// seen finds a head met before: slots probed from its hash's, each holding a head's
	// index + 1 (0: empty). It grows with the heads, up to maxSeen slots: enough for the
	// distinct messages of most runs; past that a miss only costs a duplicate head.
	seen     []uint32
	seed     maphash.Seed
	names    map[string]uint32
	isNode   []bool // by index in names: a node that has events
	isServer []bool // by index in names: a node with an event other than a client operation
	// lastNode and lastKind are the names last looked up as a node and a kind: runs of
	// events share them, and a comparison costs less than the map.
	lastNode, lastKind lastName
}

type lastName struct {
	s  string
	id uint32
}

// seen starts at firstSeen slots and doubles while it is over half full, up to maxSeen. A
// head is looked for in up to maxProbes slots from its hash's; past maxSeen, when they are
// all taken, a new head takes the first.
const (
	firstSeen = 1 << 8
	maxSeen   = 1 << 16
	maxProbes = 8
)

func (b *Builder) init() {
	b.v.chunks = [][]byte{make([]byte, firstChunk)} // chunk 0 starts with the zero ref's length, 0
	b.used = 1
	b.v.names = []string{""}
	b.names = map[string]uint32{"": 0}
	b.v.heads = []head{{}}
	b.seen = make([]uint32, firstSeen)
	b.seed = maphash.MakeSeed()
}

// Len returns the number of events added.
func (b *Builder) Len() int { return b.v.recs.Len() }

// Add appends events.
func (b *Builder) Add(events ...parse.Event) {
	if b.v.chunks == nil {
		b.init()
	}
	for i := range events {
		e := &events[i]
		b.v.recs.Append(rec{time: e.Time, fields: b.put(string(e.Fields)), head: b.head(e), line: e.Line})
	}
}

// Events returns a view of the events added so far: adding more does not change it.
func (b *Builder) Events() *Events {
	v := b.v
	return &v
}

// head returns the index of e's head, adding it when it is new.
func (b *Builder) head(e *parse.Event) uint32 {
	want := head{node: b.name(e.Node, &b.lastNode), kind: b.name(e.Kind, &b.lastKind), file: e.File, syntax: e.Syntax, flags: e.Flags}
	home := b.slot(&want, e.Msg)
	free := home // where the new head goes: the first empty slot probed, or home
	for p := range maxProbes {
		s := (home + p) & (len(b.seen) - 1)
		i := b.seen[s]
		if i == 0 {
			free = s
			break
		}
		if hd := b.v.heads[i-1]; hd.node == want.node && hd.kind == want.kind && hd.file == want.file &&
			hd.syntax == want.syntax && hd.flags == want.flags && b.v.text(hd.msg) == e.Msg {
			return i - 1
		}
	}
	want.msg = b.put(e.Msg)
	node := want.node
	b.v.heads = append(b.v.heads, want)
	i := uint32(len(b.v.heads) - 1)
	b.seen[free] = i + 1
	if len(b.v.heads) > len(b.seen)/2 && len(b.seen) < maxSeen {
		b.seen = make([]uint32, 2*len(b.seen))
		for j := 1; j < len(b.v.heads); j++ {
			h := &b.v.heads[j]
			s := b.slot(h, b.v.text(h.msg))
			for p := 0; p < maxProbes && b.seen[s] != 0; p++ {
				s = (s + 1) & (len(b.seen) - 1)
			}
			b.seen[s] = uint32(j) + 1
		}
	}
	// A node's first event is always a new head: its nodes are found here.
	for int(node) >= len(b.isNode) {
		b.isNode = append(b.isNode, false)
	}
	if !b.isNode[node] && e.Node != eventline.ClusterNode {
		b.isNode[node] = true
		b.v.nodes = append(b.v.nodes, b.v.names[node])
	}
	// Every new (node, kind) is a new head: whether a node is a server is found here too.
	for int(node) >= len(b.isServer) {
		b.isServer = append(b.isServer, false)
	}
	if !b.isServer[node] && e.Node != eventline.ClusterNode && e.Kind != eventline.KindInvoke && e.Kind != eventline.KindReturn {
		b.isServer[node] = true
		b.v.servers = append(b.v.servers, b.v.names[node])
	}
	return i
}

// slot returns the place in seen of a head with message msg.
func (b *Builder) slot(h *head, msg string) int {
	x := maphash.String(b.seed, msg) ^ uint64(h.node)*0x9E3779B97F4A7C15 ^ uint64(h.kind)<<32 ^
		uint64(h.flags)<<24 ^ uint64(h.syntax)<<16 ^ uint64(uint16(h.file))<<40
	return int(x & uint64(len(b.seen)-1))
}

// name returns the index of s in the names, adding it when it is new; last caches it.
func (b *Builder) name(s string, last *lastName) uint32 {
	if s == last.s {
		return last.id
	}
	i, ok := b.names[s]
	if !ok {
		s = string([]byte(s)) // its own copy: s may point into a line buffer or a bigger string
		b.v.names = append(b.v.names, s)
		i = uint32(len(b.v.names) - 1)
		b.names[s] = i
	}
	*last = lastName{b.v.names[i], i} // the store's copy: s may hold a bigger string
	return i
}

// put writes s to the arena and returns where.
func (b *Builder) put(s string) ref {
	if s == "" {
		return 0
	}
	var length [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(length[:], uint64(len(s)))
	need := k + len(s)
	last := len(b.v.chunks) - 1
	if b.used+need > len(b.v.chunks[last]) {
		size := min(2*len(b.v.chunks[last]), maxChunk)
		b.v.chunks = append(b.v.chunks, make([]byte, max(size, need)))
		last, b.used = last+1, 0
	}
	c, at := b.v.chunks[last], b.used
	copy(c[at:], length[:k])
	copy(c[at+k:], s)
	b.used += need
	return ref(uint64(last)<<32 | uint64(at))
}
