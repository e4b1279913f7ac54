// Package command interprets the fault-injection command language that simulator scenarios
// (raftrun sim --script, the scenario tests) and live clusters (raftrun live) share:
//
//	disconnect N | reconnect N | crash N | restart N | transfer N
//	partition 1,2|3 | heal | status | wait-leader [LIMIT] | sleep DURATION
//
// Each side adds the commands only it has (the simulator's virtual clock and tracing, the live
// cluster's client requests) through the same mechanism, so there is one parser, one set of
// usage messages and one help text.
package command

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cluster is what the shared commands act on: the simulator and a live cluster implement it.
type Cluster interface {
	// Nodes returns the ids of the servers, in order.
	Nodes() []uint64
	Disconnect(id uint64) error
	Reconnect(id uint64) error
	// Crash stops a node without a clean shutdown; Restart brings it back from its storage.
	Crash(id uint64) error
	Restart(id uint64) error
	Partition(groups ...[]uint64) error
	Heal()
	// Transfer asks the leader to hand leadership to id. It reports whether id leads when it
	// returns: a live cluster waits for that, the simulator returns at once.
	Transfer(id uint64) (leads bool, err error)
	// WaitLeader waits at most limit (virtual time in the simulator) until the nodes agree on a
	// leader, and returns it with its term.
	WaitLeader(limit time.Duration) (leader, term uint64, err error)
	// Sleep lets d pass (virtual time in the simulator).
	Sleep(d time.Duration) error
	// Status describes a node; ok is false when it is down.
	Status(id uint64) (st NodeStatus, ok bool)
}

// NodeStatus is one line of the status command.
type NodeStatus struct {
	Role                     string
	Term, Lead, Commit, Last uint64
	Disconnected             bool
}

// Command is one command of the language. The interpreter checks its argument count and that
// a cluster exists before Run, so no command repeats those checks.
type Command struct {
	Name  string // the first word
	Args  string // its arguments, as usage shows them ("ID", "[LIMIT]")
	Help  string // what it does, one line
	Alias []string
	// Min and Max bound the number of arguments (Max < 0: no bound); zero values: none.
	Min, Max int
	// NoCluster lets the command run before there is a cluster (the simulator's nodes, help).
	NoCluster bool
	// Run executes it; args are the words after the name, line the whole line.
	Run func(args []string, line string) (string, error)
}

// Interpreter runs command lines against a cluster.
type Interpreter struct {
	cluster func() Cluster // nil result: no cluster yet
	cmds    []Command
}

// New returns an interpreter for the shared commands on the cluster cluster returns (called at
// each command: the simulator's scripts start new clusters), plus the extra commands, which
// come first in the help and may replace a shared one of the same name.
func New(cluster func() Cluster, extra ...Command) *Interpreter {
	in := &Interpreter{cluster: cluster}
	in.cmds = append(in.cmds, extra...)
	for _, c := range in.shared() {
		if in.find(c.Name) == nil {
			in.cmds = append(in.cmds, c)
		}
	}
	return in
}

func (in *Interpreter) find(name string) *Command {
	for i := range in.cmds {
		if in.cmds[i].Name == name || slices.Contains(in.cmds[i].Alias, name) {
			return &in.cmds[i]
		}
	}
	return nil
}

// ErrUnknown is returned (wrapped) for a line whose first word is no command.
var ErrUnknown = errors.New("unknown command")

// ErrNoCluster is returned for a command that needs a cluster before there is one; the
// caller says how to start one (the simulator's nodes command).
var ErrNoCluster = errors.New("no cluster yet")

// Exec runs one line. Blank lines and # comments do nothing.
func (in *Interpreter) Exec(line string) (string, error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", nil
	}
	if strings.ContainsRune(line, '\x1b') {
		// An arrow or another editing key at a prompt read line by line: it reaches here as
		// an escape code, which names no command.
		return "", errors.New("the line holds terminal escape codes (an arrow key?): this prompt has no line editing or history; run it under rlwrap (rlwrap raftrun live) for both")
	}
	words := strings.Fields(line)
	c := in.find(words[0])
	if c == nil {
		return "", fmt.Errorf("%w %q (help lists them)", ErrUnknown, words[0])
	}
	args := words[1:]
	if !c.NoCluster && in.cluster() == nil {
		return "", ErrNoCluster
	}
	if len(args) < c.Min || (c.Max >= 0 && len(args) > c.Max) {
		return "", c.Usage()
	}
	return c.Run(args, line)
}

// Help lists the commands with their arguments, one a line.
func (in *Interpreter) Help() string {
	var b strings.Builder
	width := 0
	for _, c := range in.cmds {
		width = max(width, len(c.usage()))
	}
	for i, c := range in.cmds {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  %-*s  %s", width, c.usage(), c.Help)
	}
	return b.String()
}

