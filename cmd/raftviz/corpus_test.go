package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/render"
)

// corpusCase is one line of testdata/corpus/truth.txt: per log, a test, its nodes and its leaders as
// read by hand.
type corpusCase struct {
	log, test string
	nodes     []string
	leaders   []string // "term:node"; nil when unknown
	unknown   bool     // leaders=?: raftviz is known not to find them
	unread    bool     // reads=no
}

// corpusTruth reads testdata/corpus/truth.txt.
func corpusTruth(t *testing.T) []corpusCase {
	t.Helper()
	f, err := os.Open("../../testdata/corpus/truth.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		c := corpusCase{log: fields[0], test: fields[1]}
		for _, kv := range fields[2:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "nodes":
				c.nodes = strings.Split(v, ",")
			case "leaders":
				if v == "?" {
					c.unknown = true
				} else {
					c.leaders = strings.Split(v, ",")
				}
			case "reads":
				c.unread = v == "no"
			}
		}
		out = append(out, c)
	}
	return out
}

// corpusReport is what the corpus test reads of analyze --json's report of a test.
type corpusReport struct {
	Test  string
	Terms []struct {
		Term   uint64
		Leader string
	}
	Nodes []struct {
		Node    string
		Crashes int
	}
	Violations []struct{ Detail string }
}

// TestCorpusWithNoFlags: real home-made Raft logs (testdata/corpus: students' labs and a hobby
// project, run with their own tests and debug output on) read with no flags: the nodes are the
// servers and the leaders of each checked test those its lines name, on the logs truth.txt says
// are read; on every log, analyze finds no violation (none of these runs broke safety) and no
// crash where no line speaks of one.
func TestCorpusWithNoFlags(t *testing.T) {
	cases := corpusTruth(t)
	logs, _ := filepath.Glob("../../testdata/corpus/*.log")
	if len(logs) < 10 || len(cases) != len(logs) {
		t.Fatalf("%d logs, %d in truth.txt", len(logs), len(cases))
	}
	right := 0
	for _, c := range cases {
		path := "../../testdata/corpus/" + c.log + ".log"
		code, out, errOut := runCLI(t, "", "analyze", "--json", path)
		var doc struct{ Tests []corpusReport }
		if err := json.Unmarshal([]byte(out), &doc); err != nil && !c.unread {
			t.Fatalf("%s: %v\n%s", c.log, err, errOut)
		}
		if c.unread {
			if code == exitTestsFailed {
				t.Errorf("%s: a log raftviz does not read fails analyze", c.log)
			}
			continue
		}
		raw, _ := os.ReadFile(path)
		speaksOfCrashes := strings.Contains(strings.ToLower(string(raw)), "kill") || strings.Contains(strings.ToLower(string(raw)), "crash")
		for _, tr := range doc.Tests {
			if len(tr.Violations) > 0 {
				t.Errorf("%s %s: violations %+v (a passing run of a lab)", c.log, tr.Test, tr.Violations)
			}
			for _, n := range tr.Nodes {
				if n.Crashes > 0 && !speaksOfCrashes {
					t.Errorf("%s %s: node %s has %d crashes, and no line speaks of one", c.log, tr.Test, n.Node, n.Crashes)
				}
			}
		}
		if code != exitOK {
			t.Errorf("%s: analyze exit %d", c.log, code)
		}
		i := slices.IndexFunc(doc.Tests, func(x corpusReport) bool {
			return x.Test == c.test
		})
		if i < 0 {
			t.Errorf("%s: no test %s", c.log, c.test)
			continue
		}
		tr := doc.Tests[i]
		var nodes, leaders []string
		for _, n := range tr.Nodes {
			nodes = append(nodes, n.Node)
		}
		for _, tm := range tr.Terms {
			if tm.Leader != "" {
				leaders = append(leaders, strconv.FormatUint(tm.Term, 10)+":"+tm.Leader)
			}
		}
		if !slices.Equal(nodes, c.nodes) {
			t.Errorf("%s %s: nodes %v, want %v", c.log, c.test, nodes, c.nodes)
			continue
		}
		if c.unknown {
			if len(leaders) > 0 {
				t.Logf("%s %s: leaders %v (truth.txt says raftviz does not find them: check it and update truth.txt)", c.log, c.test, leaders)
			}
			continue
		}
		if !slices.Equal(leaders, c.leaders) {
			t.Errorf("%s %s: leaders %v, want %v (truth.txt)", c.log, c.test, leaders, c.leaders)
			continue
		}
		right++
	}
	if right < 8 {
		t.Errorf("nodes and leaders right on %d corpus logs, want at least 8", right)
	}
}

