package timeline

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
)

// autoAnalyzeEvents is the test size up to which the timeline runs the analysis when a test
// is opened; bigger tests are analysed on the first v/V.
const autoAnalyzeEvents = 200_000

// startAnalysis runs raftviz analyze's checks on the test on screen in the background and
// marks the events it flags; then, when dir is not 0, it jumps to the next (1) or previous
// (-1) flagged event.
func (m *Model) startAnalysis(dir int) tea.Cmd {
	t, ev := m.Test(), m.Events()
	// A copy of the test as it is now (the view of its events does not change).
	snap := *t
	return m.startWork(workAnalysis, func(ctx context.Context) func(*Model) tea.Cmd {
		snap.Events = ev.Slice(0, ev.Len())
		flagged := analyzeFlags(&snap)
		return func(m *Model) tea.Cmd {
			if m.Test() != t {
				return nil
			}
			m.flagged, m.analyzed = flagged, len(snap.Events)
			if m.fold && len(flagged) > 0 {
				m.rebuild() // flagged heartbeats come out of their folds
			}
			if dir != 0 {
				return m.jumpToFlag(dir)
			}
			return nil
		}
	})
}

// analyzeFlags maps the events of t that raftviz analyze flags (safety violations, slow round
// trips) to what it says of them.
func analyzeFlags(t *parse.Test) map[int32]string {
	flagged := map[int32]string{}
	if len(t.Events) == 0 {
		return flagged
	}
	r := analyze.Test(t, analyze.Options{NoLinearizability: true})
	want := map[[2]int32]string{}
	for _, v := range r.Violations {
		for _, ref := range v.Events {
			want[[2]int32{int32(ref.File), ref.Line}] = "VIOLATION " + v.Check + ": " + v.Detail
		}
	}
	for _, ref := range r.Slow {
		k := [2]int32{int32(ref.File), ref.Line}
		if _, ok := want[k]; !ok {
			want[k] = "slow round trip: " + ref.Msg
		}
	}
	if len(want) == 0 {
		return flagged
	}
	for i := range t.Events {
		if why, ok := want[[2]int32{int32(t.Events[i].File), t.Events[i].Line}]; ok {
			flagged[int32(i)] = why
		}
	}
	return flagged
}

// flagJump is v and V: the next or previous flagged event, analysing first when the flags
// miss events.
func (m *Model) flagJump(dir int) tea.Cmd {
	if m.analysisStale() {
		m.status = "analysing " + m.Test().ID() + "…"
		return m.startAnalysis(dir)
	}
	return m.jumpToFlag(dir)
}

// jumpToFlag moves to the next (1) or previous (-1) flagged event.
func (m *Model) jumpToFlag(dir int) tea.Cmd {
	if len(m.flagged) == 0 {
		m.status = "analysis flags nothing in this test"
		return nil
	}
	flagged := m.flagged // never written again: a new analysis makes a new map
	return m.jump(func(i int, _ *parse.Event) bool { _, ok := flagged[int32(i)]; return ok }, dir, "flagged event")
}

// analysisStale reports whether the flags miss events: none were computed, or events arrived
// since (a test that streamed in after it was opened).
func (m *Model) analysisStale() bool { return m.flagged == nil || m.analyzed != m.Events().Len() }
