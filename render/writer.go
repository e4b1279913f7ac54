package render

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// Writer writes one table per test to an output, followed by the overall result.
type Writer struct {
	w      io.Writer
	opts   Options
	tables int
}

// NewWriter returns a Writer. Wrap the output in a bufio.Writer of at most 256 KiB for speed:
// tables are written in pieces of about 256 KiB, which such a writer passes through uncopied.
func NewWriter(w io.Writer, opts Options) *Writer {
	return &Writer{w: w, opts: opts}
}

// Test writes a complete test: its status line and its table.
func (w *Writer) Test(t *parse.Test) error {
	start, _ := t.Start()
	return w.table(t, t.Events, start, "", false)
}

// Part writes some events of a test too big to hold whole: a huge test's table is written in
// parts as its events arrive. Parts before the last are headed RUNNING, as the test's result is
// not known yet; the last one carries the result. start is the time relative times count from
// (the test's first event).
func (w *Writer) Part(t *parse.Test, events []parse.Event, start int64, part int, last bool) error {
	label := fmt.Sprintf(" ; part %d", part)
	if last {
		label += " (last)"
	}
	return w.table(t, events, start, label, !last)
}

// MaxNodeColumns is the most node columns a table draws; a test with more draws one column of
// every node's events (each cell headed by its node), so that output stays linear in events.
const MaxNodeColumns = 64

// nodeColumnTitle is the one column's title past MaxNodeColumns.
const nodeColumnTitle = "NODE: EVENT"

// oneNodeColumn moves every node's events into one column, each message headed by its node
// ("[n7] becomes leader"); the cluster's events (faults) stay where they are.
func oneNodeColumn(events []parse.Event, nodes []string) ([]parse.Event, []string) {
	out := make([]parse.Event, len(events))
	for i, e := range events {
		if e.Node != eventline.ClusterNode {
			e.Msg = "[" + e.Node + "] " + e.Msg
			e.Node = nodeColumnTitle
		}
		out[i] = e
	}
	return out, []string{nodeColumnTitle}
}

func (w *Writer) table(t *parse.Test, events []parse.Event, start int64, label string, running bool) error {
	events = w.opts.Filter(events)
	nodes := w.opts.columns(events)
	status := StatusLine(t, nodes, len(events)) + label
	if len(nodes) > MaxNodeColumns && w.opts.Format != FormatCSV {
		// A column per node made a table of rows x nodes cells: 20,000 node ids wrote 53.6 GB.
		// Past MaxNodeColumns, one column holds every node's events, each headed by its node.
		status += fmt.Sprintf(" ; %d nodes: one column, each event headed by its node (over %d)", len(nodes), MaxNodeColumns)
		events, nodes = oneNodeColumn(events, nodes)
	}
	if running {
		status = "RUNNING" + status[len(t.Status.String()):]
	}
	var err error
	switch w.opts.Format {
	case FormatText, FormatASCII:
		if _, err = io.WriteString(w.w, status+"\n"); err != nil {
			return err
		}
		if len(events) == 0 {
			_, err = io.WriteString(w.w, "(no events)\n\n")
			break
		}
		err = newTextTable(&w.opts, nodes, events, start).write(w.w, events)
		if err == nil {
			_, err = io.WriteString(w.w, "\n")
		}
	case FormatMarkdown:
		if _, err = fmt.Fprintf(w.w, "**%s**\n\n", status); err != nil {
			return err
		}
		err = writePretty(w.w, &w.opts, nodes, events, start)
	case FormatHTML:
		if w.tables == 0 {
			if _, err = io.WriteString(w.w, htmlHead); err != nil {
				return err
			}
		}
		if _, err = fmt.Fprintf(w.w, "<h3>%s</h3>\n", html.EscapeString(status)); err != nil {
			return err
		}
		err = writePretty(w.w, &w.opts, nodes, events, start)
	case FormatCSV:
		err = writeCSV(w.w, &w.opts, t, events, start, w.tables == 0)
	}
	if err == nil && !running {
		err = w.output(t)
	}
	w.tables++
	return err
}

// output writes, under a test's table, its aliases and its own output (assertion messages,
// panics and their goroutine traces), verbatim: what a user piping a failing run in looks for.
func (w *Writer) output(t *parse.Test) error {
	out := t.Output()
	if len(out) == 0 && len(t.Aliases) == 0 {
		return nil
	}
	var b strings.Builder
	switch w.opts.Format {
	case FormatCSV:
		return nil // output rows are part of the CSV table
	case FormatHTML:
		if len(t.Aliases) > 0 {
			b.WriteString("<p>nodes: " + html.EscapeString(aliasLegend(t)) + "</p>\n")
		}
		if len(out) > 0 {
			fmt.Fprintf(&b, "<p>test output (%d lines):</p>\n<pre>", len(out))
			for _, o := range out {
				b.WriteString(html.EscapeString(o.Text) + "\n")
			}
			b.WriteString("</pre>\n")
		}
	case FormatMarkdown:
		if len(t.Aliases) > 0 {
			b.WriteString("nodes: " + aliasLegend(t) + "\n\n")
		}
		if len(out) > 0 {
			fmt.Fprintf(&b, "test output (%d lines):\n\n```\n", len(out))
			for _, o := range out {
				b.WriteString(o.Text + "\n")
			}
			b.WriteString("```\n\n")
		}
	default:
		if len(t.Aliases) > 0 {
			b.WriteString("nodes: " + aliasLegend(t) + "\n")
		}
		if len(out) > 0 {
			fmt.Fprintf(&b, "test output (%d lines):\n", len(out))
			for _, o := range out {
				b.WriteString("    " + o.Text + "\n")
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w.w, b.String())
	return err
}

// aliasLegend is "s1=server-0a0d4c68-... s2=...".
func aliasLegend(t *parse.Test) string {
	parts := make([]string, len(t.Aliases))
	for i, a := range t.Aliases {
		parts[i] = a.Short + "=" + a.Full
	}
	return strings.Join(parts, " ")
}

// Finish writes the overall result line and closes the HTML document.
func (w *Writer) Finish(overall parse.Status) error { return w.finish(overall, true) }

// FinishWithoutResult is Finish for an input that states no result (a plain log: a bare
// UNKNOWN under its tables said nothing).
func (w *Writer) FinishWithoutResult() error { return w.finish(parse.StatusUnknown, false) }

func (w *Writer) finish(overall parse.Status, result bool) error {
	var err error
	switch {
	case w.opts.Format == FormatHTML:
		if w.tables == 0 {
			_, err = io.WriteString(w.w, htmlHead)
		}
		if err == nil && result {
			_, err = fmt.Fprintf(w.w, "<p><b>%s</b></p>\n", overall)
		}
		if err == nil {
			_, err = io.WriteString(w.w, "</body>\n</html>\n")
		}
	case w.opts.Format == FormatCSV:
		// CSV has no place for a result line; the exit code and stderr carry it.
	case !result:
	case w.opts.Format == FormatMarkdown:
		_, err = fmt.Fprintf(w.w, "**%s**\n", overall)
	default:
		_, err = fmt.Fprintf(w.w, "%s\n", overall)
	}
	return err
}

const htmlHead = `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>raftviz timing tables</title>
<style>
body { font-family: monospace; }
table.go-pretty-table { border-collapse: collapse; margin-bottom: 2em; }
table.go-pretty-table td, table.go-pretty-table th { border: 1px solid #999; padding: 2px 6px; vertical-align: top; white-space: pre-wrap; }
</style>
</head>
<body>
`
