// Package timeline is raftviz's interactive terminal timeline: a bubbletea model that shows a
// captured run as a scrollable table, one column per node, rows in time order. Only the rows on
// screen are ever rendered or styled, so a run of a million events opens and scrolls as fast
// as a small one.
package timeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/evstore"
)

// Options configure the timeline.
type Options struct {
	NoColor  bool // no colours (NO_COLOR); the cursor is marked with reverse video and ▶
	Relative bool // times relative to the test's start
	Test     int  // index of the test shown first
	Follow   bool // start in follow mode (the cursor sticks to the newest row)
	Arrows   bool // start with message arrows drawn (the a key toggles them)
	// Group is the Raft group shown first in a log of several ("": all; the r key switches).
	Group string
	// At is where the first test opens once it is read: a row or a time, as the : key takes
	// them ("" the first row); a failed test then does not open on its output.
	At string
	// NoEvents is what the screen of a test with no events says after its first line: which
	// dialects were tried and how to start on another (the command's own one-line hint).
	NoEvents string
	// Files are the log files by parse.Event.File ("-" for stdin): o opens them in a pager.
	Files []string
	// Loading says the tests arrive as AppendMsgs (Load); the header says so until Done.
	Loading bool
	// Reread, when set, reads the run's tests again, in the order the input completed them
	// (Update.Seq), from the test numbered from or a place before it (from < 0: from the
	// first), handing each to visit with its number (an error from visit stops it and is
	// returned). It lets the timeline keep only the test on screen in memory: a finished test
	// is reduced to its summary and read again (known by its place) when picked, so a log of
	// many tests costs the memory of its biggest; a search goes on through them.
	Reread func(ctx context.Context, from int, visit func(seq int, t *parse.Test) error) error
}

type mode uint8

const (
	modeTable  mode = iota
	modePrompt      // a line typed at the bottom: a search, a place to go to, a file to export to
	modePicker
	modeFilter
	modeDetail
)

// Model is the timeline's bubbletea model.
type Model struct {
	opts   Options
	atDone bool // Options.At was gone to
	tests  []*parse.Test
	cur    int // test shown
	// held are the events of the tests, kept compactly (the tests' own Events are not used):
	// those of the test on screen, and of the others unless let go (Options.Reread).
	held map[*parse.Test]*evstore.Events

	ix       *index
	rows     evstore.Blocks[row]
	build    rowBuild // where the rows stopped (see extendRows)
	cursor   int      // row under the cursor
	top      int      // first row on screen
	hscroll  int      // first node column on screen
	follow   bool
	fold     bool
	scaled   bool
	arrows   bool            // messages drawn as arrows from sender to receiver
	hidden   map[string]bool // nodes hidden by the filter
	hideKind map[string]bool // kinds hidden by the filter
	group    string          // the Raft group shown ("": all); its terms and roles head the screen
	srch     searchState
	status   string // one-line message (no match, ...)
	notice   string // a line from the program around the timeline (NoticeMsg), under status
	// marks are the places marked with m and a letter; pending is m or ' waiting for the
	// letter.
	marks   map[string]mark
	pending pendingKey
	// work is the background work under way, by kind (nil: none); workGen numbers requests.
	work    [workKinds]*work
	workGen int
	// wantAnalysis asks for the analysis of the test shown (see keepWorking); quitting stops
	// new work from starting.
	wantAnalysis, quitting bool
	// interrupted: the program was quit with ctrl+c, not q (the command exits 130, as an
	// interrupted table does).
	interrupted bool
	// wantReread asks for the test shown, let go, to be read again (see keepWorking); or, when
	// opening is set, the test being opened.
	wantReread bool
	// opening is a test picked while its events were let go: the screen keeps the test shown,
	// saying "opening ...", until they are read again (an empty table with "row 0/0" for a
	// moment said nothing).
	opening *parse.Test
	// place is where to put the cursor once the rows reach it (-1: nowhere): the event left
	// in a test opened again, whose rows are laid out a slice at a time (catchUp).
	place int32

	width, height int
	mode          mode
	keys          keyMap
	help          help.Model
	prompt        promptLine
	pick          picker
	pane          textPane
	// outputShown: FAIL tests whose output the timeline opened on by itself (once each)
	outputShown map[*parse.Test]bool
	filter      filterPane
	st          styles
	keyOf       map[int]int // follow mode: Update.Key -> index in tests
	loading     bool
	// read is the part of the input read so far, from 0 to 1 (0 when its size is not known).
	read float64
	// flagged maps events that raftviz analyze flags (safety violations, slow round trips)
	// to what it says of them; nil until analysed. analyzed is the number of events the
	// analysis saw.
	flagged  map[int32]string
	analyzed int
	// why is what w shows: explain's findings on a test.
	why whyState
	// dropped holds the summaries of finished tests whose events were let go (Options.Reread).
	dropped map[*parse.Test]testSummary
	// places remembers the event under the cursor in each test left, for coming back.
	places map[*parse.Test]int32
	// complete marks tests that will get no more events (follow and load mode), with their
	// Update.Seq.
	complete map[*parse.Test]int
}

