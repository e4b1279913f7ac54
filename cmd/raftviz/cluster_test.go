package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The per-node logs of real clusters of three processes (testdata/fixtures/cluster, made by
// capture.sh): each was killed with kill -9, restarted from its data, asked to transfer
// leadership and shut down. The leaders below are what the cluster itself reported at each step
// (each run's truth.txt: etcdctl endpoint status, NATS /jsz, the app's /status), read by hand.
var clusterRuns = []struct {
	dir    string
	nodes  string   // --list's NODES
	killed string   // the server killed with kill -9 and restarted
	groups []string // Raft groups, when the log names them
	// leaders: "term leader" per group ("" when the log names no group), as truth.txt says
	leaders map[string][]string
}{
	{dir: "etcd_zap", nodes: "3 [n1,n2,n3]", killed: "n1",
		leaders: map[string][]string{"": {"2 n1", "4 n3", "5 n1"}}},
	{dir: "etcd_capnslog", nodes: "3 [n1,n2,n3]", killed: "n2",
		leaders: map[string][]string{"": {"2 n2", "3 n1", "4 n2"}}},
	{dir: "hraft", nodes: "3 [node1,node2,node3]", killed: "node2",
		leaders: map[string][]string{"": {"2 node2", "3 node3", "4 node1"}}},
	// The same app logging through log/slog's TextHandler: logfmt records, hashicorp's wording.
	{dir: "hraft_slog", nodes: "3 [node1,node2,node3]", killed: "node3",
		leaders: map[string][]string{"": {"2 node3", "3 node1", "4 node2"}}},
	{dir: "nats", nodes: "3 [s1,s2,s3]", killed: "s2", groups: []string{"_meta_", "S-R3F-Szzbz5Vo"},
		leaders: map[string][]string{"_meta_": {"1 s2", "2 s1"}, "S-R3F-Szzbz5Vo": {"1 s3", "2 s1"}}},
}

func clusterLogs(t *testing.T, dir string) []string {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join("../../testdata/fixtures/cluster", dir, "*.log"))
	if err != nil || len(logs) != 3 {
		t.Fatalf("%s: %v %v", dir, logs, err)
	}
	return logs
}

