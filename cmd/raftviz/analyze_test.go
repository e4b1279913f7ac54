package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const goodRun = `00:00:00.100000 [1] becomes leader | ev=state term=1 state=leader prev=candidate reason=won votes=2
00:00:00.101000 [1] appends entry 1 | ev=append term=1 state=leader first=1 last=1 entries=1
00:00:00.102000 [1] commits up to 1 | ev=commit term=1 state=leader commit=1 prev=0
00:00:00.102000 [1] applies set x 1 at 1 | ev=apply term=1 state=leader index=1 eterm=1 cmd="set x 1"
00:00:00.103000 [2] applies set x 1 at 1 | ev=apply term=1 state=follower index=1 eterm=1 cmd="set x 1"
`

const badRun = goodRun + `00:00:00.104000 [3] applies set x 9 at 1 | ev=apply term=1 state=follower index=1 eterm=1 cmd="set x 9"
`

func TestAnalyzeExitCodes(t *testing.T) {
	code, out, errOut := runCLI(t, goodRun, "analyze")
	if code != exitOK || !strings.Contains(out, "0 safety violations") {
		t.Fatalf("healthy: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, badRun, "analyze")
	if code != exitTestsFailed || !strings.Contains(out, "VIOLATION "+"no two nodes apply different commands at one index") ||
		!strings.Contains(out, "(line 6)") {
		t.Fatalf("violation: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, badRun, "analyze", "--format", "json")
	var doc struct {
		Tests []struct {
			Test       string
			Violations []struct{ Check string }
		}
		Violations int
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitTestsFailed || doc.Violations != 1 || len(doc.Tests) != 1 {
		t.Fatalf("json: exit %d, %v, %+v\n%s", code, err, doc, out)
	}
	for _, args := range [][]string{{"analyze", "--format", "yaml"}, {"analyze", "/no/such/file"}, {"analyze", "--bogus"}} {
		code, _, errOut := runCLI(t, goodRun, args...)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestDiffFindsFirstDivergence(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	os.WriteFile(a, []byte(goodRun), 0o644)
	other := strings.ReplaceAll(goodRun, "set x 1", "set y 2")
	other = strings.Replace(other, "[1] becomes leader", "[2] becomes leader", 1)
	os.WriteFile(b, []byte(other), 0o644)
	code, out, errOut := runCLI(t, "", "diff", a, b)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"elections diverge at term 1: A elected 1, B elected 2",
		`commits diverge at index 1: A applied "set x 1", B applied "set y 2"`} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "", "diff", a, a)
	if code != exitOK || !strings.Contains(out, "the same leader in every term") || !strings.Contains(out, "the same 1 commands") {
		t.Fatalf("a log against itself:\n%s", out)
	}
	if code, _, _ := runCLI(t, "", "diff", a); code != exitUsage {
		t.Fatalf("one file: exit %d", code)
	}
	// A test in one run only is said, and every column of the table has a header.
	framed := func(name string) string {
		return "=== RUN   " + name + "\n" + goodRun + "--- PASS: " + name + " (0.10s)\n"
	}
	one, extra := filepath.Join(dir, "one.log"), filepath.Join(dir, "extra.log")
	os.WriteFile(one, []byte(framed("TestA")), 0o644)
	os.WriteFile(extra, []byte(framed("TestA")+framed("TestOnlyHere")), 0o644)
	code, out, _ = runCLI(t, "", "diff", one, extra)
	if code != exitOK || !strings.Contains(out, "only in B ("+extra+"): TestOnlyHere") || !strings.Contains(out, "│ DIFFERS │") {
		t.Errorf("diff of a log with a test more:\n%s", out)
	}
}

func TestSummaryUnderTables(t *testing.T) {
	code, out, _ := runCLI(t, badRun, "--summary", "--compact")
	if code != exitOK || !strings.Contains(out, "summary: leaders: term 1: 1 for") ||
		!strings.Contains(out, "summary: VIOLATION no two nodes apply different commands at one index") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, _ = runCLI(t, goodRun, "--compact")
	if code != exitOK || strings.Contains(out, "summary:") {
		t.Fatalf("a summary without --summary:\n%s", out)
	}
}

// TestAnalyzeCaptures pins analyze's report on each profile's real capture (text and JSON), and
// checks that every doctored copy (one injected violation, testdata/fixtures/doctor.py) exits 1
// while the captures themselves exit 0.
func TestAnalyzeCaptures(t *testing.T) {
	for _, name := range []string{"hashicorp_v", "etcd_v", "etcd_trace_v", "dslogs_fail", "jsonlog_v"} {
		code, out, errOut := runCLI(t, "", "analyze", fx+name+".log")
		checkGolden(t, "analyze_"+name, "exit: "+strconv.Itoa(code)+"\n--- stderr\n"+errOut+"--- stdout\n"+out)
		if code != exitOK {
			t.Errorf("%s: exit %d", name, code)
		}
		code, out, _ = runCLI(t, "", "analyze", "--json", fx+name+".log")
		if code != exitOK || !json.Valid([]byte(out)) {
			t.Errorf("%s --json: exit %d, valid JSON %v", name, code, json.Valid([]byte(out)))
		}
		checkGolden(t, "analyze_"+name+"_json", out)
	}
	code, out, _ := runCLI(t, "", "analyze", "--json", "-run", "TestTraceFailover", fx+"etcd_trace_v.log")
	checkGolden(t, "analyze_etcd_trace_json", out)
	var doc struct {
		Tests []struct {
			Terms []struct {
				Term   uint64
				Leader string
			}
			Checks []struct{ Name, Status, Why string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitOK || len(doc.Tests) != 1 {
		t.Fatalf("json: exit %d %v", code, err)
	}
	statuses := map[string]int{}
	for _, c := range doc.Tests[0].Checks {
		statuses[c.Status]++
		if c.Status == "not_checked" && c.Why == "" {
			t.Errorf("check %q not checked without a reason", c.Name)
		}
	}
	if statuses["passed"] == 0 || statuses["not_checked"] == 0 || len(doc.Tests[0].Terms) != 2 {
		t.Errorf("checks %v terms %+v", statuses, doc.Tests[0].Terms)
	}
	for _, c := range []struct{ file, check string }{
		{"hashicorp_two_leaders.log", "one leader per term"},
		{"etcd_term_back.log", "a node's term never decreases"},
		{"etcd_trace_two_leaders.log", "one leader per term"},
		{"dslogs_two_leaders.log", "one leader per term"},
		{"jsonlog_two_leaders.log", "one leader per term"},
		{"jsonlog_term_back.log", "a node's term never decreases"},
	} {
		code, out, _ := runCLI(t, "", "analyze", fx+c.file)
		if code != exitTestsFailed || !strings.Contains(out, "VIOLATION "+c.check) {
			t.Errorf("%s: exit %d, want a violation of %q\n%s", c.file, code, c.check, out)
		}
	}
}

// TestClassicTermGoingBack: classic lines state terms in their wording, and a node that says
// "Becomes Follower with term=1" after term 3 broke a rule.
func TestClassicTermGoingBack(t *testing.T) {
	log := "10:00:00.000001 [0] Becomes Candidate (currentTerm=3); log=[]\n" +
		"10:00:00.000002 [0] Becomes Follower with term=1; log=[]\n"
	code, out, _ := runCLI(t, log, "analyze")
	if code != exitTestsFailed || !strings.Contains(out, "node 0 went from term 3 back to 1") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// TestSubcommandFlags: analyze and diff answer -h with their usage and flags on stdout, and a
// flag they do not know with one line on stderr naming the command.
func TestSubcommandFlags(t *testing.T) {
	for _, c := range []struct{ cmd, flag string }{{"analyze", "-slow"}, {"diff", "-run"}} {
		code, out, errOut := runCLI(t, "", c.cmd, "-h")
		if code != exitOK || !strings.Contains(out, c.flag) || errOut != "" {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", c.cmd, code, out, errOut)
		}
		code, _, errOut = runCLI(t, "", c.cmd, "--bogus")
		if want := "raftviz " + c.cmd + ": flag provided but not defined: -bogus (raftviz " + c.cmd + " -h lists the flags)\n"; code != exitUsage || errOut != want {
			t.Errorf("%s --bogus: exit %d, stderr %q, want %q", c.cmd, code, errOut, want)
		}
	}
}

// TestLinHTMLWithoutDirectory: --lin-html into a directory that does not exist is a usage error
// said before the analysis (it was a note after it, with exit 0).
func TestLinHTMLWithoutDirectory(t *testing.T) {
	code, out, errOut := runCLI(t, "", "analyze", "--lin-html", "/nonexistent/x.html", "../../sample/logs/sim_seed7.log")
	if code != exitUsage || out != "" || errOut != "raftviz analyze: --lin-html: no directory /nonexistent to write x.html in\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
