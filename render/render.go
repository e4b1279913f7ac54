// Package render writes per-node timing tables: one table per test, a TIME column and one column
// per node, one row per event, like a timing diagram in text.
//
// The box-drawn text table (the default) and its ASCII variant are written by a purpose-built
// renderer that streams rows straight to the output: a million-row log renders in about a second
// and in constant memory. Its layout is byte-for-byte what go-pretty's StyleLight/StyleDefault
// tables with separated rows produce (a test pins this), which is what the classic visualizer
// printed. Markdown, HTML and CSV are rendered by go-pretty itself.
package render

import (
	"fmt"
	"strings"

	"github.com/raftviz/raftviz/parse"
)

// Format is an output format.
type Format uint8

// Output formats.
const (
	FormatText     Format = iota // box-drawing characters (the classic look)
	FormatASCII                  // +, - and | borders, for terminals and files without Unicode
	FormatMarkdown               // a GitHub-flavoured Markdown table per test
	FormatHTML                   // an HTML table per test
	FormatCSV                    // CSV rows per test
)

// ParseFormat reads an --output-format flag value.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "text", "box":
		return FormatText, nil
	case "ascii":
		return FormatASCII, nil
	case "markdown", "md":
		return FormatMarkdown, nil
	case "html":
		return FormatHTML, nil
	case "csv":
		return FormatCSV, nil
	}
	return 0, fmt.Errorf("unknown table format %q (want text, ascii, markdown, html or csv)", s)
}

// DefaultWrap is the classic wrap width of a node's column.
const DefaultWrap = 30

// Options choose what a table shows and how.
type Options struct {
	Format Format
	// Wrap is the width at which messages are hard-wrapped; 0 disables wrapping.
	Wrap int
	// Relative shows times as seconds since the test's first event, so two runs can be diffed.
	Relative bool
	// Color styles cells by event kind with ANSI codes (text and ASCII formats only).
	Color bool
	// Compact drops the blank line under every cell and the rule between rows.
	Compact bool
	// Fields appends structured fields (term=3 state=leader ...) to each message.
	Fields bool
	// Nodes, when set, keeps only these node columns (and cluster-wide events).
	Nodes []string
	// Arrows draws each message as an arrow from the sender's column to the receiver's, on the
	// row it was sent (or lost), and a received message as its sender and type: a sequence
	// diagram. Text and ASCII tables only.
	Arrows bool
	// Grep, when set, keeps only events whose message, kind or fields contain it (see
	// parse.Query: smart case, or a regexp after "re:").
	Grep parse.Query
	// Group, when set, keeps only the events of this Raft group and those that name none (a
	// server's own start, stop and crash lines concern every group it runs).
	Group string
}

// Filter applies Nodes, Grep and Group to a test's events, returning the kept events (the input slice
// itself when nothing is filtered).
func (o *Options) Filter(events []parse.Event) []parse.Event {
	if len(o.Nodes) == 0 && o.Grep.Empty() && o.Group == "" {
		return events
	}
	keep := make(map[string]bool, len(o.Nodes))
	for _, n := range o.Nodes {
		keep[n] = true
	}
	out := make([]parse.Event, 0, len(events))
	for i := range events {
		e := &events[i]
		if len(keep) > 0 && !keep[e.Node] && !(e.Node == "*" && e.IsFault()) {
			continue
		}
		if !o.Grep.Empty() && !o.Grep.Matches(e) {
			continue
		}
		if !e.InGroup(o.Group) {
			continue
		}
		out = append(out, *e)
	}
	return out
}

// columns returns the node columns of a table: the test's nodes, narrowed by Options.Nodes (in
// the test's natural order).
func (o *Options) columns(events []parse.Event) []string {
	t := parse.Test{Events: events}
	nodes := t.Nodes()
	if o.Arrows {
		nodes = WithMessagePeers(nodes, events)
	}
	if len(o.Nodes) == 0 {
		return nodes
	}
	keep := make(map[string]bool, len(o.Nodes))
	for _, n := range o.Nodes {
		keep[n] = true
	}
	out := nodes[:0]
	for _, n := range nodes {
		if keep[n] {
			out = append(out, n)
		}
	}
	return out
}

// hasFaults reports whether a fault column is needed.
func hasFaults(events []parse.Event) bool {
	for i := range events {
		if events[i].Node == "*" || events[i].IsFault() {
			return true
		}
	}
	return false
}

// faultText is the marker of a fault event in the FAULT column.
func faultText(e *parse.Event) string {
	if e.Node == "*" {
		if e.Kind != "" {
			return e.Kind + " " + fieldsText(e)
		}
		return e.Msg
	}
	kind := e.Kind
	if kind == "" {
		kind = "fault"
	}
	return kind + " " + e.Node
}

// fieldsText renders an event's fields as k=v pairs.
func fieldsText(e *parse.Event) string {
	var sb strings.Builder
	for k, v := range e.Fields.All() {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(v)
	}
	return sb.String()
}

// cellText is what an event shows in its node's column.
func (o *Options) cellText(e *parse.Event) string {
	if o.Arrows {
		if s, ok := ReceiveText(e); ok {
			return s
		}
	}
	if o.Fields && (e.Kind != "" || len(e.Fields) > 0) {
		f := fieldsText(e)
		if e.Kind != "" {
			f = "ev=" + e.Kind + " " + f
		}
		return e.Msg + " | " + f
	}
	return e.Msg
}

// StatusLine is the line above each table: result, name, duration, nodes and entries.
func StatusLine(t *parse.Test, nodes []string, entries int) string {
	var sb strings.Builder
	sb.WriteString(t.Status.String())
	sb.WriteByte(' ')
	sb.WriteString(t.ID())
	if d := t.Duration(); d > 0 {
		fmt.Fprintf(&sb, " (%.2fs)", d.Seconds())
	}
	sb.WriteString(" nodes: ")
	if len(nodes) == 0 {
		sb.WriteString("-")
	}
	sb.WriteString(strings.Join(nodes, " "))
	fmt.Fprintf(&sb, " ; entries: %d", entries)
	if n := countNotUnderstood(t); n > 0 {
		fmt.Fprintf(&sb, " ; other lines: %d", n)
	}
	if t.Ambiguous > 0 {
		fmt.Fprintf(&sb, " ; ambiguous attribution: %d", t.Ambiguous)
	}
	return sb.String()
}

// countNotUnderstood counts the lines of a test that were neither events nor its own output.
func countNotUnderstood(t *parse.Test) int {
	n := 0
	for _, o := range t.Other {
		if o.Kind == parse.OtherText && strings.TrimSpace(o.Text) != "" {
			n++
		}
	}
	return n
}
