package timeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/evstore"
	"github.com/raftviz/raftviz/raft/sim"
)

// simTests runs a seeded simulation with a crash and a partition and parses its event lines:
// a real run of this project's Raft, byte for byte the same every time.
func simTests(t testing.TB) []*parse.Test {
	t.Helper()
	var buf bytes.Buffer
	s, err := sim.New(sim.Config{Nodes: 5, Seed: 3, Handler: eventline.NewTextHandler(&buf, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit("set a 1", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	l, _ := s.Leader()
	s.Crash(l)
	if _, err := s.Commit("set b 2", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Partition([]uint64{1, 2}, []uint64{3, 4, 5})
	s.RunFor(time.Second)
	s.Heal()
	s.Restart(l)
	s.RunFor(time.Second)
	tests, _, err := parse.Read(&buf, parse.Options{ImplicitName: "TestSim"})
	if err != nil {
		t.Fatal(err)
	}
	return tests
}

// plain is the screen as a person reads it: lipgloss v2 always writes styles, and the program
// lowers them to what the terminal supports, so tests read the text without them.
func plain(m *Model) string { return ansi.Strip(m.screen()) }

// keyMsg is the key press a terminal sends for s: a named key or one character.
func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// readLog parses a log text.
func readLog(t testing.TB, text string) []*parse.Test {
	t.Helper()
	tests, _, err := parse.Read(strings.NewReader(text), parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tests
}

// runProgram runs the timeline over tests as the program does (teatest, a w×h terminal),
// sends msgs, quits and returns the final model. No leaktest: teatest's own SIGINT watcher
// outlives the program (see TestFollowFile).
func runProgram(t *testing.T, tests []*parse.Test, w, h int, msgs ...tea.Msg) *Model {
	t.Helper()
	tm := teatest.NewTestModel(t, New(tests, Options{NoColor: true}), teatest.WithInitialTermSize(w, h))
	for _, msg := range msgs {
		tm.Send(msg)
	}
	tm.Send(tea.QuitMsg{})
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
}

// newModel returns a timeline over tests on a w×h screen, its background work done.
func newModel(t testing.TB, tests []*parse.Test, w, h int) *Model {
	m := New(tests, Options{NoColor: true})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	settle(m)
	return m
}

// press sends keys, each as its own message, and lets the work each starts finish (the
// program runs it as a command; the tests run it here, in order).
func press(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(keyMsg(k))
		settle(m)
	}
}

// settle runs the background work the model has started or waits for until none is left.
func settle(m *Model) {
	m.keepWorking()
	for {
		var w *work
		for _, x := range m.work {
			if x != nil {
				w = x
				break
			}
		}
		if w == nil {
			return
		}
		m.Update(workMsg{kind: w.kind, gen: w.gen, apply: w.run(w.ctx)})
	}
}

// search types / q enter.
func search(m *Model, q string) {
	press(m, "/")
	for _, r := range q {
		m.Update(keyMsg(string(r)))
	}
	press(m, "enter")
}

func TestScrolling(t *testing.T) {
	m := newModel(t, simTests(t), 120, 20)
	if m.cursor != 0 || m.top != 0 {
		t.Fatalf("start at %d/%d", m.cursor, m.top)
	}
	press(m, "j", "j", "j")
	if m.cursor != 3 {
		t.Fatalf("after jjj cursor %d", m.cursor)
	}
	press(m, "k")
	if m.cursor != 2 {
		t.Fatalf("after k cursor %d", m.cursor)
	}
	press(m, "pgdown")
	h := m.bodyHeight()
	if m.cursor != 2+h || m.top == 0 {
		t.Fatalf("after pgdown cursor %d top %d (page %d)", m.cursor, m.top, h)
	}
	press(m, "G")
	if m.cursor != m.rows.Len()-1 || m.top != m.rows.Len()-h {
		t.Fatalf("after G cursor %d top %d of %d rows", m.cursor, m.top, m.rows.Len())
	}
	press(m, "g")
	if m.cursor != 0 || m.top != 0 {
		t.Fatalf("after g cursor %d top %d", m.cursor, m.top)
	}
	// The screen shows the rows from top, one line each, and exactly fits the terminal.
	v := plain(m)
	lines := strings.Split(v, "\n")
	if len(lines) > 20 {
		t.Fatalf("view has %d lines for a 20-line terminal", len(lines))
	}
	if !strings.Contains(v, "starts") || !strings.Contains(lines[0], "TestSim") {
		t.Fatalf("first screen:\n%s", v)
	}
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if m.cursor != 3 {
		t.Fatalf("wheel down: cursor %d", m.cursor)
	}
}

func TestSearch(t *testing.T) {
	m := newModel(t, simTests(t), 120, 20)
	press(m, "/")
	for _, r := range "set b 2" {
		m.Update(keyMsg(string(r)))
	}
	press(m, "enter")
	e := m.Cursor()
	if e == nil || !strings.Contains(strings.ToLower(e.Msg+fmt.Sprint(e.Fields)), "set b 2") {
		t.Fatalf("search landed on %+v", e)
	}
	first := m.cursor
	press(m, "n")
	if m.cursor <= first || !hitIn(m.srch.q, m.Cursor()) {
		t.Fatalf("n: cursor %d (first match %d)", m.cursor, first)
	}
	press(m, "N")
	if m.cursor != first {
		t.Fatalf("N went to %d, want %d", m.cursor, first)
	}
	press(m, "/")
	for _, r := range "no such text" {
		m.Update(keyMsg(string(r)))
	}
	press(m, "enter")
	if m.cursor != first || !strings.Contains(plain(m), "no next match") {
		t.Fatalf("a failed search moved the cursor or said nothing")
	}
}

func TestJumps(t *testing.T) {
	m := newModel(t, simTests(t), 140, 30)
	press(m, "]")
	if e := m.Cursor(); e == nil || !isElection(e) {
		t.Fatalf("] landed on %+v", e)
	}
	press(m, "x")
	if e := m.Cursor(); e == nil || !e.IsFault() || e.Kind != "crash" {
		t.Fatalf("x landed on %+v", e)
	}
	if !strings.Contains(plain(m), "✗") {
		t.Fatal("the fault lane does not show the crashed node")
	}
	press(m, "c")
	if e := m.Cursor(); e == nil || e.Kind != "commit" {
		t.Fatalf("c landed on %+v", e)
	}
	// The header names the leader of the term at the cursor.
	c := m.ix.at(int(m.rows.At(m.cursor).idx))
	if c.leader == "" || !strings.Contains(plain(m), "leader "+c.leader) {
		t.Fatalf("header lacks the leader %q:\n%s", c.leader, strings.SplitN(plain(m), "\n", 2)[0])
	}
}

func TestPickerSwitchesTests(t *testing.T) {
	tests, _, err := parse.ReadFiles([]string{filepath.Join("..", "..", "testdata", "gotest_v.log")}, parse.Options{})
	if err != nil || len(tests) < 2 {
		t.Fatalf("fixture: %d tests, %v", len(tests), err)
	}
	m := newModel(t, tests, 120, 20)
	press(m, "t")
	if !strings.Contains(plain(m), tests[1].Name) || !strings.Contains(plain(m), tests[1].Status.String()) {
		t.Fatalf("picker:\n%s", plain(m))
	}
	press(m, "down", "enter")
	if m.Test() != tests[1] || !strings.Contains(plain(m), tests[1].Name) {
		t.Fatalf("picked %q, want %q", m.Test().Name, tests[1].Name)
	}
	press(m, "t", "esc")
	if m.Test() != tests[1] || m.mode != modeTable {
		t.Fatal("esc in the picker changed the test")
	}
}

func TestFilterHidesNode(t *testing.T) {
	m := newModel(t, simTests(t), 160, 20)
	header := strings.Split(plain(m), "\n")[1]
	if !strings.Contains(header, "2 ") {
		t.Fatalf("header lacks node 2: %q", header)
	}
	before := m.rows.Len()
	press(m, "f", "j", " ", "enter") // the second item is node 2
	header = strings.Split(plain(m), "\n")[1]
	for _, f := range strings.Fields(header) {
		if f == "2" {
			t.Fatalf("node 2 still has a column: %q", header)
		}
	}
	if m.rows.Len() >= before {
		t.Fatalf("hiding node 2 left %d rows of %d", m.rows.Len(), before)
	}
	for _, r := range m.rows.All() {
		if r.kind == rowEvent && m.Events().Node(int(r.idx)) == "2" {
			t.Fatal("a row of node 2 is still shown")
		}
	}
}

func TestFoldAndScale(t *testing.T) {
	m := newModel(t, simTests(t), 140, 30)
	n := m.rows.Len()
	press(m, "z")
	folds := 0
	for _, r := range m.rows.All() {
		if r.kind == rowFold {
			folds++
			for i := r.idx; i < r.idx+r.n; i++ {
				if e := m.Events().At(int(i)); !isHeartbeat(&e) {
					t.Fatalf("a fold hides %q, which is no heartbeat", e.Msg)
				}
			}
		}
	}
	if folds == 0 || m.rows.Len() > n*3/4 {
		t.Fatalf("folding heartbeats: %d folds, %d rows of %d", folds, m.rows.Len(), n)
	}
	press(m, "z", "s")
	gaps := 0
	for _, r := range m.rows.All() {
		if r.kind == rowGap {
			gaps++
		}
	}
	if gaps == 0 {
		t.Fatal("time-to-scale mode shows no gaps")
	}
}

func TestDetailShowsRPC(t *testing.T) {
	m := newModel(t, simTests(t), 140, 40)
	search(m, "RequestVote")
	press(m, "enter")
	v := plain(m)
	if !strings.Contains(v, "rpc") || !strings.Contains(v, "other events") || !strings.Contains(v, "receives RequestVote") {
		t.Fatalf("detail pane:\n%s", v)
	}
	press(m, "esc")
	if m.mode != modeTable {
		t.Fatal("esc did not close the detail pane")
	}
}

func TestNarrowTerminalScrollsColumns(t *testing.T) {
	m := newModel(t, simTests(t), 60, 20)
	nodes, _, _ := m.layout()
	if len(nodes) >= 5 {
		t.Fatalf("60 columns show %d node columns", len(nodes))
	}
	press(m, "l")
	nodes2, _, _ := m.layout()
	if nodes2[0] == nodes[0] {
		t.Fatal("l did not scroll the columns")
	}
	for _, line := range strings.Split(plain(m), "\n") {
		if w := lipgloss.Width(line); w > 60 {
			t.Fatalf("line of width %d in a 60-column terminal: %q", w, line)
		}
	}
}

func TestResize(t *testing.T) {
	m := newModel(t, simTests(t), 120, 20)
	h := m.bodyHeight()
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	if m.bodyHeight() != h+20 {
		t.Fatalf("body %d rows after growing by 20 (was %d)", m.bodyHeight(), h)
	}
	if got := len(strings.Split(plain(m), "\n")); got > 40 {
		t.Fatalf("view has %d lines", got)
	}
}

func TestFollowAppends(t *testing.T) {
	tests := simTests(t)
	all := tests[0].Events
	half := &parse.Test{Name: "TestSim", Implicit: true, Events: append([]parse.Event(nil), all[:len(all)/2]...)}
	m := newModel(t, []*parse.Test{half}, 120, 20)
	m.keyOf = map[int]int{1: 0}
	press(m, "j", "j")
	m.Update(AppendMsg{Updates: []Update{{Key: 1, Name: "TestSim", Events: storeOf(all[:len(all)*3/4])}}})
	if m.cursor != 2 {
		t.Fatalf("without follow the cursor moved to %d", m.cursor)
	}
	press(m, "F")
	m.Update(AppendMsg{Updates: []Update{{Key: 1, Name: "TestSim", Events: storeOf(all)}}})
	if m.cursor != m.rows.Len()-1 || m.Events().Len() != len(all) {
		t.Fatalf("follow: cursor %d of %d rows, %d events of %d", m.cursor, m.rows.Len(), m.Events().Len(), len(all))
	}
	press(m, "k")
	if m.follow {
		t.Fatal("moving up did not stop following")
	}
}

// TestFollowFile drives the whole program with teatest: lines appended to a file appear on
// screen, and a truncated file starts over.
func TestFollowFile(t *testing.T) {
	// No leaktest here: teatest starts a goroutine of its own that waits for SIGINT
	// until the process ends (teatest.go, NewTestModel). Feed and the follower are
	// leak-checked in TestFailedTestOpensOnItsOutput and parse's follow tests.
	path := filepath.Join(t.TempDir(), "live.log")
	os.WriteFile(path, []byte("00:00:00.100000 [1] starts | ev=start term=0 state=follower\n"), 0o644)
	m := New(nil, Options{NoColor: true, Follow: true})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 20))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := parse.OpenFollow(path, nil, 10*time.Millisecond, parse.Options{ImplicitName: "live"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fed := make(chan error, 1)
	go func() { fed <- Feed(ctx, src, nil, tm.Send) }()
	waitFor := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	waitFor("starts")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("00:00:00.200000 [2] becomes leader | ev=state term=1 state=leader\n")
	f.Close()
	waitFor("becomes leader")
	os.WriteFile(path, []byte("00:00:00.050000 [3] fresh start | ev=start term=0 state=follower\n"), 0o644)
	waitFor("fresh start")
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if got := final.Events(); got.Len() != 1 || got.Node(0) != "3" {
		t.Fatalf("after truncation the view holds %d events", got.Len())
	}
	cancel()
	if err := <-fed; err != nil {
		t.Fatalf("following ended with %v", err)
	}
}

// TestProgramKeys drives the real program loop: keys in, screen out.
func TestProgramKeys(t *testing.T) {
	// No leaktest here: teatest starts a goroutine of its own that waits for SIGINT
	// until the process ends (teatest.go, NewTestModel). Feed and the follower are
	// leak-checked in TestFailedTestOpensOnItsOutput and parse's follow tests.
	tm := teatest.NewTestModel(t, New(simTests(t), Options{NoColor: true}), teatest.WithInitialTermSize(120, 24))
	tm.Type("/")
	tm.Type("crashes")
	tm.Send(keyMsg("enter"))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("▶")) && bytes.Contains(b, []byte("crashes")) },
		teatest.WithDuration(5*time.Second))
	tm.Send(keyMsg("?"))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("fold heartbeats")) },
		teatest.WithDuration(5*time.Second))
	tm.Send(keyMsg("q")) // closes the help
	tm.Send(keyMsg("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	_, _ = io.ReadAll(tm.FinalOutput(t))
}

// twoLeadersLog has two leaders in term 1: analysis flags lines 1 and 3.
const twoLeadersLog = `00:00:00.100000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2
00:00:00.200000 [2] heartbeat | ev=recv term=1 state=follower type=AppendEntries from=1 entries=0
00:00:00.300000 [2] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2
`

func TestAnalysisFlagsAreMarked(t *testing.T) {
	tests := readLog(t, twoLeadersLog)
	m := newModel(t, tests, 120, 20)
	if len(m.flagged) != 2 || !strings.Contains(plain(m), "2 flagged") || !strings.Contains(plain(m), "‼") {
		t.Fatalf("flags %v, view:\n%s", m.flagged, plain(m))
	}
	press(m, "v")
	if m.Cursor() == nil || m.Cursor().Line != 3 {
		t.Fatalf("v went to %+v", m.Cursor())
	}
	press(m, "enter")
	if !strings.Contains(plain(m), "VIOLATION one leader per term") {
		t.Fatalf("detail lacks the violation:\n%s", plain(m))
	}
}

// doubleVoteLog: node 3 votes for 1 and then for 2 in term 1, and both become leader.
const doubleVoteLog = `00:00:00.100000 [3] votes for 1 | ev=vote term=1 state=follower candidate=1 granted=true reason=ok
00:00:00.110000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2
00:00:00.200000 [2] heartbeat | ev=recv term=1 state=follower type=AppendEntries from=1 entries=0
00:00:00.300000 [3] votes for 2 | ev=vote term=1 state=follower candidate=2 granted=true reason=ok
00:00:00.310000 [2] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2
`

// TestWhyGoesToExplainsFindings: w runs raftviz explain on the test shown and goes to its first
// finding (the two leaders: the first of them, its events marked ‹, the finding on the status line), w again to
// the next (node 3's double vote), whose events the detail view names; then round again.
func TestWhyGoesToExplainsFindings(t *testing.T) {
	m := newModel(t, readLog(t, doubleVoteLog), 120, 20)
	press(m, "G")
	press(m, "w")
	view := plain(m)
	if m.Cursor() == nil || m.Cursor().Line != 2 || !strings.Contains(view, "why 1/2 [violation, stated]: one leader per term") ||
		!strings.Contains(view, "‹") {
		t.Fatalf("w went to %+v, view:\n%s", m.Cursor(), view)
	}
	press(m, "w")
	if m.Cursor() == nil || m.Cursor().Line != 4 || !strings.Contains(plain(m), "why 2/2 [double-vote, stated]: node 3 granted its vote in term 1 twice") {
		t.Fatalf("second w went to %+v, view:\n%s", m.Cursor(), plain(m))
	}
	press(m, "enter")
	if !strings.Contains(plain(m), "explain  why 2/2 [double-vote") {
		t.Fatalf("detail lacks the finding:\n%s", plain(m))
	}
	press(m, "esc", "w")
	if m.Cursor() == nil || m.Cursor().Line != 2 {
		t.Fatalf("third w went to %+v, want the first finding again", m.Cursor())
	}
	// A test with nothing to explain says so.
	m = newModel(t, readLog(t, "00:00:00.100000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2\n"), 120, 20)
	press(m, "w")
	if !strings.Contains(plain(m), "explain: no anomaly found in this test") {
		t.Fatalf("view:\n%s", plain(m))
	}
}

// TestReloadKeepsOneTestInMemory loads a run of several tests the way raftviz --tui does,
// with a Reread function: finished tests other than the one on screen keep only their
// summary, and are read again when picked.
func TestReloadKeepsOneTestInMemory(t *testing.T) {
	tests, _, err := parse.ReadFiles([]string{filepath.Join("..", "..", "testdata", "gotest_v.log")}, parse.Options{})
	if err != nil || len(tests) < 3 {
		t.Fatalf("fixture: %d tests, %v", len(tests), err)
	}
	byName := map[string]*parse.Test{}
	for _, tt := range tests {
		byName[tt.Name] = tt
	}
	reloads := 0
	m := New(nil, Options{NoColor: true, Loading: true, Reread: func(ctx context.Context, from int, visit func(int, *parse.Test) error) error {
		reloads++
		for i, tt := range tests[max(from, 0):] {
			if err := visit(max(from, 0)+i, tt); err != nil {
				return err
			}
		}
		return nil
	}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	var ups []Update
	for i, tt := range tests {
		ups = append(ups, Update{Key: i + 1, Name: tt.Name, Attempt: tt.Attempt, Status: tt.Status,
			Events: storeOf(tt.Events), Complete: true, Seq: i})
	}
	m.Update(AppendMsg{Updates: ups, Done: true})
	for i, tt := range m.tests {
		if i != m.cur && m.held[tt].Len() != 0 {
			t.Fatalf("test %s keeps %d events while not on screen", tt.Name, m.held[tt].Len())
		}
	}
	press(m, "t")
	if !strings.Contains(plain(m), strconv.Itoa(len(tests[1].Events))) {
		t.Fatalf("the picker lost the event count of a dropped test:\n%s", plain(m))
	}
	press(m, "down", "enter")
	if reloads != 1 || m.Events().Len() != len(tests[1].Events) || m.held[m.tests[0]].Len() != 0 {
		t.Fatalf("after picking: %d reloads, %d events shown, first test keeps %d", reloads, m.Events().Len(), m.held[m.tests[0]].Len())
	}
}

// TestFeedNamesPackagesLate: go test -v names a package only after its tests; the timeline
// learns it then, so the two packages' TestElection are told apart (and read again as
// themselves).
func TestFeedNamesPackagesLate(t *testing.T) {
	log, err := os.ReadFile("../../testdata/fixtures/multipkg_v.log")
	if err != nil {
		t.Fatal(err)
	}
	// Blank lines before each package's ok line make the parser hand the tests out first.
	log = bytes.ReplaceAll(log, []byte("\nok  \t"), append(bytes.Repeat([]byte("\n"), 40000), "ok  \t"...))
	src := parse.NewSource([]parse.Input{{Name: "multipkg", Reader: bytes.NewReader(log)}}, parse.Options{})
	m := New(nil, Options{NoColor: true, Loading: true})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	if err := Feed(context.Background(), src, nil, func(msg tea.Msg) { m.Update(msg) }); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range m.tests {
		got = append(got, x.QualifiedName())
	}
	sort.Strings(got)
	if want := "kv.TestElection kv.TestOnlyIn_kv raft.TestElection raft.TestOnlyIn_raft"; strings.Join(got, " ") != want {
		t.Fatalf("tests %v, want %s", got, want)
	}
	// Read again, each test is itself: the two packages' TestElection are told apart.
	want, _, err := parse.Read(bytes.NewReader(log), parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m = New(nil, Options{NoColor: true, Loading: true, Reread: func(ctx context.Context, _ int, visit func(int, *parse.Test) error) error {
		src := parse.NewSource([]parse.Input{{Name: "multipkg", Reader: bytes.NewReader(log)}}, parse.Options{})
		return src.Scan(ctx, parse.ScanOptions{Emit: numbered(visit)})
	}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	src = parse.NewSource([]parse.Input{{Name: "multipkg", Reader: bytes.NewReader(log)}}, parse.Options{})
	if err := Feed(context.Background(), src, nil, func(msg tea.Msg) { m.Update(msg) }); err != nil {
		t.Fatal(err)
	}
	for i := range m.tests {
		m.selectTest((m.cur + 1) % len(m.tests)) // lets the test shown go: every pick reads one again
		settle(m)
		shown := m.Test()
		var w *parse.Test
		for _, x := range want {
			if x.QualifiedName() == shown.QualifiedName() {
				w = x
			}
		}
		ev := m.Events()
		if w == nil || ev.Len() != len(w.Events) || len(w.Events) > 0 && ev.At(ev.Len()-1).Line != w.Events[len(w.Events)-1].Line {
			t.Fatalf("pick %d: %s read again as %d events (%q), want those of %v", i, shown.QualifiedName(), ev.Len(), m.status, w)
		}
	}
}

// TestFailedTestOpensOnItsOutput: a FAIL test opens on its own output (the tester's message),
// once; esc goes to the table, and ! shows the output again.
func TestFailedTestOpensOnItsOutput(t *testing.T) {
	defer leaktest.Check(t)()
	src, err := parse.Open([]string{"../../testdata/fixtures/dslogs_fail.log"}, nil, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := New(nil, Options{NoColor: true, Loading: true})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	if err := Feed(context.Background(), src, nil, func(msg tea.Msg) { m.Update(msg) }); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain(m), "Test output") {
		t.Fatalf("the passing first test opened on its output:\n%s", plain(m))
	}
	var failed int
	for i, x := range m.tests {
		if x.Status == parse.StatusFail {
			failed = i
		}
	}
	m.selectTest(failed)
	if s := plain(m); !strings.Contains(s, "Test output") || !strings.Contains(s, "one(3657) failed to reach agreement") {
		t.Fatalf("the FAIL test did not open on its output:\n%s", s)
	}
	press(m, "esc")
	if strings.Contains(plain(m), "Test output") {
		t.Fatal("esc did not go back to the table")
	}
	m.selectTest(0)
	m.selectTest(failed)
	if strings.Contains(plain(m), "Test output") {
		t.Fatal("the output opened again by itself on a second visit")
	}
	press(m, "!")
	if !strings.Contains(plain(m), "failed to reach agreement") {
		t.Fatalf("! did not show the output:\n%s", plain(m))
	}
}

// TestNextCommitSkipsHeartbeatsOfClassicLogs: in free-text logs every heartbeat names the
// leader's commit index; c stops only where a node's commit index goes up.
func TestNextCommitSkipsHeartbeatsOfClassicLogs(t *testing.T) {
	text := `00:00:00.100000 [1] becomes leader for term 1
00:00:00.110000 [1] sending heartbeat to 2, leaderCommit=0
00:00:00.120000 [1] commitIndex=1 after majority ack
00:00:00.130000 [1] sending heartbeat to 2, leaderCommit=1
00:00:00.140000 [2] got heartbeat, commit index is 1
00:00:00.150000 [1] sending heartbeat to 2, leaderCommit=1
00:00:00.160000 [2] got heartbeat, commit index is 1
00:00:00.170000 [1] sending heartbeat to 3, leaderCommit=1
00:00:00.180000 [1] committed entries up to 2
00:00:00.190000 [2] applying committed entries
`
	tests := readLog(t, text)
	m := newModel(t, tests, 120, 20)
	var stops []int32
	for i := 0; i < 6; i++ {
		before := m.cursor
		press(m, "c")
		if m.cursor == before {
			break
		}
		stops = append(stops, m.Cursor().Line)
	}
	// Line 3 (leader's commit 1), 5 (node 2 learns 1), 9 (leader's 2), 10 (no number, not a
	// heartbeat). The heartbeats that repeat an index are skipped.
	if want := []int32{3, 5, 9, 10}; !slices.Equal(stops, want) {
		t.Fatalf("c stopped on lines %v, want %v", stops, want)
	}
	press(m, "g", "c")
	if m.Cursor() == nil || m.Cursor().Line != 3 {
		t.Fatalf("the c key landed on %+v", m.Cursor())
	}
}

// TestKeysArrivingTogether: bubbletea delivers keys that arrive together as one message
// ("jjj"); each must move the cursor (issue 13 defect 3). Run through the real program loop.
func TestKeysArrivingTogether(t *testing.T) {
	final := runProgram(t, simTests(t), 120, 24, tea.KeyPressMsg{Code: 'j', Text: "jjj"})
	if final.cursor != 3 {
		t.Fatalf("after the keys jjj arrived together the cursor is on row %d, want 3", final.cursor)
	}
}

// TestEscClosesHelp: esc closes the full help as it closes every other pane (defect 7).
func TestEscClosesHelp(t *testing.T) {
	m := newModel(t, simTests(t), 120, 30)
	press(m, "?")
	if !m.help.ShowAll {
		t.Fatal("? did not open the help")
	}
	press(m, "esc")
	if m.help.ShowAll {
		t.Fatal("esc left the help open")
	}
}

// classicCrashLog is a raftrun live log of the version whose crash line stated the role the
// node had: the leader's crash says state=leader.
const classicCrashLog = `00:00:00.100000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2
00:00:00.200000 [1] crashes | ev=crash term=1 state=leader
00:00:00.500000 [2] becomes candidate | ev=state term=2 state=candidate prev=follower reason=timeout
00:00:00.600000 [2] becomes leader | ev=state term=2 state=leader prev=candidate reason=won votes=2
00:00:00.700000 [3] heartbeat | ev=recv term=2 state=follower type=AppendEntries from=2 entries=0
`

// TestCrashedNodeIsNotLabelledLeader: a crashed node's column says it is down, not the role
// its crash line stated, which next to the new leader looked like two leaders (defect 2).
func TestCrashedNodeIsNotLabelledLeader(t *testing.T) {
	tests := readLog(t, classicCrashLog)
	final := runProgram(t, tests, 120, 20, keyMsg("G"))
	header := strings.Split(plain(final), "\n")[1]
	if !strings.Contains(header, "1 down") || strings.Contains(header, "1 leader") || !strings.Contains(header, "2 leader") {
		t.Fatalf("column header after the crash: %q", header)
	}
}

// TestFlagsOfAStreamedTest: a test whose events arrive after it was opened (one file, loaded
// in the background) is analysed again, so v finds its flagged events (defect 1).
func TestFlagsOfAStreamedTest(t *testing.T) {
	tests := readLog(t, twoLeadersLog)
	// No leaktest: teatest's own SIGINT watcher outlives the program (see TestFollowFile).
	tm := teatest.NewTestModel(t, New(nil, Options{NoColor: true, Loading: true}), teatest.WithInitialTermSize(120, 20))
	tm.Send(AppendMsg{Updates: []Update{{Key: 1, Name: tests[0].Name, Events: storeOf(tests[0].Events), Complete: true}}})
	tm.Send(AppendMsg{Done: true})
	tm.Send(keyMsg("v"))
	// The analysis runs in the background; the jump comes with its flags.
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("flagged (v)")) },
		teatest.WithDuration(5*time.Second))
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if c := final.Cursor(); c == nil || c.Line != 3 {
		t.Fatalf("v went to %+v (status %q), want the second leader of term 1 (line 3)", c, final.status)
	}
}

// TestHelpFitsEightyColumns: at 80 columns the footer shows how to quit and get help, and the
// full help shows every key without a cut line (defect 7).
func TestHelpFitsEightyColumns(t *testing.T) {
	final := runProgram(t, simTests(t), 80, 24, keyMsg("?"))
	screen := plain(final)
	for _, b := range final.keys.FullHelp() {
		for _, k := range b {
			if h := k.Help(); !strings.Contains(screen, h.Desc) {
				t.Errorf("the full help at 80 columns lacks %q (%s)", h.Desc, h.Key)
			}
		}
	}
	lines := strings.Split(screen, "\n")
	helpRows := len(final.keys.FullHelp()[0])
	for i, line := range lines {
		inHelp := i >= len(lines)-helpRows
		if w := ansi.StringWidth(line); w > 80 || inHelp && strings.HasSuffix(line, "…") {
			t.Errorf("line %d is cut or too wide (%d cells): %q", i, w, line)
		}
	}
	final.help.ShowAll = false
	footer := strings.Split(plain(final), "\n")
	if last := footer[len(footer)-1]; !strings.Contains(last, "q quit") || !strings.Contains(last, "? help") || ansi.StringWidth(last) > 80 {
		// bubbles' help adds a binding that does not fit when there is no room for its "…"
		// either: a footer wider than the screen wraps and scrolls the whole screen up.
		t.Errorf("the footer at 80 columns (%d cells): %q", ansi.StringWidth(last), last)
	}
}

// TestAsksTheTerminalNothing: the timeline writes no query a terminal must answer (background
// colour, cursor position), so a terminal that never answers (screen, Emacs shells, CI) gets
// the first screen at once (defect 4 was a 5 s wait for such an answer). A guard: the fix came
// before this test.
func TestAsksTheTerminalNothing(t *testing.T) {
	// No leaktest: teatest's own SIGINT watcher outlives the program (see TestFollowFile).
	tm := teatest.NewTestModel(t, New(simTests(t), Options{}), teatest.WithInitialTermSize(80, 24))
	tm.Send(keyMsg("?"))
	tm.Send(keyMsg("q")) // closes the help
	tm.Send(keyMsg("q"))
	out, err := io.ReadAll(tm.FinalOutput(t, teatest.WithFinalTimeout(5*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"\x1b]11;?", "\x1b]10;?", "\x1b[6n", "\x1b[c"} {
		if bytes.Contains(out, []byte(q)) {
			t.Errorf("the program asked the terminal %q", q)
		}
	}
	if !bytes.Contains(out, []byte("quit")) {
		t.Fatal("no screen was drawn")
	}
}

// TestJumpRevealsTheNodeColumn: a search that lands on an event of a node whose column is
// scrolled off screen scrolls the columns to it, instead of showing an empty row (defect 5).
func TestJumpRevealsTheNodeColumn(t *testing.T) {
	var text strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&text, "00:00:%02d.000000 [%d] routine work %d\n", i, i%2+1, i)
	}
	text.WriteString("00:00:30.000000 [5] something special\n00:00:31.000000 [3] more\n00:00:32.000000 [4] more\n")
	tests := readLog(t, text.String())
	// No leaktest: teatest's own SIGINT watcher outlives the program (see TestFollowFile).
	tm := teatest.NewTestModel(t, New(tests, Options{NoColor: true}), teatest.WithInitialTermSize(60, 20))
	for _, k := range []string{"/", "s", "p", "e", "c", "i", "a", "l", "enter"} {
		tm.Send(keyMsg(k))
	}
	// The search runs in the background: quit once it has said where it landed.
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("match 1 of 1")) },
		teatest.WithDuration(5*time.Second))
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if c := final.Cursor(); c == nil || c.Node != "5" {
		t.Fatalf("the search landed on %+v", c)
	}
	for _, line := range strings.Split(plain(final), "\n") {
		if strings.HasPrefix(line, "▶") {
			if !strings.Contains(line, "something") {
				t.Fatalf("the cursor's row does not show its event (node 5's column is off screen): %q", line)
			}
			return
		}
	}
	t.Fatalf("no cursor row on screen:\n%s", plain(final))
}

