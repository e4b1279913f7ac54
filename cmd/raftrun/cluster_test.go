package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/transport"
)

func TestSimSameSeedSameBytes(t *testing.T) {
	dir := t.TempDir()
	runSim := func(seed, out string) []byte {
		code, _, errOut := runCmd(context.Background(), "sim", "--seed", seed, "--nodes", "5", "--steps", "5000",
			"-o", filepath.Join(dir, out))
		if code != exitOK {
			t.Fatalf("sim --seed %s: exit %d: %s", seed, code, errOut)
		}
		if !strings.Contains(errOut, "safety checks passed") {
			t.Fatalf("sim summary: %q", errOut)
		}
		b, err := os.ReadFile(filepath.Join(dir, out))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := runSim("42", "a.log"), runSim("42", "b.log"), runSim("43", "c.log")
	if !bytes.Equal(a, b) {
		t.Fatal("two sim runs with seed 42 differ")
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 42 and 43 gave the same run")
	}
	tests, sum, err := parse.ReadFiles([]string{filepath.Join(dir, "a.log")}, parse.Options{})
	// Five nodes, the three simulated clients c0..c2 and the readers r0..r2 (those that read).
	if err != nil || len(tests) != 1 || len(tests[0].Nodes()) < 8 || len(tests[0].Nodes()) > 11 || sum.NotUnderstood != 0 {
		t.Fatalf("raftviz reads the sim log as %d tests, %+v, %v", len(tests), sum, err)
	}
}

func TestSimBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--faults", "meteor"},
		{"sim", "--nodes", "0"},
		{"sim", "--script", "/does/not/exist"},
		{"sim", "extra"},
		{"sim", "--steps", "-5"},
		{"sim", "--snapshot-every", "-1"},
		{"client", "--peers", "1=127.0.0.1:1", "--timeout", "0", "get", "x"},
		{"node", "--id", "1", "--listen", "127.0.0.1:0", "--data", "d", "extra"},
		{"node", "--id", "1", "--listen", "127.0.0.1:0", "--data", "d", "--snapshot-every", "-1"},
	} {
		code, _, errOut := runCmd(context.Background(), args...)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
}

// TestSimOneNode: a one-node simulation with every fault runs (a partition of one node used to
// panic) and elects its node.
func TestSimOneNode(t *testing.T) {
	defer leaktest.Check(t)()
	code, _, errOut := runCmd(context.Background(), "sim", "--nodes", "1", "--steps", "300", "--faults", "partition,crash,drop")
	if code != exitOK || !strings.Contains(errOut, "safety checks passed") {
		t.Fatalf("sim --nodes 1: exit %d, %s", code, errOut)
	}
}

// TestNodeStartFailuresLeaveNothing: a node that cannot bind its port creates no data
// directory, and one whose event log cannot be written refuses to run (it used to run and lose
// every line).
func TestNodeStartFailuresLeaveNothing(t *testing.T) {
	defer leaktest.Check(t)()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "data")
	code, _, errOut := runCmd(context.Background(), "node", "--id", "1", "--listen", busy.Addr().String(), "--peers", "2=127.0.0.1:1", "--data", data)
	if code == exitOK || !strings.Contains(errOut, "address already in use") {
		t.Errorf("node on a busy port: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("node that could not bind created %s (%v)", data, err)
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	code, _, errOut = runCmd(context.Background(), "node", "--id", "1", "--listen", "127.0.0.1:0", "--peers", "2=127.0.0.1:1",
		"--data", data, "--log", "/dev/full")
	if code != exitFailed || !strings.Contains(errOut, "cannot write event lines to /dev/full") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("node logging to /dev/full: exit %d, %q", code, errOut)
	}
}

