package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/raftviz/raftviz/parse"
)

// List writes one line per test: status, name, node count and ids, events, duration and the
// number of lines that were not events.
func List(w io.Writer, tests []*parse.Test) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tTEST\tNODES\tEVENTS\tDURATION\tOTHER\tAMBIGUOUS")
	for _, t := range tests {
		nodes := t.Nodes()
		ids := strings.Join(nodes, ",")
		if len(ids) > 40 {
			ids = ids[:37] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%d [%s]\t%d\t%.3fs\t%d\t%d\n", t.Status, t.ID(), len(nodes), ids,
			len(t.Events), t.Duration().Seconds(), countNotUnderstood(t), t.Ambiguous)
	}
	return tw.Flush()
}
