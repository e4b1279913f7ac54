package timeline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// keyMap is the timeline's key bindings; bubbles/help renders them.
type keyMap struct {
	Up, Down, PageUp, PageDown, Home, End, Left, Right key.Binding
	HalfUp, HalfDown                                   key.Binding
	Search, Next, Prev, Jump, Mark, GoToMark           key.Binding
	NextTest, PrevTest, Copy, Open, Export             key.Binding
	NextElection, PrevElection                         key.Binding
	NextCommit, PrevCommit, NextFault, PrevFault       key.Binding
	NextFlag, PrevFlag, Why                            key.Binding
	Follow, Fold, Scale, Arrows, Tests, Filter, Detail key.Binding
	Group                                              key.Binding
	Output                                             key.Binding
	Help, Quit                                         key.Binding
	// width is the screen's, so that the full help is laid out in as many columns as fit.
	width int
}

func defaultKeys() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Up:           b("↑/k", "up", "up", "k"),
		Down:         b("↓/j", "down", "down", "j"),
		PageUp:       b("pgup/b", "page up", "pgup", "ctrl+b", "b"),
		PageDown:     b("pgdn/space", "page down", "pgdown", "ctrl+f", "space"),
		HalfUp:       b("ctrl+u", "half page up", "ctrl+u"),
		HalfDown:     b("ctrl+d", "half page down", "ctrl+d"),
		Home:         b("g", "first", "g", "home"),
		End:          b("G", "last", "G", "end"),
		Left:         b("←/h", "columns left", "left", "h"),
		Right:        b("→/l", "columns right", "right", "l"),
		Search:       b("/", "search", "/"),
		Next:         b("n", "next match", "n"),
		Prev:         b("N", "previous match", "N"),
		Jump:         b(":", "go to row or time", ":"),
		Mark:         b("m", "mark (then a letter)", "m"),
		GoToMark:     b("'", "go to mark", "'"),
		NextTest:     b(">", "next test", ">"),
		PrevTest:     b("<", "previous test", "<"),
		Copy:         b("y", "copy event line", "y"),
		Open:         b("o", "open log in $PAGER", "o"),
		Export:       b("e", "export rows as table", "e"),
		NextElection: b("]", "next election", "]"),
		PrevElection: b("[", "previous election", "["),
		NextCommit:   b("c", "next commit", "c"),
		PrevCommit:   b("C", "previous commit", "C"),
		NextFault:    b("x", "next fault", "x"),
		PrevFault:    b("X", "previous fault", "X"),
		NextFlag:     b("v", "next flagged", "v"),
		PrevFlag:     b("V", "previous flagged", "V"),
		Why:          b("w", "why: explain's next finding", "w"),
		Follow:       b("F", "follow", "F"),
		Fold:         b("z", "fold heartbeats", "z"),
		Scale:        b("s", "time to scale", "s"),
		Arrows:       b("a", "message arrows", "a"),
		Group:        b("r", "next Raft group", "r"),
		Tests:        b("t", "tests", "t"),
		Filter:       b("f", "filter", "f"),
		Detail:       b("enter", "detail", "enter"),
		Output:       b("!", "test output", "!"),
		Help:         b("?", "help", "?"),
		Quit:         b("q", "quit", "q", "ctrl+c"),
	}
}

// ShortHelp implements help.KeyMap. Help and quit come first: help cuts the line where the
// screen ends, and those two must show at any width.
//
// Only the bindings that fit are given: bubbles' help adds one that does not fit when there is
// no room left for its "…" either, and a footer wider than the screen wraps and scrolls the
// whole screen up.
func (k keyMap) ShortHelp() []key.Binding {
	all := []key.Binding{k.Help, k.Quit, k.Down, k.Search, k.NextElection, k.NextFault, k.Tests, k.Filter, k.Detail}
	if k.width <= 0 {
		return all
	}
	const sep = 3 // " • " between bindings
	used := 0
	for i, b := range all {
		w := ansi.StringWidth(b.Help().Key) + 1 + ansi.StringWidth(b.Help().Desc)
		if i > 0 {
			w += sep
		}
		if used+w > k.width {
			return all[:i] // "? help" comes first and lists the rest
		}
		used += w
	}
	return all
}

// FullHelp implements help.KeyMap: every binding, in as many columns as the screen's width
// holds.
func (k keyMap) FullHelp() [][]key.Binding {
	// Pairs that read as one line of help are shown as one ("^u/^d half page up, down").
	upDown := key.NewBinding(key.WithKeys("up"), key.WithHelp("↑↓/jk", "up, down"))
	half := key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("^u/^d", "half page up, down"))
	all := []key.Binding{upDown, k.PageUp, k.PageDown, half, k.Home, k.End, k.Left, k.Right,
		k.Search, k.Next, k.Prev, k.Jump, k.Mark, k.GoToMark, k.NextTest, k.PrevTest, k.NextElection, k.PrevElection, k.NextCommit, k.PrevCommit, k.NextFault,
		k.PrevFault, k.NextFlag, k.PrevFlag, k.Why, k.Follow, k.Fold, k.Scale, k.Arrows, k.Group, k.Tests, k.Filter,
		k.Detail, k.Output, k.Copy, k.Open, k.Export, k.Help, k.Quit}
	colW := 0
	for _, b := range all {
		h := b.Help()
		colW = max(colW, len([]rune(h.Key))+1+len([]rune(h.Desc)))
	}
	const sep = 4 // help's column separator, and a margin
	cols := 4
	if k.width > 0 {
		cols = min(max(k.width/(colW+sep), 1), 4)
	}
	per := (len(all) + cols - 1) / cols
	var out [][]key.Binding
	for len(all) > 0 {
		n := min(per, len(all))
		out = append(out, all[:n])
		all = all[n:]
	}
	return out
}

