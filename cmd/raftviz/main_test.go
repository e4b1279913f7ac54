package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/render"
	"github.com/raftviz/raftviz/sample/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main() // a test started this binary as raftviz itself (startOnMutePTY)
		return
	}
	time.Local = time.UTC // JSON and dated times render in the local zone
	os.Exit(m.Run())
}

const td = "../../testdata/"

const fx = td + "fixtures/"

// runCLI runs the command and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestGolden pins the command's whole output for every input form and every output format.
func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"classic", []string{td + "classic_go_test_v.log"}},
		{"classic_ascii", []string{"--table", "ascii", td + "classic_go_test_v.log"}},
		{"classic_markdown", []string{"--table", "markdown", td + "classic_go_test_v.log"}},
		{"classic_html", []string{"--table", "html", td + "classic_go_test_v.log"}},
		{"classic_csv", []string{"--table", "csv", td + "classic_go_test_v.log"}},
		{"classic_relative_compact", []string{"--relative", "--compact", td + "classic_go_test_v.log"}},
		{"classic_nowrap_nodes", []string{"--wrap", "0", "--nodes", "0,2", "--grep", "Election", td + "classic_go_test_v.log"}},
		{"classic_color", []string{"--color", "always", "--compact", td + "classic_go_test_v.log"}},
		{"classic_list", []string{"--list", td + "classic_go_test_v.log"}},
		{"gotest_v", []string{"--compact", td + "gotest_v.log"}},
		{"gotest_v_run", []string{"-run", "TestSeq/sub2", "--compact", td + "gotest_v.log"}},
		{"gotest_v_list", []string{"--list", td + "gotest_v.log"}},
		{"gotest_json", []string{"--compact", "--wrap", "60", td + "gotest_json_build.jsonl"}},
		{"gotest_timeout", []string{"--list", "--fail-exit", td + "gotest_timeout.log"}},
		{"gotest_panic", []string{"--compact", td + "gotest_panic.log"}},
		{"structured", []string{td + "structured.log"}},
		{"structured_fields", []string{"--fields", "--compact", "--wrap", "0", td + "structured.log"}},
		{"structured_json", []string{"--compact", td + "structured.jsonl"}},
		{"etcd_trace", []string{"--compact", "--wrap", "40", td + "etcd_trace.ndjson"}},
		{"dated_ids", []string{"--compact", td + "dated_ids.log"}},
		{"merged_nodes", []string{"--compact", td + "node1.log", td + "node2.log"}},
		{"broken", []string{"--compact", td + "broken.log"}},
		{"force_plain", []string{"--format", "plain", "--list", td + "gotest_v.log"}},
		// Real captures of other libraries, read by their profiles (testdata/fixtures/capture.sh).
		{"hashicorp_list", []string{"--list", fx + "hashicorp_v.log"}},
		{"hashicorp_table", []string{"-run", "TestRaft_SnapshotRestore", "--compact", "--wrap", "50", fx + "hashicorp_v.log"}},
		{"etcd_list", []string{"--list", fx + "etcd_v.log"}},
		{"etcd_table", []string{"-run", "TestCampaignWhileLeader", "--compact", "--fields", fx + "etcd_v.log"}},
		{"etcd_trace_list", []string{"--list", fx + "etcd_trace_v.log"}},
		{"dslogs_list", []string{"--list", "--fail-exit", fx + "dslogs_fail.log"}},
		{"dslogs_panic_table", []string{"--compact", "--wrap", "40", "--grep", "Leader", fx + "dslogs_panic.log"}},
		{"dslogs_csv", []string{"--table", "csv", "--grep", "Leader", fx + "dslogs_fail.log"}},
		{"jsonlog_list", []string{"--list", fx + "jsonlog_v.log"}},
		// Real clusters' per-node files (testdata/fixtures/cluster), read with no flags.
		{"cluster_list", []string{"--list", fx + "cluster/etcd_zap/n1.log", fx + "cluster/etcd_zap/n2.log", fx + "cluster/etcd_zap/n3.log"}},
		{"cluster_etcd_table", []string{"--compact", "--wrap", "40", "--grep", "became", fx + "cluster/etcd_capnslog/n1.log", fx + "cluster/etcd_capnslog/n2.log", fx + "cluster/etcd_capnslog/n3.log"}},
		{"cluster_hraft_table", []string{"--compact", "--wrap", "40", "--grep", "state", fx + "cluster/hraft/node1.log", fx + "cluster/hraft/node2.log", fx + "cluster/hraft/node3.log"}},
		{"cluster_nats_analyze_json", []string{"analyze", "--json", fx + "cluster/nats/s1.log", fx + "cluster/nats/s2.log", fx + "cluster/nats/s3.log"}},
		{"jsonlog_table", []string{"-run", "TestLogrus", "--compact", "--wrap", "50", fx + "jsonlog_v.log"}},
		{"custom_node_re", []string{"--list", "--node-re", `\] (?P<node>server-[0-9a-f]{4})`, fx + "hashicorp_v.log"}},
		{"bad_profile", []string{"--profile", td + "fixtures/capture.sh", td + "gotest_v.log"}},
		// raftviz explain: read by hand against the logs (see each golden's findings).
		{"explain_dslogs_fail", []string{"explain", fx + "dslogs_fail.log"}},
		{"explain_dslogs_panic_markdown", []string{"explain", "--format", "markdown", fx + "dslogs_panic.log"}},
		{"explain_hashicorp_two_leaders", []string{"explain", fx + "hashicorp_two_leaders.log"}},
		{"explain_etcd_trace_two_leaders_json", []string{"explain", "--format", "json", fx + "etcd_trace_two_leaders.log"}},
		{"explain_corpus_feiyu", []string{"explain", td + "corpus/feiyu.log"}},
		{"explain_gotest_timeout", []string{"explain", td + "gotest_timeout.log"}},
		// Another implementation's real runs with a known bug seeded (testdata/seeded).
		{"explain_seeded_double_vote", []string{"explain", td + "seeded/ferriem_double_vote.log"}},
		{"explain_seeded_stale_vote", []string{"explain", td + "seeded/ferriem_stale_vote.log"}},
		{"explain_seeded_etcdraft_stale_vote", []string{"explain", td + "seeded/etcdraft_stale_vote.log"}},
		{"explain_seeded_deadlock", []string{"explain", td + "seeded/ferriem_deadlock.log"}},
		{"explain_seeded_etcdraft_double_vote", []string{"explain", td + "seeded/etcdraft_double_vote.log"}},
		{"explain_cut_off", []string{"explain", td + "corpus/ferriem.log"}},
		{"explain_nothing", []string{"explain", td + "../sample/logs/sim_seed7.log"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.args...)
			got := "exit: " + strconv.Itoa(code) + "\n--- stderr\n" + errOut + "--- stdout\n" + out
			checkGolden(t, c.name, got)
		})
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, lineDiff(got, string(want)))
	}
}

