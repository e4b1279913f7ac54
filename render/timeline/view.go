package timeline

import (
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/render"
)

// styles are built once: styling is the expensive part of a frame, so nothing is built per
// row.
type styles struct {
	noColor bool
	title   lipgloss.Style
	header  lipgloss.Style
	time    lipgloss.Style
	cursor  lipgloss.Style
	sep     lipgloss.Style
	fold    lipgloss.Style
	// offscreen: a row whose node's column is scrolled off
	offscreen lipgloss.Style
	gap       lipgloss.Style
	status    lipgloss.Style
	pass      lipgloss.Style
	fail      lipgloss.Style
	unknown   lipgloss.Style
	lane      lipgloss.Style
	message   lipgloss.Style
	match     lipgloss.Style // a search's match inside a cell
	category  [6]lipgloss.Style
	roles     map[string]lipgloss.Style
}

func newStyles(noColor bool) styles {
	s := styles{noColor: noColor}
	plain := lipgloss.NewStyle()
	s.title = plain.Bold(true)
	s.header = plain.Bold(true).Underline(true)
	s.time = plain
	s.cursor = plain.Reverse(true)
	s.sep = plain.Faint(true)
	s.fold = plain.Faint(true).Italic(true)
	s.offscreen = plain.Faint(true)
	s.gap = plain.Faint(true)
	s.status = plain.Bold(true)
	s.pass, s.fail, s.unknown = plain.Bold(true), plain.Bold(true), plain.Bold(true)
	s.lane = plain.Bold(true)
	s.message = plain
	s.match = plain.Underline(true)
	for i := range s.category {
		s.category[i] = plain
	}
	s.roles = map[string]lipgloss.Style{}
	if noColor {
		return s
	}
	// Fixed ANSI colours (not adaptive ones): adaptive colours make lipgloss ask the terminal
	// for its background, which stalls where nothing answers.
	c := func(code string) lipgloss.Style { return plain.Foreground(lipgloss.Color(code)) }
	s.time = c("8")
	s.sep = c("5")
	s.pass, s.fail, s.unknown = c("2").Bold(true), c("1").Bold(true), c("3").Bold(true)
	s.lane = c("1").Bold(true)
	s.match = plain.Foreground(lipgloss.Color("0")).Background(lipgloss.Color("3"))
	s.category[render.CategoryOther] = plain
	s.category[render.CategoryElection] = c("3")
	s.category[render.CategoryLeader] = c("2").Bold(true)
	s.category[render.CategoryReplicate] = c("4")
	s.category[render.CategoryCommit] = c("6")
	s.category[render.CategoryFault] = c("1").Bold(true)
	s.roles = map[string]lipgloss.Style{"leader": c("2").Bold(true), "candidate": c("3"), "precandidate": c("3"),
		"follower": plain, "dead": c("1"), "down": c("1"), "learner": c("8")}
	return s
}

const (
	timeWidth = 17
	minColumn = 14
	maxColumn = 42
)

// markerWidth is the room kept at the right of the header, when not every column fits, for the
// ◂ ▸ markers of columns scrolled off to either side.
const markerWidth = 3

// layout decides the node columns on screen and their width. The width depends only on how
// many columns fit, not on where the view is scrolled, so columns keep their places while
// scrolling sideways; the last scroll position fills the screen with the last columns.
func (m *Model) layout() (nodes []string, colW, laneW int) {
	all := m.shownNodes()
	n, colW, laneW := m.columnsOnScreen(len(all))
	start := min(m.hscroll, len(all)-n)
	return all[start : start+n], colW, laneW
}

// columnsOnScreen returns how many of total node columns fit on screen, their width and the
// fault lane's.
func (m *Model) columnsOnScreen(total int) (n, colW, laneW int) {
	laneW = total + 1 // one character per node, a space
	if laneW > 17 {
		laneW = 0 // too many nodes for a lane: faults still show in the cells
	}
	avail := m.width - timeWidth - laneW
	fit := func(w int) int { return max((w+1)/(minColumn+1), 1) } // columns a space apart
	n = min(total, fit(avail))
	if n < total {
		avail -= markerWidth
		n = min(total, fit(avail))
	}
	colW = min(max((avail+1)/max(n, 1)-1, minColumn), maxColumn)
	return n, colW, laneW
}

