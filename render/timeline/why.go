package timeline

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
	"github.com/raftviz/raftviz/parse/explain"
)

// whyState is what w showed of the test on screen: raftviz explain's findings on it (as many
// events as it had then), and the one w shows next.
type whyState struct {
	test     *parse.Test
	events   int
	findings []explain.Finding
	next     int
	// marks are the events of the finding shown, with what it says: drawn as ‹ in the time
	// column, and named in the detail view.
	marks map[int32]string
}

// whyKey is w: raftviz explain runs on the test shown (in the background, the first time or
// when events came since), and each press goes to its next finding, its events marked.
func (m *Model) whyKey() tea.Cmd {
	t, ev := m.Test(), m.Events()
	if m.why.test == t && m.why.events == ev.Len() {
		return m.showWhy()
	}
	m.status = "explaining " + t.ID() + "…"
	snap := *t // a copy of the test as it is now (the view of its events does not change)
	return m.startWork(workExplain, func(ctx context.Context) func(*Model) tea.Cmd {
		snap.Events = ev.Slice(0, ev.Len())
		ex := explain.Explain(&snap, analyze.Test(&snap, analyze.Options{NoLinearizability: true}))
		return func(m *Model) tea.Cmd {
			if m.Test() != t {
				return nil
			}
			m.why = whyState{test: t, events: len(snap.Events), findings: ex.Findings}
			return m.showWhy()
		}
	})
}

// showWhy goes to the next finding: the cursor on its anomaly, its events marked, what it says
// on the status line.
func (m *Model) showWhy() tea.Cmd {
	w := &m.why
	if len(w.findings) == 0 {
		w.marks = nil
		m.status = "explain: no anomaly found in this test"
		return nil
	}
	k := w.next
	f := w.findings[k]
	w.next = (k + 1) % len(w.findings)
	what := fmt.Sprintf("why %d/%d [%s, %s]: %s", k+1, len(w.findings), f.Rule, f.Certainty, f.Anomaly)
	w.marks = make(map[int32]string, len(f.Chain))
	for _, s := range f.Chain {
		w.marks[int32(s.Event)] = what
	}
	if m.fold {
		m.rebuild() // marked heartbeats come out of their folds
	}
	m.status = what
	if f.At.Event < 0 {
		return nil // a finding with no event to go to (a deadlock in a test that printed none)
	}
	if f.At.Event >= m.build.next {
		m.place = int32(f.At.Event) // its row is still to be laid out
		return nil
	}
	m.cursorToEvent(int32(f.At.Event))
	m.goToRow(m.cursor)
	return nil
}

// whyMark is what the finding w shows says of event i, if it is one of its events.
func (m *Model) whyMark(i int32) (string, bool) {
	if m.why.test != m.Test() {
		return "", false
	}
	s, ok := m.why.marks[i]
	return s, ok
}