// TestStatusLineKeepsTheCursorOnScreen: a status message takes the last line of the table;
// the cursor on that line must stay visible (defect 6).
func TestStatusLineKeepsTheCursorOnScreen(t *testing.T) {
	// n with no search yet sets a status line (runProgram quits without q, which would clear it).
	final := runProgram(t, simTests(t), 120, 12, keyMsg("G"), keyMsg("n"))
	screen := plain(final)
	if final.status == "" || !strings.Contains(screen, final.status) {
		t.Fatalf("no status line: %q", final.status)
	}
	if !strings.Contains(screen, "▶") {
		t.Fatalf("the cursor left the screen when the status line appeared:\n%s", screen)
	}
}

// TestMessageLineShowsTheWholeEvent: under the table, one line shows the whole message of the
// event under the cursor and its fields, which its cell cuts (issue 13, build item 2).
func TestMessageLineShowsTheWholeEvent(t *testing.T) {
	long := "sends AppendEntries to 3 with entries 8 to 12 after a conflict at index 7 of term 2"
	text := "00:00:00.100000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2\n" +
		"00:00:00.200000 [1] " + long + " | ev=send term=1 state=leader rpc=1-9 type=AppendEntries to=3\n" +
		"00:00:00.300000 [2] short\n"
	tests := readLog(t, text)
	final := runProgram(t, tests, 160, 12, keyMsg("j"))
	lines := strings.Split(plain(final), "\n")
	msgLine := lines[len(lines)-2] // above the footer
	if want := "[1] " + long + " | ev=send term=1 state=leader rpc=1-9 type=AppendEntries to=3"; msgLine != want {
		t.Fatalf("message line %q, want %q", msgLine, want)
	}
	if strings.Contains(strings.Join(lines[:len(lines)-2], "\n"), long) {
		t.Fatal("the table's cell held the whole message: the test proves nothing")
	}
}

