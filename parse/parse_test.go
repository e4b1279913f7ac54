package parse

import (
	"bytes"
	"context"
	"fmt"
	"github.com/raftviz/raftviz/parse/profile"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // dated lines and JSON times render in the local zone
	os.Exit(m.Run())
}

func readFixture(t *testing.T, name string, opts Options) ([]*Test, Summary) {
	t.Helper()
	tests, sum, err := ReadFiles([]string{filepath.Join("..", "testdata", name)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tests, sum
}

func byID(tests []*Test) map[string]*Test {
	m := make(map[string]*Test)
	for _, t := range tests {
		m[t.ID()] = t
	}
	return m
}

func TestClassicSample(t *testing.T) {
	tests, sum := readFixture(t, "classic_go_test_v.log", Options{})
	if len(tests) != 1 {
		t.Fatalf("got %d tests, want 1", len(tests))
	}
	tt := tests[0]
	if tt.Name != "TestElectionNormal" || tt.Status != StatusPass || tt.Elapsed != 300*time.Millisecond {
		t.Errorf("test = %s %s %v", tt.Name, tt.Status, tt.Elapsed)
	}
	if len(tt.Events) != 59 {
		t.Errorf("events = %d, want 59", len(tt.Events))
	}
	if got := strings.Join(tt.Nodes(), ","); got != "0,1,2" {
		t.Errorf("nodes = %s", got)
	}
	e := tt.Events[6]
	if e.Node != "0" || e.Msg != "Becomes Candidate (currentTerm=1); log=[]" || e.Syntax != SyntaxClassic {
		t.Errorf("event 6 = %+v", e)
	}
	if got := e.FormatTime(0, false); got != "17:06:39.885142" {
		t.Errorf("time = %s", got)
	}
	if sum.Final != StatusPass || len(sum.Packages) != 1 || sum.Packages[0].Name != "raft-consensus/raft" {
		t.Errorf("summary = %+v", sum)
	}
	// "Seed: ..." precedes the first test: not understood, but counted.
	if sum.NotUnderstood != 1 {
		t.Errorf("not understood = %d, want 1", sum.NotUnderstood)
	}
}

func TestGoTestVerbose(t *testing.T) {
	tests, sum := readFixture(t, "gotest_v.log", Options{})
	m := byID(tests)
	want := map[string]Status{
		"TestSeq": StatusFail, "TestSeq/sub1": StatusPass, "TestSeq/sub2": StatusFail,
		"TestPar": StatusPass, "TestPar/a": StatusPass, "TestPar/b": StatusPass, "TestSkip": StatusSkip,
		"TestSeq#2": StatusFail, "TestSeq/sub1#2": StatusPass, "TestSkip#2": StatusSkip,
	}
	for id, st := range want {
		if m[id] == nil {
			t.Errorf("missing test %s", id)
		} else if m[id].Status != st {
			t.Errorf("%s status %s, want %s", id, m[id].Status, st)
		}
	}
	if len(tests) != 14 {
		t.Errorf("got %d tests, want 14 (7 per -count repeat)", len(tests))
	}
	// Lines logged in a subtest belong to it; t.Log lines are kept as other lines.
	if sub1 := m["TestSeq/sub1"]; len(sub1.Events) != 1 || sub1.Events[0].Node != "1" || len(sub1.Other) != 1 {
		t.Errorf("sub1 events=%v other=%v", sub1.Events, sub1.Other)
	}
	// The parallel subtests print while both run: their events are flagged as ambiguous.
	amb := m["TestPar/a"].Ambiguous + m["TestPar/b"].Ambiguous
	if amb == 0 || sum.Ambiguous < amb {
		t.Errorf("ambiguous = %d (summary %d), want > 0", amb, sum.Ambiguous)
	}
	if m["TestSeq"].Ambiguous != 0 {
		t.Error("sequential subtests were flagged as ambiguous")
	}
	if sum.Final != StatusFail || sum.Status(tests) != StatusFail {
		t.Errorf("final = %s", sum.Final)
	}
}

func TestGoTestJSON(t *testing.T) {
	for _, name := range []string{"gotest_json.jsonl", "gotest_json_build.jsonl"} {
		t.Run(name, func(t *testing.T) {
			tests, sum := readFixture(t, name, Options{})
			if sum.Format != FormatJSON {
				t.Fatalf("format = %s", sum.Format)
			}
			m := byID(tests)
			long := m["TestLong"]
			if long == nil || len(long.Events) != 1 {
				t.Fatalf("TestLong = %+v", long)
			}
			// test2json cut the 2500-byte line into three output events; they are one again.
			if msg := long.Events[0].Msg; len(msg) != 2504 || !strings.HasSuffix(msg, "x end") {
				t.Errorf("long line rejoined to %d bytes", len(msg))
			}
			if m["TestSeq/sub2"].Status != StatusFail || m["TestSkip"].Status != StatusSkip || long.Package != "gt" {
				t.Errorf("statuses: sub2=%s skip=%s pkg=%q", m["TestSeq/sub2"].Status, m["TestSkip"].Status, long.Package)
			}
			if sum.NotUnderstood != 0 {
				t.Errorf("not understood = %d: build events must be ignored", sum.NotUnderstood)
			}
			if sum.Ambiguous == 0 {
				t.Error("parallel output in a JSON stream was not flagged as ambiguous")
			}
		})
	}
}

func TestTimeoutAndPanic(t *testing.T) {
	tests, sum := readFixture(t, "gotest_timeout.log", Options{})
	m := byID(tests)
	// A timeout is a failure even though go test printed no --- FAIL line for it.
	if h := m["TestHang"]; h == nil || h.Status != StatusFail || !h.Panicked || len(h.Events) != 1 {
		t.Fatalf("TestHang after a timeout = %+v", h)
	}
	if r := m["TestHang"].Reason(); r != "panic: test timed out after 1s" {
		t.Errorf("reason = %q", r)
	}
	if !strings.HasPrefix(m["TestHang"].Other[0].Text, "panic: test timed out") {
		t.Errorf("timeout panic not kept with the test: %q", m["TestHang"].Other[0].Text)
	}
	if sum.NotUnderstood != 0 {
		t.Errorf("goroutine dump counted as not understood: %d", sum.NotUnderstood)
	}
	tests, _ = readFixture(t, "gotest_panic.log", Options{})
	if len(tests) != 1 || tests[0].Status != StatusFail {
		t.Fatalf("panicking test = %+v", tests)
	}
}

func TestStructuredTextAndJSONAgree(t *testing.T) {
	text, _ := readFixture(t, "structured.log", Options{})
	js, sum := readFixture(t, "structured.jsonl", Options{})
	if len(text) != 1 || len(js) != 1 {
		t.Fatalf("tests: text %d, json %d", len(text), len(js))
	}
	if !js[0].Implicit || sum.BySyntax[SyntaxJSON] != len(js[0].Events) {
		t.Errorf("json: implicit=%v syntax counts %v", js[0].Implicit, sum.BySyntax)
	}
	a, b := text[0].Events, js[0].Events
	if len(a) != len(b) || len(a) != 26 {
		t.Fatalf("events: text %d, json %d, want 26", len(a), len(b))
	}
	for i := range a {
		if a[i].Node != b[i].Node || a[i].Msg != b[i].Msg || a[i].Kind != b[i].Kind {
			t.Errorf("event %d: text %s/%q/%s json %s/%q/%s", i, a[i].Node, a[i].Msg, a[i].Kind, b[i].Node, b[i].Msg, b[i].Kind)
		}
		if fmt.Sprint(a[i].Fields) != fmt.Sprint(b[i].Fields) {
			t.Errorf("event %d fields: text %v json %v", i, a[i].Fields, b[i].Fields)
		}
		if a[i].FormatTime(0, false)[3:] != b[i].FormatTime(0, false)[3:] { // same minutes, seconds, micros
			t.Errorf("event %d time: %s vs %s", i, a[i].FormatTime(0, false), b[i].FormatTime(0, false))
		}
	}
	e := a[12]
	if cmd, _ := e.Field("cmd"); e.Kind != "propose" || cmd != "set x 1" {
		t.Errorf("quoted field: kind %s cmd %q", e.Kind, cmd)
	}
	if n, ok := e.FieldInt("index"); !ok || n != 1 {
		t.Errorf("index = %d %v", n, ok)
	}
	if p := a[18]; p.Node != "*" || p.Kind != "partition" || !p.IsFault() {
		t.Errorf("partition event = %+v", p)
	}
	if got := strings.Join(text[0].Nodes(), ","); got != "1,2,3" {
		t.Errorf("nodes = %s (the cluster pseudo-node must not be a column)", got)
	}
}

func TestEtcdTrace(t *testing.T) {
	tests, sum := readFixture(t, "etcd_trace.ndjson", Options{})
	if len(tests) != 1 || sum.BySyntax[SyntaxEtcdTrace] != 10 {
		t.Fatalf("tests %d, etcd events %d", len(tests), sum.BySyntax[SyntaxEtcdTrace])
	}
	ev := tests[0].Events
	// The trace's name stays in the trace field; the profile reads it as a message sent to 2.
	if ev[3].Kind != "send" || ev[3].Node != "1" {
		t.Errorf("event 3 = %+v", ev[3])
	}
	for key, want := range map[string]string{"trace": "SendRequestVoteRequest", "to": "2", "msgtype": "MsgVote", "term": "1", "role": "StateCandidate", "msg_type": "MsgVote", "msg_to": "2", "conf": "1,2,3"} {
		if got, _ := ev[3].Field(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if ev[3].HasTime() || !ev[9].HasTime() {
		t.Error("bare trace events have no time; the zap-wrapped one does")
	}
	if !strings.Contains(ev[3].Msg, "MsgVote 1->2") {
		t.Errorf("message = %q", ev[3].Msg)
	}
}

func TestDatedLinesAndNodeOrder(t *testing.T) {
	tests, _ := readFixture(t, "dated_ids.log", Options{})
	if len(tests) != 1 || !tests[0].Implicit || tests[0].Name != ImplicitTestName {
		t.Fatalf("tests = %+v", tests)
	}
	if got := strings.Join(tests[0].Nodes(), ","); got != "S2,n1,n2,n10" {
		t.Errorf("nodes = %s, want natural order S2,n1,n2,n10", got)
	}
	e := tests[0].Events[0]
	if e.Flags&FlagDate == 0 || time.Unix(0, e.Time).UTC().Format("2006-01-02 15:04:05.000000") != "2026-11-23 17:06:39.683218" {
		t.Errorf("dated event time = %v flags %b", time.Unix(0, e.Time), e.Flags)
	}
}

func TestMergeFilesByTime(t *testing.T) {
	tests, _, err := ReadFiles([]string{"../testdata/node1.log", "../testdata/node2.log"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 1 {
		t.Fatalf("per-node logs made %d tests, want one merged timeline", len(tests))
	}
	var order []string
	for _, e := range tests[0].Events {
		order = append(order, e.Node+"@"+e.FormatTime(0, false)[9:12])
	}
	if got := strings.Join(order, " "); got != "1@100 2@200 1@300 2@310 2@400 1@500" {
		t.Errorf("merged order = %s", got)
	}
	if tests[0].Events[1].File != 1 {
		t.Error("merged events lost their file index")
	}
}

func TestBrokenInput(t *testing.T) {
	tests, sum := readFixture(t, "broken.log", Options{})
	if len(tests) != 1 || tests[0].Name != "TestBroken" || tests[0].Status != StatusFail {
		t.Fatalf("tests = %+v", tests)
	}
	ev := tests[0].Events
	if len(ev) != 4 {
		t.Fatalf("events = %d, want 4", len(ev))
	}
	if ev[0].Msg != "coloured message" {
		t.Errorf("ANSI not stripped: %q", ev[0].Msg)
	}
	if ev[1].Msg != "bad utf8 \uFFFD\uFFFD here" {
		t.Errorf("invalid UTF-8 not replaced: %q", ev[1].Msg)
	}
	if ev[2].Msg != "out of order" || ev[2].Time >= ev[1].Time {
		t.Error("out-of-order line must keep its place and its own time")
	}
	if ev[3].Time <= ev[0].Time || ev[3].Msg != "after midnight TAB" {
		t.Errorf("after midnight: %d <= %d or msg %q", ev[3].Time, ev[0].Time, ev[3].Msg)
	}
	if len(tests[0].Other) != 3 || sum.NotUnderstood != 3 {
		t.Errorf("other lines = %d, not understood = %d, want 3", len(tests[0].Other), sum.NotUnderstood)
	}
}

func TestLongLinesAreCutNotLost(t *testing.T) {
	long := strings.Repeat("y", MaxLineBytes+5000)
	input := "12:00:00.000000 [1] first\n12:00:00.000001 [1] " + long + "\n12:00:00.000002 [1] last\n"
	tests, sum, err := Read(strings.NewReader(input), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := tests[0].Events
	if len(ev) != 3 || ev[2].Msg != "last" || sum.LongLines != 1 {
		t.Fatalf("events %d, long lines %d", len(ev), sum.LongLines)
	}
	if !strings.HasSuffix(ev[1].Msg, "bytes cut]") || len(ev[1].Msg) < MaxLineBytes-100 {
		t.Errorf("long line kept %d bytes, ends %q", len(ev[1].Msg), ev[1].Msg[len(ev[1].Msg)-20:])
	}
}

func TestRepeatedRunWithoutResultIsUnknown(t *testing.T) {
	in := "=== RUN   TestA\n10:00:00.000000 [1] one\n=== RUN   TestA\n10:00:00.000001 [1] two\n--- PASS: TestA (0.00s)\n"
	tests, _, _ := Read(strings.NewReader(in), Options{})
	if len(tests) != 2 || tests[0].Status != StatusUnknown || tests[1].Status != StatusPass || tests[1].Attempt != 2 {
		t.Fatalf("tests = %v", tests)
	}
}

func TestForcedPlainFormatIgnoresMarkers(t *testing.T) {
	tests, sum := readFixture(t, "classic_go_test_v.log", Options{Format: FormatPlain})
	if len(tests) != 1 || !tests[0].Implicit || len(tests[0].Events) != 59 {
		t.Fatalf("tests = %d", len(tests))
	}
	if sum.Framing != 0 || sum.NotUnderstood != 5 || len(tests[0].Other) != 6 {
		t.Errorf("framing %d not understood %d", sum.Framing, sum.NotUnderstood)
	}
}

func TestMatcher(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"", "TestA", true},
		{"TestA", "TestA/sub", true},
		{"TestA$", "TestAB", false},
		{"TestA/sub1", "TestA/sub1", true},
		{"TestA/sub1", "TestA/sub2", false},
		{"TestA/sub1", "TestA", true}, // the parent runs to reach its subtest
		{"Elect", "TestElectionNormal", true},
		{"Test[A/]", "TestA", true}, // a slash inside brackets does not split
	}
	for _, c := range cases {
		m, err := NewMatcher(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
	if _, err := NewMatcher("Test("); err == nil {
		t.Error("invalid pattern accepted")
	}
}

func TestNodeOrder(t *testing.T) {
	ids := []string{"10", "2", "1", "n10", "n2", "S1", "0"}
	SortNodes(ids)
	if got := strings.Join(ids, " "); got != "0 1 2 10 S1 n2 n10" {
		t.Errorf("order = %s", got)
	}
}

// FuzzParse feeds arbitrary input to the text parser: it must never panic, and every line must be
// accounted for as an event, an other line or go test framing, in some test or in the leftovers.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"classic_go_test_v.log", "gotest_v.log", "gotest_timeout.log", "structured.log",
		"broken.log", "dated_ids.log", "gotest_json_build.jsonl", "structured.jsonl", "etcd_trace.ndjson"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Real captures of other libraries (testdata/fixtures), cut to their first lines.
	for _, name := range []string{"hashicorp_v.log", "etcd_v.log", "etcd_trace_v.log", "dslogs_fail.log", "dslogs_panic.log", "jsonlog_v.log",
		"cluster/etcd_zap/n1.log", "cluster/etcd_capnslog/n2.log", "cluster/nats/s1.log", "cluster/hraft/node1.log", "cluster/hraft_slog/node1.log"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", name))
		if err != nil {
			f.Fatal(err)
		}
		if ls := bytes.SplitAfter(b, []byte("\n")); len(ls) > 40 {
			b = bytes.Join(ls[:40], nil)
		}
		f.Add(b)
	}
	f.Add([]byte("{\"level\":\"info\",\"ts\":1.7e9,\"raft_id\":\"2\",\"msg\":\"became leader\",\"term\":3}\n{\"node\":{}}\n"))
	f.Add([]byte("\x1b[31m12:00:00.1 [1] x | ev=\"\n=== CONT\n--- PASS: \n"))
	f.Add([]byte("time=1.7e9 level=INFO msg=\"became leader\" node=2 term=3\nk=\"unterminated\nmsg=\"a\\\"b\" k= =v node=\"\"\n"))
	f.Add([]byte("{\"ev\":1}\n{\"name\":\"x\",\"nid\":{}}\n\r\n\xff"))
	builtins := profile.Builtins()
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Format: FormatGoTest}
		if len(data)%2 == 1 {
			// Half the inputs are read with a forced profile, so every profile's path is fuzzed.
			opts.Profile = builtins[len(data)/2%len(builtins)]
		}
		in := Input{Name: "fuzz", Reader: bytes.NewReader(data)}
		if len(data)%3 == 0 {
			// One server's log (NAME=FILE): node per file, with the names book.
			in.Node = "n1"
		}
		src := NewSource([]Input{in}, opts)
		var tests []*Test
		if err := src.Scan(context.Background(), ScanOptions{Emit: func(x *Test) error { tests = append(tests, x); return nil }}); err != nil {
			t.Fatal(err)
		}
		sum := src.Summary()
		kept := len(src.Leftover())
		for _, x := range tests {
			kept += len(x.Events) + len(x.Other)
		}
		if kept+sum.Framing != sum.Lines {
			t.Fatalf("%d lines in, %d kept + %d framing", sum.Lines, kept, sum.Framing)
		}
		if want := bytes.Count(data, []byte("\n")); sum.Lines != want && sum.Lines != want+1 {
			t.Fatalf("counted %d lines, input has %d newlines", sum.Lines, want)
		}
		// The JSON framing and autodetection must not crash on the same bytes either.
		for _, f := range []Format{FormatJSON, FormatAuto} {
			if _, _, err := Read(bytes.NewReader(data), Options{Format: f}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestBareNameMarkerEndsAttribution(t *testing.T) {
	in := "=== RUN   TestA\n10:00:00.000000 [1] in A\n=== NAME\n10:00:00.000001 [1] package level\n--- PASS: TestA (0.00s)\n"
	tests, sum, _ := Read(strings.NewReader(in), Options{})
	if len(tests) != 2 || len(tests[0].Events) != 1 || !tests[1].Implicit || sum.NotUnderstood != 0 {
		t.Fatalf("tests %d, not understood %d", len(tests), sum.NotUnderstood)
	}
}

func TestFlushedImplicitTestStillCompletes(t *testing.T) {
	p := NewParser(Options{})
	p.Line([]byte("10:00:00.000000 [1] only event"))
	run := p.Running()
	if len(run) != 1 || !run[0].Implicit {
		t.Fatalf("running = %v", run)
	}
	run[0].Flushed, run[0].Events = 1, run[0].Events[:0] // a consumer wrote it in a part
	p.Finish()
	if done := p.Completed(); len(done) != 1 || done[0].Flushed != 1 {
		t.Fatalf("a flushed implicit test was discarded: %v", done)
	}
}

// TestLogfmtRecords: logfmt records (log/slog's TextHandler, go-kit) are read as logger records:
// time, level and message from their keys, the node from a node key, other keys as fields; a
// line that only looks like one is not.
func TestLogfmtRecords(t *testing.T) {
	in := `time=2026-12-06T20:55:38.356Z level=INFO msg="became leader" node=2 term=3 note="a \"quoted\" word"
ts=1733518538.5 lvl=debug msg=heartbeat node=3 to=2
retries=3 is not a record
msg="no node, no event" level=INFO
time=2026-12-06T20:55:39Z msg="unterminated node=2
`
	tests, sum, err := Read(strings.NewReader(in), Options{})
	if err != nil || len(tests) != 1 {
		t.Fatalf("%d tests, %v", len(tests), err)
	}
	ev := tests[0].Events
	if len(ev) != 2 || sum.Profile != "logfmt" || sum.NotUnderstood != 3 {
		t.Fatalf("events %+v, profile %q, %d not understood; want 2 events, logfmt, 3 other lines", ev, sum.Profile, sum.NotUnderstood)
	}
	lead, hb := ev[0], ev[1]
	if lead.Node != "2" || lead.Msg != "became leader" || !lead.BecameLeader() || lead.FormatTime(0, false) != "20:55:38.356000" {
		t.Errorf("first record: %+v (time %s)", lead, lead.FormatTime(0, false))
	}
	if term, ok := lead.Term(); !ok || term != 3 {
		t.Errorf("term %d %v, want 3", term, ok)
	}
	if note, _ := lead.Field("note"); note != `a "quoted" word` {
		t.Errorf("quoted value %q", note)
	}
	if to, _ := hb.Field("to"); hb.Node != "3" || to != "2" || hb.Flags&FlagDate == 0 {
		t.Errorf("second record: %+v", hb)
	}
}

// TestClientsAfterServers: a node that only invokes and returns client operations (the
// simulator's c0, c1) is drawn after the servers, whatever their names: "c0" used to come
// before "n1" (issue 31, 15).
func TestClientsAfterServers(t *testing.T) {
	log := `00:00:00.000000 [n1] starts | ev=start term=0 state=follower peers=n1,n2 last_index=0 last_term=0 commit=0 vote=none
00:00:00.001000 [c0] c0 set k 1 | ev=invoke client=c0 op_id=1 op=set key=k value=1
00:00:00.002000 [n2] starts | ev=start term=0 state=follower peers=n1,n2 last_index=0 last_term=0 commit=0 vote=none
00:00:00.003000 [c0] c0 set k -> ok | ev=return client=c0 op_id=1 op=set key=k ok=true
00:00:00.004000 [a1] starts | ev=start term=0 state=follower peers=n1,n2 last_index=0 last_term=0 commit=0 vote=none
`
	tests, _, err := Read(strings.NewReader(log), Options{})
	if err != nil || len(tests) != 1 {
		t.Fatal(err, len(tests))
	}
	if got := strings.Join(tests[0].Nodes(), ","); got != "a1,n1,n2,c0" {
		t.Errorf("nodes %s, want the servers a1,n1,n2 then the client c0", got)
	}
}
