package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVisualizeScript runs visualize.sh as a user would, from a directory outside the project,
// on the fixture package: debug output is switched on by the script, not by the test.
func TestVisualizeScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build and go test")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	visualize := func(env string, args ...string) (int, string) {
		cmd := exec.Command(filepath.Join(root, "visualize.sh"), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	fixture := filepath.Join(root, "sample", "fixture")

	code, out := visualize("FIXTURE_FAIL=0", "-t", "TestFixtureElection", fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	table, err := os.ReadFile(filepath.Join(dir, "TestFixtureElection.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(table), "PASS TestFixtureElection") || !strings.Contains(string(table), "nodes: 0 1 2 ; entries: 15") {
		t.Errorf("table:\n%.300s", table)
	}
	// Every path it prints is still there when the user reads it (raftrun's report named a
	// log in the script's temporary folder, removed when it ended).
	for _, w := range strings.Fields(out) {
		if p := strings.Trim(w, "()/:;,"); strings.HasPrefix(p, "/") {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("visualize.sh printed %s, which is gone:\n%s", p, out)
			}
		}
	}

	code, out = visualize("FIXTURE_FAIL=1", "-t", "TestFixtureFlaky", "-o", "flaky.txt", fixture)
	table, _ = os.ReadFile(filepath.Join(dir, "flaky.txt"))
	if code != 1 || !strings.HasPrefix(string(table), "FAIL TestFixtureFlaky") {
		t.Errorf("failing test: exit %d, output %s, table %.100s", code, out, table)
	}

	if code, out = visualize("", fixture); code != 2 || !strings.Contains(out, "-t TestName") {
		t.Errorf("missing -t: exit %d, %s", code, out)
	}
}
