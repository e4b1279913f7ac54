package timeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/evstore"
)

// Search: a query is counted over the whole test in the background (chunk by chunk, so a key
// is answered while a million events are searched), n and N then step through the hits, and a
// search with nothing more in this test goes on in the tests after (or before) it.

// hitIn reports whether the search finds an event: in its message, kind or fields
// (parse.Query, as raftviz --grep looks), or in its node when the query names it whole.
func hitIn(q parse.Query, e *parse.Event) bool {
	return q.Matches(e) || strings.EqualFold(e.Node, q.String())
}

// searchChunk is how many events one step of counting reads: a few milliseconds of work, so
// that keys and screen updates come between the steps.
var searchChunk = 1 << 16

// searchState is the search's state for the test on screen.
type searchState struct {
	q       parse.Query
	test    *parse.Test
	hits    []int32 // matching events of test, in order, among the first counted
	counted int
	// want is a jump waiting for the count to reach past the cursor: 1 next, -1 previous, 0
	// none.
	want int
	// here lets that jump stay on the cursor's row when it matches: a new search starts there.
	here bool
	// said is the status line last set for a hit while counting, prefix what it began with:
	// when the count completes and the line still shows, it is said again with the total.
	said, prefix string
}

// searchDone reports whether the search's hits cover every event of its test so far.
func (m *Model) searchDone() bool {
	return m.srch.test != nil && m.srch.counted >= m.held[m.srch.test].Len()
}

// hit reports whether event i is a hit.
func (s *searchState) hit(i int32) bool {
	if s.q.Empty() {
		return false
	}
	k := sort.Search(len(s.hits), func(j int) bool { return s.hits[j] >= i })
	return k < len(s.hits) && s.hits[k] == i
}

// submitSearch starts the search typed after /.
func (m *Model) submitSearch(typed string) tea.Cmd {
	q, err := parse.NewQuery(strings.TrimSpace(typed))
	if err != nil {
		m.status = err.Error()
		return nil
	}
	if q.Empty() {
		return nil
	}
	return m.startSearch(q, 1)
}

// startSearch sets a new query and counts it over the test on screen; dir is the jump to make
// as soon as the count allows (0: none).
func (m *Model) startSearch(q parse.Query, dir int) tea.Cmd {
	m.srch = searchState{q: q, want: dir, here: true}
	return m.countHits()
}

// countHits counts the search's next chunk of the test on screen in the background, or, when
// every event is counted, makes the jump that waited for it.
func (m *Model) countHits() tea.Cmd {
	s := &m.srch
	t := m.Test()
	if s.q.Empty() {
		return nil
	}
	if s.test != t {
		s.test, s.hits, s.counted = t, nil, 0
	}
	if s.want != 0 && m.jumpToHit(s.want, false) {
		s.want, s.here = 0, false
	}
	if m.searchDone() {
		if s.said != "" && m.status == s.said {
			m.status = s.prefix + m.hitStatus(m.hitUnderCursor())
		}
		if s.want != 0 {
			dir := s.want
			s.want = 0
			return m.searchOtherTests(dir)
		}
		return nil
	}
	if s.want != 0 {
		m.status = fmt.Sprintf("searching %q… %d%%", s.q.String(), s.counted*100/max(m.Events().Len(), 1))
	}
	ev, q := m.Events(), s.q // a view: later events do not change it
	from, to := s.counted, min(s.counted+searchChunk, ev.Len())
	return m.startWork(workSearch, func(ctx context.Context) func(*Model) tea.Cmd {
		var hits []int32
		for i := from; i < to; i++ {
			if e := ev.At(i); hitIn(q, &e) {
				hits = append(hits, int32(i))
			}
		}
		return func(m *Model) tea.Cmd {
			if m.srch.test != t || m.srch.counted != from {
				return nil
			}
			m.srch.hits = append(m.srch.hits, hits...)
			m.srch.counted = to
			return m.countHits()
		}
	})
}

