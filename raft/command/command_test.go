package command

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// fake records what the commands asked of it.
type fake struct {
	calls []string
	down  map[uint64]bool
}

func (f *fake) Nodes() []uint64 { return []uint64{1, 2, 3} }
func (f *fake) do(c string, id uint64) error {
	if id > 3 {
		return fmt.Errorf("no node %d", id)
	}
	f.calls = append(f.calls, fmt.Sprintf("%s %d", c, id))
	return nil
}
func (f *fake) Disconnect(id uint64) error { return f.do("disconnect", id) }
func (f *fake) Reconnect(id uint64) error  { return f.do("reconnect", id) }
func (f *fake) Crash(id uint64) error      { f.down[id] = true; return f.do("crash", id) }
func (f *fake) Restart(id uint64) error    { delete(f.down, id); return f.do("restart", id) }
func (f *fake) Partition(groups ...[]uint64) error {
	f.calls = append(f.calls, fmt.Sprint("partition ", groups))
	return nil
}
func (f *fake) Heal()                            { f.calls = append(f.calls, "heal") }
func (f *fake) Transfer(id uint64) (bool, error) { return id == 2, f.do("transfer", id) }
func (f *fake) Sleep(d time.Duration) error {
	f.calls = append(f.calls, "sleep "+d.String())
	return nil
}
func (f *fake) WaitLeader(time.Duration) (uint64, uint64, error) { return 2, 7, nil }
func (f *fake) Status(id uint64) (NodeStatus, bool) {
	if f.down[id] {
		return NodeStatus{}, false
	}
	return NodeStatus{Role: "follower", Term: 7, Lead: 2, Commit: 4, Last: 5, Disconnected: id == 3}, true
}

func TestSharedCommands(t *testing.T) {
	f := &fake{down: map[uint64]bool{}}
	in := New(func() Cluster { return f })
	for _, c := range []struct{ line, out, err string }{
		{"# a comment", "", ""},
		{"crash 1", "node 1: crashed", ""},
		{"restart 1", "node 1: restarted", ""},
		{"disconnect 3", "node 3: disconnected", ""},
		{"partition 1,2 | 3", "partitioned", ""},
		{"heal", "healed", ""},
		{"transfer 2", "leader 2, term 7", ""},
		{"transfer 3", "transfer to 3 started", ""},
		{"wait-leader 5s", "leader 2, term 7", ""},
		{"sleep 250ms", "", ""},
		{"crash 9", "", "no node 9"},
		{"crash", "", "usage: crash ID"},
		{"crash 0", "", `bad node id "0"`},
		{"partition 1,x|3", "", `bad node id "x" in "1,x|3"`},
		{"sleep -1s", "", `bad duration "-1s"`},
		{"heal now", "", "usage: heal"},
		{"fly 1", "", `unknown command "fly"`},
	} {
		out, err := in.Exec(c.line)
		if out != c.out || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: got %q, %v; want %q, %q", c.line, out, err, c.out, c.err)
		}
	}
	want := []string{"crash 1", "restart 1", "disconnect 3", "partition [[1 2] [3]]", "heal", "transfer 2", "transfer 3", "sleep 250ms"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls %q\nwant  %q", f.calls, want)
	}
	f.down[1] = true
	out, _ := in.Exec("status")
	if want := "node 1: crashed\nnode 2: follower, term 7, leader 2, commit 4, last index 5\nnode 3: follower, term 7, leader 2, commit 4, last index 5, disconnected"; out != want {
		t.Errorf("status:\n%s\nwant\n%s", out, want)
	}
}

func TestExtraCommandsAndHelp(t *testing.T) {
	f := &fake{down: map[uint64]bool{}}
	var cluster Cluster
	in := New(func() Cluster { return cluster },
		Command{Name: "status", Help: "mine", Run: func([]string, string) (string, error) { return "own status", nil }},
		Command{Name: "quit", Alias: []string{"exit"}, Help: "leave", Run: func([]string, string) (string, error) { return "bye", nil }})
	if _, err := in.Exec("crash 1"); err == nil || !strings.Contains(err.Error(), "no cluster yet") || !errors.Is(err, ErrNoCluster) {
		t.Errorf("a command without a cluster: %v", err)
	}
	cluster = f
	if out, _ := in.Exec("status"); out != "own status" {
		t.Errorf("an extra command does not replace the shared one: %q", out)
	}
	if out, _ := in.Exec("exit"); out != "bye" {
		t.Errorf("alias: %q", out)
	}
	help := in.Help()
	if strings.Count(help, "\n  status") != 0 || strings.Count(help, "status ") != 1 || !strings.Contains(help, "quit | exit") {
		t.Errorf("help lists status twice or misses an alias:\n%s", help)
	}
	for _, name := range []string{"disconnect ID", "partition 1,2|3", "wait-leader [LIMIT]", "sleep DURATION"} {
		if !strings.Contains(help, "  "+name+" ") {
			t.Errorf("help lacks %q:\n%s", name, help)
		}
	}
	if _, err := in.Exec("nonsense"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestEscapeCodesAreNamed: an arrow key at the prompt sends an escape code, which used to be
// answered `unknown command "\x1b[A"`; the answer says that the prompt has no line editing or
// history, and how to get both.
func TestEscapeCodesAreNamed(t *testing.T) {
	in := New(func() Cluster { return &fake{down: map[uint64]bool{}} })
	for _, line := range []string{"\x1b[A", "set x\x1b[D 1"} {
		_, err := in.Exec(line)
		if err == nil || !strings.Contains(err.Error(), "no line editing") || !strings.Contains(err.Error(), "rlwrap") {
			t.Errorf("%q: %v", line, err)
		}
	}
}