// TestClusterLogs: with no flags, the nodes are the real servers, every term's leader (per
// group) is the one the cluster reported, the healthy run passes, only the killed server has a
// crash (inferred from its restart; lines before a first start are none), and a killed leader's
// time as leader ends by the next leader's election.
func TestClusterLogs(t *testing.T) {
	for _, run := range clusterRuns {
		logs := clusterLogs(t, run.dir)
		code, out, errOut := runCLI(t, "", append([]string{"--list"}, logs...)...)
		if code != exitOK || !strings.Contains(out, " "+run.nodes+" ") {
			t.Errorf("%s --list: exit %d, want nodes %s\n%s%s", run.dir, code, run.nodes, out, errOut)
		}
		code, out, errOut = runCLI(t, "", append([]string{"analyze", "--json"}, logs...)...)
		var doc struct {
			Tests []struct {
				Terms []struct {
					Term       uint64
					Leader     string
					Group      string
					Candidates int
					Start      string
					LedSeconds float64 `json:"led_seconds"`
				}
				Nodes []struct {
					Node              string
					Crashes, Restarts int
				}
				Groups     []string
				Violations []struct{ Detail string }
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Tests) != 1 {
			t.Fatalf("%s: %v\n%s%s", run.dir, err, out, errOut)
		}
		rep := doc.Tests[0]
		if code != exitOK || len(rep.Violations) != 0 {
			t.Errorf("%s: a healthy run: exit %d, violations %+v", run.dir, code, rep.Violations)
		}
		if !slices.Equal(rep.Groups, run.groups) {
			t.Errorf("%s: groups %v, want %v", run.dir, rep.Groups, run.groups)
		}
		got := map[string][]string{}
		for _, tm := range rep.Terms {
			if tm.Leader != "" && tm.Candidates < 1 {
				// Every leader campaigned (NATS states the candidacy's term on its next line).
				t.Errorf("%s group %q: term %d has leader %s and %d candidates", run.dir, tm.Group, tm.Term, tm.Leader, tm.Candidates)
			}
			if tm.Leader != "" {
				got[tm.Group] = append(got[tm.Group], strconv.FormatUint(tm.Term, 10)+" "+tm.Leader)
			}
		}
		for g, want := range run.leaders {
			if !slices.Equal(got[g], want) {
				t.Errorf("%s group %q: leaders %v, want %v (truth.txt)", run.dir, g, got[g], want)
			}
		}
		for _, n := range rep.Nodes {
			want := 0
			if n.Node == run.killed {
				want = 1
			}
			if n.Crashes != want || n.Restarts != want {
				t.Errorf("%s: node %s: %d crashes, %d restarts, want %d", run.dir, n.Node, n.Crashes, n.Restarts, want)
			}
		}
		// A leader's time as leader never runs past the election of the next one in its group.
		for i, tm := range rep.Terms {
			for _, next := range rep.Terms[i+1:] {
				if next.Group == tm.Group && next.Leader != "" && tm.Leader != "" && next.Term > tm.Term {
					if end := clockSeconds(tm.Start) + tm.LedSeconds; end > clockSeconds(next.Start)+0.5 {
						t.Errorf("%s: term %d's leader %s led until %.3fs, past term %d's start %s", run.dir, tm.Term, tm.Leader, end, next.Term, next.Start)
					}
					break
				}
			}
		}
	}
}

// TestPeersNamedByColumn: a Raft message's peer is shown by its server's column (n1, s2), also
// when the peer's line is stamped before the line where that server states its id (etcd's raft
// lines have whole seconds).
func TestPeersNamedByColumn(t *testing.T) {
	rawID := regexp.MustCompile(`\b(from|to|leader|prev_leader|candidate|peer)=([0-9a-f]{16}|[0-9A-Za-z]{8}\b)`)
	for _, run := range clusterRuns {
		code, out, _ := runCLI(t, "", append([]string{"--table", "csv", "--fields", "--wrap", "0"}, clusterLogs(t, run.dir)...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d", run.dir, code)
		}
		for _, row := range strings.Split(out, "\n") {
			cols := strings.SplitN(row, ",", 5)
			if len(cols) == 5 && cols[3] != "" && rawID.MatchString(cols[4]) {
				t.Errorf("%s: an event names a peer by its raw id: %s", run.dir, row)
			}
		}
	}
}

// TestCoarseStampsAreSaid: files whose stamps tie across servers (etcd's raft lines have whole
// seconds) are said to be too coarse to order by time; microsecond stamps (NATS) are not.
func TestCoarseStampsAreSaid(t *testing.T) {
	for dir, coarse := range map[string]bool{"etcd_capnslog": true, "nats": false} {
		_, _, errOut := runCLI(t, "", append([]string{"--list"}, clusterLogs(t, dir)...)...)
		if got := strings.Contains(errOut, "events share their stamp with another file's (stamps too coarse to order them"); got != coarse {
			t.Errorf("%s: said coarse %v, want %v: %q", dir, got, coarse, errOut)
		}
	}
}

// TestClusterLogsDoctored: each copy with a second leader injected into one term (after a
// restart, or in one group of several) fails analyze, naming that term.
func TestClusterLogsDoctored(t *testing.T) {
	for _, c := range []struct{ dir, want string }{
		{"etcd_zap_two_leaders", "term 5 has two leaders: n1 and n2"},
		{"etcd_capnslog_two_leaders", "term 4 has two leaders: n1 and n2"},
		{"hraft_two_leaders", "term 4 has two leaders: node1 and node2"},
		{"hraft_slog_two_leaders", "term 4 has two leaders: node2 and node3"},
		{"nats_two_leaders_meta", "group _meta_: term 2 has two leaders: s3 and s1"},
		{"nats_two_leaders_stream", "group S-R3F-Szzbz5Vo: term 2 has two leaders: s2 and s1"},
	} {
		code, out, _ := runCLI(t, "", append([]string{"analyze"}, clusterLogs(t, c.dir)...)...)
		if code != exitTestsFailed || strings.Count(out, "VIOLATION ") != 1 || !strings.Contains(out, "VIOLATION one leader per term: "+c.want) {
			t.Errorf("%s: exit %d, want one violation %q\n%s", c.dir, code, c.want, out)
		}
	}
}

// TestGroupSelection: a log of several Raft groups lists them, and --group narrows tables and
// analyze to one (with the servers' own lines), saying so when the group does not exist.
func TestGroupSelection(t *testing.T) {
	logs := clusterLogs(t, "nats_two_leaders_stream")
	code, out, _ := runCLI(t, "", append([]string{"--list"}, logs...)...)
	if code != exitOK || !strings.Contains(out, " GROUPS ") || !strings.Contains(out, " 2 [_meta_,S-R3F-Szzbz5Vo] ") {
		t.Errorf("--list: exit %d, want a GROUPS column with both groups\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", append([]string{"--table", "csv", "--wrap", "0", "--fields", "--group", "_meta_"}, logs...)...)
	if code != exitOK || strings.Contains(out, "group=S-R3F-") || !strings.Contains(out, "group=_meta_") || !strings.Contains(out, "Starting nats-server") {
		t.Errorf("--group _meta_: exit %d, want _meta_ lines and the servers' own, no stream group's\n%.2000s", code, out)
	}
	for group, want := range map[string]int{"_meta_": exitOK, "S-R3F-Szzbz5Vo": exitTestsFailed} {
		code, out, _ := runCLI(t, "", append([]string{"analyze", "--group", group}, logs...)...)
		if code != want || (want == exitOK) != strings.Contains(out, "0 safety violations") {
			t.Errorf("analyze --group %s: exit %d, want %d\n%s", group, code, want, out)
		}
	}
	_, _, errOut := runCLI(t, "", append([]string{"--group", "nope"}, logs...)...)
	if !strings.Contains(errOut, `--group: no group "nope" in the selected tests (their groups: S-R3F-Szzbz5Vo,_meta_)`) {
		t.Errorf("--group nope: stderr %q", errOut)
	}
}

// TestNamedFiles: NAME=FILE names a file's server, also for a single file whose lines name none.
func TestNamedFiles(t *testing.T) {
	logs := clusterLogs(t, "hraft")
	code, out, errOut := runCLI(t, "", "--list", "a="+logs[0], "b="+logs[1], "c="+logs[2])
	if code != exitOK || !strings.Contains(out, " 3 [a,b,c] ") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "--list", "alpha="+logs[0])
	if code != exitOK || !strings.Contains(out, " 1 [alpha] ") {
		t.Errorf("one named file: exit %d\n%s%s", code, out, errOut)
	}
}

// clockSeconds reads HH:MM:SS.ffffff as seconds since midnight.
func clockSeconds(s string) float64 {
	t, err := time.Parse("15:04:05.000000", s)
	if err != nil {
		return 0
	}
	return float64(t.Hour()*3600+t.Minute()*60+t.Second()) + float64(t.Nanosecond())/1e9
}

// TestProfilesCommand: every built-in profile can be printed and read back; a user's profile in
// $XDG_CONFIG_HOME/raftviz/profiles takes part in detection with no flag, and one with a mistake
// stops every command with one line naming its file and line.
func TestProfilesCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	code, out, _ := runCLI(t, "", "profiles")
	if code != exitOK || !strings.Contains(out, "nats ") || !strings.Contains(out, filepath.Join(dir, "raftviz", "profiles")) {
		t.Fatalf("profiles: exit %d\n%s", code, out)
	}
	for _, name := range []string{"hashicorp", "etcd", "nats", "dslogs", "json", "classic"} {
		code, text, _ := runCLI(t, "", "profiles", "show", name)
		if code != exitOK || !strings.Contains(text, "name        "+name+"\n") {
			t.Errorf("profiles show %s: exit %d\n%s", name, code, text)
		}
	}
	if code, _, errOut := runCLI(t, "", "profiles", "show", "nope"); code != exitUsage || strings.Count(errOut, "\n") != 1 {
		t.Errorf("profiles show nope: exit %d, stderr %q", code, errOut)
	}
	mine := "name mine\ndetect ^\\[\\d\\d:\\d\\d\\] node=\\d+ \nline ^\\[(?P<time>[^\\]]+)\\] node=(?P<node>\\d+) (?P<msg>.*)$\ntime 15:04\n" +
		"fact state state=leader : ^leader of term (?P<term>\\d+)\n"
	os.MkdirAll(filepath.Join(dir, "raftviz", "profiles"), 0o755)
	os.WriteFile(filepath.Join(dir, "raftviz", "profiles", "mine.profile"), []byte(mine), 0o644)
	log := "[10:01] node=1 leader of term 1\n[10:02] node=2 leader of term 1\n"
	code, out, errOut := runCLI(t, log, "analyze")
	if code != exitTestsFailed || !strings.Contains(out, "term 1 has two leaders: 1 and 2") {
		t.Errorf("a user's profile, detected: exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, "raftviz", "profiles", "mine.profile"), []byte(mine+"fact stat : ^x\n"), 0o644)
	code, _, errOut = runCLI(t, log, "--list")
	if code != exitUsage || !strings.Contains(errOut, "mine.profile:6: unknown fact kind \"stat\"") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("a user's profile with a mistake: exit %d, stderr %q", code, errOut)
	}
}
