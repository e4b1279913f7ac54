package timeline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// keyMap is the timeline's key bindings; bubbles/help renders them.
type keyMap struct {
	Up, Down, PageUp, PageDown, Home, End, Left, Right key.Binding
	Search, Next, Prev, Jump, Mark, GoToMark           key.Binding
	NextTest, PrevTest, Copy, Open, Export             key.Binding
	NextElection, PrevElection                         key.Binding
	NextCommit, PrevCommit, NextFault, PrevFault       key.Binding
	NextFlag, PrevFlag                                 key.Binding
	Follow, Fold, Scale, Arrows, Tests, Filter, Detail key.Binding
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
		PageUp:       b("pgup", "page up", "pgup", "ctrl+b", "b"),
		PageDown:     b("pgdn", "page down", "pgdown", "ctrl+f", "space"),
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
		Follow:       b("F", "follow", "F"),
		Fold:         b("z", "fold heartbeats", "z"),
		Scale:        b("s", "time to scale", "s"),
		Arrows:       b("a", "message arrows", "a"),
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
	all := []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Left, k.Right,
		k.Search, k.Next, k.Prev, k.Jump, k.Mark, k.GoToMark, k.NextTest, k.PrevTest, k.NextElection, k.PrevElection, k.NextCommit, k.PrevCommit, k.NextFault,
		k.PrevFault, k.NextFlag, k.PrevFlag, k.Follow, k.Fold, k.Scale, k.Arrows, k.Tests, k.Filter,
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

// The test picker: a bubbles table of the run's tests, narrowed by a filter typed after /
// into a bubbles text input.

// pickerState is the picker's own state besides the bubbles table.
type pickerState struct {
	all   []table.Row // every test's row, built once when the picker opens
	input textinput.Model
	tests []int // the shown rows' tests (indexes into Model.tests): those the filter keeps
}

// filter is the case-insensitive part of a test's name the picker keeps.
func (p *pickerState) filter() string { return strings.ToLower(p.input.Value()) }

// openPicker opens the picker on the test shown. Its rows are built here once: a test's row
// counts its nodes, which reads all its events.
func (m *Model) openPicker() {
	m.pick = pickerState{input: textinput.New()}
	m.pick.input.Prompt = "/"
	m.pick.input.Placeholder = "part of a test's name"
	for _, t := range m.tests {
		name := t.Name
		if t.Attempt > 1 {
			name += " #" + strconv.Itoa(t.Attempt)
		}
		m.pick.all = append(m.pick.all, table.Row{t.Status.String(), name, strconv.Itoa(m.eventCount(t)), strings.Join(m.nodesOf(t), ",")})
	}
	m.relayoutPicker(m.cur)
	m.mode = modePicker
}

// relayoutPicker lays the picker out for the screen's width and the filter, keeping the
// selected test under the cursor when it is still listed.
func (m *Model) relayoutPicker(selected int) {
	var rows []table.Row
	m.pick.tests = m.pick.tests[:0]
	nameW := 20
	cursor := 0
	filter := m.pick.filter()
	for i, r := range m.pick.all {
		if filter != "" && !strings.Contains(strings.ToLower(r[1]), filter) {
			continue
		}
		if i == selected {
			cursor = len(rows)
		}
		nameW = max(nameW, len(r[1]))
		rows = append(rows, r)
		m.pick.tests = append(m.pick.tests, i)
	}
	nameW = min(nameW, max(m.width-40, 20))
	st := table.DefaultStyles()
	if m.st.noColor {
		// Without colours the selected row is shown in reverse video, as the table's cursor is.
		st.Selected = lipgloss.NewStyle().Reverse(true)
	}
	m.picker = table.New(
		table.WithColumns([]table.Column{{Title: "STATUS", Width: 8}, {Title: "TEST", Width: nameW},
			{Title: "EVENTS", Width: 8}, {Title: "NODES", Width: 16}}),
		table.WithRows(rows), table.WithFocused(true), table.WithHeight(max(m.height-3, 3)), table.WithWidth(m.width),
		table.WithStyles(st))
	m.picker.SetCursor(cursor)
}

// pickedTest is the test under the picker's cursor, or -1 when the filter keeps none.
func (m *Model) pickedTest() int {
	if i := m.picker.Cursor(); i >= 0 && i < len(m.pick.tests) {
		return m.pick.tests[i]
	}
	return -1
}

// pickerTitle is the line above the picker: its keys, or the filter being typed.
func (m *Model) pickerTitle() string {
	switch {
	case m.pick.input.Focused():
		return "Pick a test " + m.pick.input.View() + " (enter: done, esc: clear)"
	case m.pick.input.Value() != "":
		return "Pick a test matching " + strconv.Quote(m.pick.input.Value()) + " (enter: show, /: filter, esc: back)"
	}
	return "Pick a test (enter: show, /: filter, esc: back)"
}

func (m *Model) updatePicker(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.pick.input.Focused() {
		keep := m.pickedTest()
		var cmd tea.Cmd
		switch msg.String() {
		case "enter":
			m.pick.input.Blur()
			return m, nil
		case "esc":
			m.pick.input.Blur()
			m.pick.input.SetValue("")
		case "ctrl+c":
			return m, tea.Quit
		default:
			m.pick.input, cmd = m.pick.input.Update(msg)
		}
		m.relayoutPicker(keep)
		return m, cmd
	}
	switch msg.String() {
	case "esc", "q", "t":
		m.mode = modeTable
		return m, nil
	case "/":
		return m, m.pick.input.Focus()
	case "enter":
		m.mode = modeTable
		if i := m.pickedTest(); i >= 0 && i != m.cur {
			m.selectTest(i)
		}
		return m, nil
	case "ctrl+c":
		return m, tea.Quit
	}
	var cmd tea.Cmd
	m.picker, cmd = m.picker.Update(msg)
	return m, cmd
}

// The filter: toggles for node columns and event kinds.

type filterItem struct {
	node, kind string
	on         bool
}

type filterState struct {
	items  []filterItem
	cursor int
}

func (m *Model) openFilter() {
	var items []filterItem
	for _, n := range m.ix.nodes {
		items = append(items, filterItem{node: n, on: !m.hidden[n]})
	}
	for _, k := range m.ix.kinds {
		items = append(items, filterItem{kind: k, on: !m.hideKind[k]})
	}
	m.filter = filterState{items: items}
	m.mode = modeFilter
}

func (m *Model) updateFilter(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	f := &m.filter
	switch msg.String() {
	case "up", "k":
		f.cursor = max(f.cursor-1, 0)
	case "down", "j":
		f.cursor = min(f.cursor+1, len(f.items)-1)
	case "space", "x":
		if f.cursor < len(f.items) {
			f.items[f.cursor].on = !f.items[f.cursor].on
		}
	case "a":
		for i := range f.items {
			f.items[i].on = true
		}
	case "enter":
		m.hidden, m.hideKind = map[string]bool{}, map[string]bool{}
		shown := 0
		for _, it := range f.items {
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
		m.mode = modeTable
		m.rebuild()
	case "esc", "q", "f":
		m.mode = modeTable
	case "ctrl+c":
		return m, tea.Quit
	}
	return m, nil
}

func (m *Model) filterView() string {
	var b strings.Builder
	b.WriteString(m.st.title.Render("Filter (space: toggle, a: all, enter: apply, esc: cancel)"))
	b.WriteByte('\n')
	h := max(m.height-2, 1)
	start := max(0, min(m.filter.cursor-h/2, len(m.filter.items)-h))
	for i := start; i < len(m.filter.items) && i < start+h; i++ {
		it := m.filter.items[i]
		box := "[ ]"
		if it.on {
			box = "[x]"
		}
		label := "node " + it.node
		if it.kind != "" {
			label = "kind " + it.kind
		}
		line := box + " " + label
		if i == m.filter.cursor {
			line = m.st.cursor.Render("▶ " + line)
		} else {
			line = "  " + line
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
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

// showPane shows text in the scrollable pane (the event detail, the test's output).
func (m *Model) showPane(title, text string) {
	m.detail = viewport.New(viewport.WithWidth(m.width), viewport.WithHeight(max(m.height-2, 1)))
	m.detail.SoftWrap = true // a long message or panic line is read whole, not cut at the edge
	m.detail.SetContent(text)
	m.paneTitle = title
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

func (m *Model) updateDetail(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc", "q", "enter":
		m.mode = modeTable
		return m, nil
	case "ctrl+c":
		return m, tea.Quit
	}
	var cmd tea.Cmd
	m.detail, cmd = m.detail.Update(msg)
	return m, cmd
}
