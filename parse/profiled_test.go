package parse

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func readCapture(t *testing.T, name string) ([]*Test, Summary) {
	t.Helper()
	tests, sum, err := ReadFiles([]string{filepath.Join("..", "testdata", "fixtures", name)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tests, sum
}

// leaders lists "node@term" for every state=leader event, in order.
func leaders(t *Test) []string {
	var out []string
	for i := range t.Events {
		e := &t.Events[i]
		if e.BecameLeader() {
			term, _ := e.Term()
			out = append(out, e.Node+"@"+itoa(term))
		}
	}
	return out
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestCapturesAreReadByTheirProfile runs over real captures of other libraries: the profile is
// detected, node columns are servers (never log levels or the harness), and the harness's lines
// are on the cluster lane.
func TestCapturesAreReadByTheirProfile(t *testing.T) {
	cases := []struct {
		file, profile string
		nodes         string // of the first test
		notUnderstood int
	}{
		{"hashicorp_v.log", "hashicorp", "s1,s2,s3", 0},
		{"etcd_v.log", "etcd", "1,2,3,4,5", 0},
		{"etcd_trace_v.log", "etcd-trace", "1,2,3", 0},
		{"dslogs_pass.log", "dslogs", "S0,S1,S2", 0},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tests, sum := readCapture(t, c.file)
			if sum.Profile != c.profile || tests[0].Profile != c.profile {
				t.Errorf("profile %q (test %q), want %q", sum.Profile, tests[0].Profile, c.profile)
			}
			if got := strings.Join(tests[0].Nodes(), ","); got != c.nodes {
				t.Errorf("nodes %s, want %s", got, c.nodes)
			}
			if sum.NotUnderstood != c.notUnderstood {
				t.Errorf("%d lines not understood", sum.NotUnderstood)
			}
			for _, ts := range tests {
				for _, n := range ts.Nodes() {
					switch n {
					case "DEBUG", "INFO", "WARN", "ERROR", "cluster", "TEST":
						t.Errorf("%s: node column %q", ts.Name, n)
					}
				}
			}
		})
	}
}

func TestHashicorpAliasesAndHarness(t *testing.T) {
	tests, _ := readCapture(t, "hashicorp_v.log")
	lf := tests[0]
	if lf.Name != "TestRaft_LeaderFail" || len(lf.Aliases) != 3 {
		t.Fatalf("%s aliases %+v", lf.Name, lf.Aliases)
	}
	for _, a := range lf.Aliases {
		if !strings.HasPrefix(a.Full, "server-") || len(a.Full) != len("server-")+36 {
			t.Errorf("alias %+v", a)
		}
	}
	// The test disconnects the leader (a t.Log line naming its address) and reconnects it: both are
	// faults credited to that server's column, told apart.
	var faults []string
	for i := range lf.Events {
		if k := lf.Events[i].FaultKind(); k == "disconnect" || k == "reconnect" {
			faults = append(faults, k+" "+lf.Events[i].Node)
		}
	}
	l := leaders(lf)
	if len(l) < 2 || len(faults) < 2 {
		t.Fatalf("leaders %v faults %v", l, faults)
	}
	first := strings.Split(l[0], "@")[0]
	if faults[0] != "disconnect "+first || faults[len(faults)-1] != "reconnect "+first {
		t.Errorf("faults %v, first leader %s", faults, first)
	}
}

func TestEtcdLeadersPerTerm(t *testing.T) {
	tests, _ := readCapture(t, "etcd_trace_v.log")
	if got := strings.Join(leaders(tests[1]), " "); got != "1@1 2@2" {
		t.Errorf("TestTraceFailover leaders %s, want 1@1 2@2", got)
	}
	tests, _ = readCapture(t, "etcd_v.log")
	if got := strings.Join(leaders(tests[4]), " "); tests[4].Name != "TestCampaignWhileLeader" || got != "1@1" {
		t.Errorf("%s leaders %s", tests[4].Name, got)
	}
}

// TestDslogsTesterFraming: without -v the 6.824 tester's lines are the only test markers; a
// failure's config.go message printed under "--- FAIL" belongs to that test, and a panic makes
// its test FAIL.
func TestDslogsTesterFraming(t *testing.T) {
	tests, _ := readCapture(t, "dslogs_fail.log")
	if len(tests) != 2 || tests[0].Name != "2A initial election" || tests[0].Status != StatusPass ||
		tests[1].Name != "TestFailAgree2B" || tests[1].Status != StatusFail {
		t.Fatalf("tests %v", names(tests))
	}
	if r := tests[1].Reason(); r != "config.go:609: one(3657) failed to reach agreement" {
		t.Errorf("reason %q", r)
	}
	tests, _ = readCapture(t, "dslogs_panic.log")
	if len(tests) != 1 || tests[0].Status != StatusFail || !strings.HasPrefix(tests[0].Reason(), "panic: runtime error") {
		t.Fatalf("panic run: %v %q", names(tests), tests[0].Reason())
	}
	if n := len(tests[0].Output()); n < 10 {
		t.Errorf("the goroutine trace is not kept as output: %d lines", n)
	}
	// Harness lines credit the node they name.
	crashes := 0
	for i := range tests[0].Events {
		if e := &tests[0].Events[i]; e.Kind == "crash" && strings.HasPrefix(e.Node, "S") {
			crashes++
		}
	}
	if crashes == 0 {
		t.Error("no crash credited to a server")
	}
}

func names(tests []*Test) []string {
	var out []string
	for _, t := range tests {
		out = append(out, t.Name+"="+t.Status.String())
	}
	return out
}

// TestSlogJSONRecords reads what log/slog's JSON handler writes for a node-tagged logger.
func TestSlogJSONRecords(t *testing.T) {
	var buf bytes.Buffer
	for _, id := range []string{"1", "2"} {
		lg := slog.New(slog.NewJSONHandler(&buf, nil)).With("raft_id", id)
		lg.Info("became candidate", "term", 2)
	}
	slog.New(slog.NewJSONHandler(&buf, nil)).With("raft_id", "1").Info("became leader", "term", 2)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("no node here")
	tests, sum, err := Read(&buf, Options{})
	if err != nil || len(tests) != 1 {
		t.Fatal(err, tests)
	}
	ts := tests[0]
	if sum.Profile != "json" || strings.Join(ts.Nodes(), ",") != "1,2" || len(ts.Events) != 3 {
		t.Fatalf("profile %q nodes %v events %d", sum.Profile, ts.Nodes(), len(ts.Events))
	}
	if got := strings.Join(leaders(ts), " "); got != "1@2" {
		t.Errorf("leaders %s", got)
	}
	if e := &ts.Events[0]; !e.HasTime() || e.Flags&FlagDate == 0 || !e.BecameCandidate() {
		t.Errorf("first event %+v", e)
	}
}

// TestPackagesOfGoTestAll: go test ./... over two packages that both have TestElection. The
// second is not a rerun (attempt 1 in its package), and every test carries its package, in -v
// output (named only by the package's last line) and in -json, streamed or held for it.
func TestPackagesOfGoTestAll(t *testing.T) {
	for _, file := range []string{"multipkg_v.log", "multipkg_json.jsonl"} {
		for _, hold := range []bool{false, true} {
			f, err := os.Open("../testdata/fixtures/" + file)
			if err != nil {
				t.Fatal(err)
			}
			src := NewSource([]Input{{Name: file, Reader: f}}, Options{HoldForPackage: hold})
			var got []string
			var emitted []*Test
			err = src.Scan(context.Background(), ScanOptions{Emit: func(t *Test) error {
				if hold && t.Package == "" {
					return fmt.Errorf("%s handed out before its package was known", t.Name)
				}
				emitted = append(emitted, t)
				return nil
			}})
			f.Close()
			if err != nil {
				t.Fatalf("%s hold=%v: %v", file, hold, err)
			}
			// Streamed without holding, a -v test is handed out before its package line:
			// the summary names its package afterwards.
			for i, tt := range emitted {
				if tt.Package == "" {
					tt.Package = src.PackageOf(i)
				}
			}
			for _, tt := range emitted {
				got = append(got, fmt.Sprintf("%s#%d", tt.QualifiedName(), tt.Attempt))
			}
			sort.Strings(got) // go test ran the packages in either order
			want := "kv.TestElection#1 kv.TestOnlyIn_kv#1 raft.TestElection#1 raft.TestOnlyIn_raft#1"
			if strings.Join(got, " ") != want {
				t.Errorf("%s hold=%v: tests %v, want %s", file, hold, got, want)
			}
			m, _ := NewMatcher(`raft\.TestElection`)
			var selected []string
			for _, tt := range emitted {
				if m.MatchTest(tt) {
					selected = append(selected, tt.QualifiedName())
				}
			}
			if !m.NamesPackage() || strings.Join(selected, " ") != "raft.TestElection" {
				t.Errorf("%s: -run raft\\.TestElection selected %v", file, selected)
			}
		}
	}
}

func TestNamesPackage(t *testing.T) {
	for pattern, want := range map[string]bool{`raft\.TestElection`: true, `raft.TestElection`: true, `raft.(TestA|TestB)`: true,
		`TestElection`: false, `Test.*Election`: false, `^TestA$/sub`: false, ``: false} {
		m, err := NewMatcher(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if m.NamesPackage() != want {
			t.Errorf("NewMatcher(%q).NamesPackage() = %v, want %v", pattern, !want, want)
		}
	}
}

// TestDslogsWordings: the dslogs convention as students write it: "apply 50 - 51" applies a
// range (last applied 51), "T(3)" is term 3, "Election timeout, starting election" is a
// candidacy, "become Candidate 3" states its term.
func TestDslogsWordings(t *testing.T) {
	in := `004045 TIMR S0 Election timeout, starting election
004046 TERM S0 converting to Candidate in T(3)
004047 PHAS S1 become Candidate 4
004048 CMIT S0 apply 50 - 51
`
	tests, _, err := Read(strings.NewReader(in), Options{})
	if err != nil || len(tests) != 1 {
		t.Fatalf("%d tests, %v", len(tests), err)
	}
	ev := tests[0].Events
	if len(ev) != 4 {
		t.Fatalf("%d events", len(ev))
	}
	if !ev[0].BecameCandidate() {
		t.Errorf("%q: kind %q fields %v, want a candidacy", ev[0].Msg, ev[0].Kind, ev[0].Fields)
	}
	for i, want := range map[int]uint64{1: 3, 2: 4} {
		if term, ok := ev[i].Term(); !ok || term != want || !ev[i].BecameCandidate() {
			t.Errorf("%q: term %d %v, candidate %v; want term %d", ev[i].Msg, term, ok, ev[i].BecameCandidate(), want)
		}
	}
	if idx, _ := ev[3].FieldInt("index"); ev[3].Kind != "apply" || idx != 51 {
		t.Errorf("%q: kind %q index %d, want apply 51", ev[3].Msg, ev[3].Kind, idx)
	}
}

// TestTestifyReportIsTheReason: a testify assertion prints a bare "raft_test.go:530:" and its
// report under it; the reason is the report's Error and Messages, not the bare line. A bare
// line followed by anything else stays as it is.
func TestTestifyReportIsTheReason(t *testing.T) {
	log := "=== RUN   TestA\n    raft_test.go:530: \n        \tError Trace:\t/src/raft_test.go:530\n" +
		"        \t            \t\t\t\t/src/raft_test.go:492\n        \tError:      \tNot equal: \n" +
		"        \t            \texpected: 0x0\n        \t            \tactual  : 0x2\n" +
		"        \tTest:       \tTestA\n        \tMessages:   \t#0: state\n        \tDiff:       \t--- Expected\n" +
		"        \t            \t+++ Actual\n    raft_test.go:536: \n" +
		"        \tError Trace:\t/src/raft_test.go:536\n        \tError:      \tShould be true\n" +
		"--- FAIL: TestA (0.00s)\n=== RUN   TestB\n    b_test.go:9: \n    b_test.go:10: more\n--- FAIL: TestB (0.00s)\nFAIL\n"
	tests, _, err := Read(strings.NewReader(log), Options{})
	if err != nil || len(tests) != 2 {
		t.Fatalf("%d tests, %v", len(tests), err)
	}
	if r := tests[0].Reason(); r != "raft_test.go:530: Not equal: expected: 0x0 actual : 0x2 (#0: state)" {
		t.Errorf("testify's reason %q", r)
	}
	if r := tests[1].Reason(); r != "b_test.go:9:" {
		t.Errorf("a bare line's reason %q", r)
	}
}
