package parse

import (
	"strconv"
	"strings"

	"github.com/raftviz/raftviz/parse/eventline"
)

// The questions analysis and the timeline ask of an event. They read only Kind and Fields: a
// node's structured fields, or the facts its profile read from the wording when the line was
// parsed (package profile). No wording is guessed at here.

// Term returns the term the event states as its node's current term: the term field.
func (e *Event) Term() (uint64, bool) {
	v, ok := e.Field("term")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

// Group returns the Raft group the event belongs to (its group field: NATS JetStream's
// "_meta_" or a stream's group, a multi-raft store's range), or "" when it names none: a
// single-group log, or a server's own line (start, stop, crash) that concerns every group it runs.
func (e *Event) Group() string {
	if e.Fields == "" {
		return ""
	}
	g, _ := e.Field("group")
	return g
}

// InGroup reports whether the event is part of what group g shows: its own events and the
// events that name no group. Every event is in group "" (all groups).
func (e *Event) InGroup(g string) bool {
	if g == "" {
		return true
	}
	own := e.Group()
	return own == "" || own == g
}

// BecameLeader reports whether the event says its node became leader.
func (e *Event) BecameLeader() bool { return e.stateIs("leader") }

// BecameCandidate reports whether the event says its node started an election.
func (e *Event) BecameCandidate() bool { return e.stateIs("candidate") }

func (e *Event) stateIs(role string) bool {
	if e.Kind != eventline.KindState {
		return false
	}
	v, _ := e.Field("state")
	return v == role
}

// FreshInstance reports whether the event starts a new instance of its node that shares nothing
// with an earlier one of the same id (etcd-io/raft's table tests build many clusters with the same
// ids in one test), as opposed to a restart from the node's storage.
func (e *Event) FreshInstance() bool {
	if e.Kind != eventline.KindStart {
		return false
	}
	v, _ := e.Field("fresh")
	return v == "true"
}

// NewServer reports whether a start event is a server that joins a running cluster with empty
// storage: no configuration yet (peers stated, and empty) and an empty log. A node whose data
// directory was wiped comes back this way, added again as a new server; its term starts from 0
// again, which is not its old self's term going back.
func (e *Event) NewServer() bool {
	if e.Kind != eventline.KindStart {
		return false
	}
	peers, ok := e.Field("peers")
	last, _ := e.FieldInt("last_index")
	return ok && peers == "" && last == 0
}

// FaultKind maps an event to the fault kind it reports (crash, restart, disconnect, reconnect,
// partition, heal, start, stop), or "" for none.
func (e *Event) FaultKind() string {
	switch e.Kind {
	case eventline.KindCrash, eventline.KindRestart, eventline.KindDisconnect, eventline.KindReconnect,
		eventline.KindPartition, eventline.KindHeal, eventline.KindStart, eventline.KindStop:
		return e.Kind
	}
	return ""
}

// IndexFold is strings.Index ignoring ASCII case, without allocating.
func IndexFold(s, sub string) int {
	n := len(sub)
	if n == 0 {
		return 0
	}
	// Compare the first byte by hand before calling EqualFold: most positions fail there, and
	// searches run this over every event.
	c0 := lowerASCII(sub[0])
	for i := 0; i+n <= len(s); i++ {
		if lowerASCII(s[i]) == c0 && strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
