package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeExample is a command line of README.md ("$ raftviz ...") and the output printed under
// it.
type readmeExample struct {
	line int
	cmd  string
	want []string
}

// readmeExamples returns README's examples of the programs named: the lines of code blocks
// that begin with "$ PROGRAM ", each with the lines under it up to the next "$ " or the block's
// end.
func readmeExamples(t *testing.T, programs ...string) []readmeExample {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeExample
	var cur *readmeExample
	inBlock := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
			cur = nil
		case !inBlock:
		case strings.HasPrefix(line, "$ "):
			cur = nil
			for _, program := range programs {
				if strings.HasPrefix(line, "$ "+program+" ") {
					out = append(out, readmeExample{line: n, cmd: strings.TrimPrefix(line, "$ ")})
					cur = &out[len(out)-1]
				}
			}
		case cur != nil:
			cur.want = append(cur.want, line)
		}
	}
	return out
}

// shellWords splits a README command line as the shell would for these examples: words,
// single-quoted words, a "  # comment" dropped, globs expanded; and a trailing "| head -N" or
// "| sed -n A,Bp" returned as the lines to keep (from, to; to -1: all).
func shellWords(t *testing.T, cmd string) (args []string, from, to int) {
	t.Helper()
	if i := strings.Index(cmd, "  #"); i >= 0 {
		cmd = cmd[:i]
	}
	from, to = 1, -1
	if prog, filter, ok := strings.Cut(cmd, " | "); ok {
		cmd = prog
		f := strings.Fields(filter)
		switch {
		case len(f) == 2 && f[0] == "head" && strings.HasPrefix(f[1], "-"):
			to, _ = strconv.Atoi(f[1][1:])
		case len(f) == 3 && f[0] == "sed" && f[1] == "-n" && strings.HasSuffix(f[2], "p"):
			a, b, _ := strings.Cut(strings.TrimSuffix(f[2], "p"), ",")
			from, _ = strconv.Atoi(a)
			to, _ = strconv.Atoi(b)
		default:
			t.Fatalf("README example %q: a filter this test does not know: %q", cmd, filter)
		}
	}
	for _, w := range strings.Fields(cmd)[1:] {
		w = strings.Trim(w, "'")
		if strings.ContainsAny(w, "*?[") {
			m, _ := filepath.Glob(w) // the test runs in the repository's root
			args = append(args, m...)
			continue
		}
		args = append(args, w)
	}
	return args, from, to
}