type testSummary struct {
	events int
	nodes  []string
}

// New returns a timeline over tests. It keeps its own compact copy of their events.
func New(tests []*parse.Test, opts Options) *Model {
	m := &Model{opts: opts, tests: tests, held: map[*parse.Test]*evstore.Events{}, keys: defaultKeys(), help: help.New(), width: 100, height: 30,
		follow: opts.Follow, arrows: opts.Arrows, group: opts.Group, loading: opts.Loading, hidden: map[string]bool{}, hideKind: map[string]bool{}, st: newStyles(opts.NoColor)}
	if len(m.tests) == 0 {
		m.tests = []*parse.Test{{Name: "(no events yet)", Implicit: true}}
	}
	for _, t := range m.tests {
		m.held[t] = storeOf(t.Events)
	}
	m.prompt = newPromptLine()
	m.cur = min(max(opts.Test, 0), len(m.tests)-1)
	m.selectTest(m.cur)
	for m.behind() { // not yet a program: no keys to answer meanwhile
		m.catchUp()
	}
	if m.follow {
		m.cursor = max(m.rows.Len()-1, 0)
	}
	return m
}

// Init implements tea.Model: it starts the analysis of the first test.
func (m *Model) Init() tea.Cmd { return m.keepWorking() }

// Test returns the test on screen. Its events are Events'.
func (m *Model) Test() *parse.Test { return m.tests[m.cur] }

// Events returns the events of the test on screen, as far as they came.
func (m *Model) Events() *evstore.Events { return m.held[m.Test()] }

// storeOf keeps events compactly.
func storeOf(events []parse.Event) *evstore.Events {
	var b evstore.Builder
	b.Add(events...)
	return b.Events()
}

// start is the time of the first event of the test on screen (0 when it has none): relative
// times count from it.
func (m *Model) start() int64 {
	if ev := m.Events(); ev.Len() > 0 {
		t, _ := ev.Time(0)
		return t
	}
	return 0
}

// Cursor returns the event under the cursor (nil on a separator row).
func (m *Model) Cursor() *parse.Event {
	if m.cursor >= m.rows.Len() {
		return nil
	}
	r := m.rows.At(m.cursor)
	if !r.isEvent() {
		return nil
	}
	e := m.Events().At(int(r.idx))
	return &e
}

// openTest shows test i as a user's pick (the picker, the next or previous test): one whose
// events were let go is read again first while the screen keeps the test shown.
func (m *Model) openTest(i int) {
	t := m.tests[i]
	if _, gone := m.dropped[t]; gone && i != m.cur && m.rows.Len() > 0 {
		m.cancelWork(workReread) // for a test opened before, not yet read
		m.opening, m.wantReread = t, true
		m.status = "opening " + t.ID() + "…"
		return
	}
	m.opening = nil
	m.selectTest(i)
}

// readTarget is the test to read again: the one being opened, or the one shown.
func (m *Model) readTarget() *parse.Test {
	if m.opening != nil {
		return m.opening
	}
	return m.Test()
}

func (m *Model) selectTest(i int) {
	m.opening = nil
	if m.cur < len(m.tests) && m.cursor < m.rows.Len() {
		// Coming back to a test finds the cursor where it was left.
		if m.places == nil {
			m.places = map[*parse.Test]int32{}
		}
		m.places[m.tests[m.cur]] = m.rows.At(m.cursor).idx
	}
	if m.opts.Reread != nil && m.cur != i && m.cur < len(m.tests) {
		m.drop(m.tests[m.cur])
	}
	m.cur = i
	m.cancelWork(workReread) // for the test left
	m.hidden, m.hideKind = map[string]bool{}, map[string]bool{}
	m.cursor, m.top, m.hscroll = 0, 0, 0
	m.rows.Truncate(0) // the last test's rows say nothing of where to put the cursor
	if _, gone := m.dropped[m.tests[i]]; gone {
		// Read again in the background (keepWorking starts it): until then the test shows
		// its columns and no rows.
		m.status = "reading " + m.tests[i].ID() + " again…"
		m.wantReread = true
	}
	m.showTest()
}

// showTest lays out the test on screen: columns, rows, the analysis to come, the cursor where
// it was left, and a failed test's output.
func (m *Model) showTest() {
	t := m.Test()
	m.ix = newIndex(m.group)
	if s, gone := m.dropped[t]; gone {
		for _, n := range s.nodes { // its columns, until its events are read again
			m.ix.addNode(n)
		}
	}
	m.flagged = nil
	m.cancelWork(workAnalysis)
	m.wantAnalysis = true
	m.place = -1
	if idx, ok := m.places[t]; ok {
		m.place = idx
	}
	m.rebuild()
	m.openOnFailure()
}

