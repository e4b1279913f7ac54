package render

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

// classicCut is the classic tables' wrapping written the obvious way, as the reference for
// hardWrap: a new line starts whenever the next rune would pass width columns, wherever that is
// (spaces are kept, also at a line's start). It is not go-pretty's text.WrapHard, which joins
// words by single spaces and drops a space that would start a line: the classic tables
// (testdata/classic_timing_table.txt: "state" / " = Leader") keep it.
func classicCut(s string, width int) []string {
	if width <= 0 {
		return []string{s}
	}
	var lines []string
	var line []rune
	w := 0
	for _, r := range s {
		rw := text.RuneWidth(r)
		if w+rw > width && len(line) > 0 {
			lines = append(lines, string(line))
			line, w = line[:0], 0
		}
		line = append(line, r)
		w += rw
	}
	return append(lines, string(line))
}

// prettyReference renders a table the slow way, with go-pretty, from the same cells the fast
// renderer lays out. The fast renderer exists only for speed: its output must be identical.
// With Options.Arrows the reference lays the table out twice: first with stand-ins as wide as
// an arrow's label and head must be, to learn the column widths go-pretty chooses; then with
// the arrows drawn to those widths.
func prettyReference(opts Options, nodes []string, events []parse.Event) string {
	if !opts.Arrows {
		return prettyTable(opts, nodes, events, nil)
	}
	first := prettyTable(opts, nodes, events, func(a Arrow, cols []int, row table.Row) {
		label := text.StringWidthWithoutEscSequences(a.Label) + 2
		if opts.Wrap > 0 {
			label = min(label, opts.Wrap)
		}
		row[cols[0]] = strings.Repeat("x", label)
		row[cols[1]] = "xx"
	})
	// The top rule's segments are the columns' widths plus their padding.
	rule, _, _ := strings.Cut(first, "\n")
	var widths []int
	for _, seg := range strings.FieldsFunc(rule, func(r rune) bool { return strings.ContainsRune("┌┬┐+", r) }) {
		widths = append(widths, utf8.RuneCountInString(seg)-2)
	}
	return prettyTable(opts, nodes, events, func(a Arrow, cols []int, row table.Row) {
		lo, hi := min(cols[0], cols[1]), max(cols[0], cols[1])
		for i, s := range ArrowCells(a, widths[lo:hi+1], cols[0] < cols[1]) {
			row[lo+i] = s
			if !opts.Compact {
				row[lo+i] = s + "\n"
			}
		}
	})
}

// prettyTable is a go-pretty table of the events; arrow, when set, fills the cells of an
// arrow (cols: the sender's column and the receiver's).
func prettyTable(opts Options, nodes []string, events []parse.Event, arrow func(a Arrow, cols []int, row table.Row)) string {
	tw := table.NewWriter()
	if opts.Format == FormatASCII {
		tw.SetStyle(table.StyleDefault)
	} else {
		tw.SetStyle(table.StyleLight)
	}
	tw.Style().Options.SeparateRows = !opts.Compact
	tw.Style().Format.Header = text.FormatDefault
	known := map[string]bool{}
	for _, n := range nodes {
		known[n] = true
	}
	arrowOf := func(e *parse.Event) (Arrow, bool) {
		a, ok := ArrowOf(e)
		return a, ok && arrow != nil && known[a.From] && known[a.To]
	}
	inFault := func(e *parse.Event) bool {
		_, drawn := arrowOf(e)
		return e.IsFault() || e.Node == "*" && !drawn
	}
	fault := slices.ContainsFunc(events, func(e parse.Event) bool { return inFault(&e) })
	header := table.Row{"TIME"}
	if fault {
		header = append(header, "FAULT")
	}
	col := map[string]int{}
	for _, n := range nodes {
		col[n] = len(header)
		header = append(header, n)
	}
	tw.AppendHeader(header)
	cell := func(s string) string {
		lines := classicCut(s, opts.Wrap)
		if !opts.Compact {
			lines = append(lines, "")
		}
		return strings.Join(lines, "\n")
	}
	start, _ := (&parse.Test{Events: events}).Start()
	for i := range events {
		e := &events[i]
		row := make(table.Row, len(header))
		for c := range row {
			row[c] = ""
		}
		row[0] = e.FormatTime(start, opts.Relative)
		if fault && inFault(e) {
			row[1] = cell(faultText(e))
		}
		if a, ok := arrowOf(e); ok {
			arrow(a, []int{col[a.From], col[a.To]}, row)
		} else if c, ok := col[e.Node]; ok {
			row[c] = cell(opts.cellText(e))
		}
		tw.AppendRow(row)
	}
	return tw.Render() + "\n"
}