// jumpToHit moves the cursor to the next (dir 1) or previous (-1) hit among those counted. When
// the count is complete and there is none, it says so unless quiet.
func (m *Model) jumpToHit(dir int, quiet bool) bool {
	s := &m.srch
	if m.cursor >= m.rows.Len() {
		return false
	}
	at := m.rows.At(m.cursor).idx
	if dir < 0 && !m.searchDone() && int(at) >= s.counted {
		return false // the nearest hit before the cursor may not be counted yet
	}
	if m.rows.At(m.cursor).kind == rowFold && dir > 0 {
		at += m.rows.At(m.cursor).n - 1 // a fold's events are all passed by one step
	}
	var k int
	switch {
	case s.here:
		k = sort.Search(len(s.hits), func(j int) bool { return s.hits[j] >= m.rows.At(m.cursor).idx })
	case dir > 0:
		k = sort.Search(len(s.hits), func(j int) bool { return s.hits[j] > at })
	default:
		k = sort.Search(len(s.hits), func(j int) bool { return s.hits[j] >= m.rows.At(m.cursor).idx }) - 1
	}
	for ; k >= 0 && k < len(s.hits); k += dir {
		// A hit hidden by the filter has no row: step on to one that has.
		r := m.rows.Search(func(r row) bool { return r.idx > s.hits[k] }) - 1
		if r >= 0 && m.rows.At(r).isEvent() && m.rowMatches(m.rows.At(r), s.hit) && (r != m.cursor || s.here) {
			if dir < 0 {
				m.follow = false
			}
			m.cursor = r
			m.status = m.hitStatus(k) // before clamp: the status line takes a row
			s.said, s.prefix = m.status, ""
			m.clamp()
			m.reveal()
			return true
		}
	}
	if dir > 0 && !m.searchDone() {
		return false // the count has not reached it yet
	}
	if !quiet {
		m.status = "no " + map[int]string{1: "next", -1: "previous"}[dir] + " match for " + strconv.Quote(s.q.String())
	}
	return false
}

// hitUnderCursor is the index in the hits of the first hit on the cursor's row, or -1.
func (m *Model) hitUnderCursor() int {
	s := &m.srch
	if m.cursor >= m.rows.Len() {
		return -1
	}
	r := m.rows.At(m.cursor)
	k := sort.Search(len(s.hits), func(j int) bool { return s.hits[j] >= r.idx })
	if k < len(s.hits) && (s.hits[k] == r.idx || (r.kind == rowFold && s.hits[k] < r.idx+r.n)) {
		return k
	}
	return -1
}

// hitStatus says which hit the cursor is on.
func (m *Model) hitStatus(k int) string {
	s := &m.srch
	if k < 0 {
		return fmt.Sprintf("%d matches for %q", len(s.hits), s.q.String())
	}
	if !m.searchDone() {
		return fmt.Sprintf("match %d for %q (counting…)", k+1, s.q.String())
	}
	return fmt.Sprintf("match %d of %d for %q", k+1, len(s.hits), s.q.String())
}

// find is n and N: the next or previous hit, counting first when the count is behind.
func (m *Model) find(dir int) tea.Cmd {
	if m.srch.q.Empty() {
		m.status = "no search yet: press / to search"
		return nil
	}
	m.srch.here = false
	if m.srch.test != m.Test() || !m.searchDone() {
		m.srch.want = dir
		if m.srch.test == m.Test() && m.jumpToHit(dir, true) {
			m.srch.want = 0
		}
		return m.countHits()
	}
	if m.jumpToHit(dir, true) {
		return nil
	}
	return m.searchOtherTests(dir)
}