// TestReadmeExamplesAreRealOutput: every "$ raftviz ..." of README.md, run on the files it
// names, prints what README shows under it (README's examples went stale before: figures of an
// older build, tests the project does not have). Examples of files a reader makes first (a
// cluster's logs) are skipped here when the files are not in the repository: TestReadmeRaftrun
// makes them in a real run and checks those examples there.
func TestReadmeExamplesAreRealOutput(t *testing.T) {
	examples := readmeExamples(t, "raftviz")
	if len(examples) < 5 {
		t.Fatalf("found %d raftviz examples in README.md", len(examples))
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	wd, _ := os.Getwd()
	if err := os.Chdir(root); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	local := time.Local
	time.Local = time.UTC // README says its times were printed in UTC
	defer func() { time.Local = local }()
	ran := 0
	for _, ex := range examples {
		args, from, to := shellWords(t, ex.cmd)
		missing := false
		for _, a := range args {
			path := a
			if _, p, ok := strings.Cut(a, "="); ok && !strings.HasPrefix(a, "-") {
				path = p
			}
			if strings.HasSuffix(path, ".log") {
				if _, err := os.Stat(path); err != nil {
					missing = true
				}
			}
		}
		if missing {
			t.Logf("README.md:%d: %s: its files are made by the reader; skipped", ex.line, ex.cmd)
			continue
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
		lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		if to >= 0 && to < len(lines) {
			lines = lines[:to]
		}
		if from > 1 {
			lines = lines[min(from-1, len(lines)):]
		}
		if got, want := strings.Join(lines, "\n"), strings.Join(ex.want, "\n"); !matchElided(lines, ex.want) || code > 1 {
			t.Errorf("README.md:%d: %s (exit %d, stderr %q) prints\n%s\nREADME shows\n%s", ex.line, ex.cmd, code, errOut.String(), got, want)
		}
		ran++
	}
	t.Logf("%d README examples run", ran)
}

// matchElided reports whether got is want, where a line "..." of want stands for any number of
// lines (README leaves out the middle of long outputs so).
func matchElided(got, want []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "..." {
		for i := 0; i <= len(got); i++ {
			if matchElided(got[i:], want[1:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && got[0] == want[0] && matchElided(got[1:], want[1:])
}

// TestReadmeRaftrun checks README's raftrun examples against a build of raftrun (one build for
// every check): the seeded simulation's output, every command's -h, and the live runs (a repeated
// test, a live cluster, a cluster of processes: readme_runs_test.go).
func TestReadmeRaftrun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds raftrun")
	}
	bin := filepath.Join(t.TempDir(), "raftrun")
	if out, err := exec.Command("go", "build", "-o", bin, "../raftrun").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("simulation", func(t *testing.T) { readmeSimulation(t, bin) })
	t.Run("every_flag", func(t *testing.T) { readmeEveryFlag(t, bin) })
	t.Run("repeated_test", func(t *testing.T) { readmeRepeatedTest(t, bin) })
	t.Run("live_cluster", func(t *testing.T) { readmeLiveCluster(t, bin) })
	t.Run("process_cluster", func(t *testing.T) { readmeProcessCluster(t, bin) })
}

// readmeSimulation: README's seeded simulation ("$ raftrun sim --seed 7 ...", deterministic)
// prints what README shows, and so does the "$ head" of the log it writes (the figures were an
// older build's: 20278 steps where the simulator takes 20196).
func readmeSimulation(t *testing.T, bin string) {
	dir := t.TempDir()
	ran := 0
	for _, ex := range readmeExamples(t, "raftrun sim", "head") {
		args := strings.Fields(ex.cmd)
		var got []byte
		var err error
		if args[0] == "head" {
			got, err = exec.Command("head", append(args[1:len(args)-1], filepath.Join(dir, args[len(args)-1]))...).Output()
		} else {
			cmd := exec.Command(bin, args[1:]...)
			cmd.Dir = dir
			got, err = cmd.CombinedOutput()
		}
		if err != nil {
			t.Fatalf("README.md:%d: %s: %v\n%s", ex.line, ex.cmd, err, got)
		}
		if lines := strings.Split(strings.TrimRight(string(got), "\n"), "\n"); !matchElided(lines, ex.want) {
			t.Errorf("README.md:%d: %s prints\n%s\nREADME shows\n%s", ex.line, ex.cmd, got, strings.Join(ex.want, "\n"))
		}
		ran++
	}
	if ran < 2 {
		t.Fatalf("%d simulation examples found in README.md", ran)
	}
}

// helpCommands are the commands whose -h output README's "Every flag" section shows in full.
var helpCommands = []string{"raftviz", "raftviz analyze", "raftviz explain", "raftviz diff", "raftrun test", "raftrun live", "raftrun sim",
	"raftrun node", "raftrun client", "raftrun key", "raftrun bench", "raftrun soak"}

// readmeEveryFlag: README shows each command's -h output, flags and all, as the programs print
// it (flags such as --quiet, analyze -o, node --advertise were documented nowhere).
// RAFTVIZ_UPDATE_README=1 writes the current output into README.md.
func readmeEveryFlag(t *testing.T, bin string) {
	help := func(cmd string) string {
		words := strings.Fields(cmd)
		var out bytes.Buffer
		if words[0] == "raftviz" {
			run(context.Background(), append(words[1:], "-h"), strings.NewReader(""), &out, &out)
		} else {
			c := exec.Command(bin, append(words[1:], "-h")...)
			c.Stdout, c.Stderr = &out, &out
			c.Run()
		}
		return strings.TrimRight(out.String(), "\n")
	}
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	for _, cmd := range helpCommands {
		marker := "<!-- help: " + cmd + " -->\n```\n"
		i := strings.Index(text, marker)
		if i < 0 {
			t.Errorf("README.md has no %q block with the -h output of %s", strings.TrimSuffix(marker, "\n```\n"), cmd)
			continue
		}
		start := i + len(marker)
		end := strings.Index(text[start:], "\n```")
		if end < 0 {
			t.Fatalf("README.md: the block of %s does not end", cmd)
		}
		want := help(cmd)
		if got := text[start : start+end]; got != want {
			if os.Getenv("RAFTVIZ_UPDATE_README") == "1" {
				text = text[:start] + want + text[start+end:]
				continue
			}
			t.Errorf("README.md's -h of %s is not what it prints (RAFTVIZ_UPDATE_README=1 go test ./cmd/raftviz -run TestReadmeRaftrun/every_flag writes it):\n%s", cmd, want)
		}
	}
	if os.Getenv("RAFTVIZ_UPDATE_README") == "1" && text != string(readme) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadmeIntroIsRealOutput: the table README opens with is what its Quick start command
// ("go run ./cmd/raftviz FILE") prints, with "..." where it leaves rows out (it dropped six rows
// without saying so).
func TestReadmeIntroIsRealOutput(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```")
	if len(blocks) < 4 {
		t.Fatal("README.md has too few code blocks")
	}
	intro := strings.Split(strings.Trim(blocks[1], "\n"), "\n")
	var args []string
	for _, l := range strings.Split(string(readme), "\n") {
		if rest, ok := strings.CutPrefix(l, "go run ./cmd/raftviz "); ok {
			args = strings.Fields(rest)
			break
		}
	}
	if len(args) == 0 {
		t.Fatal("README.md has no Quick start command")
	}
	for i, a := range args {
		args[i] = filepath.Join("..", "..", a)
	}
	code, out, errOut := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("raftviz %v: exit %d: %s", args, code, errOut)
	}
	if got := outputLines([]byte(out)); !matchElided(got, intro) {
		t.Errorf("README's first table is not what the Quick start command prints:\n%s", strings.Join(intro, "\n"))
	}
}
