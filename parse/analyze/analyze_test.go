package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft/sim"
)

func parseText(t *testing.T, text string) *parse.Test {
	t.Helper()
	tests, _, err := parse.Read(strings.NewReader(text), parse.Options{ImplicitName: "TestDoctored"})
	if err != nil || len(tests) != 1 {
		t.Fatalf("parse: %d tests, %v", len(tests), err)
	}
	return tests[0]
}

// healthy is a short correct run: node 1 wins term 1, replicates and applies one command.
const healthy = `00:00:00.100000 [1] starts | ev=start term=0 state=follower last_index=0 commit=0
00:00:00.100000 [2] starts | ev=start term=0 state=follower last_index=0 commit=0
00:00:00.100000 [3] starts | ev=start term=0 state=follower last_index=0 commit=0
00:00:00.200000 [1] term 0 -> 1 | ev=term term=1 state=follower prev=0 reason=campaign
00:00:00.200000 [1] becomes candidate | ev=state term=1 state=candidate prev=follower reason=timeout
00:00:00.200000 [1] sends RequestVote to 2 | ev=send term=1 state=candidate rpc=1-1 type=RequestVote to=2
00:00:00.201000 [2] receives RequestVote from 1 | ev=recv term=1 state=follower rpc=1-1 type=RequestVote from=1
00:00:00.201000 [2] sends RequestVoteReply to 1 | ev=send term=1 state=follower rpc=1-1 type=RequestVoteReply to=1 granted=true
00:00:00.202000 [1] receives RequestVoteReply from 2 | ev=recv term=1 state=candidate rpc=1-1 type=RequestVoteReply from=2 granted=true
00:00:00.202000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2
00:00:00.203000 [1] appends entry 1 | ev=append term=1 state=leader first=1 last=1 entries=1
00:00:00.203000 [1] proposes set x 1 at 1 | ev=propose term=1 state=leader index=1 cmd="set x 1"
00:00:00.204000 [2] appends entry 1 | ev=append term=1 state=follower first=1 last=1 entries=1 from=1
00:00:00.205000 [1] commits up to 1 | ev=commit term=1 state=leader commit=1 prev=0
00:00:00.205000 [1] applies set x 1 at 1 | ev=apply term=1 state=leader index=1 eterm=1 cmd="set x 1"
00:00:00.206000 [2] commits up to 1 | ev=commit term=1 state=follower commit=1 prev=0
00:00:00.206000 [2] applies set x 1 at 1 | ev=apply term=1 state=follower index=1 eterm=1 cmd="set x 1"
`

func TestHealthyRunReport(t *testing.T) {
	r := Test(parseText(t, healthy), Options{})
	if len(r.Violations) != 0 {
		t.Fatalf("violations in a healthy run: %+v", r.Violations)
	}
	if len(r.Terms) != 1 || r.Terms[0].Leader != "1" || r.Terms[0].Votes != 2 || r.Terms[0].Candidates != 1 {
		t.Fatalf("terms: %+v", r.Terms)
	}
	if e := r.Terms[0].Election; e < 0.0019 || e > 0.0021 {
		t.Fatalf("election took %v s, want 0.002", e)
	}
	if r.Commit.Count != 1 || r.Commit.P50 < 0.0019 || r.Commit.P50 > 0.0021 {
		t.Fatalf("commit latency: %+v", r.Commit)
	}
	var vote *RPCStats
	for i := range r.RPCs {
		if r.RPCs[i].Type == "RequestVote" {
			vote = &r.RPCs[i]
		}
	}
	if vote == nil || vote.RoundTrip.Count != 1 || vote.RoundTrip.Max < 0.0019 || vote.RoundTrip.Max > 0.0021 {
		t.Fatalf("RequestVote round trip: %+v", vote)
	}
}