// maxHScroll is the furthest the columns scroll sideways: the last columns fill the screen.
func (m *Model) maxHScroll() int {
	total := len(m.shownNodes())
	n, _, _ := m.columnsOnScreen(total)
	return max(total-n, 0)
}

// View implements tea.Model: the screen in the alternate buffer, with mouse wheel reports.
func (m *Model) View() tea.View {
	v := tea.NewView(m.screen())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	return v
}

// screen draws the current mode's screen as text.
func (m *Model) screen() string {
	switch m.mode {
	case modePicker:
		return m.pick.view(m.st.title)
	case modeFilter:
		return m.filter.view(m.width, m.height, m.st.title, m.st.cursor)
	case modeDetail:
		return m.pane.render(m.width, m.st.title)
	}
	var b strings.Builder
	b.Grow(m.width * (m.height + 1))
	nodes, colW, laneW := m.layout()
	m.writeTitle(&b)
	m.writeColumnHeader(&b, nodes, colW, laneW)
	h := m.bodyHeight()
	shown := m.shownNodes()
	empty := m.emptyLines(h)
	for r := m.top; r < m.top+h; r++ {
		if r < m.rows.Len() {
			m.writeRow(&b, r, shown, nodes, colW, laneW)
		} else if k := r - m.top; k < len(empty) {
			b.WriteString(empty[k])
		}
		b.WriteByte('\n')
	}
	m.writeMessageLine(&b)
	if m.mode == modePrompt {
		b.WriteString(m.prompt.input.View())
		b.WriteByte('\n')
	} else if m.status != "" {
		b.WriteString(m.st.status.Render(ansi.Truncate(m.status, m.width, "…")))
		b.WriteByte('\n')
	} else if m.notice != "" {
		b.WriteString(m.st.status.Render(ansi.Truncate(m.notice, m.width, "…")))
		b.WriteByte('\n')
	}
	if m.help.ShowAll {
		for _, l := range m.legendLines(m.width) {
			b.WriteString(m.st.sep.Render(l))
			b.WriteByte('\n')
		}
	}
	if m.mode == modePrompt {
		b.WriteString(m.help.View(m.prompt.keys))
	} else {
		b.WriteString(m.help.View(m.keys))
	}
	return b.String()
}

// emptyLines is what the body of a test with no events says instead of nothing (at most h
// lines): that no line was understood, the command's hint, and where its lines are. None while
// events may still come.
func (m *Model) emptyLines(h int) []string {
	if m.rows.Len() > 0 || m.Events().Len() > 0 || m.loading || m.follow || m.behind() || m.width < 20 {
		return nil
	}
	t := m.Test()
	text := "No event in this test: none of its lines is a debug line raftviz reads."
	if len(t.Other) == 0 {
		text = "No event in this test, and no other line."
	}
	paras := []string{text}
	if m.opts.NoEvents != "" {
		paras = append(paras, m.opts.NoEvents)
	}
	if len(t.Other) > 0 {
		paras = append(paras, "! shows its "+strconv.Itoa(len(t.Other))+" lines as they are.")
	}
	var out []string
	for _, p := range paras {
		out = append(out, "")
		for _, l := range strings.Split(ansi.Wordwrap(p, m.width-4, " "), "\n") {
			out = append(out, "  "+ansi.Truncate(l, m.width-2, "…"))
		}
	}
	return out[:min(len(out), h)]
}

// writeMessageLine writes the whole message of the event under the cursor, with its fields,
// under the table: a cell shows only the start of a message.
func (m *Model) writeMessageLine(b *strings.Builder) {
	var line strings.Builder
	if e := m.Cursor(); e != nil {
		if node := m.ix.silent[int(m.rows.At(m.cursor).idx)]; node != "" {
			// First, so that a narrow screen's cut keeps it.
			line.WriteString("✗ " + node + " wrote nothing more until it started again: it crashed after this line (inferred) · ")
		}
		writeEventText(&line, e)
	}
	b.WriteString(m.st.message.Render(ansi.Truncate(line.String(), m.width, "…")))
	b.WriteByte('\n')
}