func TestLiveScript(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "scenario.txt")
	os.WriteFile(script, []byte(`# a leader crash and a partition
wait-leader
set x 1
crash 1
wait-leader
set y 2
restart 1
partition 1|2,3
set z 3
heal
transfer 1
transfer 2
set w 4
read w
add
remove 1
set v 5
get x
nonsense
sleep 100ms
`), 0o644)
	logPath := filepath.Join(dir, "live.log")
	code, out, errOut := runCmd(context.Background(), "live", "-n", "3", "--script", script, "--log", logPath,
		"--election-timeout", "100ms", "--heartbeat", "20ms")
	if code != exitFailed || !strings.Contains(errOut, "1 commands") {
		t.Fatalf("exit %d (want 1: one bad command): %s", code, errOut)
	}
	for _, want := range []string{"> set x 1\nok", "node 1: crashed", "x = 1", `unknown command "nonsense"`, "> transfer 1\nleader 1", "> transfer 2\nleader 2", "> read w\nw = 4 (read index", "> add\nnode 4 added; voters 1,2,3,4", "> remove 1\nnode 1 removed; voters 2,3,4"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	capture, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := eventline.CheckText(capture); err != nil {
		t.Errorf("an event line departs from docs/FORMAT.md: %v", err)
	}
	tests, _, err := parse.ReadFiles([]string{logPath}, parse.Options{})
	if err != nil || len(tests) != 1 {
		t.Fatalf("parse capture: %v", err)
	}
	kinds := map[string]int{}
	for _, e := range tests[0].Events {
		kinds[e.Kind]++
	}
	for _, k := range []string{"crash", "restart", "partition", "heal", "state", "commit", "apply", "persist", "invoke", "return", "transfer", "conf"} {
		if kinds[k] == 0 {
			t.Errorf("capture has no %s event", k)
		}
	}
	// A crashed node says nothing until it restarts: its crash is its last event (it was once
	// said while its loop went on, with a term behind the one it had reached).
	down := map[string]bool{}
	for _, e := range tests[0].Events {
		switch {
		case e.Kind == "crash":
			down[e.Node] = true
		case e.Kind == "restart":
			down[e.Node] = false
		case down[e.Node]:
			t.Fatalf("node %s printed %q (line %d) after its crash", e.Node, e.Msg, e.Line)
		}
	}
	// The capture passes every check raftviz analyze makes, linearizability included.
	r := analyze.Test(tests[0], analyze.Options{})
	if len(r.Violations) != 0 || r.Linearizable == nil || r.Linearizable.Result != "Ok" {
		t.Fatalf("analysis of the live capture: %+v, %+v", r.Violations, r.Linearizable)
	}
}

func freePorts(t *testing.T, n int) []string {
	var addrs []string
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs
}

// procCluster runs raftrun node processes for one test: a binary built into the test's
// directory, one data directory and event log per node, SIGKILL for whatever still runs at the
// end.
type procCluster struct {
	t      *testing.T
	dir    string
	bin    string
	addrs  map[uint64]string
	procs  map[uint64]*exec.Cmd
	stderr map[uint64]*bytes.Buffer
	extra  []string // flags every node is started with
}

func newProcCluster(t *testing.T, n int) *procCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("builds raftrun and runs processes")
	}
	c := &procCluster{t: t, dir: t.TempDir(), addrs: map[uint64]string{}, procs: map[uint64]*exec.Cmd{},
		stderr: map[uint64]*bytes.Buffer{}}
	c.bin = filepath.Join(c.dir, "raftrun")
	if out, err := exec.Command("go", "build", "-o", c.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for i, a := range freePorts(t, n) {
		c.addrs[uint64(i+1)] = a
	}
	t.Cleanup(func() {
		for id := range c.procs {
			c.kill(id)
		}
		if t.Failed() {
			c.logTails(60)
		}
	})
	return c
}

// logTails logs the last lines of every node's event log and stderr, to tell from a failed
// run's output what the cluster did.
func (c *procCluster) logTails(n int) {
	for id := range c.addrs {
		b, _ := os.ReadFile(c.logPath(id))
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		c.t.Logf("node %d, last %d event lines:\n%s\nstderr: %s", id, len(lines), strings.Join(lines, "\n"), c.stderr[id])
	}
}

// start runs node id, knowing the nodes peerIDs (none given: every other node), with --join
// when join is set.
func (c *procCluster) start(id uint64, join bool, peerIDs ...uint64) *exec.Cmd {
	c.t.Helper()
	if len(peerIDs) == 0 {
		for p := range c.addrs {
			if p != id {
				peerIDs = append(peerIDs, p)
			}
		}
	}
	var others []string
	for _, p := range peerIDs {
		others = append(others, fmt.Sprintf("%d=%s", p, c.addrs[p]))
	}
	args := []string{"node", "--id", fmt.Sprint(id), "--listen", c.addrs[id], "--peers", strings.Join(others, ","),
		"--data", c.data(id), "--log", c.logPath(id), "--election-timeout", "150ms", "--heartbeat", "30ms"}
	args = append(args, c.extra...)
	if join {
		args = append(args, "--join")
	}
	cmd := exec.Command(c.bin, args...)
	c.stderr[id] = &bytes.Buffer{}
	cmd.Stderr = c.stderr[id]
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.procs[id] = cmd
	return cmd
}

func (c *procCluster) data(id uint64) string { return filepath.Join(c.dir, fmt.Sprint("n", id)) }
func (c *procCluster) logPath(id uint64) string {
	return filepath.Join(c.dir, fmt.Sprintf("n%d.log", id))
}

// kill sends SIGKILL to node id and waits for it.
func (c *procCluster) kill(id uint64) {
	c.procs[id].Process.Signal(syscall.SIGKILL)
	c.procs[id].Wait()
	delete(c.procs, id)
}