// The panes' glue: what the model does when a pane opens and when a key closes it.

// openPicker opens the picker on the test shown. Its rows are built here once: a test's row
// counts its nodes, which reads all its events.
func (m *Model) openPicker() {
	var rows []table.Row
	for _, t := range m.tests {
		name := t.Name
		if t.Attempt > 1 {
			name += " #" + strconv.Itoa(t.Attempt)
		}
		rows = append(rows, table.Row{t.Status.String(), name, strconv.Itoa(m.eventCount(t)), strings.Join(m.nodesOf(t), ",")})
	}
	m.pick = newPicker(rows, m.cur, m.width, m.height, m.st.noColor)
	m.mode = modePicker
}

func (m *Model) updatePicker(msg tea.KeyPressMsg) tea.Cmd {
	res, cmd := m.pick.update(msg)
	if res.done {
		m.mode = modeTable
		if res.test >= 0 && res.test != m.cur {
			m.openTest(res.test)
		}
	}
	return cmd
}

func (m *Model) openFilter() {
	m.filter = newFilterPane(m.ix.nodes, m.ix.kinds, m.hidden, m.hideKind)
	m.mode = modeFilter
}

func (m *Model) updateFilter(msg tea.KeyPressMsg) tea.Cmd {
	res, cmd := m.filter.update(msg)
	if !res.done {
		return cmd
	}
	m.mode = modeTable
	if !res.apply {
		return cmd
	}
	m.hidden, m.hideKind = map[string]bool{}, map[string]bool{}
	shown := 0
	for _, it := range m.filter.items {
		switch {
		case it.node != "" && !it.on:
			m.hidden[it.node] = true
		case it.node != "":
			shown++
		case !it.on:
			m.hideKind[it.kind] = true
		}
	}
	if shown == 0 && len(m.ix.nodes) > 0 {
		m.hidden = map[string]bool{} // hiding every column shows nothing: keep them
		m.status = "every node was hidden; showing all"
	}
	m.hscroll = 0
	m.rebuild()
	return cmd
}

// The detail pane: every field of the event under the cursor and the other events of its RPC.

func (m *Model) openDetail() {
	e := m.Cursor()
	if e == nil {
		m.status = "no event on this row"
		return
	}
	ev := m.Events()
	var b strings.Builder
	start := m.start()
	fmt.Fprintf(&b, "time     %s (%s since the test began)\n", e.FormatTime(start, false), e.FormatTime(start, true))
	fmt.Fprintf(&b, "node     %s\n", e.Node)
	if e.Kind != "" {
		fmt.Fprintf(&b, "kind     %s\n", e.Kind)
	}
	fmt.Fprintf(&b, "message  %s\n", e.Msg)
	fmt.Fprintf(&b, "line     %d\n", e.Line)
	if why, ok := m.flagged[m.rows.At(m.cursor).idx]; ok {
		fmt.Fprintf(&b, "flagged  %s\n", why)
	}
	if why, ok := m.whyMark(m.rows.At(m.cursor).idx); ok {
		fmt.Fprintf(&b, "explain  %s\n", why)
	}
	if len(e.Fields) > 0 {
		b.WriteString("\nfields\n")
		w := 0
		for k := range e.Fields.All() {
			w = max(w, len(k))
		}
		for k, v := range e.Fields.All() {
			fmt.Fprintf(&b, "  %-*s  %s\n", w, k, v)
		}
	}
	if rpc, ok := e.Field("rpc"); ok {
		idx := int(m.rows.At(m.cursor).idx)
		var related []int
		// The other events of one RPC are close by; a bounded window keeps this instant in
		// a huge log.
		for i := max(0, idx-20000); i < min(ev.Len(), idx+20000); i++ {
			if other := ev.At(i); i != idx {
				if v, ok := other.Field("rpc"); ok && v == rpc {
					related = append(related, i)
				}
			}
		}
		sort.Ints(related)
		fmt.Fprintf(&b, "\nRPC %s: %d other events\n", rpc, len(related))
		for _, i := range related {
			r := ev.At(i)
			fmt.Fprintf(&b, "  %s  [%s] %s\n", r.FormatTime(start, false), r.Node, r.Msg)
		}
	}
	m.showPane("Event detail", b.String())
}

// showPane shows text in the text pane (the event detail, the test's output).
func (m *Model) showPane(title, text string) {
	m.pane = newTextPane(title, text, m.width, m.height)
	m.mode = modeDetail
}

// showOutput shows the test's own output: its assertion messages, panics and failure lines,
// verbatim (what a user piping a failing run wants to see first). It reports whether there was
// any.
func (m *Model) showOutput() bool {
	t := m.Test()
	out := t.Output()
	if len(out) == 0 {
		m.status = "this test printed nothing of its own"
		return false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n\n", t.QualifiedName(), t.Status)
	for _, o := range out {
		fmt.Fprintf(&b, "%6d  %s\n", o.Line, o.Text)
	}
	m.showPane("Test output", b.String())
	return true
}

func (m *Model) updateDetail(msg tea.KeyPressMsg) tea.Cmd {
	done, cmd := m.pane.update(msg)
	if done {
		m.mode = modeTable
	}
	return cmd
}