// catchUpEvents is how many events one step of catchUp indexes and lays out: a few
// milliseconds of work, so that a key waits no longer while a million events load or are
// laid out again.
const catchUpEvents = 1 << 12

// behind reports whether events of the test shown are not yet indexed or laid out.
func (m *Model) behind() bool {
	return m.ix.observed < m.Events().Len() || m.build.to < m.ix.observed
}

// catchUp indexes and lays out the next catchUpEvents events of the test shown (keepWorking
// goes on with the rest, after the keys that come meanwhile). The rows before stay as they
// are, and so does the cursor, unless follow mode moves it to the end or it waits for a place
// to go to (the event it was on before the rows were built again, or left on in the test).
func (m *Model) catchUp() {
	ev := m.Events()
	m.ix.observeTo(ev, min(ev.Len(), m.ix.observed+catchUpEvents))
	if m.build.to < m.ix.observed {
		cursor, top := m.cursor, m.top
		m.extendRows(m.build.to + catchUpEvents)
		m.cursor, m.top = cursor, top
		if m.follow {
			m.cursor = max(m.rows.Len()-1, 0)
		}
	}
	if m.place >= 0 && (int(m.place) < m.build.next || !m.behind()) {
		m.cursorToEvent(m.place)
		m.place = -1
		m.clamp()
		m.reveal()
	}
	m.clamp()
}

// startReread reads the test on screen, let go, again (background work).
func (m *Model) startReread() tea.Cmd {
	t := m.readTarget()
	want, from, reread := m.complete[t], rereadFrom(t, m.complete[t]), m.opts.Reread
	return m.startWork(workReread, func(ctx context.Context) func(*Model) tea.Cmd {
		var found *parse.Test
		var events *evstore.Events
		err := reread(ctx, from, func(seq int, nt *parse.Test) error {
			if seq >= want {
				if seq == want {
					found, events = nt, storeOf(nt.Events)
				}
				return errStop
			}
			return ctx.Err()
		})
		return func(m *Model) tea.Cmd {
			if m.readTarget() != t {
				return nil
			}
			if found == nil || found.ID() != t.ID() {
				if err == nil || errors.Is(err, errStop) {
					err = fmt.Errorf("the log no longer has it in its place (was it rewritten?)")
				}
				m.status = fmt.Sprintf("cannot read %s again: %v", t.ID(), err)
				m.opening = nil
				return nil
			}
			m.held[t] = events
			delete(m.dropped, t)
			if strings.HasPrefix(m.status, "reading "+t.ID()) {
				m.status = ""
			}
			if m.opening == t {
				for i, x := range m.tests {
					if x == t {
						m.selectTest(i)
						m.status = fmt.Sprintf("test %d/%d: %s", i+1, len(m.tests), t.ID())
					}
				}
				return nil
			}
			m.showTest()
			return nil
		}
	})
}

// openOnFailure opens a failed test on its own output (once): the failure is what a user
// looks for first.
func (m *Model) openOnFailure() {
	t := m.Test()
	if t.Status != parse.StatusFail || m.outputShown[t] || m.mode != modeTable || len(t.Output()) == 0 || m.opts.At != "" {
		return
	}
	if m.outputShown == nil {
		m.outputShown = map[*parse.Test]bool{}
	}
	m.outputShown[t] = true
	m.showOutput()
}

// nextGroup shows the next Raft group of a log of several (all of them after the last): its
// events, with the servers' own lines, and its terms, leaders and roles in the header.
func (m *Model) nextGroup() {
	groups := m.ix.groups
	if len(groups) == 0 {
		m.status = "this log names no Raft groups (one group: all of it is shown)"
		return
	}
	at := slices.Index(groups, m.group) // -1 for "all"
	if at+1 < len(groups) {
		m.group = groups[at+1]
		m.status = "group " + m.group + " (" + strconv.Itoa(at+2) + "/" + strconv.Itoa(len(groups)) + ")"
	} else {
		m.group = ""
		m.status = "all " + strconv.Itoa(len(groups)) + " groups"
	}
	// The index follows the group's terms and leaders: index again, knowing the groups.
	ix := newIndex(m.group)
	for _, n := range m.ix.nodes {
		ix.addNode(n)
	}
	for _, g := range groups {
		ix.inGroup[g] = true
	}
	ix.groups = slices.Clone(groups)
	m.ix = ix
	m.rebuild()
}

// Interrupted reports whether the timeline was quit with ctrl+c (rather than q).
func (m *Model) Interrupted() bool { return m.interrupted }

