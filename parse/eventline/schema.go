package eventline

import (
	"bytes"
	"fmt"
	"slices"
)

// Reasons, actions and the other closed vocabularies of event fields, as listed in
// docs/FORMAT.md. Writers use these names, never literals, so that what the nodes write and what
// the document promises are one list (Schema), pinned by the tests of this package.
const (
	// state: why the role changed.
	ReasonTimeout     = "timeout"      // an election timer fired
	ReasonWon         = "won"          // a candidate won its election
	ReasonHigherTerm  = "higher_term"  // a message carried a higher term (also a term reason)
	ReasonStepdown    = "stepdown"     // a candidate heard from the leader of its term
	ReasonCheckQuorum = "check_quorum" // a leader has not heard from a majority
	ReasonRemoved     = "removed"      // the node's removal from the configuration committed
	ReasonTransfer    = "transfer"     // a leadership transfer told this node to campaign
	ReasonPreVoteWon  = "prevote_won"  // a pre-candidate won its pre-vote and campaigns
	ReasonForced      = "forced"       // the application asked the node to campaign

	// term: why the term changed (besides ReasonHigherTerm).
	ReasonCampaign = "campaign"

	// vote: why a vote was granted or refused (besides ReasonStaleTerm).
	ReasonOK           = "ok"
	ReasonAlreadyVoted = "already_voted"
	ReasonStaleLog     = "stale_log"
	ReasonLeaderAlive  = "leader_alive"
	// ReasonNoMemory: the voter holds no state of its own (a new or a wiped node: term 0, no
	// vote, no entry of any term) and the candidate's log has entries of a term: the cluster
	// existed, and what this node acknowledged before may count in no quorum any more.
	ReasonNoMemory = "no_memory"
	// ReasonNotVoter: the candidate is not a voter of the node's configuration (a removed
	// server, or a stranger); its term is not taken.
	ReasonNotVoter = "not_voter"

	// drop: why a message or a connection was lost or refused.
	ReasonStaleTerm           = "stale_term"           // a node ignores a message of an older term
	ReasonPartition           = "partition"            // the network is split between the two
	ReasonLoss                = "loss"                 // the network lost it
	ReasonCrashed             = "crashed"              // the receiver is down
	ReasonUnknownPeer         = "unknown_peer"         // the sender is not in the node's configuration
	ReasonOverwritesCommitted = "overwrites_committed" // an AppendEntries would delete committed entries
	ReasonMisrouted           = "misrouted"            // a message addressed to another node
	ReasonInboxFull           = "inbox_full"           // the node's inbox is full
	ReasonQueueFull           = "queue_full"           // the transport's queue to the peer is full
	ReasonTooLarge            = "too_large"            // a frame over the transport's size limit
	ReasonMemory              = "memory"               // a frame over the transport's buffer budget
	ReasonClusterID           = "cluster_id"           // a connection from another cluster
	ReasonRefused             = "refused"              // a connection from a node the transport does not accept
	ReasonUnauthenticated     = "unauthenticated"      // a connection without the cluster key's proof
	ReasonAcceptError         = "accept_error"         // the listener failed; retried with back-off
	ReasonTooManyConnections  = "too_many_connections" // the listener is at its connection limit

	// conflict: a leader finds that a follower lost entries it had acknowledged.
	ReasonFollowerLostEntries = "follower_lost_entries"

	// crash: the node stopped itself because its storage failed.
	ReasonStorage = "storage"
)

// Spec says what an event kind carries besides ev, term, state and fmt.
type Spec struct {
	Required []string            // fields every event of the kind has
	Optional []string            // fields it may have
	Values   map[string][]string // closed vocabularies: the values a field may take
}

// MessageFields lists the fields of a message on send and recv events, by its type.
var MessageFields = map[string]Spec{
	"RequestVote":          {Required: []string{"last_index", "last_term"}},
	"PreVote":              {Required: []string{"last_index", "last_term"}},
	"RequestVoteReply":     {Required: []string{"granted"}},
	"PreVoteReply":         {Required: []string{"granted"}},
	"AppendEntries":        {Required: []string{"prev_index", "prev_term", "entries", "commit"}, Optional: []string{"first", "read_id"}},
	"AppendEntriesReply":   {Required: []string{"success", "match"}, Optional: []string{"conflict_index", "conflict_term", "read_id"}},
	"InstallSnapshot":      {Required: []string{"snap_index", "snap_term", "offset", "bytes", "done"}},
	"InstallSnapshotReply": {Required: []string{"success"}, Optional: []string{"offset"}},
	"TimeoutNow":           {},
	"ReadIndex":            {Required: []string{"read_id"}, Optional: []string{"index"}},
	"ReadIndexReply":       {Required: []string{"read_id"}, Optional: []string{"index"}},
}