func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + strconv.Quote(a) + "\n want " + strconv.Quote(b)
		}
	}
	return ""
}

func TestStdinIsRead(t *testing.T) {
	in, err := os.ReadFile(td + "classic_go_test_v.log")
	if err != nil {
		t.Fatal(err)
	}
	code, fromStdin, _ := runCLI(t, string(in))
	_, fromFile, _ := runCLI(t, "", td+"classic_go_test_v.log")
	if code != 0 || fromStdin != fromFile {
		t.Errorf("stdin output differs from file output (exit %d)", code)
	}
	_, dash, _ := runCLI(t, string(in), "-")
	if dash != fromFile {
		t.Error(`"-" did not read stdin`)
	}
}

func TestErrorsAreOneLineAndExit2(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"nope.log"}, "raftviz: open nope.log: no such file or directory\n"},
		{"bad flag", []string{"--bogus"}, "raftviz: flag provided but not defined: -bogus (raftviz -h lists the flags)\n"},
		{"bad regexp", []string{"-run", "Test(", td + "classic_go_test_v.log"}, "raftviz: invalid -run pattern \"Test(\": error parsing regexp: missing closing ): `Test(`\n"},
		{"bad color", []string{"--color", "pink"}, "raftviz: unknown --color \"pink\" (want auto, always or never)\n"},
		{"bad table", []string{"--table", "xml"}, "raftviz: unknown table format \"xml\" (want text, ascii, markdown, html or csv)\n"},
		{"bad grep regexp", []string{"--grep", "re:(x"}, "raftviz: --grep: bad regexp: missing closing ): (x\n"},
		{"directory", []string{dir}, "raftviz: " + dir + " is a directory, not a log file\n"},
		{"unwritable output", []string{"-o", filepath.Join(dir, "no", "such", "dir.txt"), td + "classic_go_test_v.log"},
			"raftviz: open " + filepath.Join(dir, "no", "such", "dir.txt") + ": no such file or directory\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.args...)
			if code != exitUsage || errOut != c.want || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 and %q", code, errOut, out, c.want)
			}
		})
	}
}