// rebuild lays the rows out again after a change of test, filter, folding or spacing, a
// slice at a time (catchUp), the cursor going back to the event it was on once its row is
// there.
func (m *Model) rebuild() {
	if m.place < 0 && m.cursor < m.rows.Len() { // a place still to go to stays the one
		m.place = m.rows.At(m.cursor).idx
	}
	m.rows.Truncate(0)
	m.build = rowBuild{unit: m.gapUnit()}
	m.cursor, m.top = 0, 0
	m.catchUp()
}

// rowBuild is where building the rows stopped: events arriving later (while a log loads, or
// in follow mode) are added to the rows from there, not by building them all again, so that a
// batch costs what it brings and keys keep their speed while a million events load.
type rowBuild struct {
	to       int // events laid out so far (the last of them maybe again later: see next)
	next     int // first event not in the rows
	rows     int // rows that later events cannot change; those after are built again
	prevTime int64
	prevTerm uint64
	haveTime bool
	ci       int // walks the change list in step with the events
	// unit is, in proportional mode, the time a blank row stands for: the median gap of the
	// events there when the rows were built (not built again as more come).
	unit int64
}

// extendRows adds the rows of the events past m.build.next, up to event to. A run of
// heartbeats that reaches the last event laid out may still grow into a fold: its rows are
// built again with the next events.
func (m *Model) extendRows(to int) {
	ev := m.Events()
	b := &m.build
	m.rows.Truncate(b.rows)
	var open rowBuild // the state before the run of heartbeats open at the end, if haveOpen
	haveOpen := false
	end := min(to, m.ix.observed) // the rows follow the index: the change list must cover them
	for i := b.next; i < end; i++ {
		event := ev.At(i)
		e := &event
		if !m.visible(e) {
			continue
		}
		before := *b
		before.next, before.rows = i, m.rows.Len()
		for b.ci+1 < len(m.ix.changes) && m.ix.changes[b.ci+1].idx <= i {
			b.ci++
		}
		if term := m.ix.changes[b.ci].term; term != b.prevTerm && m.ix.changes[b.ci].idx <= i {
			if i > 0 {
				m.rows.Append(row{kind: rowTerm, idx: int32(i), n: int32(term)})
			}
			b.prevTerm = term
		}
		if m.scaled && b.haveTime && e.HasTime() && b.unit > 0 {
			if d := e.Time - b.prevTime; d > b.unit {
				lines := min(int(d/b.unit), 12)
				for k := 0; k < lines; k++ {
					m.rows.Append(row{kind: rowGap, idx: int32(i), n: int32(k)})
				}
			}
		}
		if e.HasTime() {
			b.prevTime, b.haveTime = e.Time, true
		}
		if m.fold && m.foldable(i, e) {
			j := i + 1
			for ; j < end; j++ {
				if next := ev.At(j); !m.foldable(j, &next) && m.visible(&next) {
					break
				}
			}
			if j == end && !haveOpen {
				open, haveOpen = before, true
			}
			if j-i >= 3 {
				m.rows.Append(row{kind: rowFold, idx: int32(i), n: int32(j - i)})
				i = j - 1
				continue
			}
		}
		m.rows.Append(row{kind: rowEvent, idx: int32(i)})
	}
	if haveOpen {
		*b = open
	} else {
		b.next, b.rows = end, m.rows.Len()
	}
	b.to = end
}

// foldable reports whether event i folds into a run of heartbeats: a heartbeat the analysis
// does not flag (a flagged one keeps its row, so that v lands on it and the line under the
// table shows it).
func (m *Model) foldable(i int, e *parse.Event) bool {
	if !isHeartbeat(e) {
		return false
	}
	_, flagged := m.flagged[int32(i)]
	_, why := m.whyMark(int32(i))
	return !flagged && !why
}

// cursorToEvent puts the cursor on the row of event idx (a fold holding it), or the first
// row after it.
func (m *Model) cursorToEvent(idx int32) {
	k := m.rows.Search(func(r row) bool { return r.idx >= idx })
	if k > 0 && (k == m.rows.Len() || m.rows.At(k).idx > idx) {
		if r := m.rows.At(k - 1); r.kind == rowFold && idx < r.idx+r.n {
			k--
		}
	}
	m.cursor = min(k, max(m.rows.Len()-1, 0))
}