// searchOtherTests goes on with a search that found nothing more in this test: in the nearest
// test after it (dir 1) or before it (-1) that has a match, read again from the log when its
// events were let go.
func (m *Model) searchOtherTests(dir int) tea.Cmd {
	q := m.srch.q
	word := map[int]string{1: "next", -1: "previous"}[dir]
	var cands []int // the tests to search, nearest first
	for i := m.cur + dir; i >= 0 && i < len(m.tests); i += dir {
		cands = append(cands, i)
	}
	if len(cands) == 0 {
		m.status = "no " + word + " match for " + strconv.Quote(q.String()) + " in this test, and no " + word + " test"
		return nil
	}
	type cand struct {
		ti     int
		events *evstore.Events // nil: let go, read again
	}
	var inMemory []cand
	reread := false
	from := -1                // where to read again from: the first test let go
	bySeq := map[int]int{}    // a test's place in the input -> its index in m.tests
	distance := map[int]int{} // index in m.tests -> place in cands
	for d, i := range cands {
		distance[i] = d
		t := m.tests[i]
		if _, gone := m.dropped[t]; gone {
			if f := rereadFrom(t, m.complete[t]); !reread || f < from {
				from = f
			}
			reread = true
		}
		inMemory = append(inMemory, cand{i, m.held[t]})
		if seq, ok := m.complete[t]; ok {
			bySeq[seq] = i
		}
	}
	if reread && m.opts.Reread == nil {
		reread = false // nothing to read again from: search what is here
	}
	rereadFn := m.opts.Reread
	m.status = "no " + word + " match in this test; searching the " + word + " tests…"
	// firstHit is the hit a jump into a test lands on: its first for n, its last for N.
	firstHit := func(n int, at func(i int) parse.Event) int {
		for k := range n {
			i := k
			if dir < 0 {
				i = n - 1 - k
			}
			if e := at(i); hitIn(q, &e) {
				return i
			}
		}
		return -1
	}
	return m.startWork(workSearch, func(ctx context.Context) func(*Model) tea.Cmd {
		found, hit := -1, -1
		var events *evstore.Events
		// The tests in memory first (when nothing was let go, all of them; else those still
		// loading, which the log read again does not number yet), nearest first.
		for _, c := range inMemory {
			if ctx.Err() != nil {
				return nil
			}
			if h := firstHit(c.events.Len(), c.events.At); h >= 0 {
				found, hit = c.ti, h
				break
			}
		}
		if reread && (found < 0 || distance[found] > 0) {
			err := rereadFn(ctx, from, func(seq int, t *parse.Test) error {
				i, ok := bySeq[seq]
				if !ok {
					return nil
				}
				// Tests finish in another order than they start (parallel tests): keep the
				// nearest so far, and stop once it is the next one.
				if found >= 0 && distance[i] > distance[found] {
					return ctx.Err()
				}
				if h := firstHit(len(t.Events), func(i int) parse.Event { return t.Events[i] }); h >= 0 {
					found, hit, events = i, h, storeOf(t.Events)
					if distance[i] == 0 {
						return errStop
					}
				}
				return ctx.Err()
			})
			if err != nil && !errors.Is(err, errStop) {
				return func(m *Model) tea.Cmd {
					m.status = "searching the other tests: " + err.Error()
					return nil
				}
			}
		}
		return func(m *Model) tea.Cmd {
			if found < 0 {
				m.status = "no " + word + " match for " + strconv.Quote(q.String()) + " in this test or any " + word + " one"
				return nil
			}
			t := m.tests[found]
			if _, gone := m.dropped[t]; gone && events != nil {
				m.held[t] = events
				delete(m.dropped, t)
			}
			m.selectTest(found)
			m.cursorToEvent(int32(hit))
			m.clamp()
			m.reveal()
			m.srch = searchState{q: q, test: t, prefix: "in the " + word + " test with a match, " + t.ID() + ": "}
			m.status = m.srch.prefix + "counting…"
			m.srch.said = m.status
			return m.countHits()
		}
	})
}

// errStop ends a reading of the log early once it found what it looked for.
var errStop = errors.New("stop")