// TestLearnedProfileReadsAsInference: the profile raftviz profiles learn prints, loaded with
// --profile, reads a corpus log as inference does.
func TestLearnedProfileReadsAsInference(t *testing.T) {
	for _, c := range corpusTruth(t) {
		if c.unread || c.log == "eliben" || c.log == "faraway" { // read by built-in profiles
			continue
		}
		path := "../../testdata/corpus/" + c.log + ".log"
		code, prof, errOut := runCLI(t, "", "profiles", "learn", path)
		if code != exitOK || !strings.Contains(prof, "name        inferred") {
			t.Fatalf("%s: profiles learn: exit %d\n%s", c.log, code, errOut)
		}
		file := filepath.Join(t.TempDir(), c.log+".profile")
		if err := os.WriteFile(file, []byte(prof), 0o644); err != nil {
			t.Fatal(err)
		}
		_, inferred, _ := runCLI(t, "", "analyze", "--json", path)
		_, learned, _ := runCLI(t, "", "analyze", "--json", "--profile", file, path)
		if inferred != learned {
			t.Errorf("%s: analyze with the learned profile differs from inference", c.log)
		}
	}
	if code, _, errOut := runCLI(t, "", "profiles", "learn", "../../testdata/corpus/gameofdimension.log"); code != exitTestsFailed ||
		!strings.Contains(errOut, "no line shape names a cluster's servers") {
		t.Errorf("profiles learn on a log it cannot read: exit %d, %q", code, errOut)
	}
}