// writeEventText writes an event's node, message, kind and fields as one line of text.
func writeEventText(b *strings.Builder, e *parse.Event) {
	b.WriteString("[" + e.Node + "] " + e.Msg)
	if e.Kind != "" || len(e.Fields) > 0 {
		b.WriteString(" |")
		if e.Kind != "" {
			b.WriteString(" ev=" + e.Kind)
		}
		for k, v := range e.Fields.All() {
			b.WriteString(" " + k + "=" + v)
		}
	}
}

func (m *Model) statusStyle(st parse.Status) lipgloss.Style {
	switch st {
	case parse.StatusPass:
		return m.st.pass
	case parse.StatusFail:
		return m.st.fail
	}
	return m.st.unknown
}

func (m *Model) writeTitle(b *strings.Builder) {
	t := m.Test()
	var parts []string
	parts = append(parts, m.st.title.Render(t.Name), m.statusStyle(t.Status).Render(t.Status.String()))
	if len(m.tests) > 1 {
		parts = append(parts, "test "+strconv.Itoa(m.cur+1)+"/"+strconv.Itoa(len(m.tests)))
	}
	pos := 0
	if m.rows.Len() > 0 {
		pos = m.cursor + 1
	}
	parts = append(parts, "row "+strconv.Itoa(pos)+"/"+strconv.Itoa(m.rows.Len()))
	if m.cursor < m.rows.Len() {
		c := m.ix.at(int(m.rows.At(m.cursor).idx))
		lead := "none"
		if c.leader != "" {
			lead = c.leader
		}
		parts = append(parts, "term "+strconv.FormatUint(c.term, 10)+" leader "+lead)
	}
	switch {
	case m.group != "":
		parts = append(parts, "group "+m.group)
	case len(m.ix.groups) > 0:
		// Terms and leaders of several groups mixed: say so, and how to see one.
		parts = append(parts, strconv.Itoa(len(m.ix.groups))+" groups (r: one)")
	}
	var flags []string
	if m.loading {
		if m.read > 0 {
			flags = append(flags, "loading "+strconv.Itoa(int(m.read*100))+"%…")
		} else {
			flags = append(flags, "loading…")
		}
	} else if n := m.Events().Len(); m.behind() && n > 0 {
		flags = append(flags, "laying out "+strconv.Itoa(m.build.to*100/n)+"%…")
	}
	if m.follow {
		flags = append(flags, "follow")
	}
	if m.fold {
		flags = append(flags, "folded")
	}
	if m.scaled {
		flags = append(flags, "to scale")
	}
	if m.arrows {
		flags = append(flags, "arrows")
	}
	if len(m.hidden)+len(m.hideKind) > 0 {
		flags = append(flags, "filtered")
	}
	if n := len(m.flagged); n > 0 {
		flags = append(flags, strconv.Itoa(n)+" flagged (v)")
	}
	if len(flags) > 0 {
		parts = append(parts, "["+strings.Join(flags, ", ")+"]")
	}
	title := strings.Join(parts, "  ")
	if room := m.width - ansi.StringWidth(title) - ansi.StringWidth(titleKey); room >= 2 {
		title += strings.Repeat(" ", room) + m.st.sep.Render(titleKey)
	}
	b.WriteString(ansi.Truncate(title, m.width, "…"))
	b.WriteByte('\n')
}

// roleAt finds a node's role at event i by looking back for its last event with a state
// field; the search is bounded so that the header costs the same anywhere in a huge log.
func (m *Model) roleAt(node string, i int) string {
	ev := m.Events()
	for j := min(i, ev.Len()-1); j >= 0 && j > i-20000; j-- {
		if ev.Node(j) != node || ev.Kind(j) == "" {
			continue
		}
		e := ev.At(j)
		if !e.InGroup(m.group) {
			continue // its role in another Raft group
		}
		if s, ok := e.Field("state"); ok {
			return s
		}
		switch e.Kind {
		case eventline.KindStart, eventline.KindRestart:
			// A server starts as a follower, whatever it was before it died (a leader killed
			// with kill -9 says nothing of it).
			return "follower"
		case eventline.KindStop:
			return "down"
		}
	}
	return ""
}

