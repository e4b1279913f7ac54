package timeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/evstore"
	"github.com/raftviz/raftviz/render"
)

// What the timeline hands to the world outside: the event line to the clipboard (y), the raw
// log in a pager at the event's line (o), the rows in view as a text table in a file (e).

// eventLine is an event as one line of text: its time, node, message, kind and fields.
func (m *Model) eventLine(e *parse.Event) string {
	var b strings.Builder
	b.Write(parse.AppendEventTime(nil, e, m.start(), m.opts.Relative))
	b.WriteByte(' ')
	writeEventText(&b, e)
	return b.String()
}

// copyEvent puts the event line under the cursor on the clipboard (through the terminal, which
// works over ssh too).
func (m *Model) copyEvent() tea.Cmd {
	e := m.Cursor()
	if e == nil {
		m.status = "no event on this row"
		return nil
	}
	line := m.eventLine(e)
	m.status = "copied: " + line
	return tea.SetClipboard(line)
}

// pagerDoneMsg says the pager opened by o has ended.
type pagerDoneMsg struct{ err error }

// openInPager opens the log file of the event under the cursor in $PAGER (less when unset) at
// the event's line.
func (m *Model) openInPager() tea.Cmd {
	e := m.Cursor()
	if e == nil {
		m.status = "no event on this row"
		return nil
	}
	f := int(e.File)
	if f < 0 || f >= len(m.opts.Files) || m.opts.Files[f] == "" || m.opts.Files[f] == "-" {
		m.status = "the log came through stdin: there is no file to open"
		return nil
	}
	pager := strings.Fields(os.Getenv("PAGER"))
	if len(pager) == 0 {
		pager = []string{"less"}
	}
	// +N opens less, more and most at line N.
	args := append(pager[1:], "+"+strconv.Itoa(int(e.Line)), m.opts.Files[f])
	return tea.ExecProcess(exec.Command(pager[0], args...), func(err error) tea.Msg { return pagerDoneMsg{err} })
}

// exportName proposes a file name for the rows of the test shown that names no file yet.
func (m *Model) exportName() string {
	base := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' || r == ':' || r == '#' {
			return '_'
		}
		return r
	}, m.Test().ID())
	name := base + ".txt"
	for i := 2; ; i++ {
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = base + "-" + strconv.Itoa(i) + ".txt"
	}
}

// export writes the rows in view (the filter and folds applied) as a text table to a new file
// (an existing one is never overwritten), as background work: a million rows take seconds.
func (m *Model) export(name string) tea.Cmd {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	t, ev := m.Test(), m.Events()
	rows := make([]row, 0, m.rows.Len()) // the rows as they are now: laying out goes on
	for _, r := range m.rows.All() {
		rows = append(rows, r)
	}
	opts := render.Options{Format: render.FormatText, Wrap: render.DefaultWrap, Relative: m.opts.Relative, Arrows: m.arrows}
	if len(m.hidden) > 0 {
		opts.Nodes = m.shownNodes()
	}
	m.status = "writing " + name + "…"
	return m.startWork(workExport, func(ctx context.Context) func(*Model) tea.Cmd {
		status := writeRows(name, t, ev, rows, opts)
		return func(m *Model) tea.Cmd { m.status = status; return nil }
	})
}

// writeRows writes rows of test t (events ev) as a table to the new file name, and says how it
// went.
func writeRows(name string, t *parse.Test, ev *evstore.Events, rows []row, opts render.Options) string {
	view := &parse.Test{Name: t.Name, Package: t.Package, Attempt: t.Attempt, Status: t.Status, Elapsed: t.Elapsed}
	for _, r := range rows {
		switch r.kind {
		case rowEvent:
			view.Events = append(view.Events, ev.At(int(r.idx)))
		case rowFold:
			// In the node column of the fold's first event: a table has no row across all
			// columns but the fault column's.
			first := ev.At(int(r.idx))
			view.Events = append(view.Events, parse.Event{Time: first.Time, Flags: first.Flags, Node: first.Node,
				Msg: "… " + strconv.Itoa(int(r.n)) + " heartbeat events (folded)", Line: first.Line, File: first.File})
		}
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return name + " exists: give another name (e)"
		}
		return "cannot export: " + err.Error()
	}
	w := bufio.NewWriter(f)
	err = render.NewWriter(w, opts).Test(view)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "cannot export: " + err.Error()
	}
	return fmt.Sprintf("wrote %d rows of %s to %s", len(view.Events), t.ID(), name)
}