// TestPipedLabLogIsInferred: go test -v output of a home-made Raft piped in (a pipe, which
// cannot be read twice) is read with an inferred profile, as the same log in a file is.
func TestPipedLabLogIsInferred(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/corpus/ferriem.log")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	pipe := io.MultiReader(strings.NewReader(string(raw))) // no Seek: as a pipe
	code := run(context.Background(), []string{"--list"}, pipe, &out, &errOut)
	if code != exitOK || !strings.Contains(out.String(), " inferred  3 [0,1,2] ") {
		t.Errorf("piped lab log: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// TestDslogsColumns: on the dslogs lab of the corpus, CANDIDATES, VOTES and LAST APPLIED say what
// its lines do: "become Candidate 1" (its term after the role), "Grant Vote -1 -> S2" (votes
// counted in the candidate's term, with its own), "apply 3, command: 300".
func TestDslogsColumns(t *testing.T) {
	code, out, _ := runCLI(t, "", "analyze", "--json", "-run", "TestReElection2A$|TestBasicAgree2B$", "../../testdata/corpus/faraway.log")
	var doc struct {
		Tests []struct {
			Test  string
			Terms []struct {
				Term       uint64
				Leader     string
				Candidates int
				Votes      int
			}
			Nodes []struct {
				Node        string
				LastApplied uint64 `json:"last_applied"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitOK || len(doc.Tests) != 2 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	re, agree := doc.Tests[0], doc.Tests[1]
	if re.Test != "TestReElection2A" {
		re, agree = agree, re
	}
	want := map[uint64][3]any{1: {"S2", 1, 3}, 2: {"S1", 1, 2}}
	for _, tm := range re.Terms {
		if w, ok := want[tm.Term]; ok && (tm.Leader != w[0] || tm.Candidates != w[1] || tm.Votes != w[2]) {
			t.Errorf("term %d: leader %s, %d candidates, %d votes; want %v", tm.Term, tm.Leader, tm.Candidates, tm.Votes, w)
		}
	}
	for _, n := range agree.Nodes {
		if (n.Node == "S0" || n.Node == "S1" || n.Node == "S2") && n.LastApplied != 3 {
			t.Errorf("TestBasicAgree2B: %s last applied %d, want 3 (apply 3, command: 300)", n.Node, n.LastApplied)
		}
	}
}

// TestUnreadLogSuggestsAStart: a log no profile and no inference reads says so in one line,
// with a --node-re made from its own first line, which reads it when given back.
func TestUnreadLogSuggestsAStart(t *testing.T) {
	path := "../../testdata/corpus/gameofdimension.log"
	_, _, errOut := runCLI(t, "", "--list", path)
	i := strings.Index(errOut, "start from --node-re '")
	if i < 0 || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("stderr %q: want one line suggesting a --node-re", errOut)
	}
	rest := errOut[i+len("start from --node-re '"):]
	re, rest, _ := strings.Cut(rest, "'")
	layout := ""
	if j := strings.Index(rest, "--time-layout '"); j >= 0 {
		layout, _, _ = strings.Cut(rest[j+len("--time-layout '"):], "'")
	}
	code, out, errOut := runCLI(t, "", "--list", "--node-re", re, "--time-layout", layout, path)
	if code != exitOK || strings.Contains(out, " 0 [] ") {
		t.Errorf("the suggested flags: exit %d\n%s%s", code, out, errOut)
	}
}

// TestFaultFactsDrawTheSameTables: a plain table read with only the fault and node rules of
// profiles (FaultFacts, what tables use when they show no kinds) is byte-identical to one read
// with all of them, on every fixture and corpus log, in text and markdown.
func TestFaultFactsDrawTheSameTables(t *testing.T) {
	logs, _ := filepath.Glob("../../testdata/fixtures/*.log")
	more, _ := filepath.Glob("../../testdata/corpus/*.log")
	cluster, _ := filepath.Glob("../../testdata/fixtures/cluster/*/*.log")
	logs = append(append(logs, more...), cluster...)
	if len(logs) < 30 {
		t.Fatalf("%d logs", len(logs))
	}
	draw := func(path string, facts parse.FactSet, format render.Format) string {
		tests, _, err := parse.ReadFiles([]string{path}, parse.Options{Facts: facts})
		if err != nil {
			t.Fatal(err)
		}
		return drawTests(t, tests, format, parse.StatusPass)
	}
	for _, path := range logs {
		for _, f := range []render.Format{render.FormatText, render.FormatMarkdown} {
			if all, faults := draw(path, parse.AllFacts, f), draw(path, parse.FaultFacts, f); all != faults {
				t.Errorf("%s (format %d): the table differs when only fault facts are read", path, f)
			}
		}
	}
}

// TestListWithoutFactsListsTheSame: --list reads only the fact rules that name a node; its
// lines (status, nodes, groups, events, duration) are the ones a full read gives, on every
// fixture and corpus log.
func TestListWithoutFactsListsTheSame(t *testing.T) {
	logs, _ := filepath.Glob("../../testdata/fixtures/*.log")
	more, _ := filepath.Glob("../../testdata/corpus/*.log")
	logs = append(logs, more...)
	list := func(path string, facts parse.FactSet) string {
		tests, _, err := parse.ReadFiles([]string{path}, parse.Options{Facts: facts})
		if err != nil {
			t.Fatal(err)
		}
		var entries []render.ListEntry
		for _, tt := range tests {
			var tl parse.Tally
			tl.Add(tt.Events)
			entries = append(entries, render.Entry(tt, &tl))
		}
		var b strings.Builder
		if err := render.List(&b, entries); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, path := range logs {
		if full, fast := list(path, parse.AllFacts), list(path, parse.NodeFacts); full != fast {
			t.Errorf("%s: --list differs without facts:\n%s\nvs\n%s", path, full, fast)
		}
	}
}
