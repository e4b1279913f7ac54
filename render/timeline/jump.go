package timeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
)

// Jumps to a place: a row or a time typed after :, marks set with m and a letter and gone
// back to with ' and the letter, and the next or previous test.

// jumpTo goes to what was typed after ':': a row number as the title shows it (":8006"), a
// time of day as the time column shows it (":00:00:08.8", ":08.8" is not one), or an offset
// from the test's start (":+1.5s", ":250ms"). It lands on the first event at or after it.
func (m *Model) jumpTo(s string) tea.Cmd {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > m.rows.Len() {
			m.status = fmt.Sprintf("no row %d: this test has %d", n, m.rows.Len())
			return nil
		}
		m.cursor = n - 1
		m.move(0)
		m.reveal()
		return nil
	}
	at, err := m.timeTarget(s)
	if err != nil {
		m.status = err.Error()
		return nil
	}
	// Looked for from the first row on, as a jump is (in the background past the rows near).
	return m.jumpFrom(-1, func(_ int, e *parse.Event) bool { return e.HasTime() && at(e) }, 1, "event at or after "+s)
}

// timeTarget reads a time typed after ':' into a test of whether an event is at or after it.
func (m *Model) timeTarget(s string) (at func(*parse.Event) bool, err error) {
	bad := fmt.Errorf("cannot go to %q: give a row (8006), a time of day (00:00:08.8) or an offset from the start (+1.5s)", s)
	if strings.Contains(s, ":") {
		clock, err := parseClock(s)
		if err != nil {
			return nil, bad
		}
		return func(e *parse.Event) bool { return e.Clock() >= clock }, nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(s, "+"))
	if err != nil || d < 0 {
		return nil, bad
	}
	start := m.start()
	return func(e *parse.Event) bool { return e.Time-start >= int64(d) }, nil
}

// parseClock reads HH:MM:SS with an optional fraction, or HH:MM, into nanoseconds since
// midnight.
func parseClock(s string) (int64, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("not a time of day")
	}
	h, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	var sec float64
	var err3 error
	if len(parts) == 3 {
		sec, err3 = strconv.ParseFloat(parts[2], 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("not a time of day")
	}
	return int64(h)*3600e9 + int64(mi)*60e9 + int64(sec*1e9+0.5), nil
}

// pendingKey says what the next key completes: the letter of a mark to set or to go to.
type pendingKey uint8

const (
	pendingNone pendingKey = iota
	pendingMark
	pendingGoToMark
)

// mark is a place marked with m and a letter: an event of a test.
type mark struct {
	test *parse.Test
	idx  int32
}

// setMark marks the event under the cursor with letter c.
func (m *Model) setMark(c string) {
	if !isMarkLetter(c) {
		m.status = "a mark is a letter: m then a-z"
		return
	}
	if m.cursor >= m.rows.Len() {
		return
	}
	if m.marks == nil {
		m.marks = map[string]mark{}
	}
	m.marks[c] = mark{test: m.Test(), idx: m.rows.At(m.cursor).idx}
	m.status = "mark " + c + " set: ' " + c + " comes back here"
}

// goToMark goes to the event marked c, in whichever test it is.
func (m *Model) goToMark(c string) {
	mk, ok := m.marks[c]
	if !ok {
		m.status = "no mark " + strconv.Quote(c) + " (m and a letter sets one)"
		return
	}
	for i, t := range m.tests {
		if t == mk.test {
			if i != m.cur {
				if m.places == nil {
					m.places = map[*parse.Test]int32{}
				}
				m.places[t] = mk.idx // where a test read again opens
				m.selectTest(i)
			}
			m.cursorToEvent(mk.idx)
			m.move(0)
			m.reveal()
			return
		}
	}
	m.status = "mark " + c + " was in a test that is gone"
}

// markAt returns the letter of a mark on event idx of the test shown ("" for none).
func (m *Model) markAt(idx int32) string {
	for c, mk := range m.marks {
		if mk.idx == idx && mk.test == m.Test() {
			return c
		}
	}
	return ""
}

func isMarkLetter(c string) bool { return len(c) == 1 && c[0] >= 'a' && c[0] <= 'z' }

// stepTest shows the next (dir 1) or previous (-1) test.
func (m *Model) stepTest(dir int) {
	i := m.cur + dir
	if i < 0 || i >= len(m.tests) {
		m.status = map[int]string{1: "this is the last test", -1: "this is the first test"}[dir]
		return
	}
	m.openTest(i)
	if m.opening == nil && (m.status == "" || m.wantReread) {
		m.status = fmt.Sprintf("test %d/%d: %s", i+1, len(m.tests), m.Test().ID())
	}
}