// TestDoctoredLogs breaks the healthy run one property at a time: each must be found, with
// the events that prove it.
func TestDoctoredLogs(t *testing.T) {
	cases := []struct {
		name, check, add string
		wantLines        int
	}{
		{"two leaders in one term", CheckOneLeader,
			"00:00:00.299000 [3] appends entry 1 | ev=append term=1 state=follower first=1 last=1 entries=1 from=1\n" +
				"00:00:00.300000 [3] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2\n", 2},
		{"a term going back", CheckTermMonotonic,
			"00:00:00.300000 [2] receives AppendEntries | ev=recv term=0 state=follower type=AppendEntries from=1\n", 2},
		{"conflicting applies", CheckSameApply,
			"00:00:00.300000 [3] applies set x 2 at 1 | ev=apply term=1 state=follower index=1 eterm=1 cmd=\"set x 2\"\n", 2},
		{"commit going back", CheckCommitForward,
			"00:00:00.300000 [2] commits up to 0 | ev=commit term=1 state=follower commit=0 prev=1\n", 2},
		{"a leader deleting its entries", CheckLeaderAppend,
			"00:00:00.300000 [1] deletes entries 1..1 | ev=truncate term=1 state=leader index=1 last=1\n", 1},
		{"a lost committed entry", CheckLeaderComplete,
			"00:00:00.300000 [3] term 1 -> 2 | ev=term term=2 state=follower prev=1 reason=campaign\n" +
				"00:00:00.300000 [3] becomes leader | ev=state term=2 state=leader prev=candidate reason=won votes=2\n", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Test(parseText(t, healthy+c.add), Options{})
			if len(r.Violations) != 1 {
				t.Fatalf("violations: %+v", r.Violations)
			}
			v := r.Violations[0]
			if v.Check != c.check || len(v.Events) != c.wantLines {
				t.Fatalf("got %q with %d events, want %q with %d", v.Check, len(v.Events), c.check, c.wantLines)
			}
			last := v.Events[len(v.Events)-1]
			if last.Line != int32(strings.Count(healthy+c.add, "\n")) {
				t.Fatalf("the proving event is line %d, want the doctored line", last.Line)
			}
			var buf bytes.Buffer
			WriteText(&buf, r)
			if !strings.Contains(buf.String(), "VIOLATION "+c.check) {
				t.Fatalf("text report lacks the violation:\n%s", buf.String())
			}
		})
	}
}