func randomEvents(r *rand.Rand, n int, nodes []string) []parse.Event {
	words := []string{"vote", "AppendEntries", "term=3", "commit", "日本語", "x", "", "a long message that wraps", "[::]:1234", "éé"}
	ev := make([]parse.Event, n)
	t := int64(r.IntN(1e12))
	for i := range ev {
		var sb strings.Builder
		for j := r.IntN(8); j >= 0; j-- {
			sb.WriteString(words[r.IntN(len(words))])
			sb.WriteByte(' ')
		}
		t += int64(r.IntN(1e9))
		ev[i] = parse.Event{Time: t, Node: nodes[r.IntN(len(nodes))], Msg: sb.String(), Flags: parse.FlagTime}
		if r.IntN(20) == 0 {
			ev[i].Kind = "crash"
		}
		if r.IntN(30) == 0 {
			ev[i].Node, ev[i].Kind, ev[i].Msg = "*", "partition", "split"
		}
		// Messages, for the arrow view: sent, received and lost, between any two nodes (or a
		// node the table does not show).
		peer := append(slices.Clone(nodes), "elsewhere")[r.IntN(len(nodes)+1)]
		typ := []string{"AppendEntries", "RequestVoteReply", "日本語"}[r.IntN(3)]
		switch r.IntN(8) {
		case 0:
			ev[i].Kind = "send"
			ev[i].Fields = eventline.MakeFields(eventline.Field{Key: "type", Value: typ}, eventline.Field{Key: "to", Value: peer}, eventline.Field{Key: "entries", Value: strconv.Itoa(r.IntN(3))})
		case 1:
			ev[i].Kind = "recv"
			ev[i].Fields = eventline.MakeFields(eventline.Field{Key: "type", Value: typ}, eventline.Field{Key: "from", Value: peer}, eventline.Field{Key: "granted", Value: "true"})
		case 2:
			ev[i].Node, ev[i].Kind = "*", "drop"
			ev[i].Fields = eventline.MakeFields(eventline.Field{Key: "type", Value: typ}, eventline.Field{Key: "from", Value: nodes[r.IntN(len(nodes))]}, eventline.Field{Key: "to", Value: peer}, eventline.Field{Key: "reason", Value: "loss"})
		}
	}
	return ev
}

// TestHardWrapMatchesClassicCut compares the wrapping of the fast path with the reference cut on
// random strings of ASCII words, runs of spaces, wide and accented runes, at random widths.
func TestHardWrapMatchesClassicCut(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"vote", "AppendEntries", " ", "  ", "term=3", "日本語", "é", "x", "[::]:1234", "a long message that wraps"}
	for i := 0; i < 2000; i++ {
		var sb strings.Builder
		for j := r.IntN(10); j >= 0; j-- {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		s, w := sb.String(), r.IntN(32)
		got, want := hardWrap(nil, s, w), classicCut(s, w)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("hardWrap(%q, %d) = %q, want %q", s, w, got, want)
		}
		if ww := wrappedWidth(s, w); ww != maxWidth(want) {
			t.Fatalf("wrappedWidth(%q, %d) = %d, want %d", s, w, ww, maxWidth(want))
		}
	}
}

func maxWidth(lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, text.StringWidthWithoutEscSequences(l))
	}
	return w
}

