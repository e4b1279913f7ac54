package timeline

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// Work proportional to a test (counting a search's matches, reading other tests again, the
// analysis) never runs inside Update: it runs as a tea.Cmd and hands back a function that
// applies its result to the model. One piece of work of each kind runs at a time; a new
// request of a kind cancels the one before, and the result of a cancelled one is dropped.

// workKind says what a piece of work is for.
type workKind uint8

const (
	workSearch   workKind = iota // counting matches, searching other tests
	workAnalysis                 // raftviz analyze's checks on the test shown
	workReread                   // reading the test shown, let go, again from the log
	workCatchUp                  // indexing and laying out the events that came, a slice at a time
	workJump                     // looking for the next election, fault, commit or flagged event
	workExport                   // writing the rows in view to a file
	workExplain                  // raftviz explain's findings on the test shown (w)
	workKinds
)

// workFunc does the work, off the model's goroutine: it must not read or write the model, only
// what it captured. It returns what to do with the result on the model's goroutine (nil:
// nothing).
type workFunc func(ctx context.Context) func(*Model) tea.Cmd

// work is a piece of work under way.
type work struct {
	kind   workKind
	gen    int
	ctx    context.Context
	cancel context.CancelFunc
	run    workFunc
}

// workMsg brings a piece of work's result back to Update.
type workMsg struct {
	kind  workKind
	gen   int
	apply func(*Model) tea.Cmd
}

// startWork cancels the work of kind under way and starts run.
func (m *Model) startWork(kind workKind, run workFunc) tea.Cmd {
	m.cancelWork(kind)
	m.workGen++
	ctx, cancel := context.WithCancel(context.Background())
	w := &work{kind: kind, gen: m.workGen, ctx: ctx, cancel: cancel, run: run}
	m.work[kind] = w
	return func() tea.Msg { return workMsg{kind: kind, gen: w.gen, apply: w.run(w.ctx)} }
}

// cancelWork stops the work of kind under way, if any.
func (m *Model) cancelWork(kind workKind) {
	if w := m.work[kind]; w != nil {
		w.cancel()
		m.work[kind] = nil
	}
}

// finishWork applies a piece of work's result, unless newer work replaced it.
func (m *Model) finishWork(msg workMsg) tea.Cmd {
	w := m.work[msg.kind]
	if w == nil || msg.gen != w.gen {
		return nil
	}
	w.cancel()
	m.work[msg.kind] = nil
	if msg.apply == nil {
		return nil
	}
	cmd := msg.apply(m)
	m.clamp() // a result may have set the status line, which takes a row
	return cmd
}

// keepWorking starts the work the model waits for when nothing of its kind runs: reading a
// test picked after it was let go, counting a search in a test just opened or in events that
// arrived since, and the analysis of a test just opened (and read) or finished loading.
func (m *Model) keepWorking() tea.Cmd {
	if m.quitting {
		return nil
	}
	if m.work[workCatchUp] == nil && m.behind() {
		// Nothing to do off the model's goroutine: the step runs in Update, where the keys
		// that came meanwhile have been answered.
		return m.startWork(workCatchUp, func(context.Context) func(*Model) tea.Cmd {
			return func(m *Model) tea.Cmd { m.catchUp(); return nil }
		})
	}
	var cmds []tea.Cmd
	if m.work[workSearch] == nil && !m.srch.q.Empty() && (m.srch.test != m.Test() || !m.searchDone()) {
		cmds = append(cmds, m.countHits())
	}
	_, gone := m.dropped[m.Test()]
	if _, targetGone := m.dropped[m.readTarget()]; targetGone && m.wantReread && m.work[workReread] == nil {
		m.wantReread = false
		cmds = append(cmds, m.startReread())
	}
	if m.work[workAnalysis] == nil && m.wantAnalysis && !gone {
		m.wantAnalysis = false
		if m.Events().Len() <= autoAnalyzeEvents {
			cmds = append(cmds, m.startAnalysis(0))
		}
	}
	return tea.Batch(cmds...)
}
