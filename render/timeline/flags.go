package timeline

import (
	"github.com/raftviz/raftviz/parse/analyze"
)

// autoAnalyzeEvents is the test size up to which the timeline runs the analysis when a test
// is opened; bigger tests are analysed on the first v/V.
const autoAnalyzeEvents = 200_000

// analyze runs raftviz analyze's checks on the test on screen and marks the events it flags.
func (m *Model) analyze() {
	t := m.Test()
	m.flagged = map[int32]string{}
	m.analyzed = len(t.Events)
	if len(t.Events) == 0 {
		return
	}
	r := analyze.Test(t, analyze.Options{NoLinearizability: true})
	byLine := make(map[[2]int32]int32, 8)
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
		return
	}
	for i := range t.Events {
		k := [2]int32{int32(t.Events[i].File), t.Events[i].Line}
		if _, ok := want[k]; ok {
			byLine[k] = int32(i)
		}
	}
	for k, why := range want {
		if i, ok := byLine[k]; ok {
			m.flagged[i] = why
		}
	}
}

// analysisStale reports whether the flags miss events: none were computed, or events arrived
// since (a test that streamed in after it was opened).
func (m *Model) analysisStale() bool { return m.flagged == nil || m.analyzed != len(m.Test().Events) }
