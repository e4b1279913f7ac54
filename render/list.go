package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/raftviz/raftviz/parse"
)

// ListEntry is one line of a test listing: what --list shows of a test, small enough to keep for
// every test of a huge log while the events themselves are dropped.
type ListEntry struct {
	Status    parse.Status
	ID        string
	Nodes     []string
	Events    int
	Duration  time.Duration
	Other     int
	Ambiguous int
}

// Entry summarises a test for List.
func Entry(t *parse.Test) ListEntry {
	return ListEntry{Status: t.Status, ID: t.ID(), Nodes: t.Nodes(), Events: len(t.Events),
		Duration: t.Duration(), Other: countNotUnderstood(t), Ambiguous: t.Ambiguous}
}

// List writes one line per test: status, name, node count and ids, events, duration, lines that
// were not events, and events whose test attribution is ambiguous.
func List(w io.Writer, entries []ListEntry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tTEST\tNODES\tEVENTS\tDURATION\tOTHER\tAMBIGUOUS")
	for _, e := range entries {
		ids := strings.Join(e.Nodes, ",")
		if len(ids) > 40 {
			ids = ids[:37] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%d [%s]\t%d\t%.3fs\t%d\t%d\n", e.Status, e.ID, len(e.Nodes), ids,
			e.Events, e.Duration.Seconds(), e.Other, e.Ambiguous)
	}
	return tw.Flush()
}