func (c Command) usage() string {
	names := strings.Join(append([]string{c.Name}, c.Alias...), " | ")
	if c.Args == "" {
		return names
	}
	return names + " " + c.Args
}

// Usage returns the error a command gives for wrong arguments.
func (c Command) Usage() error { return fmt.Errorf("usage: %s", c.usage()) }

// shared returns the commands every cluster has.
func (in *Interpreter) shared() []Command {
	// on makes a command that acts on the cluster; the interpreter has checked it exists.
	on := func(c Command, run func(cl Cluster, args []string) (string, error)) Command {
		c.Run = func(args []string, _ string) (string, error) { return run(in.cluster(), args) }
		return c
	}
	onNode := func(name, help, done string, f func(Cluster, uint64) error) Command {
		return on(Command{Name: name, Args: "ID", Help: help, Min: 1, Max: 1}, func(cl Cluster, args []string) (string, error) {
			id, err := ParseID(args[0])
			if err != nil {
				return "", err
			}
			if err := f(cl, id); err != nil {
				return "", err
			}
			return fmt.Sprintf("node %d: %s", id, done), nil
		})
	}
	return []Command{
		onNode("disconnect", "cut a node off the network", "disconnected", Cluster.Disconnect),
		onNode("reconnect", "put a node back on the network", "reconnected", Cluster.Reconnect),
		onNode("crash", "stop a node without a clean shutdown (it keeps its storage)", "crashed", Cluster.Crash),
		onNode("restart", "restart a crashed node from its storage", "restarted", Cluster.Restart),
		on(Command{Name: "partition", Args: "1,2|3", Help: "split the network into groups (nodes in no group are cut off)", Min: 1, Max: -1},
			func(cl Cluster, args []string) (string, error) {
				groups, err := ParseGroups(strings.Join(args, ""))
				if err != nil {
					return "", err
				}
				if err := cl.Partition(groups...); err != nil {
					return "", err
				}
				return "partitioned", nil
			}),
		on(Command{Name: "heal", Help: "remove every partition"}, func(cl Cluster, _ []string) (string, error) {
			cl.Heal()
			return "healed", nil
		}),
		on(Command{Name: "transfer", Args: "ID", Help: "ask the leader to hand leadership to a node", Min: 1, Max: 1},
			func(cl Cluster, args []string) (string, error) {
				id, err := ParseID(args[0])
				if err != nil {
					return "", err
				}
				leads, err := cl.Transfer(id)
				if err != nil {
					return "", err
				}
				if st, ok := cl.Status(id); ok && leads {
					return fmt.Sprintf("leader %d, term %d", id, st.Term), nil
				}
				return fmt.Sprintf("transfer to %d started", id), nil
			}),
		on(Command{Name: "wait-leader", Args: "[LIMIT]", Help: "wait until the nodes agree on one leader (default 10s); print it and its term", Max: 1},
			func(cl Cluster, args []string) (string, error) {
				limit := 10 * time.Second
				if len(args) == 1 {
					var err error
					if limit, err = ParseDuration(args[0]); err != nil {
						return "", err
					}
				}
				l, term, err := cl.WaitLeader(limit)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("leader %d, term %d", l, term), nil
			}),
		on(Command{Name: "sleep", Args: "DURATION", Help: "let time pass (500ms, 2s)", Min: 1, Max: 1},
			func(cl Cluster, args []string) (string, error) {
				d, err := ParseDuration(args[0])
				if err != nil {
					return "", err
				}
				return "", cl.Sleep(d)
			}),
		on(Command{Name: "status", Help: "one line per node: role, term, leader, commit and last index"},
			func(cl Cluster, _ []string) (string, error) { return status(cl) }),
	}
}

func status(cl Cluster) (string, error) {
	var b strings.Builder
	for i, id := range cl.Nodes() {
		if i > 0 {
			b.WriteByte('\n')
		}
		st, ok := cl.Status(id)
		if !ok {
			fmt.Fprintf(&b, "node %d: crashed", id)
			continue
		}
		fmt.Fprintf(&b, "node %d: %s, term %d, leader %d, commit %d, last index %d", id, st.Role, st.Term, st.Lead, st.Commit, st.Last)
		if st.Disconnected {
			b.WriteString(", disconnected")
		}
	}
	return b.String(), nil
}

// ParseID reads a node id (a positive integer).
func ParseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("bad node id %q", s)
	}
	return id, nil
}

// ParseGroups reads partition groups: "1,2|3".
func ParseGroups(s string) ([][]uint64, error) {
	var groups [][]uint64
	for _, g := range strings.Split(s, "|") {
		var ids []uint64
		for _, f := range strings.Split(g, ",") {
			id, err := ParseID(f)
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, s)
			}
			ids = append(ids, id)
		}
		groups = append(groups, ids)
	}
	return groups, nil
}

// ParseDuration reads a non-negative Go duration.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q (want e.g. 500ms or 2s)", s)
	}
	return d, nil
}