func TestFailExit(t *testing.T) {
	if code, _, _ := runCLI(t, "", "--fail-exit", td+"gotest_v.log"); code != exitTestsFailed {
		t.Errorf("failing tests with --fail-exit: exit %d, want 1", code)
	}
	if code, _, _ := runCLI(t, "", td+"gotest_v.log"); code != exitOK {
		t.Errorf("failing tests without --fail-exit: exit %d, want 0", code)
	}
	if code, _, _ := runCLI(t, "", "--fail-exit", td+"classic_go_test_v.log"); code != exitOK {
		t.Errorf("passing tests with --fail-exit: exit %d, want 0", code)
	}
	// Only the selected tests count: TestPar passed although TestSeq failed.
	if code, _, errOut := runCLI(t, "", "--fail-exit", "-run", "TestPar", td+"gotest_v.log"); code != exitOK {
		t.Errorf("--fail-exit -run TestPar (which passed): exit %d, want 0; %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "--fail-exit", "--list", "-run", "TestSeq", td+"gotest_v.log"); code != exitTestsFailed {
		t.Errorf("--fail-exit --list -run TestSeq (which failed): exit %d, want 1", code)
	}
}

// TestSelectionOfNothingIsSaid: -run matching no test, or --nodes naming no node of the selected
// tests, prints empty tables silently no more.
func TestSelectionOfNothingIsSaid(t *testing.T) {
	_, _, errOut := runCLI(t, "", "--quiet", "-run", "TestNoSuch", td+"classic_go_test_v.log")
	if errOut != "raftviz: -run \"TestNoSuch\" matches none of the 1 tests (raftviz --list shows them)\n" {
		t.Errorf("-run matching nothing: stderr %q", errOut)
	}
	_, _, errOut = runCLI(t, "", "--quiet", "--nodes", "0,7", td+"classic_go_test_v.log")
	if errOut != "raftviz: --nodes: no node 7 in the selected tests (their nodes: 0,1,2)\n" {
		t.Errorf("--nodes naming a missing node: stderr %q", errOut)
	}
	if _, _, errOut = runCLI(t, "", "--quiet", "--nodes", "0,2", "-run", "TestElection", td+"classic_go_test_v.log"); errOut != "" {
		t.Errorf("a selection that matches: stderr %q", errOut)
	}
}

// TestEmptyInputIsNoInput: every command says "no input" the same way and exits 2; no table of
// nothing, and no empty output file, is left behind.
func TestEmptyInputIsNoInput(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(t.TempDir(), "out.txt")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{empty}, "raftviz: no input: " + empty + " is empty\n"},
		{[]string{"--list", empty}, "raftviz: no input: " + empty + " is empty\n"},
		{[]string{"-o", outFile, empty}, "raftviz: no input: " + empty + " is empty\n"},
		{[]string{"-"}, "raftviz: no input: stdin is empty\n"},
		{[]string{"analyze", empty}, "raftviz analyze: no input: " + empty + " is empty\n"},
		{[]string{"analyze", "--json"}, "raftviz analyze: no input: stdin is empty\n"},
		{[]string{"diff", empty, td + "classic_go_test_v.log"}, "raftviz diff: no input: " + empty + " is empty\n"},
	} {
		code, out, errOut := runCLI(t, "", c.args...)
		if code != exitUsage || out != "" || errOut != c.want {
			t.Errorf("raftviz %v: exit %d, stdout %q, stderr %q; want exit 2, %q", c.args, code, out, errOut, c.want)
		}
	}
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Errorf("-o on empty input left %s behind (%v)", outFile, err)
	}
}

func TestOutputFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "table.txt")
	code, out, _ := runCLI(t, "", "-o", path, td+"classic_go_test_v.log")
	got, err := os.ReadFile(path)
	if code != 0 || out != "" || err != nil {
		t.Fatalf("exit %d stdout %q err %v", code, out, err)
	}
	_, want, _ := runCLI(t, "", td+"classic_go_test_v.log")
	if string(got) != want {
		t.Error("-o file differs from stdout output")
	}
}

func TestInterruptExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{td + "classic_go_test_v.log"}, strings.NewReader(""), &out, &errOut)
	if code != exitInterrupted || !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("exit %d stderr %q", code, errOut.String())
	}
}

// TestHugeTestIsWrittenInParts checks that a test bigger than --chunk is written as it streams,
// in parts, and that no event is lost across the parts.
func TestHugeTestIsWrittenInParts(t *testing.T) {
	var in strings.Builder
	in.WriteString("=== RUN   TestHuge\n")
	const n = 25000
	for i := 0; i < n; i++ {
		in.WriteString("10:00:00.000000 [" + strconv.Itoa(i%3) + "] event " + strconv.Itoa(i) + "\n")
	}
	in.WriteString("--- PASS: TestHuge (1.00s)\n")
	code, out, _ := runCLI(t, in.String(), "--compact", "--chunk", "10000")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "RUNNING TestHuge nodes: 0 1 2 ; entries: ") || !strings.Contains(out, "PASS TestHuge (1.00s) nodes: 0 1 2 ; entries: ") {
		t.Fatalf("no parts in output:\n%.400s", out)
	}
	for _, i := range []int{0, 9999, 10000, 17777, n - 1} {
		if !strings.Contains(out, "event "+strconv.Itoa(i)+" ") {
			t.Errorf("event %d missing", i)
		}
	}
	if rows := strings.Count(out, "│ 10:00:00.000000 │"); rows != n {
		t.Errorf("%d rows written, want %d", rows, n)
	}
}