// Schema lists every event kind and its fields: what docs/FORMAT.md documents and what the
// nodes, the transport and the harnesses may write.
var Schema = map[string]Spec{
	KindStart:      {Required: []string{"peers", "last_index", "last_term", "commit", "vote"}, Optional: []string{"learners", "snapshot"}},
	KindStop:       {},
	KindCrash:      {Optional: []string{"reason"}, Values: map[string][]string{"reason": {ReasonStorage}}},
	KindRestart:    {},
	KindDisconnect: {},
	KindReconnect:  {},
	KindPartition:  {Required: []string{"groups"}},
	KindHeal:       {},

	KindState: {Required: []string{"prev", "reason"}, Optional: []string{"votes", "leader"},
		Values: map[string][]string{"reason": {ReasonTimeout, ReasonWon, ReasonHigherTerm, ReasonStepdown,
			ReasonCheckQuorum, ReasonRemoved, ReasonTransfer, ReasonPreVoteWon, ReasonForced}}},
	KindTerm: {Required: []string{"prev", "reason"}, Optional: []string{"from"},
		Values: map[string][]string{"reason": {ReasonCampaign, ReasonHigherTerm}}},
	KindTimer: {Required: []string{"timer", "action"}, Optional: []string{"timeout"},
		Values: map[string][]string{"timer": {"election", "heartbeat"}, "action": {"reset", "fire"}}},
	KindVote: {Required: []string{"candidate", "granted", "reason"}, Optional: []string{"prevote"},
		Values: map[string][]string{"reason": {ReasonOK, ReasonAlreadyVoted, ReasonStaleLog, ReasonStaleTerm, ReasonLeaderAlive, ReasonNoMemory, ReasonNotVoter}}},
	KindLeader: {Required: []string{"leader"}},

	// send and recv also carry MessageFields[type].
	KindSend: {Required: []string{"rpc", "type", "to"}},
	KindRecv: {Required: []string{"rpc", "type", "from", "mterm"}},
	// A connection's drop has no message: only its reason and, when known, from.
	KindDrop: {Required: []string{"reason"}, Optional: []string{"rpc", "type", "from", "to"},
		Values: map[string][]string{"reason": {ReasonPartition, ReasonLoss, ReasonCrashed, ReasonStaleTerm,
			ReasonUnknownPeer, ReasonOverwritesCommitted, ReasonMisrouted, ReasonInboxFull, ReasonQueueFull,
			ReasonTooLarge, ReasonMemory, ReasonClusterID, ReasonRefused, ReasonUnauthenticated, ReasonAcceptError, ReasonTooManyConnections}}},
	KindSlow: {Required: []string{"rpc", "type", "peer", "rtt", "threshold"}},

	KindPropose:  {Required: []string{"index", "cmd"}, Optional: []string{"client", "seq"}},
	KindRedirect: {Required: []string{"leader"}},
	KindAppend:   {Required: []string{"first", "last", "entries"}, Optional: []string{"from"}},
	// Two shapes: a follower's (conflict_term, leader_term) and a leader's (peer, reason).
	KindConflict: {Required: []string{"index"}, Optional: []string{"conflict_term", "leader_term", "peer", "reason"},
		Values: map[string][]string{"reason": {ReasonFollowerLostEntries}}},
	KindTruncate: {Required: []string{"index", "last"}},
	KindPersist:  {Required: []string{"last_index", "vote"}, Optional: []string{"entries", "sync"}},
	KindCommit:   {Required: []string{"commit", "prev"}},
	KindApply:    {Required: []string{"index", "eterm", "cmd"}, Optional: []string{"result"}},
	KindCorrupt: {Required: []string{"action"}, Optional: []string{"offset"},
		Values: map[string][]string{"action": {"truncated", "fatal"}}},

	// An appended change names its action (and peer, but for set); a committed one does not.
	KindConf: {Required: []string{"voters", "index", "phase"}, Optional: []string{"action", "peer", "learners"},
		Values: map[string][]string{"action": {"set", "add_learner", "promote", "remove", "identity"}, "phase": {"appended", "committed"}}},
	KindSnapshot: {Required: []string{"index", "eterm", "bytes", "action"},
		Values: map[string][]string{"action": {"taken", "installed", "sending"}}},
	KindCompact: {Required: []string{"index"}},
	KindTransfer: {Required: []string{"to", "action"},
		Values: map[string][]string{"action": {"start", "done", "abort", "timeout_now"}}},
	KindRead: {Required: []string{"read_id", "index", "mode"}, Values: map[string][]string{"mode": {"read_index"}}},

	KindInvoke: {Required: []string{"client", "op_id", "op", "key"}, Optional: []string{"value"},
		Values: map[string][]string{"op": {"get", "set", "del"}}},
	KindReturn: {Required: []string{"client", "op_id", "op", "key", "ok"}, Optional: []string{"value", "err"},
		Values: map[string][]string{"op": {"get", "set", "del"}}},
}