// TestColourOnlyAddsCodes: with colour on, a table is the same table with every non-empty cell
// line of a node or fault column wrapped in its event's colour, and nothing else changes.
func TestColourOnlyAddsCodes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	codes := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	for i := 0; i < 60; i++ {
		opts := Options{Wrap: []int{0, 7, 30}[i%3], Compact: i%2 == 0, Relative: i%4 == 1, Arrows: i/3%2 == 1}
		if i%5 == 0 {
			opts.Format = FormatASCII
		}
		nodes := []string{"0", "1", "2", "n10"}[:1+r.IntN(4)]
		events := randomEvents(r, 1+r.IntN(40), nodes)
		tt := parse.Test{Events: events}
		cols := opts.columns(events)
		start, _ := tt.Start()
		var plain, colour bytes.Buffer
		if err := newTextTable(&opts, cols, events, start).write(&plain, events); err != nil {
			t.Fatal(err)
		}
		copts := opts
		copts.Color = true
		if err := newTextTable(&copts, cols, events, start).write(&colour, events); err != nil {
			t.Fatal(err)
		}
		if got := codes.ReplaceAllString(colour.String(), ""); got != plain.String() {
			t.Fatalf("case %d: colour changed the table beyond its codes:\n%s\n---\n%s", i, got, plain.String())
		}
		// Every coloured span is one cell line: opened, text, closed, inside one column.
		for _, line := range strings.Split(colour.String(), "\n") {
			for _, span := range regexp.MustCompile(`\x1b\[[0-9;]+m([^\x1b]*)\x1b\[0m`).FindAllStringSubmatch(line, -1) {
				if span[1] == "" || strings.ContainsAny(span[1], "│|") {
					t.Fatalf("case %d: colour span %q is not one cell's text in %q", i, span[1], line)
				}
			}
			if n := len(codes.FindAllString(line, -1)); n%2 != 0 {
				t.Fatalf("case %d: unbalanced colour codes in %q", i, line)
			}
		}
	}
}

func TestFastRendererMatchesGoPretty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 60; i++ {
		opts := Options{Wrap: []int{0, 7, 30}[i%3], Compact: i%2 == 0, Relative: i%4 == 1, Arrows: i/3%2 == 1}
		if i%5 == 0 {
			opts.Format = FormatASCII
		}
		nodes := []string{"0", "1", "2", "n10", "longer-node-name"}[:1+r.IntN(5)]
		events := randomEvents(r, 1+r.IntN(40), nodes)
		tt := parse.Test{Events: events}
		cols := opts.columns(events)
		start, _ := tt.Start()
		var got bytes.Buffer
		if err := newTextTable(&opts, cols, events, start).write(&got, events); err != nil {
			t.Fatal(err)
		}
		want := prettyReference(opts, cols, events)
		if got.String() != want {
			t.Fatalf("case %d (%+v): fast renderer differs from go-pretty\n--- fast\n%s\n--- go-pretty\n%s", i, opts, got.String(), want)
		}
	}
}