// TestEmptyInputSaysSo: lines of which none is go test's or a debug line raftviz reads are a
// failure to read (exit 2, as analyze), said in one line with where to start, with no table of
// "(no events)"; a binary file too.
func TestEmptyInputSaysSo(t *testing.T) {
	code, out, errOut := runCLI(t, "hello\nworld\n")
	if code != exitUsage || !strings.HasPrefix(errOut, "raftviz: no tests or debug lines found in 2 lines of input (tried go test output, raftviz event lines, the profiles hashicorp, etcd, nats,") ||
		!strings.Contains(errOut, "--node-re") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
	if out != "" {
		t.Errorf("stdout %q", out)
	}
	bin := filepath.Join(t.TempDir(), "a.out")
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*7 + i/13)
	}
	if err := os.WriteFile(bin, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{bin}, {"--list", bin}, {"analyze", bin}} {
		if code, _, errOut := runCLI(t, "", args...); code != exitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v on a binary file: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestHugePlainLogIsWrittenInParts covers the implicit test of a log without test markers: its
// last part must still be written when every event before it was flushed.
func TestHugePlainLogIsWrittenInParts(t *testing.T) {
	var in strings.Builder
	const n = 40000
	for i := 0; i < n; i++ {
		in.WriteString("10:00:00.000000 [1] e" + strconv.Itoa(i) + "\n")
	}
	code, out, _ := runCLI(t, in.String(), "--compact", "--chunk", "1000")
	if code != 0 || !strings.Contains(out, "(last)") {
		t.Fatalf("exit %d, no last part", code)
	}
	if rows := strings.Count(out, "│ 10:00:00.000000 │"); rows != n {
		t.Errorf("%d rows written, want %d", rows, n)
	}
}

// TestPackageQualifiedTests: go test ./... over two packages with a TestElection each. --list
// names them by package, and -run selects one by package, in -v and -json input, for tables,
// the list and analyze.
func TestPackageQualifiedTests(t *testing.T) {
	for _, in := range []string{fx + "multipkg_v.log", fx + "multipkg_json.jsonl"} {
		_, out, _ := runCLI(t, "", "--list", in)
		if !strings.Contains(out, "kv.TestElection ") || !strings.Contains(out, "raft.TestElection ") || strings.Contains(out, "#2") {
			t.Errorf("%s: --list does not tell the packages' TestElection apart:\n%s", in, out)
		}
		_, out, _ = runCLI(t, "", "--quiet", "--wrap", "0", "-run", `raft\.TestElection`, in)
		if !strings.Contains(out, "in package raft") || strings.Contains(out, "in package kv") || strings.Contains(out, "TestOnlyIn") {
			t.Errorf("%s: -run raft\\.TestElection drew:\n%s", in, out)
		}
		_, out, _ = runCLI(t, "", "--list", "-run", `kv\.`, in)
		if !strings.Contains(out, "TestOnlyIn_kv") || strings.Contains(out, "raft") {
			t.Errorf("%s: --list -run kv\\. listed:\n%s", in, out)
		}
		code, out, _ := runCLI(t, "", "analyze", "-run", `raft\.TestElection`, in)
		if code != exitOK || !strings.Contains(out, "1 test analysed") {
			t.Errorf("%s: analyze -run raft\\.TestElection: exit %d\n%s", in, code, out)
		}
	}
}

// TestPackagesKeepTestsApart: two packages' TestElection #1 are two tests everywhere a test is
// looked up by identity: merging inputs, reading one again for the timeline, and diff.
func TestPackagesKeepTestsApart(t *testing.T) {
	tests, _, err := parse.ReadFiles([]string{fx + "multipkg_v.log"}, parse.Options{})
	if err != nil || len(tests) != 4 {
		t.Fatalf("go test ./... over two packages read as %d tests (%v): the packages' TestElection were merged", len(tests), err)
	}
	// The timeline reads tests again by their place in the input (see timeline.Options.Reread),
	// from the start or from a checkpoint of its first reading.
	src, err := parse.Open([]string{fx + "multipkg_v.log"}, nil, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.KeepCheckpoints(1)
	if _, _, err := src.ReadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for from := -1; from < len(tests); from++ {
		n := max(from, 0)
		err = rereadTests(context.Background(), []string{fx + "multipkg_v.log"}, parse.Options{}, src, from, func(seq int, got *parse.Test) error {
			if seq >= len(tests) {
				return fmt.Errorf("read again, the log has more than %d tests", len(tests))
			}
			want := tests[seq]
			if seq >= n && (got.QualifiedName() != want.QualifiedName() || len(got.Events) != len(want.Events) ||
				len(got.Events) > 0 && got.Events[len(got.Events)-1].Msg != want.Events[len(want.Events)-1].Msg) {
				return fmt.Errorf("read again, test %d is %s with %d events, want %s with %d", seq, got.QualifiedName(), len(got.Events), want.QualifiedName(), len(want.Events))
			}
			n = max(n, seq+1)
			return nil
		})
		if err != nil || n != len(tests) {
			t.Fatalf("reading again from test %d: %v (%d tests)", from, err, n)
		}
	}
	code, out, _ := runCLI(t, "", "diff", fx+"multipkg_v.log", fx+"multipkg_json.jsonl")
	if code != exitOK || !strings.Contains(out, "kv.TestElection") || !strings.Contains(out, "raft.TestElection") {
		t.Errorf("diff of the -v and -json runs: exit %d\n%s", code, out)
	}
}

// TestTestsWithoutDebugLinesSaySo: go test -v output with no debug lines (the tests ran with
// their debug off) says in one line how to switch this project's on.
func TestTestsWithoutDebugLinesSaySo(t *testing.T) {
	if raftDebugEnv != raft.DebugEnv {
		t.Fatalf("raftDebugEnv %q, raft.DebugEnv %q", raftDebugEnv, raft.DebugEnv)
	}
	code, _, errOut := runCLI(t, "=== RUN   TestElection\n--- PASS: TestElection (0.00s)\nPASS\nok  \tx/raft\t0.01s\n")
	if code != exitOK || !strings.Contains(errOut, "RAFT_DEBUG=1 go test -v") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestEmptyFileInTheTimeline: an empty file is no input for the timeline either (exit 2, the
// tables' words), not a blank screen.
func TestEmptyFileInTheTimeline(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "", "--tui", empty)
	if code != exitUsage || errOut != "raftviz: no input: "+empty+" is empty\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestInterruptedOutputKeepsTheOldFile: -o FILE is written to FILE.tmp and renamed when whole:
// an interrupted run leaves the old file as it was and no temporary file; a whole run replaces it.
func TestInterruptedOutputKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "election.txt")
	if err := os.WriteFile(out, []byte("old tables\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var so, se bytes.Buffer
	code := run(ctx, []string{"-o", out, td + "classic_go_test_v.log"}, strings.NewReader(""), &so, &se)
	if b, _ := os.ReadFile(out); code != exitInterrupted || string(b) != "old tables\n" {
		t.Errorf("interrupted: exit %d, file %q", code, b)
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("interrupted: %s.tmp left behind (%v)", out, err)
	}
	if code, _, errOut := runCLI(t, "", "-o", out, td+"classic_go_test_v.log"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "TestElection") {
		t.Errorf("a whole run did not replace the file: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

// TestTablesPipelineDrawsAsOneGoroutine: tables drawn while the input is parsed (two goroutines)
// are byte-identical to the tables of the tests read whole and drawn one after another, on
// generated logs of random shapes (classic and structured lines, every table style); with a
// small --chunk, huge tests come out in parts, in order, under the race detector in CI.
func TestTablesPipelineDrawsAsOneGoroutine(t *testing.T) {
	defer leaktest.Check(t)()
	rng := rand.New(rand.NewPCG(11, 13))
	for i := 0; i < 12; i++ {
		var in bytes.Buffer
		o := synth.Options{Lines: 500 + rng.IntN(5000), Tests: 1 + rng.IntN(6), Nodes: 1 + rng.IntN(5), Seed: rng.Uint64(), Structured: rng.IntN(2) == 0}
		if err := synth.Write(&in, o); err != nil {
			t.Fatal(err)
		}
		style := []string{"text", "ascii", "markdown", "html", "csv"}[rng.IntN(5)]
		code, out, errOut := runCLI(t, in.String(), "--table", style, "--chunk", "1000000")
		if code != exitOK {
			t.Fatalf("%+v: exit %d: %s", o, code, errOut)
		}
		format, _ := render.ParseFormat(style)
		tests, sum, err := parse.Read(bytes.NewReader(in.Bytes()), parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := drawTests(t, tests, format, sum.Status(tests)); out != want {
			t.Fatalf("%+v --table %s: the pipeline's tables differ from the tests drawn one after another", o, style)
		}
		// In parts: every event row once, in order.
		code, parts, _ := runCLI(t, in.String(), "--table", "csv", "--chunk", strconv.Itoa(100+rng.IntN(400)))
		_, whole, _ := runCLI(t, in.String(), "--table", "csv", "--chunk", "1000000")
		if code != exitOK || stripCSVHeaders(parts) != stripCSVHeaders(whole) {
			t.Fatalf("%+v: csv in parts differs from csv whole", o)
		}
	}
}

// stripCSVHeaders drops the header rows, which parts repeat.
func stripCSVHeaders(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if l != "test,time,node,kind,message,fields" && l != "" {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestTimelineKnowsItsFiles: the timeline is given the files it reads (by parse.Event.File), so
// that o opens the event's log in a pager, NAME=FILE by its path.
func TestTimelineKnowsItsFiles(t *testing.T) {
	c, err := parseFlags([]string{"--tui", "a.log", "n2=b.log", "-"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := tuiOptions(c, "").Files; !slices.Equal(got, []string{"a.log", "b.log", "-"}) {
		t.Errorf("Files %q", got)
	}
}

// drawTests draws tests one after another, as tables of format, with the run's status last.
func drawTests(t *testing.T, tests []*parse.Test, format render.Format, status parse.Status) string {
	t.Helper()
	var b strings.Builder
	w := render.NewWriter(&b, render.Options{Format: format, Wrap: render.DefaultWrap})
	for _, tt := range tests {
		if err := w.Test(tt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(status); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestStdinLogIsTitledStdin: a plain log read from stdin is named "stdin" in the timeline, not
// "-".
func TestStdinLogIsTitledStdin(t *testing.T) {
	if logTitle("-") != "stdin" || logTitle("run.log") != "run.log" {
		t.Errorf("logTitle: %q, %q", logTitle("-"), logTitle("run.log"))
	}
}