// electionLog is a small election in this project's event lines: 2 asks 1 and 3 for votes, 1
// grants, the request to 3 is lost, and 3 never writes a line of its own.
const electionLog = `00:00:00.100000 [2] sends RequestVote to 1 | ev=send term=1 state=candidate rpc=2-1 type=RequestVote to=1 last_index=0 last_term=0
00:00:00.100000 [2] sends RequestVote to 3 | ev=send term=1 state=candidate rpc=2-2 type=RequestVote to=3 last_index=0 last_term=0
00:00:00.101000 [1] receives RequestVote from 2 | ev=recv term=0 state=follower rpc=2-1 type=RequestVote from=2 mterm=1 last_index=0 last_term=0
00:00:00.101000 [1] sends RequestVoteReply to 2 | ev=send term=1 state=follower rpc=2-1 type=RequestVoteReply to=2 granted=true
00:00:00.102000 [*] network drops RequestVote 2->3 | ev=drop rpc=2-2 type=RequestVote from=2 to=3 reason=partition
`

// TestArrowsShowWhoTalkedToWhom: a toggles the arrow view, in which each message runs from
// its sender's column to its receiver's (leftward and rightward), a lost one ends in ✗, a
// received one names its sender, and a node that only received messages has a column.
func TestArrowsShowWhoTalkedToWhom(t *testing.T) {
	tests := readLog(t, electionLog)
	final := runProgram(t, tests, 120, 16, keyMsg("a"))
	screen := plain(final)
	if !strings.Contains(screen, "[arrows]") {
		t.Errorf("the title does not say the arrows are on:\n%s", screen)
	}
	if header := strings.Split(screen, "\n")[1]; !regexp.MustCompile(`^TIME +! +1 +2 candidate +3 *$`).MatchString(header) {
		t.Errorf("columns %q, want 1, 2 and 3 (3 was sent a message)", header)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`1 ◀─+RequestVote─ 2\s*$`),
		regexp.MustCompile(`2 ─RequestVote─+▶ 3\s*$`),
		regexp.MustCompile(`←2 RequestVote\s*$`),
		regexp.MustCompile(`1 ─RequestVoteReply granted─*▶ 2\s*$`),
		regexp.MustCompile(`2 ─RequestVote \(partition\)─*✗ 3\s*$`),
	} {
		found := false
		for _, line := range strings.Split(screen, "\n") {
			found = found || want.MatchString(line)
		}
		if !found {
			t.Errorf("no line matches %s:\n%s", want, screen)
		}
	}
}

