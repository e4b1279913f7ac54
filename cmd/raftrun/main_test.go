package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/fortytw2/leaktest"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/kv"
	"github.com/raftviz/raftviz/raft/storage"
	"github.com/raftviz/raftviz/raft/transport"
)

func fixtureDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../../sample/fixture")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func runCmd(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTestCommandPassingRunsKeepNoLogs(t *testing.T) {
	defer leaktest.Check(t)()
	if testing.Short() {
		t.Skip("builds and runs a test binary")
	}
	t.Setenv("FIXTURE_FAIL", "0")
	runs := filepath.Join(t.TempDir(), "runs")
	code, out, errOut := runCmd(context.Background(), "test", "-count", "4", "-parallel", "2", "-runs", runs, fixtureDir(t))
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	for _, want := range []string{"TestFixtureElection │    4 │        0", "4 runs, 0 failed; no logs kept"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if entries, _ := os.ReadDir(runs); len(entries) != 0 {
		t.Errorf("passing runs left %d logs", len(entries))
	}
}

func TestTestCommandKeepsFailingLogs(t *testing.T) {
	defer leaktest.Check(t)()
	if testing.Short() {
		t.Skip("builds and runs a test binary")
	}
	t.Setenv("FIXTURE_FAIL", "1") // the fixture's flaky test fails, and only it
	for _, mode := range []string{"text", "json"} {
		t.Run(mode, func(t *testing.T) {
			runs := filepath.Join(t.TempDir(), "runs")
			args := []string{"test", "-count", "3", "-parallel", "2", "-runs", runs}
			ext := ".log"
			if mode == "json" {
				args, ext = append(args, "-json"), ".jsonl"
			}
			code, out, errOut := runCmd(context.Background(), append(args, fixtureDir(t))...)
			if code != exitFailed {
				t.Fatalf("exit %d, want 1: %s %s", code, out, errOut)
			}
			if !strings.Contains(out, "TestFixtureFlaky    │    3 │        3") || !strings.Contains(out, "TestFixtureElection │    3 │        0") {
				t.Errorf("summary table:\n%s", out)
			}
			for _, n := range []string{"001", "002", "003"} {
				path := filepath.Join(runs, "001", "run-"+n+"-FAIL"+ext)
				tests, _, err := parse.ReadFiles([]string{path}, parse.Options{})
				if err != nil {
					t.Fatalf("log %s: %v", path, err)
				}
				var flaky *parse.Test
				for _, x := range tests {
					if x.Name == "TestFixtureFlaky" {
						flaky = x
					}
				}
				// The log is complete: debug lines were on (RAFT_DEBUG=1) and the failure is in it.
				if flaky == nil || flaky.Status != parse.StatusFail || len(flaky.Events) != 2 {
					t.Errorf("%s: flaky test = %+v", path, flaky)
				}
			}
		})
	}
}