// gapUnit is the time one blank row stands for in proportional mode: the median gap between
// events (sampled), so that ordinary spacing adds nothing and pauses stand out to scale.
func (m *Model) gapUnit() int64 {
	if !m.scaled {
		return 0
	}
	ev := m.Events()
	step := max(1, ev.Len()/4096)
	var gaps []int64
	for i := step; i < ev.Len(); i += step {
		t, timed := ev.Time(i)
		if before, _ := ev.Time(i - step); t-before > 0 && timed {
			gaps = append(gaps, (t-before)/int64(step))
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	sort.Slice(gaps, func(a, b int) bool { return gaps[a] < gaps[b] })
	return max(gaps[len(gaps)/2]*4, int64(time.Millisecond))
}

func (m *Model) visible(e *parse.Event) bool { return visibleIn(m.hidden, m.hideKind, m.group, e) }

// visibleIn reports whether the filter that hides the nodes hidden and the kinds hideKind,
// and shows Raft group group only, shows e.
func visibleIn(hidden, hideKind map[string]bool, group string, e *parse.Event) bool {
	if hidden[e.Node] || !e.InGroup(group) {
		return false
	}
	return e.Kind == "" || !hideKind[e.Kind]
}

// isFault is the test x and X jump by: faults, a node stopping, and the last line of a node
// that crashed without a word (see index.silentCrash). It reads a copy of what it needs, as
// a jump's test must.
func (m *Model) isFault() func(int, *parse.Event) bool {
	silent := maps.Clone(m.ix.silent)
	return func(i int, e *parse.Event) bool { return isFaultOrStop(e) || silent[i] != "" }
}

// eventIs makes a jump's test of an event from a test that needs no index.
func eventIs(f func(*parse.Event) bool) func(int, *parse.Event) bool {
	return func(_ int, e *parse.Event) bool { return f(e) }
}

// bodyHeight is the number of table rows on screen.
func (m *Model) bodyHeight() int {
	h := m.height - 4 // title, column header, the message line, footer
	if m.help.ShowAll {
		h -= len(m.keys.FullHelp()[0]) + 1 + len(m.legendLines(m.width))
	}
	if m.mode == modePrompt || m.status != "" || m.notice != "" {
		h--
	}
	return max(h, 1)
}

// clamp keeps the cursor on screen.
func (m *Model) clamp() {
	n := m.rows.Len()
	m.cursor = min(max(m.cursor, 0), max(n-1, 0))
	h := m.bodyHeight()
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+h {
		m.top = m.cursor - h + 1
	}
	m.top = min(max(m.top, 0), max(n-h, 0))
}

func (m *Model) move(delta int) {
	m.cursor = min(max(m.cursor+delta, 0), max(m.rows.Len()-1, 0))
	if delta < 0 {
		m.follow = false
	}
	// The cursor rests on events: term rules and the blank rows of time passing are stepped
	// over in the direction of the move (or back, at either end).
	dir := 1
	if delta < 0 {
		dir = -1
	}
	for _, d := range []int{dir, -dir} {
		i := m.cursor
		for i >= 0 && i < m.rows.Len() && !m.rows.At(i).isEvent() {
			i += d
		}
		if i >= 0 && i < m.rows.Len() {
			m.cursor = i
			break
		}
	}
	m.clamp()
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.keys.width = msg.Width
		m.help.SetWidth(msg.Width)
		m.pane.resize(msg.Width, msg.Height)
		if m.mode == modePicker {
			m.pick.resize(msg.Width, msg.Height) // the test column's width follows the screen's
		}
		m.clamp()
		return m, nil
	case AppendMsg:
		m.append(msg)
		if msg.Done && m.opts.At != "" && !m.atDone {
			m.atDone = true // the place asked for, once every row of the test can be there
			return m, tea.Batch(m.jumpTo(m.opts.At), m.keepWorking())
		}
		return m, m.keepWorking()
	case workMsg:
		return m, tea.Batch(m.finishWork(msg), m.keepWorking())
	case NoticeMsg:
		m.notice = msg.Text
		m.clamp()
		return m, nil
	case pagerDoneMsg:
		if msg.err != nil {
			m.status = "pager: " + msg.err.Error()
			m.clamp()
		}
		return m, nil
	case tea.MouseWheelMsg:
		if m.mode == modeTable {
			switch msg.Button {
			case tea.MouseWheelUp:
				m.move(-3)
			case tea.MouseWheelDown:
				m.move(3)
			}
		}
		return m, nil
	case tea.KeyPressMsg:
		if r := []rune(msg.Text); len(r) > 1 && m.mode != modePrompt {
			// Keys that arrive together (a held key, a paste) come as one message whose text
			// is all of them; outside the search line each is a command of its own.
			var cmds []tea.Cmd
			for _, c := range r {
				_, cmd := m.Update(tea.KeyPressMsg{Code: c, Text: string(c)})
				cmds = append(cmds, cmd)
			}
			return m, tea.Batch(cmds...)
		}
		var cmd tea.Cmd
		switch m.mode {
		case modePrompt:
			cmd = m.updatePrompt(msg)
		case modePicker:
			cmd = m.updatePicker(msg)
		case modeFilter:
			cmd = m.updateFilter(msg)
		case modeDetail:
			cmd = m.updateDetail(msg)
		default:
			_, cmd = m.updateTable(msg)
		}
		return m, tea.Batch(cmd, m.keepWorking())
	}
	return m, nil
}

func (m *Model) updateTable(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	m.status = ""
	if m.place >= 0 {
		// A cursor moved while the rows come keeps where it was put, not the place left.
		defer func(cursor int, t *parse.Test) {
			if m.cursor != cursor && m.Test() == t {
				m.place = -1
			}
		}(m.cursor, m.Test())
	}
	if p := m.pending; p != pendingNone {
		// The key after m or ' is the mark's letter.
		m.pending = pendingNone
		if msg.Code == tea.KeyEscape {
			return m, nil
		}
		if p == pendingMark {
			m.setMark(msg.Text)
		} else {
			m.goToMark(msg.Text)
		}
		m.clamp()
		return m, nil
	}
	page := m.bodyHeight()
	var cmd tea.Cmd
	switch {
	case m.help.ShowAll && (msg.Code == tea.KeyEscape || msg.String() == "q"):
		m.help.ShowAll = false // esc and q close the full help, as they close every pane
		m.clamp()
	case key.Matches(msg, k.Quit):
		m.quitting = true
		m.interrupted = msg.String() == "ctrl+c"
		for k := range m.work {
			m.cancelWork(workKind(k))
		}
		return m, tea.Quit
	case key.Matches(msg, k.Output):
		m.showOutput()
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.PageDown):
		m.top += page
		m.move(page)
	case key.Matches(msg, k.PageUp):
		m.top -= page
		m.move(-page)
	case key.Matches(msg, k.HalfDown):
		m.top += page / 2
		m.move(max(page/2, 1))
	case key.Matches(msg, k.HalfUp):
		m.top -= page / 2
		m.move(-max(page/2, 1))
	case key.Matches(msg, k.Home):
		m.cursor, m.top, m.follow = 0, 0, false
		m.clamp()
	case key.Matches(msg, k.End):
		m.cursor = m.rows.Len() - 1
		m.clamp()
	case key.Matches(msg, k.Left):
		m.hscroll = max(min(m.hscroll, m.maxHScroll())-1, 0)
	case key.Matches(msg, k.Right):
		m.hscroll = min(m.hscroll+1, m.maxHScroll())
	case key.Matches(msg, k.Search):
		cmd = m.openPrompt(promptSearch, "")
	case key.Matches(msg, k.Jump):
		cmd = m.openPrompt(promptJump, "")
	case key.Matches(msg, k.Mark):
		m.pending, m.status = pendingMark, "mark: type a letter"
	case key.Matches(msg, k.GoToMark):
		m.pending, m.status = pendingGoToMark, "go to mark: type its letter"
	case key.Matches(msg, k.Copy):
		cmd = m.copyEvent()
	case key.Matches(msg, k.Open):
		cmd = m.openInPager()
	case key.Matches(msg, k.Export):
		cmd = m.openPrompt(promptExport, m.exportName())
	case key.Matches(msg, k.NextTest):
		m.stepTest(1)
	case key.Matches(msg, k.PrevTest):
		m.stepTest(-1)
	case key.Matches(msg, k.Next):
		cmd = m.find(1)
	case key.Matches(msg, k.Prev):
		cmd = m.find(-1)
	case key.Matches(msg, k.NextElection):
		cmd = m.jump(eventIs(isElection), 1, "election")
	case key.Matches(msg, k.PrevElection):
		cmd = m.jump(eventIs(isElection), -1, "election")
	case key.Matches(msg, k.NextCommit):
		cmd = m.commitJump(1)
	case key.Matches(msg, k.PrevCommit):
		cmd = m.commitJump(-1)
	case key.Matches(msg, k.NextFault):
		cmd = m.jump(m.isFault(), 1, "fault")
	case key.Matches(msg, k.PrevFault):
		cmd = m.jump(m.isFault(), -1, "fault")
	case key.Matches(msg, k.NextFlag):
		cmd = m.flagJump(1)
	case key.Matches(msg, k.PrevFlag):
		cmd = m.flagJump(-1)
	case key.Matches(msg, k.Why):
		cmd = m.whyKey()
	case key.Matches(msg, k.Follow):
		m.follow = !m.follow
		if m.follow {
			m.cursor = m.rows.Len() - 1
			m.clamp()
		}
	case key.Matches(msg, k.Fold):
		m.fold = !m.fold
		m.rebuild()
	case key.Matches(msg, k.Scale):
		m.scaled = !m.scaled
		m.rebuild()
	case key.Matches(msg, k.Arrows):
		m.arrows = !m.arrows
	case key.Matches(msg, k.Group):
		m.nextGroup()
	case key.Matches(msg, k.Tests):
		m.openPicker()
	case key.Matches(msg, k.Filter):
		m.openFilter()
	case key.Matches(msg, k.Detail):
		m.openDetail()
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	}
	// A status line or the help takes rows from the table: keep the cursor on what is left.
	m.clamp()
	return m, cmd
}

