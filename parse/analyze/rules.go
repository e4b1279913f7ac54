package analyze

import (
	"fmt"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// Protocol rules a node's own events can be checked against, message by message (Figure 2 of
// the Raft paper, and the durability every acknowledgement promises). They need the message
// fields of docs/FORMAT.md (mterm on receives, success and match on replies) and, for the
// durability rule, persist events.
const (
	CheckAdoptsTerm  = "a node that hears a higher term adopts it"
	CheckStaleAppend = "a node takes entries only from a leader of its term"
	CheckDurableAck  = "a node acknowledges only what is on its disk"
)

// ruleState is what the protocol rules keep per node.
type ruleState struct {
	// mustAdopt is the higher term a received message carried; the node's next event that
	// states a term must be in it (0: nothing pending).
	mustAdopt   uint64
	mustAdoptEv evRef
	// staleFrom is the sender of an AppendEntries of an older term just received: an append
	// of its entries before the node's next message is a violation.
	staleFrom   string
	staleFromEv evRef
	// What the node's disk holds, from its start and persist events.
	diskKnown bool
	diskLast  uint64
	diskTerm  uint64
	diskVote  string
	diskEv    evRef
}

func (rs *ruleState) reset() { *rs = ruleState{} }

// protocolRules checks one event of node n against the rules above; term is the event's term
// when it states one.
func (a *groupAnalyzer) protocolRules(e *parse.Event, n *nodeState, term uint64, hasTerm bool) {
	rs := &n.rules
	if rs.mustAdopt > 0 && hasTerm {
		if term < rs.mustAdopt {
			a.violate(CheckAdoptsTerm, fmt.Sprintf("node %s handled a message of term %d and stayed in term %d", e.Node, rs.mustAdopt, term),
				rs.mustAdoptEv, refOf(e))
		}
		rs.mustAdopt = 0
	}
	switch e.Kind {
	case eventline.KindStart, eventline.KindPersist:
		// A start states what its disk holds; a persist what just reached it.
		if e.Kind == eventline.KindPersist {
			a.seen.persists++
		}
		rs.diskKnown, rs.diskEv = true, refOf(e)
		if v, ok := e.FieldInt("last_index"); ok {
			rs.diskLast = uint64(v)
		}
		rs.diskTerm = term
		rs.diskVote, _ = e.Field("vote")
	case eventline.KindSnapshot:
		if act, _ := e.Field("action"); act == "installed" {
			if v, ok := e.FieldInt("index"); ok {
				rs.diskLast = max(rs.diskLast, uint64(v))
			}
		}
	case eventline.KindAppend:
		if from, _ := e.Field("from"); rs.staleFrom != "" && from == rs.staleFrom {
			a.violate(CheckStaleAppend, fmt.Sprintf("node %s appended entries from %s, a leader of an older term", e.Node, from),
				rs.staleFromEv, refOf(e))
		}
	case eventline.KindRecv:
		rs.staleFrom = ""
		mterm, ok := e.FieldInt("mterm")
		if !ok || !hasTerm {
			break
		}
		// Counted for the checks they can feed: a vote request may be refused without a term
		// change, so it feeds neither.
		typ, _ := e.Field("type")
		switch typ {
		case "RequestVote", "PreVote", "PreVoteReply":
		case "AppendEntries":
			a.seen.mterms++
			a.seen.appendMterms++
		default:
			a.seen.mterms++
		}
		switch {
		case uint64(mterm) > term && typ != "RequestVote" && typ != "PreVote" && typ != "PreVoteReply":
			// A vote request may be refused without a term change (a live leader's lease);
			// pre-votes never change terms.
			rs.mustAdopt, rs.mustAdoptEv = uint64(mterm), refOf(e)
		case uint64(mterm) < term && typ == "AppendEntries":
			rs.staleFrom, _ = e.Field("from")
			rs.staleFromEv = refOf(e)
		}
	case eventline.KindSend:
		rs.staleFrom = ""
		if !rs.diskKnown || a.seen.persists == 0 || !hasTerm {
			break
		}
		typ, _ := e.Field("type")
		to, _ := e.Field("to")
		switch typ {
		case "AppendEntriesReply":
			ok, _ := e.Field("success")
			match, hasMatch := e.FieldInt("match")
			if ok != "true" || !hasMatch {
				break
			}
			a.seen.acks++
			if uint64(match) > rs.diskLast {
				a.violate(CheckDurableAck, fmt.Sprintf("node %s acknowledged index %d to %s while its disk held entries up to %d", e.Node, match, to, rs.diskLast),
					rs.diskEv, refOf(e))
			}
		case "RequestVoteReply":
			if g, _ := e.Field("granted"); g != "true" {
				break
			}
			a.seen.acks++
			if rs.diskTerm != term || rs.diskVote != to {
				a.violate(CheckDurableAck, fmt.Sprintf("node %s granted its vote to %s in term %d while its disk held term %d, vote %s", e.Node, to, term, rs.diskTerm, rs.diskVote),
					rs.diskEv, refOf(e))
			}
		}
	}
}
