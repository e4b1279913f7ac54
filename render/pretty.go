package render

import (
	"io"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/raftviz/raftviz/parse"
)

// writePretty renders Markdown, HTML or CSV with go-pretty. Messages are not wrapped: these formats
// are read by programs and browsers that lay text out themselves.
func writePretty(w io.Writer, opts *Options, nodes []string, events []parse.Event, start int64) error {
	if opts.Format == FormatCSV {
		return nil // one long table over every test: see writeCSV
	}
	tw := table.NewWriter()
	tw.SetOutputMirror(nil)
	tw.Style().Format.Header = text.FormatDefault // node ids are case-sensitive
	fault := hasFaults(events)
	header := table.Row{"TIME"}
	if fault {
		header = append(header, "FAULT")
	}
	col := make(map[string]int, len(nodes))
	for _, n := range nodes {
		col[n] = len(header)
		header = append(header, n)
	}
	tw.AppendHeader(header)
	for i := range events {
		e := &events[i]
		row := make(table.Row, len(header))
		for c := range row {
			row[c] = ""
		}
		row[0] = e.FormatTime(start, opts.Relative)
		if fault && (e.Node == "*" || e.IsFault()) {
			row[1] = faultText(e)
		}
		if c, ok := col[e.Node]; ok {
			row[c] = opts.cellText(e)
		}
		tw.AppendRow(row)
	}
	var out string
	switch opts.Format {
	case FormatMarkdown:
		out = tw.RenderMarkdown()
	case FormatHTML:
		out = tw.RenderHTML()
	}
	_, err := io.WriteString(w, out+"\n")
	return err
}

// writeCSV writes a test's events as rows of one long table, test,time,node,kind,message,fields,
// so that a file of many tests (with different nodes) is one table a program can load. The test's
// own output lines (assertions, panics) follow as rows of kind "output". header is false after
// the first test.
func writeCSV(w io.Writer, opts *Options, t *parse.Test, events []parse.Event, start int64, header bool) error {
	tw := table.NewWriter()
	tw.SetOutputMirror(nil)
	tw.Style().Format.Header = text.FormatDefault
	if header {
		tw.AppendHeader(table.Row{"test", "time", "node", "kind", "message", "fields"})
	}
	id := t.ID()
	for i := range events {
		e := &events[i]
		tw.AppendRow(table.Row{id, e.FormatTime(start, opts.Relative), e.Node, e.Kind, e.Msg, fieldsText(e)})
	}
	for _, o := range t.Output() {
		tw.AppendRow(table.Row{id, "", "", "output", o.Text, ""})
	}
	if tw.Length() == 0 {
		return nil
	}
	_, err := io.WriteString(w, tw.RenderCSV()+"\n")
	return err
}