// rowMatches reports whether row r holds an event (by index) for which f is true.
func (m *Model) rowMatches(r row, f func(int32) bool) bool {
	switch r.kind {
	case rowEvent:
		return f(r.idx)
	case rowFold:
		for i := r.idx; i < r.idx+r.n; i++ {
			if f(i) {
				return true
			}
		}
	}
	return false
}

// jumpNearRows is how many rows a jump looks through in Update; past them it looks on as
// background work.
const jumpNearRows = 4096

// jump moves the cursor to the next (dir 1) or previous (-1) row holding an event (index i,
// event e) for which f holds. One within jumpNearRows rows is gone to at once; past them the
// events are looked through as background work (its command is returned), so that a jump with
// nothing to find in a million events never holds the screen. f may run off the model's
// goroutine: it must read only what it captured, and nothing the model changes.
func (m *Model) jump(f func(i int, e *parse.Event) bool, dir int, what string) tea.Cmd {
	return m.jumpFrom(m.cursor, f, dir, what)
}

// jumpFrom is jump from row from (the cursor's, or -1: before the first) instead of the
// cursor.
func (m *Model) jumpFrom(from int, f func(i int, e *parse.Event) bool, dir int, what string) tea.Cmd {
	ev, t := m.Events(), m.Test()
	at := func(i int32) bool { e := ev.At(int(i)); return f(int(i), &e) }
	next := -1 // the event to look on from, past the rows looked through
	for i, n := from+dir, 0; i >= 0 && i < m.rows.Len(); i, n = i+dir, n+1 {
		r := m.rows.At(i)
		if n == jumpNearRows {
			next = int(r.idx)
			if dir < 0 {
				next += int(max(r.n, 1)) - 1 // a fold's last event
			}
			break
		}
		if m.rowMatches(r, at) {
			m.goToRow(i)
			return nil
		}
	}
	word := map[int]string{1: "next", -1: "previous"}[dir]
	if next < 0 && dir > 0 && m.behind() {
		next = m.build.next // rows still to come
	}
	if next < 0 {
		m.status = "no " + word + " " + what
		return nil
	}
	m.status = "looking for the " + word + " " + what + "…"
	hidden, hideKind, group := maps.Clone(m.hidden), maps.Clone(m.hideKind), m.group
	return m.startWork(workJump, func(ctx context.Context) func(*Model) tea.Cmd {
		found := -1
		for i := next; i >= 0 && i < ev.Len(); i += dir {
			if i%4096 == 0 && ctx.Err() != nil {
				return nil
			}
			if e := ev.At(i); visibleIn(hidden, hideKind, group, &e) && f(i, &e) {
				found = i
				break
			}
		}
		return func(m *Model) tea.Cmd {
			if m.Test() != t {
				return nil
			}
			if found < 0 {
				m.status = "no " + word + " " + what
				return nil
			}
			m.status = ""
			if found >= m.build.next {
				m.place = int32(found) // its row is still to be laid out
				return nil
			}
			m.cursorToEvent(int32(found))
			m.goToRow(m.cursor)
			return nil
		}
	})
}