// TestSimulatedRunsAreHealthy analyses real runs of this project's Raft under faults: the
// simulator checks safety itself, and the analysis of its event lines must agree.
func TestSimulatedRunsAreHealthy(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		var buf bytes.Buffer
		s, err := sim.New(sim.Config{Nodes: 5, Seed: seed, Handler: eventline.NewTextHandler(&buf, nil),
			DropRate: 0.05, ReorderRate: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Chaos(4000, sim.AllFaults); err != nil {
			t.Fatal(err)
		}
		if err := s.Settle(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		tests, _, err := parse.Read(&buf, parse.Options{ImplicitName: fmt.Sprint("seed", seed)})
		if err != nil {
			t.Fatal(err)
		}
		r := Test(tests[0], Options{})
		if len(r.Violations) != 0 {
			t.Fatalf("seed %d: %+v", seed, r.Violations)
		}
		leaders := 0
		for _, term := range r.Terms {
			if term.Leader != "" {
				leaders++
			}
		}
		if leaders == 0 || r.Apply.Count == 0 {
			t.Fatalf("seed %d: %d leaders, %d applies measured", seed, leaders, r.Apply.Count)
		}
	}
}

func TestClassicLogLeadersAndSkippedChecks(t *testing.T) {
	tests, _, err := parse.ReadFiles([]string{filepath.Join("..", "..", "testdata", "classic_go_test_v.log")}, parse.Options{})
	if err != nil || len(tests) == 0 {
		t.Fatal(err)
	}
	r := Test(tests[0], Options{})
	if len(r.Terms) == 0 || r.Terms[0].Leader == "" {
		t.Fatalf("no leader found in the classic log: %+v", r.Terms)
	}
	status := map[string]string{}
	for _, c := range r.Checks {
		status[c.Name] = c.Status
	}
	// The classic sample states terms and leaders in its wording, and nothing about commits.
	if status[CheckOneLeader] != Passed || status[CheckTermMonotonic] != Passed {
		t.Errorf("checks the classic wording allows did not run: %+v", r.Checks)
	}
	if status[CheckCommitForward] != NotChecked || status[CheckSameApply] != NotChecked {
		t.Errorf("a classic log must say which checks it could not run: %+v", r.Checks)
	}
	if len(r.Violations) != 0 {
		t.Fatalf("violations in the classic sample: %+v", r.Violations)
	}
}

func BenchmarkAnalyzeBigLog(b *testing.B) {
	path := os.Getenv("RAFTVIZ_BIG_LOG")
	if path == "" {
		b.Skip("set RAFTVIZ_BIG_LOG to the generated million-line log (go run ./sample/gen > big.log)")
	}
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		src := parse.NewSource([]parse.Input{{Name: path, Reader: f}}, parse.Options{})
		err = src.Scan(context.Background(), parse.ScanOptions{Emit: func(t *parse.Test) error {
			n += len(Test(t, Options{}).Violations)
			return nil
		}})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestLinearizability(t *testing.T) {
	ops := func(getResult string) string {
		return `00:00:00.100000 [c1] c1 set x 1 | ev=invoke client=c1 op_id=1 op=set key=x value=1
00:00:00.110000 [c1] c1 set x -> ok | ev=return client=c1 op_id=1 op=set key=x ok=true
00:00:00.120000 [c2] c2 set x 2 | ev=invoke client=c2 op_id=1 op=set key=x value=2
00:00:00.130000 [c2] c2 set x -> ok | ev=return client=c2 op_id=1 op=set key=x ok=true
00:00:00.140000 [c1] c1 get x | ev=invoke client=c1 op_id=2 op=get key=x
00:00:00.150000 [c1] c1 get x -> ` + getResult + ` | ev=return client=c1 op_id=2 op=get key=x ok=true value=` + getResult + `
`
	}
	r := Test(parseText(t, ops("2")), Options{})
	if r.Linearizable == nil || r.Linearizable.Result != "Ok" || r.Linearizable.Operations != 3 || len(r.Violations) != 0 {
		t.Fatalf("a correct history: %+v %+v", r.Linearizable, r.Violations)
	}
	// Reading the value overwritten before the read began is a stale read.
	html := filepath.Join(t.TempDir(), "lin.html")
	r = Test(parseText(t, ops("1")), Options{LinHTML: html})
	if r.Linearizable == nil || r.Linearizable.Result != "Illegal" || len(r.Violations) != 1 || r.Violations[0].Check != CheckLinearizable {
		t.Fatalf("a stale read: %+v %+v", r.Linearizable, r.Violations)
	}
	if st, err := os.Stat(html); err != nil || st.Size() == 0 {
		t.Fatalf("no visualization: %v", err)
	}
}

// TestProcessRestartsInMergedLogs: per-node logs of separate processes show a kill -9 only as
// the node starting again; a logged stop or crash before a start is not counted twice.
func TestProcessRestartsInMergedLogs(t *testing.T) {
	tt := parseText(t, `00:00:01.000000 [1] starts | ev=start term=0 state=follower last_index=0 commit=0
00:00:01.100000 [1] term 0 -> 1 | ev=term term=1 state=follower prev=0 reason=campaign
00:00:02.000000 [1] starts | ev=start term=1 state=follower last_index=0 commit=0
00:00:02.100000 [1] becomes candidate | ev=state term=2 state=candidate prev=follower reason=timeout
00:00:03.000000 [1] starts | ev=start term=2 state=follower last_index=0 commit=0
00:00:01.000000 [2] starts | ev=start term=0 state=follower last_index=0 commit=0
00:00:01.500000 [2] stops | ev=stop term=1 state=dead
00:00:02.000000 [2] starts | ev=start term=1 state=follower last_index=0 commit=0
00:00:01.000000 [3] starts | ev=start term=0 state=follower last_index=0 commit=0
00:00:01.500000 [3] crashes | ev=crash term=1 state=dead
00:00:01.600000 [3] restarts | ev=restart term=1 state=follower
00:00:01.600000 [3] starts | ev=start term=1 state=follower last_index=0 commit=0
`)
	r := Test(tt, Options{})
	want := map[string][2]int{"1": {2, 2}, "2": {0, 1}, "3": {1, 1}}
	if len(r.Nodes) != len(want) {
		t.Fatalf("nodes %+v", r.Nodes)
	}
	for _, n := range r.Nodes {
		if w := want[n.Node]; n.Crashes != w[0] || n.Restarts != w[1] {
			t.Errorf("node %s: crashes %d restarts %d, want %d %d", n.Node, n.Crashes, n.Restarts, w[0], w[1])
		}
	}
}

// TestWipedNodeRejoinsAtTermZero: a node whose data directory was wiped starts again with no
// configuration and an empty log, as a new server: its term 0 is not a term going back. A node
// that comes back at term 0 with its configuration (storage that lost its state) still is.
func TestWipedNodeRejoinsAtTermZero(t *testing.T) {
	run := func(peers string) Report {
		return Test(parseText(t, `00:00:01.000000 [2] starts | ev=start term=1 state=follower peers=1,2,3 last_index=1 commit=0
00:00:01.100000 [2] becomes candidate | ev=state term=5 state=candidate prev=follower reason=timeout
00:00:02.000000 [2] starts | ev=start term=0 state=follower peers=`+peers+` last_index=0 commit=0
00:00:02.100000 [2] appends entries | ev=append term=6 state=follower first=1 last=9 entries=9 from=1
`), Options{})
	}
	if r := run(`""`); r.Failures() != 0 {
		t.Fatalf("a new server reported: %+v", r.Violations)
	}
	if r := run("1,2,3"); r.Failures() != 1 || r.Violations[0].Check != CheckTermMonotonic {
		t.Fatalf("a node that lost its term: %+v", r.Violations)
	}
}

// TestStreamedAnalysisEqualsWhole: a test analysed in parts as it streams (the events let go
// after each part) reports exactly what the analysis of the whole test reports, for every
// fixture, doctored ones with violations included.
func TestStreamedAnalysisEqualsWhole(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/fixtures/*.log")
	more, _ := filepath.Glob("../../testdata/*.log")
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("only %d fixtures found", len(files))
	}
	r := rand.New(rand.NewPCG(1, 1))
	violations := 0
	for _, f := range files {
		tests, _, err := parse.ReadFiles([]string{f}, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range tests {
			whole := Test(x, Options{})
			a := NewAnalyzer(Options{})
			for rest := x.Events; len(rest) > 0; {
				n := min(len(rest), 1+r.IntN(50))
				part := append([]parse.Event(nil), rest[:n]...)
				a.Add(part)
				clear(part) // the analyzer must not keep events
				rest = rest[n:]
			}
			streamed := a.Report(x)
			w, _ := json.Marshal(whole)
			s, _ := json.Marshal(streamed)
			if !bytes.Equal(w, s) {
				t.Fatalf("%s %s: streamed analysis differs\nwhole    %s\nstreamed %s", f, x.Name, w, s)
			}
			violations += len(whole.Violations)
		}
	}
	if violations == 0 {
		t.Fatal("no fixture had a violation: the references to events were not compared")
	}
}

// TestStreamMatchesTest: Stream over a source reports, for every test, what Test reports on the
// whole test, whether tests are analysed as they stream or only once complete; tests Select
// leaves out are not reported.
func TestStreamMatchesTest(t *testing.T) {
	for _, f := range []string{"../../testdata/fixtures/etcd_v.log", "../../testdata/fixtures/jsonlog_v.log", "../../testdata/gotest_v.log"} {
		tests, _, err := parse.ReadFiles([]string{f}, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, x := range tests {
			if len(x.Events) > 0 && x.Name != tests[0].Name {
				b, _ := json.Marshal(Test(x, Options{}))
				want = append(want, string(b))
			}
		}
		for _, whole := range []bool{false, true} {
			src, err := parse.Open([]string{f}, nil, parse.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = Stream(context.Background(), src, StreamOptions{
				Select: func(x *parse.Test) (Options, bool) { return Options{}, x.Name != tests[0].Name },
				Whole:  whole,
				Report: func(r Report) error { b, _ := json.Marshal(r); got = append(got, string(b)); return nil },
			})
			src.Close()
			if err != nil || !slices.Equal(got, want) || len(want) == 0 {
				t.Fatalf("%s (whole %v): %v, %d reports, want %d", f, whole, err, len(got), len(want))
			}
		}
	}
}

// TestRestartBelowStatedTermButNotBelowDisk: a node that wrote persist events may come back
// from a crash below the term it stated last (a campaign whose fsync the crash cut), never
// below the term its disk held.
func TestRestartBelowStatedTermButNotBelowDisk(t *testing.T) {
	run := func(restartTerm string) Report {
		return Test(parseText(t, `00:00:01.000000 [2] starts | ev=start term=1 state=follower peers=1,2,3 last_index=1 commit=0 vote=none
00:00:01.050000 [2] persists term 4 | ev=persist term=4 state=follower last_index=1 vote=none entries=0
00:00:01.100000 [2] becomes candidate | ev=state term=5 state=candidate prev=follower reason=timeout
00:00:01.100000 [2] crashes after sending RequestVote to 1 | ev=crash term=5 state=dead
00:00:02.000000 [2] restarts | ev=restart state=dead
00:00:02.000000 [2] starts | ev=start term=`+restartTerm+` state=follower peers=1,2,3 last_index=1 commit=0 vote=none
`), Options{})
	}
	if r := run("4"); r.Failures() != 0 {
		t.Fatalf("a term that never reached the disk, taken back by a crash: %+v", r.Violations)
	}
	if r := run("3"); r.Failures() != 1 || r.Violations[0].Check != CheckTermMonotonic {
		t.Fatalf("a restart below the term on disk: %+v", r.Violations)
	}
}

// TestLateLeaderOfOlderTerm: leader completeness binds leaders of later terms only. A node
// elected in term 15 by a minority that had not heard of term 16 need not hold what term 16
// committed (the simulator met this in one seed of 10,000); a leader of term 17 must.
func TestLateLeaderOfOlderTerm(t *testing.T) {
	run := func(leaderTerm string) Report {
		return Test(parseText(t, `00:00:01.000000 [2] appends entries | ev=append term=14 state=follower first=1 last=5 entries=5 from=1
00:00:01.000000 [4] appends entries | ev=append term=16 state=follower first=1 last=6 entries=6 from=3
00:00:01.100000 [4] commits up to 6 | ev=commit term=16 state=follower commit=6 prev=0
00:00:01.200000 [2] becomes leader | ev=state term=`+leaderTerm+` state=leader prev=candidate reason=won votes=3
`), Options{})
	}
	if r := run("15"); r.Failures() != 0 {
		t.Fatalf("a late leader of an older term: %+v", r.Violations)
	}
	if r := run("17"); r.Failures() != 1 || r.Violations[0].Check != CheckLeaderComplete {
		t.Fatalf("a leader of a later term without the committed entry: %+v", r.Violations)
	}
}

// TestCandidacyWithoutTerm: a candidacy whose line states no term (NATS "Switching to
// candidate") counts in the term of the node's next line that states one, and the election
// time runs from the candidacy.
func TestCandidacyWithoutTerm(t *testing.T) {
	r := Test(parseText(t, `00:00:00.100000 [1] starts | ev=start term=1 state=follower
00:00:00.100000 [2] starts | ev=start term=1 state=follower
00:00:00.200000 [1] switching to candidate | ev=state state=candidate
00:00:00.201000 [1] sends RequestVote to 2 | ev=send term=2 type=RequestVote to=2
00:00:00.203000 [1] becomes leader | ev=state term=2 state=leader
00:00:00.300000 [2] switching to candidate | ev=state state=candidate
00:00:00.301000 [2] becomes follower | ev=state state=follower
00:00:00.302000 [2] hears term 2 | ev=recv term=2 type=AppendEntries from=1
`), Options{})
	var term2 *Term
	for i := range r.Terms {
		if r.Terms[i].Term == 2 {
			term2 = &r.Terms[i]
		}
	}
	if term2 == nil || term2.Leader != "1" || term2.Candidates != 1 {
		t.Fatalf("term 2: %+v (terms %+v); want leader 1 and one candidate (2 gave up before stating a term)", term2, r.Terms)
	}
	if e := term2.Election; e < 0.0029 || e > 0.0031 {
		t.Fatalf("election took %v s, want 0.003 (from the candidacy)", e)
	}
}

// TestTermChecksNeedTheirMessages: received vote requests with their term feed neither term
// rule (a vote request may be refused without a term change), so both say "not checked"
// rather than pass on nothing; an AppendEntries with its term feeds both.
func TestTermChecksNeedTheirMessages(t *testing.T) {
	status := func(log string) (adopt, stale string) {
		for _, c := range Test(parseText(t, log), Options{}).Checks {
			switch c.Name {
			case CheckAdoptsTerm:
				adopt = c.Status
			case CheckStaleAppend:
				stale = c.Status
			}
		}
		return adopt, stale
	}
	votes := `00:00:00.100000 [1] starts | ev=start term=1 state=follower
00:00:00.200000 [1] vote request from 2 | ev=recv term=1 mterm=2 type=RequestVote from=2
00:00:00.200000 [1] becomes follower | ev=state term=2 state=follower
`
	if a, s := status(votes); a != NotChecked || s != NotChecked {
		t.Errorf("vote requests only: adopts %s, stale append %s; want both not_checked", a, s)
	}
	appends := votes + `00:00:00.300000 [1] append from 2 | ev=recv term=2 mterm=2 type=AppendEntries from=2
`
	if a, s := status(appends); a != Passed || s != Passed {
		t.Errorf("with an AppendEntries: adopts %s, stale append %s; want both passed", a, s)
	}
}

// TestWarningsAreNoViolation: a check whose only findings are of uncertain attribution is a
// warning, neither violated nor passed, and the verdict says no violation.
func TestWarningsAreNoViolation(t *testing.T) {
	r := Report{Violations: []Violation{{Check: CheckTermMonotonic, Detail: "x", Warning: true}}}
	r.Checks = checkResults(&r, checkFacts{terms: 3})
	for _, c := range r.Checks {
		if c.Name == CheckTermMonotonic && c.Status != Warned {
			t.Errorf("%s: %s, want %s", c.Name, c.Status, Warned)
		}
	}
	if v := r.Verdict(); !strings.HasPrefix(v, "no violation") || r.Failures() != 0 {
		t.Errorf("verdict %q, %d failures", v, r.Failures())
	}
}