// peers maps the given ids (none: all) to their addresses.
func (c *procCluster) peers(ids ...uint64) map[uint64]string {
	if len(ids) == 0 {
		return c.addrs
	}
	m := map[uint64]string{}
	for _, id := range ids {
		m[id] = c.addrs[id]
	}
	return m
}

// peerFlag is the --peers value naming the given ids (none: all).
func (c *procCluster) peerFlag(ids ...uint64) string {
	var list []string
	for id, a := range c.peers(ids...) {
		list = append(list, fmt.Sprintf("%d=%s", id, a))
	}
	return strings.Join(list, ",")
}

// client runs raftrun client against the given nodes and fails the test unless it succeeds.
func (c *procCluster) client(ids []uint64, args ...string) string {
	c.t.Helper()
	code, out, errOut := runCmd(context.Background(), append([]string{"client", "--peers", c.peerFlag(ids...), "--timeout", "15s"}, args...)...)
	if code != exitOK {
		c.t.Fatalf("client %v: exit %d: %s %s", args, code, out, errOut)
	}
	return out
}

// TestThreeProcessesSurviveKill runs a cluster of three raftrun node processes, SIGKILLs the
// leader, then all of them, restarting from their data directories: no write the cluster
// acknowledged may be lost.
func TestThreeProcessesSurviveKill(t *testing.T) {
	c := newProcCluster(t, 3)
	dir, peers := c.dir, c.peers()
	for id := range peers {
		c.start(id, false)
	}
	acked := map[string]string{}
	ctx := context.Background()
	write := func(k, v string) uint64 {
		t.Helper()
		r, by, err := Request(ctx, peers, clusterAuth{id: 1}, "set "+k+" "+v, 15*time.Second)
		if err != nil || r.Status != transport.ReplyOK {
			t.Fatalf("set %s: %v %+v", k, err, r)
		}
		acked[k] = v
		return by
	}
	var leader uint64
	for i := 0; i < 10; i++ {
		leader = write(fmt.Sprint("k", i), fmt.Sprint(i))
	}
	// A refused membership change says why, at once, and is not retried: it used to come back
	// as "node N is not the leader" (from the leader itself) after thousands of connections.
	for _, tc := range []struct{ args, want string }{{"remove 9", "not a member"}} {
		began := time.Now()
		code, _, errOut := runCmd(ctx, append([]string{"client", "--peers", c.peerFlag()}, strings.Fields(tc.args)...)...)
		if code != exitFailed || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "not the leader") || time.Since(began) > 5*time.Second {
			t.Errorf("client %s: exit %d after %v, %q; want a prompt refusal saying %q", tc.args, code, time.Since(began), errOut, tc.want)
		}
	}
	// raftrun client opens a session through the log for each call; a command in a session
	// the cluster does not hold is refused, never answered with a silent ok (a random session
	// id that collided with another client's used to be taken for its retry).
	for _, v := range []string{"1", "2"} {
		if code, out, errOut := runCmd(ctx, "client", "--peers", c.peerFlag(), "set", "q", v); code != exitOK {
			t.Fatalf("client set q %s: exit %d %s %s", v, code, out, errOut)
		}
	}
	if r, _, err := Request(ctx, peers, clusterAuth{id: 1}, "get q", 5*time.Second); err != nil || !strings.HasPrefix(r.Text, "value=2 ") {
		t.Fatalf("get q after two clients' sets: %v %q", err, r.Text)
	}
	code, _, errOut := runCmd(ctx, "client", "--peers", c.peerFlag(), "@s424242:1", "set", "z", "1")
	if code != exitFailed || !strings.Contains(errOut, "unknown client session") {
		t.Errorf("a command in an unknown session: exit %d, %q", code, errOut)
	}
	if r, _, err := Request(ctx, peers, clusterAuth{id: 1}, "get z", 5*time.Second); err != nil || !strings.HasPrefix(r.Text, "not_found") {
		t.Errorf("get z after a refused command: %v %q", err, r.Text)
	}
	// A second process on a data directory in use refuses to start, in one line (it used to
	// run and interleave its WAL records with the first one's).
	extra := freePorts(t, 1)[0]
	second := exec.Command(c.bin, "node", "--id", fmt.Sprint(leader), "--listen", extra, "--peers", "9=127.0.0.1:1",
		"--data", filepath.Join(dir, fmt.Sprint("n", leader)), "--log", filepath.Join(dir, "second.log"))
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "used by another process") || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("a second node on a data directory in use: %v, %q", err, out)
	}
	c.kill(leader)
	for i := 10; i < 20; i++ {
		write(fmt.Sprint("k", i), fmt.Sprint(i))
	}
	c.start(leader, false)
	// Wait for its start line: a process killed before it writes one leaves no trace for the
	// analysis below to count.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("n%d.log", leader)))
		if strings.Count(string(b), "ev=start ") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d wrote no start line after its restart", leader)
		}
	}
	for i := 20; i < 30; i++ {
		write(fmt.Sprint("k", i), fmt.Sprint(i))
	}
	for id := range peers {
		c.kill(id)
	}
	for id := range peers {
		c.start(id, false)
	}
	for k, v := range acked {
		r, _, err := Request(ctx, peers, clusterAuth{id: 1}, "get "+k, 15*time.Second)
		if err != nil || r.Text != "value="+v+" "+strings.SplitN(r.Text, " ", 2)[1] {
			t.Fatalf("get %s after kills: %v %q, want value=%s", k, err, r.Text, v)
		}
	}
	// A clean stop on SIGTERM exits 0.
	for id, p := range c.procs {
		p.Process.Signal(syscall.SIGTERM)
		if err := p.Wait(); err != nil {
			t.Errorf("node %d on SIGTERM: %v", id, err)
		}
		delete(c.procs, id)
	}
	// raftviz merges the three per-process logs into one timeline.
	var logs []string
	for id := range peers {
		logs = append(logs, filepath.Join(dir, fmt.Sprintf("n%d.log", id)))
	}
	tests, _, err := parse.ReadFiles(logs, parse.Options{})
	if err != nil || len(tests) != 1 || len(tests[0].Nodes()) != 3 {
		t.Fatalf("merged logs: %d tests, %v", len(tests), err)
	}
	// The kill -9s show only as nodes starting again; analysis counts them.
	r := analyze.Test(tests[0], analyze.Options{})
	for _, n := range r.Nodes {
		want := 1
		if n.Node == fmt.Sprint(leader) {
			want = 2
		}
		if n.Crashes != want || n.Restarts != want {
			t.Errorf("node %s: %d crashes, %d restarts in the merged logs; want %d", n.Node, n.Crashes, n.Restarts, want)
		}
	}
}