// commitJump is c and C. The free-text lines' commit indexes are read first, those not read
// yet: a few at once, a whole test's (a million lines: up to 150 ms) as background work, the
// jump made when they are read.
func (m *Model) commitJump(dir int) tea.Cmd {
	ev, ix := m.Events(), m.ix
	if ev.Len()-ix.commits.read <= jumpNearRows {
		ix.commits.readTo(nil, ev, ev.Len())
		return m.jump(ix.commitTest(), dir, "commit")
	}
	m.status = "reading the commit indexes…"
	scan := ix.commits.clone()
	return m.startWork(workJump, func(ctx context.Context) func(*Model) tea.Cmd {
		if !scan.readTo(ctx, ev, ev.Len()) {
			return nil
		}
		return func(m *Model) tea.Cmd {
			if m.ix != ix || scan.read <= ix.commits.read {
				return nil // another test, or read meanwhile
			}
			ix.commits = scan
			m.status = ""
			return m.commitJump(dir)
		}
	})
}

// goToRow puts the cursor on row i, on screen, with its node's column.
func (m *Model) goToRow(i int) {
	if i < m.cursor {
		m.follow = false
	}
	m.cursor = i
	m.clamp()
	m.reveal()
}

// reveal scrolls the columns sideways, when it must, so that the node of the event under the
// cursor is on screen: a jump to an event in a column scrolled off would show an empty row.
func (m *Model) reveal() {
	e := m.Cursor()
	if e == nil || e.Node == "*" {
		return
	}
	nodes, _, _ := m.layout()
	if slices.Contains(nodes, e.Node) {
		return
	}
	all := m.shownNodes()
	at := slices.Index(all, e.Node)
	if at < 0 {
		return
	}
	if at < m.hscroll {
		m.hscroll = at
		return
	}
	// Scroll right just enough for the node to be the last column on screen.
	for m.hscroll < at {
		m.hscroll++
		if nodes, _, _ = m.layout(); slices.Contains(nodes, e.Node) {
			return
		}
	}
}