// TestColumnsKeepTheirPlacesWhileScrolling: scrolling sideways step by step, the node
// columns keep one width (they used to widen as fewer were left), the ◂ ▸ markers say which
// side has columns off screen, and the header never runs past the screen (defect 8).
func TestColumnsKeepTheirPlacesWhileScrolling(t *testing.T) {
	var text strings.Builder
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&text, "00:00:%02d.000000 [%d] step %d\n", i, i%8+1, i)
	}
	tests := readLog(t, text.String())
	var starts []int
	for steps := 0; steps <= 8; steps++ {
		// No leaktest: teatest's own SIGINT watcher outlives the program (see TestFollowFile).
		var keys []tea.Msg
		for i := 0; i < steps; i++ {
			keys = append(keys, keyMsg("l"))
		}
		final := runProgram(t, tests, 80, 20, keys...)
		header := strings.Split(plain(final), "\n")[1]
		if w := ansi.StringWidth(header); w > 80 {
			t.Fatalf("after %d steps the header is %d cells wide: %q", steps, w, header)
		}
		// Where each node's name starts: the same places at every scroll position.
		var at []int
		for i, f := range strings.Fields(header) {
			if i > 1 && f != "◂" && f != "▸" && f != "◂▸" {
				at = append(at, strings.Index(header, " "+f+" ")+1)
			}
		}
		if starts == nil {
			starts = at
		} else if !slices.Equal(at, starts[:len(at)]) {
			t.Fatalf("after %d steps the columns start at %v, before at %v:\n%s", steps, at, starts, header)
		}
		nodes, _, _ := final.layout()
		wantLeft, wantRight := nodes[0] != "1", nodes[len(nodes)-1] != "8"
		if strings.Contains(header, "◂") != wantLeft || strings.Contains(header, "▸") != wantRight {
			t.Errorf("after %d steps (columns %v) the markers are wrong: %q", steps, nodes, header)
		}
		if steps == 8 && nodes[len(nodes)-1] != "8" {
			t.Errorf("scrolling right never reaches the last column: %v", nodes)
		}
	}
}

// TestDetailWrapsLongMessages: the detail pane shows a long message whole, wrapped at the
// screen's edge, instead of cutting it (defect 8).
func TestDetailWrapsLongMessages(t *testing.T) {
	long := strings.Repeat("word ", 40) + "THE-END"
	tests := readLog(t, "00:00:01.000000 [1] "+long+"\n")
	final := runProgram(t, tests, 80, 24, keyMsg("enter"))
	if screen := plain(final); !strings.Contains(screen, "THE-END") {
		t.Fatalf("the detail pane cuts the message:\n%s", screen)
	}
}

// TestPickerFiltersKeepsPlacesAndShowsTheSelection: the test picker narrows its list to a
// filter typed after /, a test left and picked again opens where its cursor was, the selected
// row shows without colours (reverse video), and a resize lays the picker out again for the
// new width (defect 9).
func TestPickerFiltersKeepsPlacesAndShowsTheSelection(t *testing.T) {
	longName := "TestAVeryLongNameThatNeedsMoreThanFortyColumnsToBeReadWhole"
	var text strings.Builder
	for _, name := range []string{"TestAlpha", "TestBeta", longName} {
		fmt.Fprintf(&text, "=== RUN   %s\n", name)
		for i := 0; i < 6; i++ {
			fmt.Fprintf(&text, "00:00:0%d.000000 [%d] %s step %d\n", i, i%3+1, name, i)
		}
		fmt.Fprintf(&text, "--- PASS: %s (0.01s)\n", name)
	}
	tests, _, err := parse.Read(strings.NewReader(text.String()), parse.Options{})
	if err != nil || len(tests) != 3 {
		t.Fatalf("%d tests, %v", len(tests), err)
	}
	// No leaktest: teatest's own SIGINT watcher outlives the program (see TestFollowFile).
	tm := teatest.NewTestModel(t, New(tests, Options{NoColor: true}), teatest.WithInitialTermSize(80, 20))
	send := func(keys ...string) {
		for _, k := range keys {
			tm.Send(keyMsg(k))
		}
	}
	send("j", "j", "j")                                  // TestAlpha, fourth row
	send("t", "/", "b", "e", "t", "a", "enter", "enter") // the filter keeps TestBeta only
	send("t", "/", "a", "l", "p", "enter", "enter")      // back to TestAlpha
	send("t")
	tm.Send(tea.WindowSizeMsg{Width: 140, Height: 20})
	tm.Send(tea.QuitMsg{})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if final.Test().Name != "TestAlpha" {
		t.Fatalf("the filters picked %s", final.Test().Name)
	}
	if final.cursor != 3 {
		t.Errorf("back on TestAlpha the cursor is on row %d, want 3 where it was left", final.cursor)
	}
	screen := final.screen()
	if !strings.Contains(ansi.Strip(screen), longName) {
		t.Errorf("after growing to 140 columns the picker still cuts the long name:\n%s", ansi.Strip(screen))
	}
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "TestAlpha") && !strings.Contains(line, "\x1b[7m") {
			t.Errorf("the selected row is not marked without colours: %q", line)
		}
	}
}

// TestTimeToScaleKeepsTheLaneAndTheCursorOnEvents: in time-to-scale mode the blank rows of a
// quiet stretch keep the fault lane (a node down stays down), moving the cursor steps over
// them and over term rules, and x reaches the nodes' final stop events (defect 11).
func TestTimeToScaleKeepsTheLaneAndTheCursorOnEvents(t *testing.T) {
	const log = `00:00:00.000000 [1] ticks | ev=timer term=1 state=follower
00:00:00.010000 [2] ticks | ev=timer term=1 state=follower
00:00:00.020000 [2] crashes | ev=crash term=1 state=dead
00:00:00.030000 [1] ticks | ev=timer term=1 state=follower
00:00:00.040000 [1] ticks | ev=timer term=1 state=follower
00:00:02.000000 [1] term 1 -> 2 | ev=term term=2 state=follower prev=1
00:00:02.010000 [1] ticks | ev=timer term=2 state=follower
00:00:02.020000 [1] stops | ev=stop term=2 state=follower
`
	tests := readLog(t, log)
	// No leaktest: teatest's own SIGINT watcher outlives the program (see TestFollowFile).
	// s, then five steps down from the first event across the quiet stretch and the term rule.
	final := runProgram(t, tests, 80, 40, keyMsg("s"), keyMsg("j"), keyMsg("j"), keyMsg("j"), keyMsg("j"), keyMsg("j"))
	if c := final.Cursor(); c == nil || c.Time != 2_000_000_000 {
		t.Errorf("five steps down landed on %+v (row kind %d), want the event after the gap", c, final.rows.At(final.cursor).kind)
	}
	gaps := 0
	for _, line := range strings.Split(plain(final), "\n") {
		if strings.HasPrefix(line, "┊") {
			gaps++
			if !strings.Contains(line, "✗") {
				t.Errorf("a row of time passing lost the fault lane (node 2 is down): %q", line)
			}
		}
	}
	if gaps == 0 {
		t.Fatalf("no rows of time passing in time-to-scale mode:\n%s", plain(final))
	}
	final.Update(keyMsg("g"))
	final.Update(keyMsg("x"))
	final.Update(keyMsg("x"))
	if c := final.Cursor(); c == nil || c.Kind != "stop" {
		t.Errorf("the second x landed on %+v, want node 1's stop", c)
	}
}