// Check reports the first way an event's fields (ev first) depart from Schema: an unknown kind,
// message type or field, a missing field, or a value outside a closed vocabulary. term and state
// are optional everywhere (FORMAT.md says which events carry them); fmt is always allowed.
func Check(fields []Field) error {
	if len(fields) == 0 || fields[0].Key != KindKey {
		return fmt.Errorf("the first field is not %s", KindKey)
	}
	kind := fields[0].Value
	spec, ok := Schema[kind]
	if !ok {
		return fmt.Errorf("unknown kind %q", kind)
	}
	specs := []Spec{spec}
	if kind == KindSend || kind == KindRecv {
		typ, _ := Get(fields, "type")
		msg, ok := MessageFields[typ]
		if !ok {
			return fmt.Errorf("%s: unknown message type %q", kind, typ)
		}
		specs = append(specs, msg)
	}
	if kind == KindDrop {
		if typ, ok := Get(fields, "type"); ok {
			if _, known := MessageFields[typ]; !known {
				return fmt.Errorf("drop: unknown message type %q", typ)
			}
		}
	}
	for _, f := range fields[1:] {
		switch f.Key {
		case KindKey:
			return fmt.Errorf("%s: a second %s field", kind, KindKey)
		case "term", "state", "fmt":
			continue
		}
		if !slices.ContainsFunc(specs, func(s Spec) bool { return s.allows(f.Key) }) {
			return fmt.Errorf("%s: field %q is not in the format", kind, f.Key)
		}
		for _, s := range specs {
			if vals, closed := s.Values[f.Key]; closed && !slices.Contains(vals, f.Value) {
				return fmt.Errorf("%s: %s=%q is not in the format", kind, f.Key, f.Value)
			}
		}
	}
	for _, s := range specs {
		for _, k := range s.Required {
			if _, ok := Get(fields, k); !ok {
				return fmt.Errorf("%s: field %q missing", kind, k)
			}
		}
	}
	return nil
}

func (s Spec) allows(key string) bool {
	return slices.Contains(s.Required, key) || slices.Contains(s.Optional, key)
}

// CheckText checks every event line of a text log against Schema and returns the first
// departure, with its line number. Lines without a field block (go test's own output, a
// program's other logging) are not event lines and are skipped.
func CheckText(log []byte) error {
	for n := 1; len(log) > 0; n++ {
		line := log
		if i := bytes.IndexByte(log, '\n'); i >= 0 {
			line, log = log[:i], log[i+1:]
		} else {
			log = nil
		}
		open := bytes.Index(line, []byte(" ["))
		if open < 0 {
			continue
		}
		end := bytes.Index(line[open:], []byte("] "))
		if end < 0 {
			continue
		}
		_, block, ok := SplitText(string(line[open+end+2:]))
		if !ok {
			continue
		}
		fields, err := ParseFields(block, nil)
		if err == nil {
			err = Check(fields)
		}
		if err != nil {
			return fmt.Errorf("line %d: %w: %s", n, err, line)
		}
	}
	return nil
}

// Kinds lists the event kinds of Schema, sorted: what a profile's fact rule may state.
func Kinds() []string {
	kinds := make([]string, 0, len(Schema))
	for k := range Schema {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}
