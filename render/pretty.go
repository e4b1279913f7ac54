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
	default:
		out = tw.RenderCSV()
	}
	_, err := io.WriteString(w, out+"\n")
	return err
}
