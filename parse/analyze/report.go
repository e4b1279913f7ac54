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
		// A log of several Raft groups (NATS JetStream) gets a column for them: each group's
		// terms are its own.
		grouped := len(r.Groups) > 0
		header := table.Row{"TERM", "LEADER", "FROM", "LED", "CANDIDATES", "VOTES", "ELECTION"}
		if grouped {
			header = append(table.Row{"GROUP"}, header...)
		}
		tw.AppendHeader(header)
		for _, t := range r.Terms {
			leader := t.Leader
			if leader == "" {
				leader = "none"
			}
			votes := "-"
			if t.Votes > 0 {
				votes = fmt.Sprint(t.Votes)
			}
			row := table.Row{t.Term, leader, t.Start, secs(t.Led), t.Candidates, votes, secs(t.Election)}
			if grouped {
				group := t.Group
				if group == "" {
					group = "-"
				}
				row = append(table.Row{group}, row...)
			}
			tw.AppendRow(row)
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
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintln(w, "checks:")
	for _, c := range r.Checks {
		status := strings.ReplaceAll(c.Status, "_", " ")
		if c.Why != "" {
			fmt.Fprintf(w, "  %-11s  %s (%s)\n", status, c.Name, c.Why)
		} else {
			fmt.Fprintf(w, "  %-11s  %s\n", status, c.Name)
		}
	}
	fmt.Fprintf(w, "safety: %s\n", r.Verdict())
	if len(r.Output) > 0 {
		fmt.Fprintf(w, "test output (%d lines):\n", len(r.Output))
		for _, o := range r.Output {
			fmt.Fprintf(w, "    %s\n", o)
		}
	}
	for _, v := range r.Violations {
		label := "VIOLATION"
		if v.Warning {
			label = "WARNING (uncertain attribution: " + v.Reason + ")"
		}
		fmt.Fprintf(w, "%s %s: %s\n", label, v.Check, v.Detail)
		for _, e := range v.Events {
			fmt.Fprintf(w, "    %s [%s] %s (line %d)\n", e.Time, e.Node, e.Msg, e.Line)
		}
	}
	fmt.Fprintln(w)
}

// Failures counts the violations that are certain (not warnings).
func (r *Report) Failures() int {
	n := 0
	for _, v := range r.Violations {
		if !v.Warning {
			n++
		}
	}
	return n
}

// Verdict is one line on the checks: violations, or how many checks ran and how many could not.
func (r *Report) Verdict() string {
	ran, not := 0, 0
	for _, c := range r.Checks {
		if c.Status == NotChecked {
			not++
		} else {
			ran++
		}
	}
	if f := r.Failures(); f > 0 {
		return fmt.Sprintf("%d violations", f)
	}
	if ran == 0 {
		return fmt.Sprintf("nothing checked: the log states none of the facts the %d checks need", not)
	}
	s := fmt.Sprintf("no violation in the %d checks that ran", ran)
	if not > 0 {
		s += fmt.Sprintf("; %d not checked", not)
	}
	if w := len(r.Violations); w > 0 {
		s += fmt.Sprintf("; %d warnings", w)
	}
	return s
}

// WriteJSON writes reports as one JSON document: {"tests": [...], "violations": N}.
func WriteJSON(w io.Writer, reports []Report) error {
	n := 0
	for _, r := range reports {
		n += r.Failures()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Tests      []Report `json:"tests"`
		Violations int      `json:"violations"`
	}{reports, n})
}