func (m *Model) writeColumnHeader(out *strings.Builder, nodes []string, colW, laneW int) {
	var b strings.Builder
	defer func() {
		out.WriteString(ansi.Truncate(b.String(), m.width, ""))
		out.WriteByte('\n')
	}()
	b.WriteString(m.st.header.Render(pad("TIME", timeWidth-1)))
	b.WriteByte(' ')
	if laneW > 0 {
		b.WriteString(m.st.header.Render(pad("!", laneW-1)))
		b.WriteByte(' ')
	}
	at := 0
	if m.cursor < m.rows.Len() {
		at = int(m.rows.At(m.cursor).idx)
	}
	state := m.ix.at(at)
	for i, n := range nodes {
		role := m.roleAt(n, at)
		if state.crashed&m.ix.bit[n] != 0 {
			// A crash line states the role the node had (a leader's crash says leader):
			// a node that is down has none.
			role = "down"
		}
		label := n
		if role != "" {
			label += " " + role
		}
		st := m.st.header
		if rs, ok := m.st.roles[role]; ok && !m.st.noColor {
			st = rs.Bold(true).Underline(true)
		}
		b.WriteString(st.Render(pad(label, colW)))
		if i < len(nodes)-1 {
			b.WriteByte(' ')
		}
	}
	// Markers for the columns scrolled off each side, in the room layout keeps for them.
	if all := m.shownNodes(); len(all) > len(nodes) {
		left, right := " ", " "
		if nodes[0] != all[0] {
			left = "◂"
		}
		if nodes[len(nodes)-1] != all[len(all)-1] {
			right = "▸"
		}
		b.WriteString(" " + left + right)
	}
}