// TestProcessJoinsAndLeaves adds a fourth process (empty data directory, started with --join)
// to a running three-process cluster, then removes two of the originals, the leader among
// them if it is: the data lives on in the two that remain.
func TestProcessJoinsAndLeaves(t *testing.T) {
	c := newProcCluster(t, 4)
	c.start(1, false, 2, 3)
	c.start(2, false, 1, 3)
	c.start(3, false, 1, 2)
	ctx := context.Background()
	if r, _, err := Request(ctx, c.peers(1, 2, 3), clusterAuth{id: 1}, "set before 1", 15*time.Second); err != nil || r.Status != transport.ReplyOK {
		t.Fatalf("set: %v %+v", err, r)
	}
	c.start(4, true, 1, 2, 3)
	// A half-done add (the learner added, its promotion not: a timeout, an operator's raw
	// conf) is finished by add; it used to say "already a member" and stop.
	if _, _, err := Request(ctx, c.peers(1, 2, 3), clusterAuth{id: 1}, "conf add_learner 4", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if out := c.client(nil, "add", "4"); !strings.Contains(out, "promote 4") || !strings.Contains(out, "node 4 is a learner already") {
		t.Fatalf("add 4 after its learner step: %s", out)
	}
	if out := c.client(nil, "add", "4"); !strings.Contains(out, "node 4 is already a voter") {
		t.Fatalf("add 4 once more: %s", out)
	}
	c.client(nil, "remove", "1")
	c.client(nil, "remove", "2")
	c.client(nil, "set", "after", "2")
	if out := c.client(nil, "get", "before"); !strings.Contains(out, "value=1") {
		t.Fatalf("get before: %s", out)
	}
	// Nodes 3 and 4 are the cluster now: a majority of two needs node 4.
	r, by, err := Request(ctx, c.peers(3, 4), clusterAuth{id: 1}, "get after", 15*time.Second)
	if err != nil || !strings.HasPrefix(r.Text, "value=2") || (by != 3 && by != 4) {
		t.Fatalf("get after from {3,4}: %v %+v (node %d)", err, r, by)
	}
}

// TestAddOfAnotherClustersNode: adding a node started with another cluster id is refused with
// that cause named; it used to be retried until the timeout as "the learner has not caught up
// yet" (issue 30, 7).
func TestAddOfAnotherClustersNode(t *testing.T) {
	c := newProcCluster(t, 4)
	c.start(1, false, 2, 3)
	c.start(2, false, 1, 3)
	c.start(3, false, 1, 2)
	c.client([]uint64{1, 2, 3}, "set", "x", "1")
	c.extra = []string{"--cluster-id", "2"}
	c.start(4, true, 1, 2, 3)
	c.extra = nil
	code, out, errOut := runCmd(context.Background(), "client", "--peers", c.peerFlag(1, 2, 3), "--timeout", "20s", "add", "4")
	if code != exitFailed || !strings.Contains(errOut, "node 4 cannot catch up") || !strings.Contains(errOut, "cluster id 2") {
		t.Fatalf("add of another cluster's node: exit %d, %q %q", code, out, errOut)
	}
}

// TestJoinKnowingOneMemberLosesNothing (issue: a join with a partial --peers list lost an
// acknowledged write): node 6 joins a cluster of five knowing only node 1. It must learn the
// whole configuration from the log, so that with nodes 2..5 down it and node 1 (2 of 6 voters)
// can never elect a leader or acknowledge a write.
func TestJoinKnowingOneMemberLosesNothing(t *testing.T) {
	c := newProcCluster(t, 6)
	for id := uint64(1); id <= 5; id++ {
		var others []uint64
		for p := uint64(1); p <= 5; p++ {
			if p != id {
				others = append(others, p)
			}
		}
		c.start(id, false, others...)
	}
	five := []uint64{1, 2, 3, 4, 5}
	if r, _, err := Request(context.Background(), c.peers(five...), clusterAuth{id: 1}, "set before 1", 15*time.Second); err != nil || r.Status != transport.ReplyOK {
		t.Fatalf("set: %v %+v", err, r)
	}
	c.start(6, true, 1)
	c.client(five, "add", "6")
	for id := uint64(2); id <= 5; id++ {
		c.kill(id)
	}
	r, by, err := Request(context.Background(), c.peers(1, 6), clusterAuth{id: 1}, "set x 1", 4*time.Second)
	if err == nil && r.Status == transport.ReplyOK {
		t.Fatalf("nodes 1 and 6, 2 of 6 voters, acknowledged a write (node %d: %s)", by, r.Text)
	}
	b, _ := os.ReadFile(c.logPath(6))
	if !bytes.Contains(b, []byte("voters=1,2,3,4,5,6")) {
		t.Fatalf("node 6 never learnt the six voters:\n%s", lastLines(b, 20))
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestWipedNodeIsRefused: a node whose data directory was wiped comes back as another
// incarnation; its peers refuse it (it may have forgotten a vote it cast, and voting again could
// elect two leaders in one term) and it stops, saying what to do. Removed and started again with
// --join, it is a member again with everything.
func TestWipedNodeIsRefused(t *testing.T) {
	c := newProcCluster(t, 3)
	for id := uint64(1); id <= 3; id++ {
		c.start(id, false)
	}
	ctx := context.Background()
	if r, _, err := Request(ctx, c.peers(), clusterAuth{id: 1}, "set x 1", 15*time.Second); err != nil || r.Status != transport.ReplyOK {
		t.Fatalf("set: %v %+v", err, r)
	}
	c.kill(3)
	if err := os.RemoveAll(c.data(3)); err != nil {
		t.Fatal(err)
	}
	wiped := c.start(3, false) // the same command line, an empty directory
	exited := make(chan error, 1)
	go func() { exited <- wiped.Wait() }()
	select {
	case err := <-exited:
		delete(c.procs, 3)
		if msg := c.stderr[3].String(); err == nil || !strings.Contains(msg, "came back with other data") || strings.Count(msg, "\n") != 1 {
			t.Fatalf("the wiped node ended with %v, saying %q; want one line", err, msg)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the wiped node ran on: its peers took it for the member they knew")
	}
	c.client([]uint64{1, 2}, "remove", "3")
	os.RemoveAll(c.data(3))
	// Added as a learner before it starts: its first hello comes when it is already in the
	// configuration again, which must not be taken for the wiped voter coming back.
	if _, _, err := Request(ctx, c.peers(1, 2), clusterAuth{id: 1}, "conf add_learner 3", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	c.start(3, true)
	if _, _, err := Request(ctx, c.peers(1, 2), clusterAuth{id: 1}, "conf promote 3", 20*time.Second); err != nil {
		t.Fatalf("promote 3: %v (stderr of node 3: %q)", err, c.stderr[3].String())
	}
	// Nodes 1 and 3 are a majority of three: x must be there.
	c.kill(2)
	r, _, err := Request(ctx, c.peers(1, 3), clusterAuth{id: 1}, "get x", 15*time.Second)
	if err != nil || !strings.HasPrefix(r.Text, "value=1") {
		t.Fatalf("get x from nodes 1 and 3: %v %+v", err, r)
	}
}

// TestClusterKeyKeepsStrangersOut: nodes started with a cluster key serve clients that hold it;
// a client without it is refused in one line; a stranger's vote request with term 2^64-1 (it
// used to stall the cluster for good) is refused before it is read, and the cluster still
// commits. A node that bootstraps with peers and finds no key file is told to make one.
func TestClusterKeyKeepsStrangersOut(t *testing.T) {
	c := newProcCluster(t, 3)
	keyPath := filepath.Join(c.dir, "cluster.key")
	start := []string{"node", "--id", "1", "--listen", c.addrs[1], "--peers", c.peerFlag(2, 3), "--data", c.data(1), "--cluster-key", keyPath}
	if code, _, errOut := runCmd(context.Background(), start...); code != exitUsage || !strings.Contains(errOut, "raftrun key "+keyPath) {
		t.Fatalf("bootstrap with peers and no key file: exit %d, %q", code, errOut)
	}
	if code, out, errOut := runCmd(context.Background(), "key", keyPath); code != exitOK {
		t.Fatalf("raftrun key: exit %d %s %s", code, out, errOut)
	}
	if code, _, _ := runCmd(context.Background(), "key", keyPath); code != exitFailed {
		t.Fatalf("raftrun key over an existing key: exit %d", code)
	}
	c.extra = []string{"--cluster-key", keyPath}
	for id := uint64(1); id <= 3; id++ {
		c.start(id, false)
	}
	c.client(nil, "--cluster-key", keyPath, "set", "x", "1")
	code, _, errOut := runCmd(context.Background(), "client", "--peers", c.peerFlag(), "--timeout", "5s", "set", "x", "2")
	if code != exitFailed || !strings.Contains(errOut, "needs its key") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("client without the key: exit %d, %q", code, errOut)
	}
	stranger, err := transport.ListenTCP(transport.TCPConfig{ID: 2, ClusterID: 1, Listen: "127.0.0.1:0", Peers: c.peers(1, 3)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	for i := 0; i < 20; i++ {
		for _, to := range []uint64{1, 3} {
			stranger.Send(raft.Message{Type: raft.MsgVote, From: 2, To: to, Term: math.MaxUint64, LastIndex: math.MaxUint64, LastTerm: math.MaxUint64})
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.client(nil, "--cluster-key", keyPath, "set", "y", "2")
	if out := c.client(nil, "--cluster-key", keyPath, "get", "y"); !strings.HasPrefix(out, "value=2") {
		t.Fatalf("get y after the stranger: %q", out)
	}
	log1, _ := os.ReadFile(c.logPath(1))
	if !bytes.Contains(log1, []byte("reason=unauthenticated")) || bytes.Contains(log1, []byte("18446744073709551615")) {
		t.Errorf("node 1's log: the stranger refused %v, its term seen %v",
			bytes.Contains(log1, []byte("reason=unauthenticated")), bytes.Contains(log1, []byte("18446744073709551615")))
	}
}

// TestSoakShort runs raftrun soak briefly (the documented run is 100 cycles): node processes
// killed, paused, joined, removed and wiped under client load, then every safety check and the
// linearizability of the clients' history must pass.
func TestSoakShort(t *testing.T) {
	defer leaktest.CheckTimeout(t, 10*time.Second)()
	c := newProcCluster(t, 0) // only for the binary
	old := soakExecutable
	soakExecutable = func() (string, error) { return c.bin, nil }
	defer func() { soakExecutable = old }()
	t.Setenv("TMPDIR", t.TempDir()) // no --dir: a folder of its own, removed as the soak passes
	var out, errOut bytes.Buffer
	code := soakCommand(context.Background(), []string{"--cycles", "6", "--clients", "3", "--seed", "4"}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	// Every path it prints is still there: it used to name logs in the folder it had removed.
	for _, w := range strings.Fields(out.String() + errOut.String()) {
		if p := strings.Trim(w, "()/:;,"); strings.HasPrefix(p, "/") {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("soak printed %s, which is gone", p)
			}
		}
	}
	for _, want := range []string{"1 join", "1 remove", "1 wipe and re-add", "1 wipe without --join", "6 of 6 keys read",
		"passed       the key-value history is linearizable", "passed       one leader per term", "passed       every later leader holds every committed entry"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The wiped node's term goes back, as its lost storage makes it: said, and expected.
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "VIOLATION") || strings.Contains(line, "violated") {
			t.Errorf("%s in output:\n%s", line, out.String())
		}
	}
	if !strings.Contains(out.String(), "expected     a node's term never decreases") {
		t.Errorf("the wiped node's term going back is not shown as expected:\n%s", out.String())
	}
	if strings.Contains(out.String(), " 0 writes acknowledged") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestWipedFollowerRestartedWithoutJoinLosesNothing (issue 30, 1): a follower Z misses writes
// X1..X5, acknowledged by the leader L and the other follower A; L and A go down, A's data is
// wiped, and A and Z are started with their usual flags. A used to vote for Z (Z had never
// recorded A's incarnation), Z led, and when L came back its X entries were deleted. Now A,
// holding no state of its own, refuses a candidate of a cluster that has entries: every X is
// there once L is back.
func TestWipedFollowerRestartedWithoutJoinLosesNothing(t *testing.T) {
	c := newProcCluster(t, 3)
	for id := uint64(1); id <= 3; id++ {
		c.start(id, false)
	}
	ctx := context.Background()
	auth := clusterAuth{id: 1}
	_, lead, err := Request(ctx, c.peers(), auth, "set w 0", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var followers []uint64
	for id := uint64(1); id <= 3; id++ {
		if id != lead {
			followers = append(followers, id)
		}
	}
	a, z := followers[0], followers[1]
	c.kill(z)
	for i := 1; i <= 5; i++ {
		if r, _, err := Request(ctx, c.peers(lead, a), auth, fmt.Sprintf("set X%d %d", i, i), 15*time.Second); err != nil || r.Status != transport.ReplyOK {
			t.Fatalf("set X%d: %v %+v", i, err, r)
		}
	}
	c.kill(lead)
	c.kill(a)
	if err := os.RemoveAll(c.data(a)); err != nil {
		t.Fatal(err)
	}
	c.start(a, false)
	c.start(z, false)
	time.Sleep(3 * time.Second) // many election timeouts: Z campaigns, A must not elect it
	c.start(lead, false)
	for i := 1; i <= 5; i++ {
		r, _, err := Request(ctx, c.peers(lead, z), auth, fmt.Sprintf("get X%d", i), 20*time.Second)
		if err != nil || !strings.HasPrefix(r.Text, fmt.Sprintf("value=%d ", i)) {
			for id := uint64(1); id <= 3; id++ {
				b, _ := os.ReadFile(c.logPath(id))
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, "ev=state") || strings.Contains(l, "ev=vote") || strings.Contains(l, "ev=start") || strings.Contains(l, "ev=truncate") || strings.Contains(l, "deletes") {
						t.Log(l)
					}
				}
			}
			t.Fatalf("get X%d after the wiped follower's restart (leader %d, wiped %d, behind %d): %v %+v (an acknowledged write lost)", i, lead, a, z, err, r)
		}
	}
}

// TestSoakSaysWhenANodeEndsOnItsOwn: a node that cannot start (its port taken) or is refused
// ends on its own; the soak used to run on one node short and pass, the cause only in the
// node's stderr file. Now it reports the node and its last word.
func TestSoakSaysWhenANodeEndsOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fake-node")
	// Node 2 runs until it is killed; the others fail at once, as with a port taken.
	script := "#!/bin/sh\ncase \"$*\" in *'--id 2 '*) exec sleep 30;; esac\n" +
		"echo 'raftrun node: listen tcp 127.0.0.1:1: bind: address already in use' >&2\nexit 2\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := newSoak(exe, dir, 3, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(1, false, s.allIDs()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.deadNode() == "" {
		if time.Now().After(deadline) {
			t.Fatal("a node that ended on its own went unnoticed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if msg := s.deadNode(); !strings.Contains(msg, "node 1 ended on its own") || !strings.Contains(msg, "address already in use") {
		t.Errorf("deadNode: %q", msg)
	}
	// A node the soak kills is no death of its own.
	if err := s.start(2, false, s.allIDs()); err != nil {
		t.Fatal(err)
	}
	s.kill(2)
	if msg := s.deadNode(); strings.Contains(msg, "node 2") {
		t.Errorf("a killed node reported as ended on its own: %q", msg)
	}
}

// TestHistoryValuesCompareAsValues: the clients' history records large values by a digest:
// equal values are recorded equal, different ones (even sharing their first 32 bytes) not, and
// short values as they are.
func TestHistoryValuesCompareAsValues(t *testing.T) {
	a := "c1-7:" + strings.Repeat("x", largeValue)
	b := "c1-7:" + strings.Repeat("x", largeValue-1) + "y"
	if historyValue(a) != historyValue(strings.Clone(a)) || historyValue(a) == historyValue(b) || len(historyValue(a)) > 100 {
		t.Errorf("large values: %q %q", historyValue(a), historyValue(b))
	}
	if historyValue("c1-8") != "c1-8" {
		t.Errorf("a short value is recorded as %q", historyValue("c1-8"))
	}
}

// BenchmarkNodeRSSUnderHostileConnections measures a raftrun node process's resident memory
// while hostile connections are open at once: 160 forged hellos naming 100 peers each, 40
// connections that announce an 8 MiB request and send nothing more, and 500 idle connections
// (docs/RELIABILITY.md):
//
//	go test ./cmd/raftrun -run '^$' -bench NodeRSSUnderHostile -benchtime 1x
func BenchmarkNodeRSSUnderHostileConnections(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "raftrun")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rss := func(pid int) float64 {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				var kb float64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
				return kb / 1024
			}
		}
		return 0
	}
	for b.Loop() {
		node := exec.Command(bin, "node", "--id", "1", "--listen", addr, "--data", filepath.Join(dir, fmt.Sprint("d", b.N)), "--log", filepath.Join(dir, "n1.log"))
		if err := node.Start(); err != nil {
			b.Fatal(err)
		}
		var conns []net.Conn
		dial := func() net.Conn {
			for try := 0; try < 100; try++ {
				if c, err := net.Dial("tcp", addr); err == nil {
					conns = append(conns, c)
					return c
				}
				time.Sleep(20 * time.Millisecond)
			}
			b.Fatal("the node does not listen")
			return nil
		}
		dial()
		time.Sleep(500 * time.Millisecond)
		before := rss(node.Process.Pid)
		var forgers []*transport.TCP
		for i := 0; i < 160; i++ {
			// A node of its own whose address book names 100 peers at a bogus address: its
			// hello carries them (hearsay the node must bound).
			book := map[uint64]string{1: addr}
			for j := 0; j < 100; j++ {
				book[uint64(10000+i*100+j)] = "10.255.255.1:1"
			}
			f, err := transport.ListenTCP(transport.TCPConfig{ID: uint64(1000 + i), ClusterID: 1, Listen: "127.0.0.1:0", Peers: book})
			if err != nil {
				b.Fatal(err)
			}
			forgers = append(forgers, f)
			f.Send(raft.Message{Type: raft.MsgVote, From: uint64(1000 + i), To: 1, Term: 1})
		}
		// Client connections that announce an 8 MiB request and send nothing more (frame kinds
		// 3, client hello "RVZC" + cluster id, and 4, request, of raft/transport).
		for i := 0; i < 40; i++ {
			c := dial()
			hello := append([]byte("RVZC"), 1)
			frame := binary.BigEndian.AppendUint32(nil, uint32(len(hello)+1))
			frame = append(append(frame, 3), hello...)
			frame = binary.BigEndian.AppendUint32(frame, 8<<20)
			c.Write(append(frame, 4))
		}
		for i := 0; i < 500; i++ {
			dial()
		}
		time.Sleep(time.Second)
		b.ReportMetric(before, "rss-before-MB")
		b.ReportMetric(rss(node.Process.Pid), "rss-MB")
		for _, c := range conns {
			c.Close()
		}
		for _, f := range forgers {
			f.Close()
		}
		node.Process.Kill()
		node.Wait()
	}
}

// TestJoinedMemberRefusesAWipedVoter: the members' incarnations are recorded in the
// configuration, so a member that joined after a voter went down, and so never heard from it,
// still refuses the voter when it comes back with its data wiped. Before, only peers whose
// PeerBook held the old incarnation could tell; node 4 took the wiped node 1 on trust.
func TestJoinedMemberRefusesAWipedVoter(t *testing.T) {
	c := newProcCluster(t, 4)
	c.start(1, false, 2, 3)
	c.start(2, false, 1, 3)
	c.start(3, false, 1, 2)
	c.client([]uint64{1, 2, 3}, "set", "x", "1")
	recorded := func(id uint64, peer uint64) bool {
		b, _ := os.ReadFile(c.logPath(id))
		return bytes.Contains(b, []byte(fmt.Sprintf("action=identity peer=%d ", peer)))
	}
	deadline := time.Now().Add(15 * time.Second)
	for !recorded(2, 1) {
		if time.Now().After(deadline) {
			t.Fatal("node 1's incarnation was never recorded in the configuration")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.kill(1)
	c.start(4, true, 2, 3)
	c.client([]uint64{2, 3}, "add", "4")
	for !recorded(4, 1) {
		if time.Now().After(deadline) {
			t.Fatal("node 4 never learned node 1's incarnation from the log")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Nodes 2 and 3, whose PeerBooks know node 1, are down: only node 4 can tell.
	c.kill(2)
	c.kill(3)
	if err := os.RemoveAll(c.data(1)); err != nil {
		t.Fatal(err)
	}
	wiped := c.start(1, false, 4) // knowing only the member that never met it
	exited := make(chan error, 1)
	go func() { exited <- wiped.Wait() }()
	select {
	case err := <-exited:
		delete(c.procs, 1)
		if msg := c.stderr[1].String(); err == nil || !strings.Contains(msg, "came back with other data") {
			t.Fatalf("the wiped node ended with %v, saying %q", err, msg)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the wiped voter ran on: node 4 took it on trust")
	}
}
