package analyze

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
)

func secs(s float64) string {
	if s == 0 {
		return "-"
	}
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
}

func lat(l Latency) string {
	if l.Count == 0 {
		return "none measured"
	}
	return fmt.Sprintf("p50 %s  p95 %s  p99 %s  max %s  (%d)", secs(l.P50), secs(l.P95), secs(l.P99), secs(l.Max), l.Count)
}

func newTable(w io.Writer) table.Writer {
	tw := table.NewWriter()
	tw.SetOutputMirror(w)
	tw.SetStyle(table.StyleLight)
	return tw
}

// WriteText writes a report for people.
func WriteText(w io.Writer, r Report) {
	fmt.Fprintf(w, "== %s (%s, %d events)\n", r.Test, r.Status, r.Events)
	if len(r.Terms) > 0 {
		tw := newTable(w)
		tw.AppendHeader(table.Row{"TERM", "LEADER", "FROM", "LED", "CANDIDATES", "VOTES", "ELECTION"})
		for _, t := range r.Terms {
			leader := t.Leader
			if leader == "" {
				leader = "none"
			}
			votes := "-"
			if t.Votes > 0 {
				votes = fmt.Sprint(t.Votes)
			}
			tw.AppendRow(table.Row{t.Term, leader, t.Start, secs(t.Led), t.Candidates, votes, secs(t.Election)})
		}
		tw.Render()
	}
	if len(r.Nodes) > 0 {
		tw := newTable(w)
		tw.AppendHeader(table.Row{"NODE", "TERM CHANGES", "COMMITS", "APPLIES", "LAST APPLIED", "CRASHES", "RESTARTS", "MAX HEARTBEAT GAP"})
		for _, n := range r.Nodes {
			tw.AppendRow(table.Row{n.Node, n.TermChanges, n.Commits, n.Applies, n.LastApplied, n.Crashes, n.Restarts, secs(n.MaxHeartbeatGap)})
		}
		tw.Render()
	}
	fmt.Fprintf(w, "commit latency (propose to commit on the leader): %s\n", lat(r.Commit))
	fmt.Fprintf(w, "apply latency (propose to apply on the leader):   %s\n", lat(r.Apply))
	if len(r.RPCs) > 0 {
		// One line per message type: totals over node pairs, and the round trips.
		type agg struct {
			sent, recv, slow int
			rt               Latency
		}
		byType := map[string]*agg{}
		var order []string
		for _, s := range r.RPCs {
			a, ok := byType[s.Type]
			if !ok {
				a = &agg{}
				byType[s.Type] = a
				order = append(order, s.Type)
			}
			a.sent += s.Sent
			a.recv += s.Received
			a.slow += s.Slow
			if s.RoundTrip.Max > a.rt.Max {
				a.rt.Max = s.RoundTrip.Max
			}
			if s.RoundTrip.Count > 0 && (a.rt.P50 == 0 || s.RoundTrip.P50 > a.rt.P50) {
				a.rt.P50 = s.RoundTrip.P50
			}
			a.rt.Count += s.RoundTrip.Count
		}
		tw := newTable(w)
		tw.AppendHeader(table.Row{"MESSAGE", "SENT", "RECEIVED", "ROUND TRIPS", "WORST PAIR P50", "MAX", "SLOW"})
		for _, typ := range order {
			a := byType[typ]
			rt, p50, mx := "-", "-", "-"
			if a.rt.Count > 0 {
				rt, p50, mx = fmt.Sprint(a.rt.Count), secs(a.rt.P50), secs(a.rt.Max)
			}
			tw.AppendRow(table.Row{typ, a.sent, a.recv, rt, p50, mx, a.slow})
		}
		tw.Render()
	}
	for _, s := range r.Slow {
		fmt.Fprintf(w, "slow: %s [%s] %s (line %d)\n", s.Time, s.Node, s.Msg, s.Line)
	}
	if l := r.Linearizable; l != nil {
		fmt.Fprintf(w, "linearizability (porcupine): %s, %d client operations (%d without an answer)\n", l.Result, l.Operations, l.Pending)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "not checked (the log has no structured fields): %s\n", strings.Join(r.Skipped, "; "))
	}
	if len(r.Violations) == 0 {
		fmt.Fprintln(w, "safety: no violation found")
	}
	for _, v := range r.Violations {
		fmt.Fprintf(w, "VIOLATION %s: %s\n", v.Check, v.Detail)
		for _, e := range v.Events {
			fmt.Fprintf(w, "    %s [%s] %s (line %d)\n", e.Time, e.Node, e.Msg, e.Line)
		}
	}
	fmt.Fprintln(w)
}

// WriteJSON writes reports as one JSON document: {"tests": [...], "violations": N}.
func WriteJSON(w io.Writer, reports []Report) error {
	n := 0
	for _, r := range reports {
		n += len(r.Violations)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Tests      []Report `json:"tests"`
		Violations int      `json:"violations"`
	}{reports, n})
}