func TestTestCommandInterrupted(t *testing.T) {
	defer leaktest.Check(t)()
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	code, _, errOut := runCmd(ctx, "test", "-count", "50", "-runs", t.TempDir(), fixtureDir(t))
	if code != exitInterrupted || !strings.Contains(errOut, "interrupted") {
		t.Errorf("exit %d, stderr %q; want 130", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "usage: raftrun"},
		{[]string{"bogus"}, `raftrun: unknown command "bogus"`},
		{[]string{"test", "--nope"}, "raftrun test: flag provided but not defined: -nope"},
		{[]string{"test", "-count", "0", "."}, "-count must be at least 1"},
		{[]string{"test", "./no/such/dir"}, "no package directory ./no/such/dir"},
		{[]string{"test", "-run", "Test(", "."}, `invalid -run pattern "Test("`},
		{[]string{"test", "a", "b"}, "one package at a time"},
		{[]string{"node", "--id", "1"}, "--id, --listen and --data are required"},
		{[]string{"node", "--id", "1", "--listen", ":0", "--data", "d", "--peers", "2=x,2=y"}, "peer 2 listed twice"},
		{[]string{"node", "--id", "1", "--listen", ":0", "--data", "d", "--peers", "1=x"}, "lists this node's own id"},
		{[]string{"client", "set", "x", "1"}, "raftrun client: --peers is required: ID=HOST:PORT,...\n"},
		{[]string{"client", "--peers", "1=127.0.0.1:1", "frob", "x"}, "unknown operation"},
		{[]string{"live", "-n", "0"}, "out of range"},
		{[]string{"live", "--heartbeat", "500us"}, "need heartbeat"},
		{[]string{"live", "--tui"}, "--tui needs --script"},
		{[]string{"live", "5"}, `raftrun live: unexpected argument "5"`},
		{[]string{"bench", "-c", "4", "extra"}, `raftrun bench: unexpected argument "extra"`},
		{[]string{"sim", "x"}, `raftrun sim: unexpected argument "x"`},
		{[]string{"node", "x"}, `raftrun node: unexpected argument "x"`},
		{[]string{"soak", "x"}, `raftrun soak: unexpected argument "x"`},
		{[]string{"key"}, "raftrun key: want one FILE"},
		{[]string{"bench", "-n", "1", "-d", "1s", "--failovers", "1"}, "--failovers needs -n 3 at least"},
		{[]string{"client", "--peers", "1=127.0.0.1:1", "--cluster-key", "/no/such/key", "get", "x"}, "raftrun client: --cluster-key: open /no/such/key"},
		{[]string{"node", "--id", "1", "--listen", ":0", "--data", "d", "--join", "--cluster-key", "/no/such/key"}, "copy it to every server"},
	}
	for _, c := range cases {
		code, _, errOut := runCmd(context.Background(), c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") > 14 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
		// A refused command line creates nothing (here: the default runs directory).
		if _, err := os.Stat("runs"); err == nil {
			os.Remove("runs")
			t.Errorf("%v created the runs directory", c.args)
		}
	}
}

// TestRejoinedLearnerIsAdmitted: a server wiped, removed and added again is a learner with a new
// incarnation; a peer whose book still has the old one must take its hello (before, it refused
// it when the learner was added before the hello came, and the new server stopped). A voter
// with other data is still refused.
func TestRejoinedLearnerIsAdmitted(t *testing.T) {
	book, err := storage.OpenPeerBook(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Check(3, 0xa, true); err != nil {
		t.Fatal(err)
	}
	admit := func(st raft.Status) func(peer, inc uint64) error {
		return newIdentities(1, 0x1, book, func() raft.Status { return st }, nil).admit
	}
	if err := admit(raft.Status{Voters: []uint64{1, 2, 3}})(3, 0xb); !errors.Is(err, storage.ErrLostState) {
		t.Fatalf("a voter with other data: %v", err)
	}
	if err := admit(raft.Status{Voters: []uint64{1, 2}, Learners: []uint64{3}})(3, 0xc); err != nil {
		t.Fatalf("the re-added learner: %v", err)
	}
	if err := admit(raft.Status{Voters: []uint64{1, 2, 3}})(3, 0xc); err != nil {
		t.Fatalf("the promoted server, known by its new incarnation: %v", err)
	}
}

// TestMembersKnowEveryIncarnationFromTheConfiguration: a node that never heard from a voter
// (its PeerBook is empty: it joined after the voter's data was wiped) refuses the voter when the
// configuration records another incarnation for it; and the leader records in the
// configuration the incarnations it knows of and the configuration lacks: its own, a peer's
// from its hello, a re-added learner's new one, but never a new one for a voter.
func TestMembersKnowEveryIncarnationFromTheConfiguration(t *testing.T) {
	book, err := storage.OpenPeerBook(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := raft.Status{Role: raft.Leader, Voters: []uint64{1, 2, 3}, Learners: []uint64{4},
		Incarnations: map[uint64]uint64{2: 0xa2, 4: 0xa4}}
	var recorded []raft.ConfChange
	ids := newIdentities(1, 0xa1, book, func() raft.Status { return st }, func(_ context.Context, cc raft.ConfChange) error {
		recorded = append(recorded, cc)
		return nil
	})
	if err := ids.admit(2, 0xbad); !errors.Is(err, storage.ErrLostState) {
		t.Fatalf("a voter the configuration knows by another incarnation, never heard of here: %v", err)
	}
	for _, hello := range [][2]uint64{{2, 0xa2}, {3, 0xa3}, {4, 0xb4}} {
		if err := ids.admit(hello[0], hello[1]); err != nil {
			t.Fatalf("hello of %d with %x: %v", hello[0], hello[1], err)
		}
	}
	ids.recordMissing(context.Background())
	want := []raft.ConfChange{{Type: raft.ConfIdentity, Node: 1, Incarnation: 0xa1}, {Type: raft.ConfIdentity, Node: 3, Incarnation: 0xa3},
		{Type: raft.ConfIdentity, Node: 4, Incarnation: 0xb4}}
	if !slices.Equal(recorded, want) {
		t.Fatalf("recorded %+v, want %+v", recorded, want)
	}
	st.Role, recorded = raft.Follower, nil
	ids.recordMissing(context.Background())
	if len(recorded) != 0 {
		t.Fatalf("a follower recorded %+v", recorded)
	}
}

// TestScriptOutputReachesTheTimeline: with --tui, each line a script prints is handed to the
// timeline as it comes, then a line saying the script finished (defect 12); all of it is kept
// for after the timeline.
func TestScriptOutputReachesTheTimeline(t *testing.T) {
	out := &lockedBuffer{notices: make(chan string, 64)}
	fmt.Fprint(out, "> crash 1\nnode 1 crashed\n> partial")
	out.notifyEnd("script finished: every command ran (q quits and stops the cluster)")
	close(out.notices)
	var got []string
	for n := range out.notices {
		got = append(got, n)
	}
	want := []string{"script: > crash 1", "script: node 1 crashed", "script finished: every command ran (q quits and stops the cluster)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("notices %q, want %q", got, want)
	}
	kept, _ := io.ReadAll(out)
	if string(kept) != "> crash 1\nnode 1 crashed\n> partial" {
		t.Fatalf("kept %q", kept)
	}
}

// TestTooLargeIsRefused: a command over the size limit is answered as refused (a retry cannot
// help), with the sizes, not as an error to retry.
func TestTooLargeIsRefused(t *testing.T) {
	r := errorReply(fmt.Errorf("%w: 9000000 bytes, at most 8388608", raft.ErrTooLarge))
	if r.Status != transport.ReplyRefused || !strings.Contains(r.Text, "too large") {
		t.Errorf("reply %+v", r)
	}
}

// TestCommandsThatDoNothingSaySo: a test pattern that matches nothing, an empty script, a
// binary file or a directory as a script used to exit 0 (having run nothing) or to echo the
// binary to the terminal; each says why in one line and exits non-zero.
func TestCommandsThatDoNothingSaySo(t *testing.T) {
	dir := t.TempDir()
	empty, binary := filepath.Join(dir, "empty.txt"), filepath.Join(dir, "binary.bin")
	os.WriteFile(empty, []byte("# only a comment\n\n"), 0o644)
	os.WriteFile(binary, []byte("\x00\x01\x02binary\xff\xfe\n"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim", "--script", empty}, exitUsage, "has no commands"},
		{[]string{"sim", "--script", binary}, exitUsage, "is not a text file"},
		{[]string{"live", "--script", dir}, exitUsage, "is a directory, not a script"},
	}
	if !testing.Short() {
		t.Setenv("FIXTURE_FAIL", "0")
		cases = append(cases, struct {
			args []string
			code int
			want string
		}{[]string{"test", "-run", "NoSuchTest", "-runs", filepath.Join(dir, "runs"), fixtureDir(t)}, exitFailed, "no test matching -run NoSuchTest"})
	}
	for _, c := range cases {
		code, out, errOut := runCmd(context.Background(), c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 || strings.Contains(out, "binary") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
}

// TestTestCommandCallsKeepTheirLogsApart: two calls into one runs directory keep their logs in
// folders of their own (a second call used to write run-001-FAIL.log beside the first call's
// run-003-FAIL.log), and the report names the folder of its own call.
func TestTestCommandCallsKeepTheirLogsApart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a test binary")
	}
	t.Setenv("FIXTURE_FAIL", "1")
	runs := filepath.Join(t.TempDir(), "runs")
	for i, count := range []string{"3", "1"} {
		code, out, errOut := runCmd(context.Background(), "test", "-count", count, "-runs", runs, fixtureDir(t))
		want := filepath.Join(runs, fmt.Sprintf("%03d", i+1))
		if code != exitFailed || !strings.Contains(out, "logs in "+want+"/") {
			t.Fatalf("call %d: exit %d, %s %s; want its logs in %s", i+1, code, out, errOut, want)
		}
	}
	for dir, n := range map[string]int{"001": 3, "002": 1} {
		if entries, _ := os.ReadDir(filepath.Join(runs, dir)); len(entries) != n {
			t.Errorf("%s holds %d logs, want %d", dir, len(entries), n)
		}
	}
}

// TestDuplicateRepliesSaySo: a retry of a command already applied is answered as such, with
// the index it was applied at (issue 30, 6: replies never said "duplicate").
func TestDuplicateRepliesSaySo(t *testing.T) {
	for _, c := range []struct {
		kr   kv.Result
		want string
	}{
		{kv.Result{}, "index=9"},
		{kv.Result{Duplicate: true, First: 7}, "index=9, duplicate of index 7"},
		{kv.Result{Duplicate: true}, "index=9, duplicate"},
	} {
		if got := replyText(9, c.kr); got != c.want {
			t.Errorf("%+v: %q, want %q", c.kr, got, c.want)
		}
	}
}