// pad cuts or pads s to exactly w cells.
func pad(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// writeRow writes row r. shown are the node columns the filter keeps, nodes those of them on
// screen.
func (m *Model) writeRow(b *strings.Builder, r int, shown, nodes []string, colW, laneW int) {
	rw := m.rows.At(r)
	ev := m.Events()
	event := ev.At(int(rw.idx))
	e := &event
	isCursor := r == m.cursor
	start := m.start()
	var line strings.Builder
	switch rw.kind {
	case rowTerm:
		c := m.ix.at(int(rw.idx))
		label := "── term " + strconv.FormatUint(c.term, 10) + " "
		line.WriteString(m.st.sep.Render(label + strings.Repeat("─", max(m.width-ansi.StringWidth(label)-1, 0))))
	case rowGap:
		label := ""
		if rw.n == 0 && rw.idx > 0 {
			before, _ := ev.Time(int(rw.idx) - 1)
			d := time.Duration(e.Time - before)
			label = "┊ +" + d.Round(time.Microsecond).String()
		} else {
			label = "┊"
		}
		line.WriteString(m.st.gap.Render(pad(label, timeWidth-1)))
		if laneW > 0 {
			// Time passing keeps the faults of before: a node down stays down in the gap.
			line.WriteByte(' ')
			line.WriteString(m.st.lane.Render(pad(m.lane(max(int(rw.idx)-1, 0)), laneW-1)))
		}
	default:
		mark := " "
		if c := m.markAt(rw.idx); c != "" {
			mark = c
		}
		if _, ok := m.flagged[rw.idx]; ok {
			mark = "‼"
		}
		if _, ok := m.whyMark(rw.idx); ok {
			mark = "‹" // an event of the finding w shows
		}
		if isCursor {
			mark = "▶"
		}
		ts := mark + string(parse.AppendEventTime(nil, e, start, m.opts.Relative))
		line.WriteString(m.st.time.Render(pad(ts, timeWidth-1)))
		line.WriteByte(' ')
		if laneW > 0 {
			line.WriteString(m.st.lane.Render(pad(m.lane(int(rw.idx)), laneW-1)))
			line.WriteByte(' ')
		}
		if rw.kind == rowFold {
			line.WriteString(m.st.fold.Render(pad("… "+strconv.Itoa(int(rw.n))+" heartbeat events (z unfolds)", len(nodes)*(colW+1))))
			break
		}
		if s, ok := m.arrowRow(e, shown, len(nodes), colW); ok {
			line.WriteString(m.st.category[render.Classify(e)].Render(s))
			break
		}
		if e.Node == "*" {
			// Cluster events span the row.
			line.WriteString(m.st.category[render.Classify(e)].Render(pad("[cluster] "+e.Msg, len(nodes)*(colW+1))))
			break
		}
		hit := m.srch.test == m.Test() && m.srch.hit(rw.idx)
		if off := offScreen(e.Node, shown, nodes); off != "" {
			// The node's column is scrolled off: the row says who and what, compactly, rather
			// than look blank (h and l bring the column).
			text := off + e.Node + ": " + m.cellText(e)
			line.WriteString(m.st.offscreen.Render(pad(ansi.Truncate(text, len(nodes)*(colW+1)-1, "…"), len(nodes)*(colW+1))))
			break
		}
		for i, n := range nodes {
			cell := ""
			if e.Node == n {
				cell = m.cellText(e)
			}
			cell = pad(cell, colW)
			if e.Node == n {
				cell = m.styleCell(cell, m.st.category[render.Classify(e)], hit)
			}
			line.WriteString(cell)
			if i < len(nodes)-1 {
				line.WriteByte(' ')
			}
		}
	}
	s := line.String()
	if isCursor {
		s = m.st.cursor.Render(ansi.Strip(s))
	}
	b.WriteString(ansi.Truncate(s, m.width, ""))
}

// offScreen returns "◂ " or "▸ " when node's column is shown but scrolled off to the left or the
// right of the columns on screen, and "" when it is on screen or hidden.
func offScreen(node string, shown, onScreen []string) string {
	if len(onScreen) == 0 || slices.Contains(onScreen, node) {
		return ""
	}
	at := slices.Index(shown, node)
	if at < 0 {
		return ""
	}
	if at < slices.Index(shown, onScreen[0]) {
		return "◂ "
	}
	return "▸ "
}

// styleCell styles a node's cell; in a search's hit the matched text stands out.
func (m *Model) styleCell(cell string, st lipgloss.Style, hit bool) string {
	if hit {
		if i, j := m.srch.q.Find(cell); i >= 0 {
			return st.Render(cell[:i]) + m.st.match.Render(cell[i:j]) + st.Render(cell[j:])
		}
	}
	return st.Render(cell)
}

// cellText is what an event says in its node's cell: its message, or in the arrow view the
// sender and type of a message it received.
func (m *Model) cellText(e *parse.Event) string {
	if m.arrows {
		if s, ok := render.ReceiveText(e); ok {
			return s
		}
	}
	return e.Msg
}

// arrowRow draws, in the arrow view, the arrow of a message sent or lost over the node
// columns on screen (the first cols columns from the horizontal scroll on, colW wide, a space
// apart); an arrow to a column scrolled off screen runs to the screen's edge. ok is false when
// the event draws no arrow or its sender or receiver is filtered out.
func (m *Model) arrowRow(e *parse.Event, shown []string, cols, colW int) (string, bool) {
	if !m.arrows {
		return "", false
	}
	a, ok := render.ArrowOf(e)
	if !ok {
		return "", false
	}
	from, to := slices.Index(shown, a.From), slices.Index(shown, a.To)
	if from < 0 || to < 0 {
		return "", false
	}
	// Drawn over every shown column, then cut to those on screen (layout's first column).
	start, s := render.ArrowLine(a, from*(colW+1), to*(colW+1))
	left := min(m.hscroll, len(shown)-cols) * (colW + 1) // as layout scrolls
	w := cols*(colW+1) - 1
	return pad(ansi.Cut(strings.Repeat(" ", start)+s, left, left+w), w), true
}

// lane draws the fault lane: one character per node, ✗ down, ~ disconnected, and a | for
// every node while the network is partitioned.
func (m *Model) lane(i int) string {
	c := m.ix.at(i)
	var b strings.Builder
	for _, n := range m.ix.nodes {
		if m.hidden[n] {
			continue
		}
		bit := m.ix.bit[n]
		switch {
		case c.crashed&bit != 0:
			b.WriteString("✗")
		case c.discon&bit != 0:
			b.WriteString("~")
		case c.part:
			b.WriteString("|")
		default:
			b.WriteString(" ")
		}
	}
	return b.String()
}
