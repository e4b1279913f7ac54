package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// README's examples of live runs (a repeated test, a live cluster, a cluster of processes) print
// ports, durations, leaders and indexes that differ from run to run. They are checked as the
// others are, on a real run, with those figures made alike on both sides (runNormalizer), and
// RAFTVIZ_UPDATE_README=1 writes a real run's transcript into README.md.

// runNormalizer makes a run's varying figures alike: ports, durations, the numbers after leader,
// term, index and node, a table's event count, and the widths of columns.
var runNormalizer = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\b\d+\.\d+s\b`), "T"},
	{regexp.MustCompile(`\b(leader|term|index|node)([ =])\d+`), "${1}${2}N"},
	{regexp.MustCompile(`─+`), "─"},
	{regexp.MustCompile(` {2,}`), " "},
	{regexp.MustCompile(`\] \d+ T`), "] N T"}, // raftviz --list: EVENTS before DURATION
}

func normalizeRun(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		for _, n := range runNormalizer {
			l = n.re.ReplaceAllString(l, n.with)
		}
		out[i] = l
	}
	return out
}

// readmeBlock is a code block of README.md: its lines and where they are (0-based, the lines
// between the fences).
type readmeBlock struct {
	start int
	lines []string
}

// readmeBlockOf returns the code block with a line beginning "$ "+prefix.
func readmeBlockOf(t *testing.T, prefix string) readmeBlock {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	start := -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "```") && start < 0:
			start = i + 1
		case strings.HasPrefix(l, "```"):
			block := lines[start:i]
			for _, b := range block {
				if strings.HasPrefix(b, "$ "+prefix) {
					return readmeBlock{start: start, lines: block}
				}
			}
			start = -1
		}
	}
	t.Fatalf("README.md has no code block with %q", "$ "+prefix)
	return readmeBlock{}
}

// checkTranscript compares a real run's transcript with README's block, figures made alike; with
// RAFTVIZ_UPDATE_README=1 it writes the real one into README.md instead.
func checkTranscript(t *testing.T, block readmeBlock, got []string) {
	t.Helper()
	if os.Getenv("RAFTVIZ_UPDATE_README") == "1" {
		path := filepath.Join("..", "..", "README.md")
		readme, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(readme), "\n")
		lines = append(lines[:block.start:block.start], append(got, lines[block.start+len(block.lines):]...)...)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	g, w := normalizeRun(got), normalizeRun(block.lines)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("README.md:%d: a real run prints (RAFTVIZ_UPDATE_README=1 go test ./cmd/raftviz -run TestReadmeRaftrun writes it)\n%s\nREADME shows\n%s",
			block.start+1, strings.Join(got, "\n"), strings.Join(block.lines, "\n"))
	}
}

// outputLines are a command's output lines, without the last newline.
func outputLines(out []byte) []string {
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
}

// readmeRepeatedTest: "$ raftrun test -run ... -count 20 ./raft/" runs the tests and prints the
// table and summary README shows.
func readmeRepeatedTest(t *testing.T, bin string) {
	block := readmeBlockOf(t, "raftrun test ")
	cmdLine := strings.TrimPrefix(block.lines[0], "$ ")
	args, _, _ := shellWords(t, cmdLine)
	// The logs of failing runs go under the test's directory, not the repository's runs/.
	args = append([]string{args[0], "-runs", t.TempDir()}, args[1:]...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmdLine, err, out)
	}
	checkTranscript(t, block, append([]string{block.lines[0]}, outputLines(out)...))
}