// shownNodes are the node columns not hidden by the filter.
func (m *Model) shownNodes() []string {
	var out []string
	for _, n := range m.ix.nodes {
		if !m.hidden[n] {
			out = append(out, n)
		}
	}
	return out
}

// rereadFrom is where Options.Reread starts to read test t, numbered seq, again: the test of
// lines outside tests may have begun anywhere before, so it is read from the start.
func rereadFrom(t *parse.Test, seq int) int {
	if t.Implicit {
		return -1
	}
	return seq
}

// drop reduces a finished test to its summary when the timeline may read it again.
func (m *Model) drop(t *parse.Test) {
	ev := m.held[t]
	if _, done := m.complete[t]; m.opts.Reread == nil || !done || ev.Len() == 0 {
		return
	}
	if m.dropped == nil {
		m.dropped = map[*parse.Test]testSummary{}
	}
	m.dropped[t] = testSummary{events: ev.Len(), nodes: ev.Nodes()}
	delete(m.held, t)
}

// eventCount and nodesOf report a test's size and columns, also for dropped tests.
func (m *Model) eventCount(t *parse.Test) int {
	if s, ok := m.dropped[t]; ok {
		return s.events
	}
	return m.held[t].Len()
}

func (m *Model) nodesOf(t *parse.Test) []string {
	if s, ok := m.dropped[t]; ok {
		return s.nodes
	}
	return m.held[t].Nodes()
}

// NoticeMsg is a line from the program that runs the timeline, shown at the bottom until the
// next one (a script's progress, its end).
type NoticeMsg struct{ Text string }

// AppendMsg brings events that arrived in follow mode.
type AppendMsg struct {
	// Reset drops everything shown so far (the followed file was truncated or replaced).
	Reset   bool
	Updates []Update
	// Done ends loading (Load).
	Done bool
	// Read and Size are the bytes of input read so far and its size (0: not known): the
	// header shows how far loading is.
	Read, Size int64
}

// Update adds events to one test, creating it when it is new.
type Update struct {
	Key     int // identifies the test across updates
	Name    string
	Attempt int
	Package string // when known
	Status  parse.Status
	// Events are every event of the test so far (nil: none new), a view of an
	// evstore.Builder that its sender (Feed) goes on appending to, off the model's goroutine.
	Events *evstore.Events
	// Complete says the test has finished: no more events will come.
	Complete bool
	// Seq is, when Complete, the test's place among all the tests the input completed (from
	// 0, counting those not sent): Options.Reread hands them out in that order.
	Seq int
	// Other are the test's lines that are not events (its output among them), when complete.
	Other []parse.OtherLine
}

func (m *Model) append(msg AppendMsg) {
	if msg.Size > 0 {
		m.read = min(float64(msg.Read)/float64(msg.Size), 1)
	}
	if msg.Done {
		m.loading = false
		// The test on screen may have been analysed before its events arrived.
		if m.analysisStale() {
			m.wantAnalysis = true
		}
	}
	if msg.Reset {
		m.tests = []*parse.Test{{Name: "(no events yet)", Implicit: true}}
		m.held = map[*parse.Test]*evstore.Events{}
		m.keyOf = nil
		m.selectTest(0)
	}
	if m.keyOf == nil {
		m.keyOf = map[int]int{}
	}
	changed := false
	for _, u := range msg.Updates {
		ti, ok := m.keyOf[u.Key]
		if !ok {
			t := &parse.Test{Name: u.Name, Status: u.Status, Attempt: u.Attempt, Package: u.Package}
			if len(m.tests) == 1 && m.tests[0].Implicit && m.held[m.tests[0]].Len() == 0 && m.tests[0].Name == "(no events yet)" {
				m.tests[0] = t
				ti = 0
			} else {
				m.tests = append(m.tests, t)
				ti = len(m.tests) - 1
			}
			m.keyOf[u.Key] = ti
			if ti == m.cur {
				m.ix = newIndex(m.group)
			}
		}
		t := m.tests[ti]
		t.Status = u.Status
		if u.Package != "" {
			t.Package = u.Package
		}
		if len(u.Other) > 0 {
			t.Other = u.Other
		}
		if u.Events != nil {
			m.held[t] = u.Events
		}
		if u.Complete {
			if m.complete == nil {
				m.complete = map[*parse.Test]int{}
			}
			m.complete[t] = u.Seq
		}
		if ti != m.cur {
			m.drop(t)
			continue
		}
		changed = true
	}
	defer m.openOnFailure()
	if changed {
		m.catchUp()
	}
}
