package render

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// Arrow is a message between two nodes, as a sequence diagram draws it: from the sender's
// column to the receiver's, on the row where it was sent (or lost).
type Arrow struct {
	From, To string
	// Label names the message and what it carried: "AppendEntries(3)" (three entries),
	// "RequestVoteReply granted", "AppendEntriesReply rejected"; a lost message adds why.
	Label string
	// Dropped: the network lost the message, or the receiver refused it; the head is ✗.
	Dropped bool
}

// Arrow heads and the mark of a received message.
const (
	headRight   = "▶"
	headLeft    = "◀"
	headDropped = "✗"
	shaft       = "─"
)

// ArrowOf returns the arrow an event draws: a send, from its node to its to field, or a drop,
// from its from field to its to field. Events of other kinds, and messages a node sends to
// itself, draw none. Sends read from a log's wording by a profile draw arrows as well, as long
// as the profile found the receiver.
func ArrowOf(e *parse.Event) (Arrow, bool) {
	from, to, dropped, ok := MessageEnds(e)
	if !ok {
		return Arrow{}, false
	}
	a := Arrow{From: from, To: to, Dropped: dropped, Label: messageLabel(e)}
	if dropped {
		if r, ok := e.Field("reason"); ok {
			a.Label += " (" + r + ")"
		}
	}
	return a, true
}

// MessageEnds returns the sender and receiver of the message an event sends or loses, as
// ArrowOf draws it, without building its label: for the code that only needs to know which
// columns the arrow view will draw to.
func MessageEnds(e *parse.Event) (from, to string, dropped, ok bool) {
	switch e.Kind {
	case eventline.KindSend:
		from = e.Node
		to, _ = e.Field("to")
	case eventline.KindDrop:
		from, _ = e.Field("from")
		to, _ = e.Field("to")
		dropped = true
	default:
		return "", "", false, false
	}
	return from, to, dropped, from != "" && to != "" && from != to
}

// ReceiveText is what a received message's cell says in the arrow view: the sender and the
// message, "←4 AppendEntries(3)". ok is false for other events.
func ReceiveText(e *parse.Event) (string, bool) {
	if e.Kind != eventline.KindRecv {
		return "", false
	}
	from, ok := e.Field("from")
	if !ok {
		return "", false
	}
	return "←" + from + " " + messageLabel(e), true
}

// messageLabel names a message: its type, with the number of entries an AppendEntries
// carried and the answer a reply gave. A message whose type the log does not state is named by
// its wording.
func messageLabel(e *parse.Event) string {
	typ, ok := e.Field("type")
	if !ok || typ == "" {
		if typ, ok = e.Field("msgtype"); !ok || typ == "" {
			return e.Msg
		}
	}
	if n, ok := e.Field("entries"); ok && n != "0" && n != "" {
		typ += "(" + n + ")"
	}
	answer := func(v, yes, no string) string {
		if v == "true" {
			return yes
		}
		return no
	}
	if v, ok := e.Field("granted"); ok {
		typ += answer(v, " granted", " refused")
	} else if v, ok := e.Field("success"); ok {
		typ += answer(v, " ok", " rejected")
	}
	return typ
}

// ArrowLine draws an arrow across a row of node columns that are laid out side by side: from
// and to are the display columns where the sender's and the receiver's cells start. It returns
// the column the drawing starts at and the drawing, which ends just past the receiver's id (a
// rightward arrow) or the sender's (a leftward one):
//
//	1 ─AppendEntries(3)──────▶ 4
//	2 ◀───────────────PreVote─ 4
func ArrowLine(a Arrow, from, to int) (start int, s string) {
	head := headRight
	if a.Dropped {
		head = headDropped
	}
	if from < to {
		// The drawing runs from the sender's cell to just past the receiver's id.
		span := to + ansi.StringWidth(head+" "+a.To) - from
		lead := a.From + " " + shaft
		return from, lead + shaftWith(a.Label, span-ansi.StringWidth(lead)-ansi.StringWidth(head+" "+a.To), false) + head + " " + a.To
	}
	if !a.Dropped {
		head = headLeft
	}
	span := from + ansi.StringWidth(a.From) - to
	lead := a.To + " " + head
	tail := shaft + " " + a.From
	return to, lead + shaftWith(a.Label, span-ansi.StringWidth(lead)-ansi.StringWidth(tail), true) + tail
}

// shaftWith draws a shaft of w cells with the label in it: at the start (the sender's end of a
// rightward arrow) or at the end (leftward). A label that does not fit is cut; in a very short
// shaft only the line remains.
func shaftWith(label string, w int, atEnd bool) string {
	if w <= 0 {
		return ""
	}
	if w < 4 {
		return strings.Repeat(shaft, w)
	}
	label = ansi.Truncate(label, w-1, "…")
	fill := strings.Repeat(shaft, w-ansi.StringWidth(label))
	if atEnd {
		return fill + label
	}
	return label + fill
}

// ArrowCells draws an arrow as the cells of a table whose columns are separated by borders:
// one string per column from the leftmost of the two to the rightmost, each exactly its
// column's width (widths[i] for the i-th of them), so that the shaft runs from border to
// border. The label sits at the start of the sender's cell:
//
//	│ PreVote ────── │ ────────────── │ ─▶             │
//	│ ◀───────────── │ ────────────── │ PreVote ────── │
func ArrowCells(a Arrow, widths []int, rightward bool) []string {
	out := make([]string, len(widths))
	fill := func(w int) string { return strings.Repeat(shaft, max(w, 0)) }
	last := len(widths) - 1
	sender, receiver := 0, last
	if !rightward {
		sender, receiver = last, 0
	}
	for i, w := range widths {
		out[i] = fill(w)
	}
	head := headRight
	if !rightward {
		head = headLeft
	}
	if a.Dropped {
		head = headDropped
	}
	// The sender's cell: the label and the shaft's start.
	w := widths[sender]
	label := ansi.Truncate(a.Label, max(w-2, 1), "…")
	out[sender] = label + " " + fill(w-ansi.StringWidth(label)-1)
	if rightward {
		out[receiver] = shaft + head
	} else {
		out[receiver] = head + fill(widths[receiver]-1)
	}
	return out
}

// arrowHeadWidth is the narrowest a receiver's column may be: a rightward arrow ends in "─▶".
const arrowHeadWidth = 2

// arrowWidth is the narrowest a sender's column may be for its arrow label to show whole.
func arrowWidth(a Arrow) int { return ansi.StringWidth(a.Label) + 2 }

// WithMessagePeers adds to nodes (a test's columns) the nodes its messages were sent to or
// lost between but that wrote no line of their own (a node cut off from the start, or one
// that logs nothing), so that the arrow view has a column to draw them to. The result is in
// natural order; nodes is returned as it is when nothing is missing.
func WithMessagePeers(nodes []string, events []parse.Event) []string {
	var have map[string]bool
	out := nodes
	for i := range events {
		from, to, _, ok := MessageEnds(&events[i])
		if !ok {
			continue
		}
		if have == nil {
			have = make(map[string]bool, len(nodes))
			for _, n := range nodes {
				have[n] = true
			}
		}
		for _, n := range [2]string{from, to} {
			if !have[n] && n != eventline.ClusterNode {
				have[n] = true
				if len(out) == len(nodes) {
					out = slices.Clone(nodes)
				}
				out = append(out, n)
			}
		}
	}
	if len(out) != len(nodes) {
		parse.SortNodes(out)
	}
	return out
}