// readmeLiveCluster: "$ raftrun live -n 3 --script scenario.txt --log live.log", with the
// script made of README's "> " lines, prints what README shows.
func readmeLiveCluster(t *testing.T, bin string) {
	block := readmeBlockOf(t, "raftrun live ")
	dir := t.TempDir()
	var script []string
	for _, l := range block.lines {
		if c, ok := strings.CutPrefix(l, "> "); ok {
			script = append(script, c)
		}
	}
	if len(script) < 5 {
		t.Fatalf("README's live example has %d commands", len(script))
	}
	if err := os.WriteFile(filepath.Join(dir, "scenario.txt"), []byte(strings.Join(script, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmdLine := strings.TrimPrefix(block.lines[0], "$ ")
	cmd := exec.Command(bin, strings.Fields(cmdLine)[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmdLine, err, out)
	}
	checkTranscript(t, block, append([]string{block.lines[0]}, outputLines(out)...))
}

// freePorts returns n ports nothing listens on now.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// readmeProcessCluster: README's cluster of processes, run as it says (three raftrun node, the
// client's set and get, raftviz --list of the three logs), on free ports in place of README's,
// prints what README shows. The lines README elides ("raftrun node --id 2 ...", "--peers ...")
// are run in full.
func readmeProcessCluster(t *testing.T, bin string) {
	block := readmeBlockOf(t, "raftrun node ")
	dir := t.TempDir()
	first := strings.TrimSuffix(strings.TrimPrefix(block.lines[0], "$ "), " &")
	readmePorts := regexp.MustCompile(`127\.0\.0\.1:(\d+)`).FindAllStringSubmatch(first, -1)
	if len(readmePorts) != 3 {
		t.Fatalf("README.md:%d: %q names %d addresses, want 3", block.start+1, first, len(readmePorts))
	}
	ports := freePorts(t, 3)
	real := func(s string) string {
		for i, m := range readmePorts {
			s = strings.ReplaceAll(s, "127.0.0.1:"+m[1], "127.0.0.1:"+ports[i])
		}
		return s
	}
	// Node i's command is node 1's with the ids, listen address, peers, data and log of i.
	nodeArgs := func(id int) []string {
		line := first
		if id > 1 {
			var peers []string
			for j := 1; j <= 3; j++ {
				if j != id {
					peers = append(peers, fmt.Sprintf("%d=127.0.0.1:%s", j, readmePorts[j-1][1]))
				}
			}
			line = regexp.MustCompile(`--id \d+`).ReplaceAllString(line, fmt.Sprintf("--id %d", id))
			line = regexp.MustCompile(`--listen \S+`).ReplaceAllString(line, "--listen 127.0.0.1:"+readmePorts[id-1][1])
			line = regexp.MustCompile(`--peers \S+`).ReplaceAllString(line, "--peers "+strings.Join(peers, ","))
			line = regexp.MustCompile(`--data n\d+`).ReplaceAllString(line, fmt.Sprintf("--data n%d", id))
			line = regexp.MustCompile(`--log n\d+\.log`).ReplaceAllString(line, fmt.Sprintf("--log n%d.log", id))
		}
		return strings.Fields(real(line))[1:]
	}
	var nodes []*exec.Cmd
	defer func() {
		for _, n := range nodes {
			n.Process.Signal(syscall.SIGTERM)
			n.Wait()
		}
	}()
	for id := 1; id <= 3; id++ {
		n := exec.Command(bin, nodeArgs(id)...)
		n.Dir = dir
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	allPeers := regexp.MustCompile(`--peers \S+`).FindString(
		func() string {
			for _, l := range block.lines {
				if strings.HasPrefix(l, "$ raftrun client --peers 1=") {
					return l
				}
			}
			t.Fatal("README's cluster example has no client line with every peer")
			return ""
		}())
	var got []string
	for _, l := range block.lines {
		cmdLine, ok := strings.CutPrefix(l, "$ ")
		if !ok {
			continue
		}
		got = append(got, l)
		switch {
		case strings.HasPrefix(cmdLine, "raftrun node "):
			// started above
		case strings.HasPrefix(cmdLine, "raftrun client "):
			line := real(strings.Replace(cmdLine, "--peers ...", allPeers, 1))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			c := exec.CommandContext(ctx, bin, strings.Fields(line)[1:]...)
			c.Dir = dir
			out, err := c.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			got = append(got, outputLines(out)...)
		case strings.HasPrefix(cmdLine, "raftviz "):
			for _, n := range nodes {
				n.Process.Signal(syscall.SIGTERM)
				n.Wait()
			}
			nodes = nil
			args := strings.Fields(cmdLine)[1:]
			for i, a := range args {
				if strings.HasSuffix(a, ".log") {
					args[i] = filepath.Join(dir, a)
				}
			}
			code, out, errOut := runCLI(t, "", args...)
			if code > 1 {
				t.Fatalf("%s: exit %d: %s", cmdLine, code, errOut)
			}
			got = append(got, outputLines([]byte(out))...)
		default:
			t.Fatalf("README.md: the cluster example runs %q, which this test does not know", cmdLine)
		}
	}
	checkTranscript(t, block, got)
}
