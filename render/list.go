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
	Name      string // the test's name and package (ID is what List shows)
	Package   string
	Nodes     []string
	Groups    []string // Raft groups, when the log names them
	Events    int
	Duration  time.Duration
	Other     int
	Ambiguous int
	Profile   string
	Reason    string // why a FAIL or UNKNOWN test failed, in one line
}

// Entry summarises a test for List.
func Entry(t *parse.Test, tl *parse.Tally) ListEntry {
	e := ListEntry{Status: t.Status, ID: t.ID(), Name: t.Name, Package: t.Package, Nodes: tl.Nodes(), Groups: tl.Groups(), Events: tl.Events,
		Duration: t.DurationOf(tl), Other: countNotUnderstood(t), Ambiguous: t.Ambiguous, Profile: t.Profile}
	if t.Status != parse.StatusPass && t.Status != parse.StatusSkip {
		e.Reason = t.Reason()
		if len(e.Reason) > 100 {
			e.Reason = e.Reason[:97] + "..."
		}
	}
	return e
}

// QualifyRepeated names entries by package (raft.TestElection) where one test name occurs in
// several packages of the run.
func QualifyRepeated(entries []ListEntry) {
	pkgs := map[string]map[string]bool{}
	for _, e := range entries {
		if pkgs[e.Name] == nil {
			pkgs[e.Name] = map[string]bool{}
		}
		pkgs[e.Name][e.Package] = true
	}
	for i, e := range entries {
		if len(pkgs[e.Name]) > 1 && e.Package != "" {
			t := parse.Test{Name: e.Name, Package: e.Package}
			entries[i].ID = t.QualifiedName() + strings.TrimPrefix(e.ID, e.Name)
		}
	}
}

// List writes one line per test: status, name, the log dialect it was read with, node count and
// ids, events, duration, lines that were not events, events whose test attribution is ambiguous,
// and for a test that did not pass, the one-line reason (its panic or first output line). When
// a log names Raft groups (several per process), a GROUPS column after NODES lists them.
func List(w io.Writer, entries []ListEntry) error {
	grouped := false
	for _, e := range entries {
		grouped = grouped || len(e.Groups) > 0
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	groupsHead := ""
	if grouped {
		groupsHead = "GROUPS\t"
	}
	fmt.Fprintf(tw, "STATUS\tTEST\tPROFILE\tNODES\t%sEVENTS\tDURATION\tOTHER\tAMBIGUOUS\tREASON\n", groupsHead)
	for _, e := range entries {
		prof := e.Profile
		if prof == "" {
			prof = "-"
		}
		groups := ""
		if grouped {
			groups = counted(e.Groups) + "\t"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s%d\t%.3fs\t%d\t%d\t%s", e.Status, e.ID, prof, counted(e.Nodes), groups,
			e.Events, e.Duration.Seconds(), e.Other, e.Ambiguous, e.Reason)
		fmt.Fprintln(tw, strings.TrimRight(line, "\t "))
	}
	return tw.Flush()
}

// counted writes names as "N [a,b,c]", the list cut at 40 characters.
func counted(names []string) string {
	ids := strings.Join(names, ",")
	if len(ids) > 40 {
		ids = ids[:37] + "..."
	}
	return fmt.Sprintf("%d [%s]", len(names), ids)
}