func TestClassicSampleBodyIsIdentical(t *testing.T) {
	tests, sum, err := parse.ReadFiles([]string{"../testdata/classic_go_test_v.log"}, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := NewWriter(&out, Options{Wrap: DefaultWrap})
	for _, tt := range tests {
		if err := w.Test(tt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(sum.Status(tests)); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../testdata/classic_timing_table.txt")
	if err != nil {
		t.Fatal(err)
	}
	// The status line is ours ("nodes: 0 1 2" rather than the classic "map[0:true ...]");
	// columns, rows, wrapping, borders and the final result line must be the classic ones.
	_, gotBody, _ := strings.Cut(out.String(), "\n")
	_, wantBody, _ := strings.Cut(string(want), "\n")
	if gotBody != wantBody {
		t.Fatalf("table differs from the classic one:\n%s", firstDiff(gotBody, wantBody))
	}
	if first, _, _ := strings.Cut(out.String(), "\n"); first != "PASS TestElectionNormal (0.30s) nodes: 0 1 2 ; entries: 59" {
		t.Errorf("status line = %q", first)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+2, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(al), len(bl))
}

func TestHardWrap(t *testing.T) {
	cases := []struct {
		in   string
		w    int
		want string
	}{
		{"Becomes Follower with term=1; log=[]", 30, "Becomes Follower with term=1; |log=[]"},
		{"abc", 0, "abc"},
		{"abcdef", 3, "abc|def"},
		{"日本語です", 5, "日本|語で|す"}, // a wide rune never straddles the edge
		{"", 30, ""},
	}
	for _, c := range cases {
		if got := strings.Join(hardWrap(nil, c.in, c.w), "|"); got != c.want {
			t.Errorf("hardWrap(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
	}
}

func TestFilter(t *testing.T) {
	ev := []parse.Event{
		{Node: "0", Msg: "becomes leader"}, {Node: "1", Msg: "votes"}, {Node: "*", Kind: "partition"},
		{Node: "2", Msg: "x", Kind: "commit"},
	}
	o := Options{Nodes: []string{"0", "2"}}
	if got := o.Filter(ev); len(got) != 3 || got[1].Node != "*" {
		t.Errorf("node filter kept %v", got)
	}
	o = Options{Grep: mustQuery(t, "commit")}
	if got := o.Filter(ev); len(got) != 1 || got[0].Node != "2" {
		t.Errorf("grep by kind kept %v", got)
	}
	// Smart case: lower case matches any case; a capital makes the search exact.
	ev = append(ev, parse.Event{Node: "1", Msg: "Becomes Leader"}, parse.Event{Node: "1", Msg: "x", Fields: eventline.MakeFields(eventline.Field{Key: "state", Value: "LEADER"})})
	for grep, want := range map[string]int{"leader": 3, "Leader": 1, "LEADER": 1, "state=leader": 1, "State": 0, "re:^[Bb]ecomes": 2} {
		o = Options{Grep: mustQuery(t, grep)}
		if got := o.Filter(ev); len(got) != want {
			t.Errorf("--grep %q kept %d events, want %d: %v", grep, len(got), want, got)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		e    parse.Event
		want Category
	}{
		{parse.Event{Msg: "becomes Leader; term=1"}, CategoryLeader},
		{parse.Event{Msg: "Becomes Dead"}, CategoryFault},
		{parse.Event{Msg: "RequestVote reply: &{Term:1 VoteGranted:true}"}, CategoryElection},
		{parse.Event{Msg: "sendCommit: commitIndex=3"}, CategoryCommit},
		{parse.Event{Msg: "sending AppendEntries to 1"}, CategoryReplicate},
		{parse.Event{Msg: "listening at [::]:15867"}, CategoryOther},
		{parse.Event{Kind: "state", Fields: eventline.MakeFields(eventline.Field{Key: "state", Value: "leader"})}, CategoryLeader},
		{parse.Event{Kind: "send", Fields: eventline.MakeFields(eventline.Field{Key: "type", Value: "RequestVote"})}, CategoryElection},
		{parse.Event{Kind: "send", Fields: eventline.MakeFields(eventline.Field{Key: "type", Value: "AppendEntries"})}, CategoryReplicate},
		{parse.Event{Kind: "crash"}, CategoryFault},
		{parse.Event{Kind: "apply"}, CategoryCommit},
	}
	for _, c := range cases {
		if got := Classify(&c.e); got != c.want {
			t.Errorf("Classify(%q/%s) = %d, want %d", c.e.Msg, c.e.Kind, got, c.want)
		}
	}
}

// TestArrowsDrawASequenceDiagram: with Options.Arrows a request runs from the sender's column
// to the receiver's (leftward and rightward), a lost message ends in ✗ instead of sitting in
// the FAULT column, a received message names its sender, a node that only received messages
// (3 logs nothing) still gets a column, and every arrow cell fills its column so the shaft runs
// from border to border.
func TestArrowsDrawASequenceDiagram(t *testing.T) {
	const log = `00:00:00.100000 [2] sends RequestVote to 1 | ev=send term=1 state=candidate rpc=2-1 type=RequestVote to=1 last_index=0 last_term=0
00:00:00.100000 [2] sends RequestVote to 3 | ev=send term=1 state=candidate rpc=2-2 type=RequestVote to=3 last_index=0 last_term=0
00:00:00.101000 [1] receives RequestVote from 2 | ev=recv term=0 state=follower rpc=2-1 type=RequestVote from=2 mterm=1 last_index=0 last_term=0
00:00:00.101000 [1] sends RequestVoteReply to 2 | ev=send term=1 state=follower rpc=2-1 type=RequestVoteReply to=2 granted=true
00:00:00.102000 [*] network drops RequestVote 2->3 | ev=drop rpc=2-2 type=RequestVote from=2 to=3 reason=partition
`
	tests, _, err := parse.Read(strings.NewReader(log), parse.Options{})
	if err != nil || len(tests) != 1 {
		t.Fatalf("%d tests, %v", len(tests), err)
	}
	var out bytes.Buffer
	w := NewWriter(&out, Options{Wrap: DefaultWrap, Compact: true, Arrows: true})
	if err := w.Test(tests[0]); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "│ 00:") || strings.HasPrefix(l, "│ TIME") {
			rows = append(rows, l)
		}
	}
	want := []string{
		"│ TIME            │ 1                          │ 2                         │ 3  │",
		"│ 00:00:00.100000 │ ◀───────────────────────── │ RequestVote ───────────── │    │",
		"│ 00:00:00.100000 │                            │ RequestVote ───────────── │ ─▶ │",
		"│ 00:00:00.101000 │ ←2 RequestVote             │                           │    │",
		"│ 00:00:00.101000 │ RequestVoteReply granted ─ │ ─▶                        │    │",
		"│ 00:00:00.102000 │                            │ RequestVote (partition) ─ │ ─✗ │",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("arrow view:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

// TestArrowsOfProfiledLogs: logs of other Raft libraries draw arrows too, where their profile
// reads a message's receiver from the wording: etcd-io/raft's trace events, its debug lines
// ("sent MsgVote request to 2"), and 6.824 dslogs ("S0 -> S1 Sending ...").
func TestArrowsOfProfiledLogs(t *testing.T) {
	for file, want := range map[string][]string{
		"../testdata/etcd_trace.ndjson":                  {"MsgVote ─", "◀─", "←1 MsgVote", "←2 MsgVoteResp"},
		"../testdata/fixtures/etcd_v.log":                {"RequestVote ─", "─▶"},
		"../testdata/fixtures/dslogs_pass.log":           {"-> S1 Sending", "─▶"},
		"../testdata/fixtures/etcd_trace_v.log":          {"MsgApp ─", "←1 MsgApp"},
		"../testdata/fixtures/hashicorp_two_leaders.log": {"RequestVoteReply granted"},
	} {
		tests, _, err := parse.ReadFiles([]string{file}, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		w := NewWriter(&out, Options{Wrap: 60, Compact: true, Arrows: true})
		for _, tt := range tests {
			if err := w.Test(tt); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range want {
			if !strings.Contains(out.String(), s) {
				t.Errorf("%s: the arrow view lacks %q", file, s)
			}
		}
	}
}

func mustQuery(t *testing.T, s string) parse.Query {
	t.Helper()
	q, err := parse.NewQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestFilterGroup: Options.Group keeps its group's events and those naming none.
func TestFilterGroup(t *testing.T) {
	ev := func(node string, fs ...eventline.Field) parse.Event {
		msg := node
		for _, f := range fs {
			msg += " " + f.Key + "=" + f.Value
		}
		return parse.Event{Node: node, Msg: msg, Fields: eventline.MakeFields(fs...)}
	}
	events := []parse.Event{ev("s1"), ev("s1", eventline.Field{Key: "group", Value: "a"}),
		ev("s2", eventline.Field{Key: "group", Value: "b"}), ev("s2", eventline.Field{Key: "term", Value: "3"})}
	o := Options{Group: "a"}
	var got []string
	for _, e := range o.Filter(events) {
		got = append(got, e.Msg)
	}
	if want := []string{"s1", "s1 group=a", "s2 term=3"}; !slices.Equal(got, want) {
		t.Fatalf("Filter(Group a) = %q, want %q", got, want)
	}
}

// TestManyNodesStayLinear: a test of thousands of node ids drew a column per node (20,000 ids
// wrote 53.6 GB in 65 s); past MaxNodeColumns one column holds every event, headed by its node,
// and the table says so. Every event's node and message are still there, in every format that
// draws columns, with arrows too.
func TestManyNodesStayLinear(t *testing.T) {
	var events []parse.Event
	for i := 0; i < 2000; i++ {
		node := fmt.Sprintf("n%d", i)
		events = append(events, parse.Event{Time: int64(i) * 1000, Flags: parse.FlagTime, Node: node, Msg: "hello from " + node, Kind: eventline.KindSend,
			Fields: eventline.MakeFields(eventline.Field{Key: "to", Value: "n0"}, eventline.Field{Key: "type", Value: "AppendEntries"})})
	}
	test := &parse.Test{Name: "TestMany", Status: parse.StatusPass, Events: events}
	for _, opts := range []Options{{Wrap: DefaultWrap}, {Wrap: DefaultWrap, Arrows: true}, {Format: FormatMarkdown}, {Format: FormatHTML}} {
		var out bytes.Buffer
		w := NewWriter(&out, opts)
		if err := w.Test(test); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if out.Len() > 2000*1000 || !strings.Contains(s, "2000 nodes: one column") {
			t.Fatalf("%+v: %d bytes for 2000 events, or no word of the one column:\n%.400s", opts, out.Len(), s)
		}
		for _, i := range []int{0, 999, 1999} {
			if want := fmt.Sprintf("[n%d] hello from n%d", i, i); !strings.Contains(s, want) {
				t.Errorf("%+v: event of n%d lost (no %q)", opts, i, want)
			}
		}
	}
}