// threeTestsLog has a needle in its first and third tests, none in the second.
const threeTestsLog = `=== RUN   TestA
00:00:01.000000 [1] starts
00:00:02.000000 [2] found the needle here
00:00:03.000000 [1] ends
--- PASS: TestA (0.01s)
=== RUN   TestB
00:00:01.000000 [1] nothing
00:00:02.000000 [2] nothing either
--- PASS: TestB (0.01s)
=== RUN   TestC
00:00:01.000000 [3] needle one
00:00:02.000000 [1] hay
00:00:03.000000 [2] needless two
--- PASS: TestC (0.01s)
PASS
ok  	example.com/x	0.1s
`

// numbered hands visit the tests of a reading from the start with their numbers.
func numbered(visit func(int, *parse.Test) error) func(*parse.Test) error {
	seq := 0
	return func(t *parse.Test) error {
		seq++
		return visit(seq-1, t)
	}
}

// feedLog loads a log as raftviz --tui does: streamed in, tests not on screen let go and read
// again from the text on demand (counted in rereads).
func feedLog(t *testing.T, text string, rereads *int) *Model {
	t.Helper()
	m := New(nil, Options{NoColor: true, Loading: true, Reread: func(ctx context.Context, _ int, visit func(int, *parse.Test) error) error {
		*rereads++
		src := parse.NewSource([]parse.Input{{Name: "log", Reader: strings.NewReader(text)}}, parse.Options{})
		return src.Scan(ctx, parse.ScanOptions{Emit: numbered(visit)})
	}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	src := parse.NewSource([]parse.Input{{Name: "log", Reader: strings.NewReader(text)}}, parse.Options{})
	if err := Feed(context.Background(), src, nil, func(msg tea.Msg) { m.Update(msg) }); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSearchCountsAndGoesOnInOtherTests: a search says which match of how many the cursor is
// on, goes on in the next (or previous) test with a match, read again from the log when it
// was let go, and takes a regexp after re:.
func TestSearchCountsAndGoesOnInOtherTests(t *testing.T) {
	rereads := 0
	m := feedLog(t, threeTestsLog, &rereads)
	search(m, "needle")
	if e := m.Cursor(); m.Test().Name != "TestA" || e == nil || e.Msg != "found the needle here" || m.status != `match 1 of 1 for "needle"` {
		t.Fatalf("search: %s %+v, status %q", m.Test().Name, e, m.status)
	}
	if m.held[m.tests[2]].Len() != 0 {
		t.Fatal("TestC is in memory before the search reached it")
	}
	press(m, "n")
	if e := m.Cursor(); m.Test().Name != "TestC" || e == nil || e.Msg != "needle one" || rereads != 1 {
		t.Fatalf("n after the last match: %s %+v (%d rereads), status %q", m.Test().Name, e, rereads, m.status)
	}
	if !strings.Contains(m.status, "next test with a match, TestC: match 1 of 2") {
		t.Fatalf("status %q does not say the search went on in TestC", m.status)
	}
	press(m, "n")
	if e := m.Cursor(); e == nil || e.Msg != "needless two" || m.status != `match 2 of 2 for "needle"` {
		t.Fatalf("n: %+v, status %q", e, m.status)
	}
	// Not on the cursor's row, the match is underlined within its cell (lipgloss underlines
	// letter by letter).
	var marked strings.Builder
	for _, u := range regexp.MustCompile("\x1b\\[4;4m(.)\x1b\\[m").FindAllStringSubmatch(m.screen(), -1) {
		marked.WriteString(u[1])
	}
	if marked.String() != "needle" {
		t.Fatalf("the match is not highlighted, but %q:\n%q", marked.String(), m.screen())
	}
	press(m, "n")
	if !strings.Contains(m.status, "no next match") || m.Cursor().Msg != "needless two" {
		t.Fatalf("n past the last match of the last test: %q", m.status)
	}
	press(m, "N", "N")
	if e := m.Cursor(); m.Test().Name != "TestA" || e == nil || e.Msg != "found the needle here" {
		t.Fatalf("N before the first match: %s %+v, status %q", m.Test().Name, e, m.status)
	}
	m.selectTest(2)
	search(m, `re:needle\b`)
	if e := m.Cursor(); e == nil || e.Msg != "needle one" || m.status != `match 1 of 1 for "re:needle\\b"` {
		t.Fatalf("regexp search: %+v, status %q", e, m.status)
	}
	search(m, `re:(needle`)
	if !strings.HasPrefix(m.status, "bad regexp: missing closing )") || m.Cursor().Msg != "needle one" {
		t.Fatalf("a bad regexp: status %q, cursor %+v", m.status, m.Cursor())
	}
}

// TestSearchRunsOffTheKeys: counting a search's matches runs as background work, chunk by
// chunk, so that keys are answered meanwhile; a new search cancels the one before.
func TestSearchRunsOffTheKeys(t *testing.T) {
	defer func(n int) { searchChunk = n }(searchChunk)
	searchChunk = 100
	m := newModel(t, simTests(t), 120, 20)
	n := m.Events().Len()
	m.Update(keyMsg("/"))
	for _, r := range "no such text" {
		m.Update(keyMsg(string(r)))
	}
	m.Update(keyMsg("enter"))
	first := m.work[workSearch]
	if first == nil || !strings.Contains(plain(m), `searching "no such text"`) {
		t.Fatalf("the search ran inside Update (work %v):\n%s", first, plain(m))
	}
	m.Update(keyMsg("j"))
	if m.cursor != 1 {
		t.Fatalf("a key during the search moved the cursor to %d", m.cursor)
	}
	steps := 0
	for m.work[workSearch] != nil && steps < 3 {
		w := m.work[workSearch]
		m.Update(workMsg{kind: w.kind, gen: w.gen, apply: w.run(w.ctx)})
		steps++
	}
	if m.srch.counted != 300 {
		t.Fatalf("three steps counted %d events, want 300 of %d", m.srch.counted, n)
	}
	search(m, "crashes") // cancels the count under way
	if first.ctx.Err() == nil || m.Cursor() == nil || m.Cursor().Kind != "crash" {
		t.Fatalf("the second search: first cancelled %v, cursor %+v", first.ctx.Err(), m.Cursor())
	}
	if !strings.HasSuffix(m.status, `for "crashes"`) {
		t.Fatalf("status %q", m.status)
	}
	// Opening a test starts its analysis as work too: the flags come when it is done.
	m.selectTest(0)
	m.Update(keyMsg("j"))
	if m.flagged != nil || m.work[workAnalysis] == nil {
		t.Fatalf("opening a test analysed it inside Update (flags %v, work %v)", m.flagged, m.work[workAnalysis])
	}
	settle(m)
	if m.flagged == nil || m.analyzed != n {
		t.Fatalf("the analysis did not finish: %v, %d of %d events", m.flagged, m.analyzed, n)
	}
}

// prompt opens a prompt line with key k, types s and presses enter.
func prompt(m *Model, k, s string) {
	press(m, k)
	m.prompt.input.SetValue(s)
	press(m, "enter")
}

// TestGoToRowsTimesMarksAndTests: : goes to a row, a time of day or an offset from the start;
// m and a letter mark a place that ' and the letter come back to, from another test too; > and
// < step through the tests.
func TestGoToRowsTimesMarksAndTests(t *testing.T) {
	rereads := 0
	m := feedLog(t, threeTestsLog, &rereads)
	m.selectTest(2)
	prompt(m, ":", "3")
	if e := m.Cursor(); m.cursor != 2 || e == nil || e.Msg != "needless two" {
		t.Fatalf(":3 went to row %d, %+v", m.cursor+1, e)
	}
	prompt(m, ":", "00:00:01.5")
	if e := m.Cursor(); e == nil || e.Msg != "hay" {
		t.Fatalf(":00:00:01.5 went to %+v (status %q)", e, m.status)
	}
	prompt(m, ":", "+2s")
	if e := m.Cursor(); e == nil || e.Msg != "needless two" {
		t.Fatalf(":+2s went to %+v (status %q)", e, m.status)
	}
	for _, bad := range []string{"99", "tomorrow", "00:00:09"} {
		prompt(m, ":", bad)
		if m.status == "" || m.Cursor().Msg != "needless two" {
			t.Fatalf(":%s moved to %+v, status %q", bad, m.Cursor(), m.status)
		}
	}
	press(m, "k", "m", "q") // q after m is the mark's letter, not quit
	if !strings.Contains(plain(m), "mark q set") {
		t.Fatalf("m q: %q", m.status)
	}
	press(m, "<")
	if m.Test().Name != "TestB" || !strings.Contains(m.status, "test 2/3: TestB") {
		t.Fatalf("< showed %s, status %q", m.Test().Name, m.status)
	}
	press(m, "<", "<")
	if m.Test().Name != "TestA" || m.status != "this is the first test" {
		t.Fatalf("< past the first test: %s, %q", m.Test().Name, m.status)
	}
	press(m, "'", "q")
	if e := m.Cursor(); m.Test().Name != "TestC" || e == nil || e.Msg != "hay" {
		t.Fatalf("' q went to %s %+v", m.Test().Name, e)
	}
	press(m, "j")
	if !strings.Contains(plain(m), "q00:00:02.000000") {
		t.Fatalf("the marked row does not show its letter:\n%s", plain(m))
	}
	press(m, "'", "z")
	if !strings.Contains(m.status, `no mark "z"`) {
		t.Fatalf("' z: %q", m.status)
	}
}

// TestCopyOpenAndExport: y copies the event line, o opens the log in $PAGER at the event's
// line, e writes the rows in view (filter and folds applied) as a text table to a new file.
func TestCopyOpenAndExport(t *testing.T) {
	m := newModel(t, simTests(t), 120, 20)
	press(m, "x") // the crash
	m.Update(keyMsg("y"))
	want := m.eventLine(m.Cursor())
	if !strings.Contains(want, "[") || !strings.Contains(want, "ev=crash") || m.status != "copied: "+want {
		t.Fatalf("y: status %q, line %q", m.status, want)
	}
	_, cmd := m.Update(keyMsg("y"))
	if got := fmt.Sprint(cmd()); got != want {
		t.Fatalf("y put %q on the clipboard, want %q", got, want)
	}

	// o without a file: the log came through stdin.
	press(m, "o")
	if !strings.Contains(m.status, "stdin") {
		t.Fatalf("o with no file: %q", m.status)
	}

	dir := t.TempDir()
	m.fold = true
	m.rebuild()
	m.hidden["5"] = true
	m.rebuild()
	out := filepath.Join(dir, "rows.txt")
	press(m, "e")
	if v := m.prompt.value(); v != "TestSim.txt" {
		t.Fatalf("e proposes %q", v)
	}
	m.prompt.input.SetValue(out)
	// The file is written as background work, not inside Update.
	if _, cmd := m.Update(keyMsg("enter")); cmd == nil || m.status != "writing "+out+"…" {
		t.Fatalf("enter on the export line: status %q, background work %v", m.status, cmd != nil)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the export was written inside Update")
	}
	settle(m)
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("e wrote nothing (%q): %v", m.status, err)
	}
	folds, events := 0, 0
	for _, r := range m.rows.All() {
		switch r.kind {
		case rowFold:
			folds++
		case rowEvent:
			events++
		}
	}
	if folds == 0 || !strings.Contains(m.status, fmt.Sprintf("wrote %d rows", folds+events)) {
		t.Fatalf("status %q after exporting %d folds and %d events", m.status, folds, events)
	}
	if got := strings.Count(string(text), "heartbeat events"); got != folds {
		t.Fatalf("the table has %d folded rows, want %d", got, folds)
	}
	header := ""
	for _, l := range strings.Split(string(text), "\n") {
		if strings.Contains(l, "TIME") {
			header = l
			break
		}
	}
	if !strings.Contains(header, " 4 ") || strings.Contains(header, " 5 ") {
		t.Fatalf("the exported header keeps the hidden node 5 or lost node 4: %q", header)
	}
	// An existing file is never overwritten.
	prompt(m, "e", out)
	if again, _ := os.ReadFile(out); !strings.Contains(m.status, "exists") || string(again) != string(text) {
		t.Fatalf("exporting over %s: %q", out, m.status)
	}
}

// TestOpenShowsTheLogInThePager: o runs $PAGER on the event's file at its line.
func TestOpenShowsTheLogInThePager(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "run.log")
	if err := os.WriteFile(logFile, []byte(threeTestsLog), 0o644); err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(dir, "args")
	pager := filepath.Join(dir, "pager")
	if err := os.WriteFile(pager, []byte("#!/bin/sh\necho \"$@\" > "+args+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PAGER", pager+" -R")
	tests, _, err := parse.ReadFiles([]string{logFile}, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tm := teatest.NewTestModel(t, New(tests, Options{NoColor: true, Files: []string{logFile}}), teatest.WithInitialTermSize(100, 20))
	tm.Send(keyMsg("j"))
	tm.Send(keyMsg("o"))
	var got []byte
	teatest.WaitFor(t, tm.Output(), func([]byte) bool { got, _ = os.ReadFile(args); return len(got) > 0 },
		teatest.WithDuration(5*time.Second))
	if want := "-R +3 " + logFile + "\n"; string(got) != want {
		t.Fatalf("the pager got %q, want %q", got, want)
	}
	tm.Send(keyMsg("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestLegendExplainsTheSigns: ? shows what the signs mean; the title line has a short key
// when it fits.
func TestLegendExplainsTheSigns(t *testing.T) {
	m := newModel(t, simTests(t), 80, 40)
	press(m, "?")
	v := plain(m)
	for _, sign := range []string{"✗ node down", "~ disconnected", "| partitioned", "‼ flagged", "┊ time passing", "◂ ▸ more columns"} {
		if !strings.Contains(v, sign) {
			t.Fatalf("the legend lacks %q:\n%s", sign, v)
		}
	}
	for i, l := range strings.Split(v, "\n") {
		if w := ansi.StringWidth(l); w > 80 {
			t.Fatalf("line %d is %d wide: %q", i, w, l)
		}
	}
	wide := newModel(t, simTests(t), 200, 30)
	if first := strings.SplitN(plain(wide), "\n", 2)[0]; !strings.HasSuffix(first, titleKey) {
		t.Fatalf("no key on the title line: %q", first)
	}
}

// TestNoticesShowAtTheBottom: a line from the program around the timeline (raftrun live's
// script) shows at the bottom as it comes, under a status message, and keeps the cursor on
// screen (defect 12).
func TestNoticesShowAtTheBottom(t *testing.T) {
	tm := teatest.NewTestModel(t, New(simTests(t), Options{NoColor: true}), teatest.WithInitialTermSize(100, 12))
	tm.Send(NoticeMsg{Text: "script: > crash 1"})
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("script: > crash 1")) },
		teatest.WithDuration(5*time.Second))
	tm.Send(NoticeMsg{Text: "script finished: every command ran (q quits and stops the cluster)"})
	tm.Send(keyMsg("G"))
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	lines := strings.Split(plain(final), "\n")
	if len(lines) != 12 || !strings.HasPrefix(lines[10], "script finished") {
		t.Fatalf("the notice is not the line above the keys:\n%s", plain(final))
	}
	if !strings.Contains(plain(final), "▶") {
		t.Fatalf("the cursor is off screen:\n%s", plain(final))
	}
}

// TestPreviousMatchWaitsForTheCount: N while the count has not reached the cursor lands on the
// nearest match before it, not on the last one counted so far.
func TestPreviousMatchWaitsForTheCount(t *testing.T) {
	defer func(n int) { searchChunk = n }(searchChunk)
	searchChunk = 50
	m := newModel(t, simTests(t), 120, 20)
	var want int32 = -1
	press(m, "G")
	end := m.rows.At(m.cursor).idx
	q, _ := parse.NewQuery("AppendEntries")
	for i := end - 1; i >= 0; i-- {
		if e := m.Events().At(int(i)); hitIn(q, &e) {
			want = i
			break
		}
	}
	search(m, "AppendEntries") // lands on the first match
	press(m, "G")
	m.srch = searchState{q: q} // a count started over, from the first event
	m.Update(keyMsg("N"))
	settle(m)
	if got := m.rows.At(m.cursor).idx; got != want {
		t.Fatalf("N from the end went to event %d, want %d, the last match before it", got, want)
	}
}

// TestRowsGrowAsEventsArrive feeds a run in random batches, with heartbeats folded or not and
// a node hidden or not: after every batch the rows are those of the events so far built at
// once, though only the new events (and a run of heartbeats still open at the end) were laid
// out. A node that joins late brings a column mid-way, and free-text heartbeats fold too.
func TestRowsGrowAsEventsArrive(t *testing.T) {
	all := slices.Clone(simTests(t)[0].Events)
	for i := len(all) / 2; i < len(all); i += 7 {
		all[i].Node = "9" // a node that writes its first line half-way
	}
	for i := 1; i < len(all); i += 5 {
		if all[i].Kind == eventline.KindTimer {
			all[i].Kind, all[i].Fields, all[i].Msg = "", "", "sending heartbeat to peers"
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	for round := range 8 {
		fold, hide := round&1 != 0, round&2 != 0
		m := newModel(t, []*parse.Test{{Name: "TestSim"}}, 120, 20)
		m.keyOf = map[int]int{1: 0}
		m.fold = fold
		if hide {
			m.hidden["2"] = true
		}
		var b evstore.Builder
		for at := 0; at < len(all); {
			n := min(1+r.IntN([]int{3, 40, 400}[r.IntN(3)]), len(all)-at)
			b.Add(all[at : at+n]...)
			m.Update(AppendMsg{Updates: []Update{{Key: 1, Name: "TestSim", Events: b.Events()}}})
			at += n
			want := New([]*parse.Test{{Name: "TestSim", Events: all[:at]}}, Options{NoColor: true})
			want.fold, want.hidden = fold, m.hidden
			want.rebuild()
			for want.behind() {
				want.catchUp()
			}
			if d := firstDifference(&m.rows, &want.rows); d >= 0 {
				t.Fatalf("fold %v, hide %v, after %d events: %d rows, built at once %d; first difference at row %d",
					fold, hide, at, m.rows.Len(), want.rows.Len(), d)
			}
		}
	}
}

// firstDifference returns the first row where a and b differ (-1: none).
func firstDifference(a, b *evstore.Blocks[row]) int {
	for i := range min(a.Len(), b.Len()) {
		if a.At(i) != b.At(i) {
			return i
		}
	}
	if a.Len() != b.Len() {
		return min(a.Len(), b.Len())
	}
	return -1
}

// TestPickedTestIsReadAgainOffTheKeys: a test let go is read again as background work, not in
// Update; until its rows come, the screen keeps the test shown and says "opening" (it used to
// show an empty table, "row 0/0", for a moment: issue 31, 14). Every key works meanwhile; the
// test opens where it was left, and so does the one left when it is picked again.
func TestPickedTestIsReadAgainOffTheKeys(t *testing.T) {
	rereads := 0
	m := feedLog(t, threeTestsLog, &rereads)
	press(m, "j", "j") // TestA's third event
	m.Update(keyMsg(">"))
	if m.Test().Name != "TestA" || m.Events().Len() != 3 || rereads != 0 || m.work[workReread] == nil {
		t.Fatalf("> read TestB in Update or left TestA at once: %s, %d events, %d readings", m.Test().Name, m.Events().Len(), rereads)
	}
	if s := plain(m); !strings.Contains(s, "opening TestB…") || !strings.Contains(s, "ends") {
		t.Fatalf("while TestB is read again the screen does not keep TestA and say so:\n%s", s)
	}
	// Every key works on the test shown while the other is read.
	for _, k := range []string{"j", "k", "G", "g", "x", "c", "v", "n", "a", "z", "s", "z", "s", "right", "d", "esc", "y", "?", "?", "f", "esc", ":", "esc"} {
		m.Update(keyMsg(k))
		_ = m.screen()
	}
	left := m.Cursor().Msg
	settle(m)
	if m.Test().Name != "TestB" || m.Events().Len() != 2 || m.held[m.tests[0]].Len() != 0 {
		t.Fatalf("after the reading: %s on screen with %d events, TestA holds %d", m.Test().Name, m.Events().Len(), m.held[m.tests[0]].Len())
	}
	if !strings.Contains(plain(m), "test 2/3: TestB") {
		t.Fatalf("no test line once TestB opened:\n%s", plain(m))
	}
	press(m, "<")
	if e := m.Cursor(); m.Test().Name != "TestA" || e == nil || e.Msg != left {
		t.Fatalf("TestA did not open where it was left (%q): %s, %+v", left, m.Test().Name, e)
	}
}

// TestSearchGoesOnInATestStillLoading: with the tests before it let go, a search that finds
// nothing more in this test goes on in a test still loading (in memory, not yet numbered for
// reading again), not only in those the log is read again for.
func TestSearchGoesOnInATestStillLoading(t *testing.T) {
	rereads := 0
	log := `=== RUN   TestA
00:00:01.000000 [1] starts
--- PASS: TestA (0.01s)
=== RUN   TestB
00:00:01.000000 [1] nothing
--- PASS: TestB (0.01s)
`
	m := New(nil, Options{NoColor: true, Loading: true, Reread: func(ctx context.Context, _ int, visit func(int, *parse.Test) error) error {
		rereads++
		src := parse.NewSource([]parse.Input{{Name: "log", Reader: strings.NewReader(log)}}, parse.Options{})
		return src.Scan(ctx, parse.ScanOptions{Emit: numbered(visit)})
	}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	tests := readLog(t, log)
	ups := []Update{}
	for i, tt := range tests {
		ups = append(ups, Update{Key: i + 1, Name: tt.Name, Status: tt.Status, Events: storeOf(tt.Events), Complete: true, Seq: i})
	}
	ups = append(ups, Update{Key: 3, Name: "TestC", Events: storeOf([]parse.Event{{Node: "2", Msg: "the needle, still loading", Flags: parse.FlagTime}})})
	m.Update(AppendMsg{Updates: ups})
	settle(m)
	search(m, "needle")
	settle(m)
	if m.Test().Name != "TestC" || m.Cursor() == nil || !strings.Contains(m.Cursor().Msg, "needle") {
		t.Fatalf("the search stayed in %s (status %q, %d readings)", m.Test().Name, m.status, rereads)
	}
}

// TestBigBatchIsLaidOutASliceAtATime: events that come in a big batch are indexed and laid
// out catchUpEvents at a time, each step a message of its own, so that a key pressed meanwhile
// is answered at once (on the rows so far); once caught up, the rows and index are those built
// at once. Coming back to a big test puts the cursor where it was left when its rows reach it,
// unless a key moved it meanwhile.
func TestBigBatchIsLaidOutASliceAtATime(t *testing.T) {
	big := bigTest(t, 5*catchUpEvents+123)
	m := New(nil, Options{NoColor: true, Loading: true})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	_, cmd := m.Update(AppendMsg{Updates: []Update{{Key: 1, Name: "TestBig", Events: storeOf(big.Events)}}})
	if m.ix.observed != catchUpEvents || cmd == nil {
		t.Fatalf("one batch of %d events: %d indexed in its Update, more to come: %v", len(big.Events), m.ix.observed, cmd != nil)
	}
	m.Update(keyMsg("G"))
	if last := m.rows.At(m.cursor).idx; int(last) >= catchUpEvents || m.cursor != m.rows.Len()-1 {
		t.Fatalf("G went to event %d (row %d of %d) before the rest was laid out", last, m.cursor, m.rows.Len())
	}
	m.Update(AppendMsg{Done: true})
	settle(m)
	want := New([]*parse.Test{big}, Options{NoColor: true})
	if firstDifference(&m.rows, &want.rows) >= 0 || !slices.Equal(m.ix.changes, want.ix.changes) || !slices.Equal(m.ix.nodes, want.ix.nodes) {
		t.Fatalf("caught up: %d rows, %d changes; built at once: %d rows, %d changes", m.rows.Len(), len(m.ix.changes), want.rows.Len(), len(want.ix.changes))
	}

	// Folding lays the rows out again a slice at a time too; the cursor goes back to its
	// event (or the fold that holds it) when the rows reach it.
	m.cursorToEvent(int32(3*catchUpEvents + 11))
	at := m.rows.At(m.cursor).idx
	m.Update(keyMsg("z"))
	if !m.behind() || m.rows.Len() > catchUpEvents || !strings.Contains(plain(m), "laying out 19%") {
		t.Fatalf("z laid out %d rows at once, behind %v; header:\n%s", m.rows.Len(), m.behind(), plain(m))
	}
	settle(m)
	if strings.Contains(plain(m), "laying out") {
		t.Fatalf("laid out, the header still says:\n%s", plain(m))
	}
	want.fold = true
	want.flagged = m.flagged // flagged heartbeats keep their rows: the same flags on both
	want.rebuild()
	for want.behind() {
		want.catchUp()
	}
	if d := firstDifference(&m.rows, &want.rows); d >= 0 {
		t.Fatalf("folded a slice at a time: rows differ from row %d", d)
	}
	if r := m.rows.At(m.cursor); r.idx > at || r.kind == rowFold && r.idx+r.n <= at || r.kind == rowEvent && r.idx != at {
		t.Fatalf("after z the cursor is on row %+v, not on event %d", r, at)
	}

	small := &parse.Test{Name: "TestSmall", Events: big.Events[:10]}
	m = newModel(t, []*parse.Test{big, small}, 120, 20)
	place := int32(4*catchUpEvents + 7)
	m.cursorToEvent(place)
	place = m.rows.At(m.cursor).idx
	press(m, ">")
	m.Update(keyMsg("<"))
	if !m.behind() || m.place != place {
		t.Fatalf("back to the big test: behind %v, waiting for event %d (want %d)", m.behind(), m.place, place)
	}
	settle(m)
	if got := m.rows.At(m.cursor).idx; got != place {
		t.Fatalf("back to the big test, the cursor is on event %d, want %d", got, place)
	}
	// z pressed before the place came lays the rows out again, and still goes there.
	press(m, ">")
	m.Update(keyMsg("<"))
	m.Update(keyMsg("z"))
	settle(m)
	if r := m.rows.At(m.cursor); r.idx > place || r.kind == rowFold && r.idx+r.n <= place || r.kind == rowEvent && r.idx != place {
		t.Fatalf("z before the place came: the cursor is on row %+v, not on event %d", r, place)
	}
	press(m, "z", ">")
	m.Update(keyMsg("<"))
	m.Update(keyMsg("j")) // moved before the place came: stays where it was put
	settle(m)
	if got := m.rows.At(m.cursor).idx; got == place || m.cursor != 1 {
		t.Fatalf("a cursor moved while the rows came went to event %d (row %d)", got, m.cursor)
	}
}

// TestPanesShowTheirOwnKeys: each pane (picker, its filter line, the filter, the text pane,
// the prompt) is a model with a key map of its own, and its title line or the footer is that
// key map's help: what it lists is what it answers to. The prompt shows its whole placeholder.
func TestPanesShowTheirOwnKeys(t *testing.T) {
	m := newModel(t, simTests(t), 120, 20)
	firstLine := func() string { return strings.SplitN(plain(m), "\n", 2)[0] }
	lastLine := func() string {
		lines := strings.Split(strings.TrimRight(plain(m), "\n"), "\n")
		return lines[len(lines)-1]
	}
	steps := []struct {
		keys  []string
		where func() string
		want  string
	}{
		{[]string{"t"}, firstLine, "Pick a test  enter show • / filter • ↑/k up • ↓/j down • esc back"},
		{[]string{"/"}, firstLine, "enter done • esc clear"},
		{[]string{"esc", "esc", "f"}, firstLine, "Filter  space toggle • a all • enter apply • esc cancel"},
		{[]string{"esc", "enter"}, firstLine, "Event detail  esc back • ↓/j down • ↑/k up"},
		{[]string{"esc", "/"}, lastLine, "enter search • esc cancel"},
		{[]string{"esc", ":"}, lastLine, "enter go • esc cancel"},
		{[]string{"esc", "e"}, lastLine, "enter export • esc cancel"},
	}
	for _, s := range steps {
		press(m, s.keys...)
		if got := s.where(); !strings.Contains(got, s.want) {
			t.Fatalf("after %v the line is %q, want %q in it", s.keys, got, s.want)
		}
	}
	press(m, "esc", "/")
	if s := plain(m); !strings.Contains(s, "/text, or re:regexp") {
		t.Fatalf("the search line does not show its placeholder whole:\n%s", s)
	}
	// What the help lists is what the pane answers to: the filter's "a all" turns every item
	// on, its "space toggle" turns one off, "esc cancel" leaves the columns as they were.
	press(m, "esc", "f", "space")
	if m.filter.items[0].on {
		t.Fatal("space did not toggle the first item")
	}
	press(m, "a")
	for _, it := range m.filter.items {
		if !it.on {
			t.Fatal("a left an item off")
		}
	}
	press(m, "space", "esc")
	if m.mode != modeTable || len(m.hidden) != 0 {
		t.Fatalf("esc applied the filter: mode %d, hidden %v", m.mode, m.hidden)
	}
}

// TestFarJumpRunsOffTheKeys: a jump that finds nothing within jumpNearRows rows looks on as
// background work: the key is answered at once, saying it is looking, and the cursor goes to
// the event when it is found (or the status says there is none), in either direction.
func TestFarJumpRunsOffTheKeys(t *testing.T) {
	n := 3*jumpNearRows + 100
	events := make([]parse.Event, n)
	for i := range events {
		events[i] = parse.Event{Time: int64(i) * 1000, Flags: parse.FlagTime, Node: fmt.Sprint(1 + i%3), Msg: "tick", Line: int32(i + 1)}
	}
	crash, commit := n-50, n-30
	events[crash].Kind, events[crash].Msg = eventline.KindCrash, "crashes"
	events[commit].Msg = "commit index is 5"
	m := newModel(t, []*parse.Test{{Name: "TestFar", Events: events}}, 120, 20)
	// The first c reads the free-text lines' commit indexes off the keys, then jumps.
	if _, cmd := m.Update(keyMsg("c")); cmd == nil || m.cursor != 0 || m.status != "reading the commit indexes…" {
		t.Fatalf("c: cursor %d, status %q, background work %v", m.cursor, m.status, cmd != nil)
	}
	settle(m)
	if e := m.Cursor(); e == nil || int(e.Line) != commit+1 {
		t.Fatalf("c went to %+v, want line %d", e, commit+1)
	}
	press(m, "g")
	_, cmd := m.Update(keyMsg("x"))
	if cmd == nil || m.cursor != 0 || !strings.Contains(m.status, "looking for the next fault") {
		t.Fatalf("x far from a fault: cursor %d, status %q, background work %v", m.cursor, m.status, cmd != nil)
	}
	settle(m)
	if e := m.Cursor(); e == nil || int(e.Line) != crash+1 {
		t.Fatalf("x went to %+v, want line %d", e, crash+1)
	}
	press(m, "x")
	if m.status != "no next fault" {
		t.Fatalf("x past the last fault: status %q", m.status)
	}
	press(m, "G", "X")
	if e := m.Cursor(); e == nil || int(e.Line) != crash+1 {
		t.Fatalf("X from the end went to %+v", e)
	}
	press(m, "X")
	if m.status != "no previous fault" || m.Cursor().Line != int32(crash+1) {
		t.Fatalf("X before the first fault: status %q, cursor on line %d", m.status, m.Cursor().Line)
	}
	// A time typed after : far from the start is looked for the same way.
	press(m, "g", ":")
	for _, r := range "+12ms" {
		m.Update(keyMsg(string(r)))
	}
	if _, cmd := m.Update(keyMsg("enter")); cmd == nil || !strings.Contains(m.status, "looking for") {
		t.Fatalf(":+12ms: status %q", m.status)
	}
	settle(m)
	if e := m.Cursor(); e == nil || e.Line != 12001 {
		t.Fatalf(":+12ms went to %+v, want line 12001", e)
	}
	press(m, ":")
	for _, r := range "+1h" {
		m.Update(keyMsg(string(r)))
	}
	press(m, "enter")
	if m.status != "no next event at or after +1h" {
		t.Fatalf(":+1h: status %q", m.status)
	}
	// A node hidden by the filter is hidden from jumps far off too.
	press(m, "g")
	m.hidden[events[crash].Node] = true
	m.rebuild()
	settle(m)
	press(m, "x")
	if m.status != "no next fault" {
		t.Fatalf("x found a fault of a hidden node: status %q, cursor on %+v", m.status, m.Cursor())
	}
}

// TestKilledLeaderIsNoLongerLeader: a leader killed with kill -9 writes nothing; its next line
// is its start from storage, and from there its column says follower, not leader (two leaders
// in the header after a restart, as merged per-node logs of a real cluster showed).
func TestKilledLeaderIsNoLongerLeader(t *testing.T) {
	log := "00:00:00.100000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2\n" +
		"00:00:00.200000 [2] becomes leader | ev=state term=2 state=leader prev=candidate reason=won votes=2\n" +
		"00:00:00.300000 [1] starts | ev=start term=1 peers=1,2,3 last_index=3 last_term=1 commit=2 vote=1\n" +
		"00:00:00.400000 [1] resets election timer | ev=timer term=1 timer=election action=reset\n"
	m := newModel(t, readLog(t, log), 120, 12)
	press(m, "G")
	header := strings.Split(plain(m), "\n")[1]
	if strings.Contains(header, "1 leader") || !strings.Contains(header, "1 follower") || !strings.Contains(header, "2 leader") {
		t.Fatalf("column header after node 1's restart: %q", header)
	}
}

// twoGroupsLog: two servers, each in Raft groups a and b (as NATS JetStream's _meta_ and a
// stream's group): 1 leads a in term 3, 2 leads b in term 1.
const twoGroupsLog = `00:00:00.100000 [1] starts | ev=start term=0 state=follower
00:00:00.100000 [2] starts | ev=start term=0 state=follower
00:00:00.200000 [1] a: becomes leader | ev=state term=3 state=leader group=a
00:00:00.210000 [2] a: follows 1 | ev=state term=3 state=follower group=a
00:00:00.300000 [2] b: becomes leader | ev=state term=1 state=leader group=b
00:00:00.310000 [1] b: follows 2 | ev=state term=1 state=follower group=b
00:00:00.400000 [1] a: heartbeat | ev=send term=3 state=leader type=AppendEntries to=2 group=a
`

// TestGroupKeyShowsOneGroup: in a log of several Raft groups, r shows one group at a time:
// its events (with the servers' own), its term, leader and roles in the header; then all.
func TestGroupKeyShowsOneGroup(t *testing.T) {
	m := newModel(t, readLog(t, twoGroupsLog), 120, 20)
	press(m, "G")
	events := func() int {
		n := 0
		for _, r := range m.rows.All() {
			if r.kind == rowEvent {
				n++
			}
		}
		return n
	}
	head := func() (string, string) {
		lines := strings.Split(plain(m), "\n")
		return lines[0], lines[1]
	}
	if title, _ := head(); !strings.Contains(title, "2 groups (r: one)") || events() != 7 {
		t.Fatalf("all groups: title %q, %d rows", title, events())
	}
	for _, c := range []struct {
		title, cols string
		rows        int
	}{
		{"term 3 leader 1  group a", "1 leader", 5},
		{"term 1 leader 2  group b", "2 leader", 4},
	} {
		press(m, "r", "G")
		title, cols := head()
		if !strings.Contains(title, c.title) || !strings.Contains(cols, c.cols) || !strings.Contains(cols, "follower") || events() != c.rows {
			t.Errorf("after r: title %q, columns %q, %d rows; want %q, %q, %d rows", title, cols, events(), c.title, c.cols, c.rows)
		}
	}
	press(m, "r")
	if title, _ := head(); !strings.Contains(title, "2 groups") || events() != 7 {
		t.Errorf("r after the last group: title %q, %d rows; want all groups again", title, events())
	}
}

// killedLeaderLog: leader 1 is killed without a word (kill -9) after its heartbeat at 0.30,
// 2 is elected in term 2, and 1 starts again from its data.
const killedLeaderLog = `00:00:00.100000 [1] starts | ev=start term=0 state=follower
00:00:00.100000 [2] starts | ev=start term=0 state=follower
00:00:00.200000 [1] becomes leader | ev=state term=1 state=leader
00:00:00.300000 [1] heartbeat | ev=send term=1 state=leader type=AppendEntries to=2
00:00:00.310000 [2] heartbeat from 1 | ev=recv term=1 state=follower type=AppendEntries from=1
00:00:00.900000 [2] election timeout | ev=timer term=1 state=follower
00:00:00.900000 [2] becomes candidate | ev=state term=2 state=candidate
00:00:01.000000 [2] becomes leader | ev=state term=2 state=leader
00:00:02.000000 [1] starts | ev=start term=1 state=follower
00:00:02.100000 [1] follows 2 | ev=state term=2 state=follower
`

// TestSilentCrashIsMarked: a node that wrote nothing more until it started again crashed
// after its last line, as analyze counts it: x stops there and says so, and the node is down
// (not leader) from then until its start.
func TestSilentCrashIsMarked(t *testing.T) {
	m := newModel(t, readLog(t, killedLeaderLog), 140, 20)
	press(m, "x")
	e := m.Cursor()
	lines := strings.Split(plain(m), "\n")
	msgLine := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "✗ ") {
			msgLine = l
		}
	}
	if e == nil || e.Msg != "heartbeat" || e.Node != "1" || !strings.Contains(msgLine, "1 wrote nothing more until it started again: it crashed after this line (inferred)") {
		t.Fatalf("x: cursor on %+v, message line %q; want 1's last line, marked", e, msgLine)
	}
	press(m, "j") // 2's receive: 1 is down, and no longer the leader
	if title, cols := strings.Split(plain(m), "\n")[0], strings.Split(plain(m), "\n")[1]; !strings.Contains(title, "leader none") || !strings.Contains(cols, "1 down") {
		t.Fatalf("after 1's last line: title %q, columns %q; want no leader and 1 down", title, cols)
	}
	press(m, "G")
	if cols := strings.Split(plain(m), "\n")[1]; !strings.Contains(cols, "1 follower") || !strings.Contains(cols, "2 leader") {
		t.Fatalf("after 1's start: columns %q", cols)
	}
}

// TestNoEventsSaysSo: a test with no event the timeline can draw says so, with the command's
// hint and where its lines are, instead of an empty screen.
func TestNoEventsSaysSo(t *testing.T) {
	tests := readLog(t, "hello world\nsome other line\n")
	m := New(tests, Options{NoColor: true, NoEvents: "Tried the profiles a, b."})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	settle(m)
	screen := plain(m)
	for _, want := range []string{"No event in this test: none of its lines is a debug line raftviz reads.", "Tried the profiles a, b.", "! shows its 2 lines as they are."} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
}

// TestQClosesTheHelp: with the full help open, q closes it (as it closes every pane) instead of
// quitting; ctrl+d and ctrl+u move half a page.
func TestQClosesTheHelp(t *testing.T) {
	m := newModel(t, simTests(t), 120, 30)
	press(m, "?")
	if !m.help.ShowAll {
		t.Fatal("? did not open the help")
	}
	if _, cmd := m.Update(keyMsg("q")); m.help.ShowAll || m.quitting || cmd != nil {
		t.Fatalf("q with the help open: help %v, quitting %v, cmd %v", m.help.ShowAll, m.quitting, cmd != nil)
	}
	half := m.bodyHeight() / 2
	m.Update(tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl})
	settle(m)
	if m.cursor != half {
		t.Fatalf("ctrl+d: cursor %d, want %d", m.cursor, half)
	}
	m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	settle(m)
	if m.cursor != 0 {
		t.Fatalf("ctrl+u: cursor %d, want 0", m.cursor)
	}
}

// TestRowOfAnOffScreenColumn: on a screen too narrow for every node's column, a row whose node's
// column is scrolled off shows who and what, compactly ("▸ 5: ..."), instead of a bare time.
func TestRowOfAnOffScreenColumn(t *testing.T) {
	m := newModel(t, simTests(t), 60, 40)
	if len(m.shownNodes()) < 3 {
		t.Skip("the sample has too few nodes")
	}
	lines := strings.Split(plain(m), "\n")
	blank, compact := 0, 0
	for _, l := range lines[2 : len(lines)-3] {
		body := strings.TrimSpace(strings.TrimLeft(l, "▶ "))
		if len(body) <= len("00:00:00.000000")+4 && strings.Contains(body, ":") && !strings.Contains(body, "term") {
			blank++
		}
		if strings.Contains(l, "▸ ") || strings.Contains(l, "◂ ") {
			compact++
		}
	}
	if compact == 0 || blank > 0 {
		t.Fatalf("at 60 columns: %d rows name an off-screen node, %d look blank:\n%s", compact, blank, plain(m))
	}
}

// TestFlaggedHeartbeatKeepsItsRow: folding never hides a flagged event in a fold: v lands on
// the flagged event's own row and the line under the table shows it (issue 31, 12).
func TestFlaggedHeartbeatKeepsItsRow(t *testing.T) {
	// Heartbeats of leader 1 to 2, one of them answered 250 ms late: a slow round trip.
	var b strings.Builder
	b.WriteString("00:00:00.100000 [1] becomes leader | ev=state term=1 state=leader\n")
	clock := 200 * time.Millisecond
	at := func(d time.Duration) string {
		return fmt.Sprintf("00:00:%02d.%06d", int(d/time.Second), int(d%time.Second/time.Microsecond))
	}
	for k := 1; k <= 6; k++ {
		rpc := "1-" + strconv.Itoa(k)
		reply := clock + time.Millisecond
		if k == 4 {
			reply = clock + 250*time.Millisecond
		}
		fmt.Fprintf(&b, "%s [1] heartbeat to 2 | ev=send term=1 state=leader rpc=%s type=AppendEntries to=2 entries=0\n", at(clock), rpc)
		fmt.Fprintf(&b, "%s [1] heartbeat reply from 2 | ev=recv term=1 state=leader rpc=%s type=AppendEntriesReply from=2 success=true\n", at(reply), rpc)
		clock = reply + 10*time.Millisecond
	}
	m := newModel(t, readLog(t, b.String()), 140, 30)
	press(m, "z", "v") // v analyses first, then jumps
	if len(m.flagged) == 0 {
		t.Fatal("the slow heartbeat reply is not flagged")
	}
	for _, r := range m.rows.All() {
		if r.kind != rowFold {
			continue
		}
		for i := r.idx; i < r.idx+r.n; i++ {
			if _, ok := m.flagged[i]; ok {
				t.Fatalf("flagged event %d is folded away (fold at %d of %d events)", i, r.idx, r.n)
			}
		}
	}
	if r := m.rows.At(m.cursor); r.kind != rowEvent {
		t.Fatalf("v stopped on a %v row", r.kind)
	} else if _, ok := m.flagged[r.idx]; !ok {
		t.Fatalf("v stopped on event %d, which is not flagged", r.idx)
	}
}
