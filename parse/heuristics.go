package parse

import (
	"strconv"
	"strings"

	"github.com/raftviz/raftviz/parse/eventline"
)

// Term returns the term an event reports: the term field of structured events, or for classic
// lines a number after the word "term" ("term=3", "term 3", "currentTerm=3", "Term: 3").
func (e *Event) Term() (uint64, bool) {
	if e.Kind != "" {
		v, ok := e.Field("term")
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	msg := e.Msg
	for off := 0; ; {
		i := IndexFold(msg[off:], "term")
		if i < 0 {
			return 0, false
		}
		j := off + i + 4
		for j < len(msg) && (msg[j] == ' ' || msg[j] == '=' || msg[j] == ':') {
			j++
		}
		k := j
		for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
			k++
		}
		if k > j {
			n, err := strconv.ParseUint(msg[j:k], 10, 64)
			return n, err == nil
		}
		off = j
	}
}

// BecameLeader reports whether the event says its node became leader: a state event to
// leader, or a classic line such as "becomes Leader" or "won the election".
func (e *Event) BecameLeader() bool {
	if e.Kind != "" {
		if e.Kind != eventline.KindState {
			return false
		}
		v, _ := e.Field("state")
		return v == "leader"
	}
	return IndexFold(e.Msg, "leader") >= 0 &&
		(IndexFold(e.Msg, "becom") >= 0 || IndexFold(e.Msg, "won") >= 0 || IndexFold(e.Msg, "elected") >= 0)
}

// BecameCandidate reports whether the event says its node started an election.
func (e *Event) BecameCandidate() bool {
	if e.Kind != "" {
		if e.Kind != eventline.KindState {
			return false
		}
		v, _ := e.Field("state")
		return v == "candidate"
	}
	return IndexFold(e.Msg, "candidate") >= 0 && (IndexFold(e.Msg, "becom") >= 0 || IndexFold(e.Msg, "start") >= 0)
}

// FaultKind maps an event to the fault kind it reports (crash, restart, disconnect, reconnect,
// partition, heal, start, stop), or "" for none; classic lines by their wording.
func (e *Event) FaultKind() string {
	if e.Kind != "" {
		switch e.Kind {
		case eventline.KindCrash, eventline.KindRestart, eventline.KindDisconnect, eventline.KindReconnect,
			eventline.KindPartition, eventline.KindHeal, eventline.KindStart, eventline.KindStop:
			return e.Kind
		}
		return ""
	}
	switch {
	case IndexFold(e.Msg, "reconnect") >= 0:
		return eventline.KindReconnect
	case IndexFold(e.Msg, "disconnect") >= 0:
		return eventline.KindDisconnect
	case IndexFold(e.Msg, "restart") >= 0:
		return eventline.KindRestart
	case IndexFold(e.Msg, "crash") >= 0 || IndexFold(e.Msg, "killed") >= 0:
		return eventline.KindCrash
	case IndexFold(e.Msg, "partition") >= 0:
		return eventline.KindPartition
	case IndexFold(e.Msg, "heal") >= 0:
		return eventline.KindHeal
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
	// analysis runs this over every classic line several times.
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
