package render

import (
	"strings"

	"github.com/raftviz/raftviz/parse"
)

// ANSI colours by event category. Plain SGR codes, written directly: a static table must not pay
// for terminal detection (and colour is only switched on for terminals, see cmd/raftviz).
const (
	colorOff       = "\x1b[0m"
	colorElection  = "\x1b[33m"   // yellow: timers, candidates, votes
	colorLeader    = "\x1b[1;32m" // bold green: a leader is elected
	colorReplicate = "\x1b[34m"   // blue: AppendEntries traffic
	colorCommit    = "\x1b[36m"   // cyan: commit and apply
	colorFault     = "\x1b[1;31m" // bold red: crashes, partitions, dead nodes
	colorDim       = "\x1b[2m"    // dim: everything else
)

// Category is the coarse kind of an event that decides its colour in tables and the timeline.
type Category uint8

// Event categories.
const (
	CategoryOther Category = iota
	CategoryElection
	CategoryLeader
	CategoryReplicate
	CategoryCommit
	CategoryFault
)

// Classify puts an event in a category: structured events by kind and fields, classic lines by
// the words Raft implementations commonly log.
func Classify(e *parse.Event) Category {
	if e.IsFault() {
		return CategoryFault
	}
	switch e.Kind {
	case "":
	case "state":
		if st, _ := e.Field("state"); st == "leader" {
			return CategoryLeader
		} else if st == "dead" {
			return CategoryFault
		}
		return CategoryElection
	case "timer", "vote", "term", "leader", "transfer":
		return CategoryElection
	case "send", "recv", "drop":
		typ, _ := e.Field("type")
		if strings.HasPrefix(typ, "RequestVote") || strings.HasPrefix(typ, "PreVote") || typ == "TimeoutNow" {
			return CategoryElection
		}
		return CategoryReplicate
	case "append", "conflict", "truncate", "persist", "propose", "snapshot", "compact":
		return CategoryReplicate
	case "commit", "apply", "read":
		return CategoryCommit
	case "corrupt":
		return CategoryFault
	case "BecomeLeader":
		return CategoryLeader
	case "BecomeCandidate", "BecomeFollower", "SendRequestVoteRequest", "ReceiveRequestVoteRequest",
		"SendRequestVoteResponse", "ReceiveRequestVoteResponse":
		return CategoryElection
	case "Commit":
		return CategoryCommit
	default:
		if strings.Contains(e.Kind, "AppendEntries") || e.Kind == "Replicate" {
			return CategoryReplicate
		}
		return CategoryOther
	}
	return classifyText(e.Msg)
}

func classifyText(msg string) Category {
	if len(msg) > 120 {
		msg = msg[:120]
	}
	switch {
	case containsFold(msg, "dead") || containsFold(msg, "crash") || containsFold(msg, "disconnect") || containsFold(msg, "partition"):
		return CategoryFault
	case containsFold(msg, "becomes leader") || containsFold(msg, "wins election") || containsFold(msg, "became leader"):
		return CategoryLeader
	case containsFold(msg, "vote") || containsFold(msg, "candidate") || containsFold(msg, "election") || containsFold(msg, "follower"):
		return CategoryElection
	case containsFold(msg, "commit") || containsFold(msg, "appl"):
		return CategoryCommit
	case containsFold(msg, "appendentries") || containsFold(msg, "heartbeat"):
		return CategoryReplicate
	}
	return CategoryOther
}

// containsFold reports whether s contains the lower-case ASCII word in any case, without the
// allocation of strings.ToLower: it runs for every row of a coloured table.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 != word[0] {
			continue
		}
		j := 1
		for j < len(word) && (s[i+j]|0x20 == word[j] || word[j] == ' ' && s[i+j] == ' ') {
			j++
		}
		if j == len(word) {
			return true
		}
	}
	return false
}

func colorOf(e *parse.Event) string {
	switch Classify(e) {
	case CategoryElection:
		return colorElection
	case CategoryLeader:
		return colorLeader
	case CategoryReplicate:
		return colorReplicate
	case CategoryCommit:
		return colorCommit
	case CategoryFault:
		return colorFault
	}
	return colorDim
}
