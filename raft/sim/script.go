package sim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/command"
)

// Script runs scenario commands against a simulated cluster, one line each, and returns what
// each printed: the event lines it caused (filtered by the trace command) and its own result.
// The shared fault commands (package command) act on the simulator; these are its own
// (docs/SCENARIOS.md):
//
//	nodes N [seed=S] [drop=P] [dup=P] [reorder=P] [prevote=B] [checkquorum=B]
//	                                                start a fresh cluster
//	run DURATION                                    advance the virtual clock (as sleep)
//	tick [N]                                        advance N ticks (default 1)
//	campaign ID                                     make a node campaign now
//	propose ID COMMAND...                           submit a command at a node
//	commit COMMAND...                               submit at the leader and wait until applied
//	check                                           run the safety checks
//	trace all | none | KIND,KIND...                 which event lines to print
type Script struct {
	sim   *Sim
	in    *command.Interpreter
	buf   bytes.Buffer
	all   bytes.Buffer    // every event line, whatever trace says
	kinds map[string]bool // nil: all
	off   bool
}

// NewScript returns a runner with no cluster; the first command is usually nodes.
func NewScript() *Script {
	sc := &Script{}
	sc.in = command.New(func() command.Cluster {
		if sc.sim == nil {
			return nil
		}
		return simCluster{sc.sim}
	}, sc.commands()...)
	return sc
}

// Events returns every event line the script's clusters wrote so far, whatever trace selected.
func (sc *Script) Events() []byte { return sc.all.Bytes() }

// Sim returns the current cluster (nil before nodes).
func (sc *Script) Sim() *Sim { return sc.sim }

// Help lists the commands a scenario can use.
func (sc *Script) Help() string { return sc.in.Help() }

// Exec runs one command line and returns its output. Blank lines and # comments do nothing.
func (sc *Script) Exec(line string) (string, error) {
	sc.buf.Reset()
	res, err := sc.in.Exec(line)
	if errors.Is(err, command.ErrNoCluster) {
		err = fmt.Errorf("%w: start one with 'nodes N'", err)
	}
	out := sc.filtered()
	if res != "" {
		out += res + "\n"
	}
	return out, err
}

func (sc *Script) filtered() string {
	if sc.off {
		return ""
	}
	if sc.kinds == nil {
		return sc.buf.String()
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(sc.buf.String(), "\n") {
		_, fields, ok := eventline.SplitText(strings.TrimSuffix(l, "\n"))
		if !ok {
			continue
		}
		// The field block starts with ev=KIND.
		kind, _, _ := strings.Cut(strings.TrimPrefix(fields, "ev="), " ")
		if sc.kinds[kind] {
			b.WriteString(l)
		}
	}
	return b.String()
}

// simCluster is the simulator as the shared commands see it.
type simCluster struct{ s *Sim }

func (c simCluster) Nodes() []uint64                    { return c.s.Nodes() }
func (c simCluster) Disconnect(id uint64) error         { return c.s.Disconnect(id) }
func (c simCluster) Reconnect(id uint64) error          { return c.s.Reconnect(id) }
func (c simCluster) Crash(id uint64) error              { return c.s.Crash(id) }
func (c simCluster) Restart(id uint64) error            { return c.s.Restart(id) }
func (c simCluster) Partition(groups ...[]uint64) error { return c.s.Partition(groups...) }
func (c simCluster) Heal()                              { c.s.Heal() }
func (c simCluster) Sleep(d time.Duration) error        { c.s.RunFor(d); return nil }

// Transfer returns at once: the transfer happens as the scenario's clock runs.
func (c simCluster) Transfer(id uint64) (bool, error) { return false, c.s.Transfer(id) }

func (c simCluster) WaitLeader(limit time.Duration) (uint64, uint64, error) {
	l, err := c.s.StableLeader(limit)
	if err != nil {
		return 0, 0, err
	}
	return l, c.s.Status(l).Term, nil
}

func (c simCluster) Status(id uint64) (command.NodeStatus, bool) {
	st := c.s.Status(id)
	return command.NodeStatus{Role: st.Role.String(), Term: st.Term, Lead: st.Lead, Commit: st.Commit,
		Last: st.LastIndex, Disconnected: !c.s.Connected(id)}, st.Role != raft.Dead
}

// commands returns the simulator's own commands.
func (sc *Script) commands() []command.Command {
	// cmd makes a command of the simulator; the interpreter checks its argument count and that
	// a cluster exists. noCluster lifts the second check (nodes makes the cluster, trace is
	// set before it).
	cmd := func(name, args, help string, minArgs, maxArgs int, run func(args []string) (string, error)) command.Command {
		return command.Command{Name: name, Args: args, Help: help, Min: minArgs, Max: maxArgs,
			Run: func(a []string, _ string) (string, error) { return run(a) }}
	}
	noCluster := func(c command.Command) command.Command {
		c.NoCluster = true
		return c
	}
	return []command.Command{
		noCluster(cmd("nodes", "N [seed=S] [drop=P] [dup=P] [reorder=P] [prevote=B] [checkquorum=B]", "start a fresh cluster of N nodes", 1, -1,
			func(a []string) (string, error) { return "", sc.nodes(a) })),
		cmd("run", "DURATION", "advance the virtual clock", 1, 1, func(a []string) (string, error) {
			d, err := command.ParseDuration(a[0])
			if err != nil {
				return "", err
			}
			sc.sim.RunFor(d)
			return "", nil
		}),
		cmd("tick", "[N]", "advance N Raft ticks (default 1)", 0, 1, func(a []string) (string, error) {
			n := 1
			if len(a) > 0 {
				var err error
				if n, err = strconv.Atoi(a[0]); err != nil || n < 0 {
					return "", fmt.Errorf("bad tick count %q", a[0])
				}
			}
			sc.sim.RunFor(time.Duration(n) * sc.sim.cfg.TickInterval)
			return "", nil
		}),
		cmd("campaign", "ID", "make a node start an election now", 1, 1, func(a []string) (string, error) {
			id, err := command.ParseID(a[0])
			if err != nil {
				return "", err
			}
			return "", sc.sim.Campaign(id)
		}),
		cmd("propose", "ID COMMAND", "submit a command at a node; print its index", 2, -1, func(a []string) (string, error) {
			id, err := command.ParseID(a[0])
			if err != nil {
				return "", err
			}
			idx, err := sc.sim.Propose(id, strings.Join(a[1:], " "))
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("proposed at index %d", idx), nil
		}),
		cmd("commit", "COMMAND", "submit at the leader and run until every reachable node applied it", 1, -1, func(a []string) (string, error) {
			idx, err := sc.sim.Commit(strings.Join(a, " "), 10*time.Second)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("committed at index %d", idx), nil
		}),
		cmd("check", "", "run the safety checks", 0, 0, func([]string) (string, error) {
			if err := sc.sim.CheckLogs(); err != nil {
				return "", err
			}
			return "safety checks passed", nil
		}),
		noCluster(cmd("trace", "all|none|KIND,KIND", "which event lines the following commands print", 1, 1, func(a []string) (string, error) {
			sc.off, sc.kinds = false, nil
			switch a[0] {
			case "all":
			case "none":
				sc.off = true
			default:
				sc.kinds = map[string]bool{}
				for _, k := range strings.Split(a[0], ",") {
					sc.kinds[k] = true
				}
			}
			return "", nil
		})),
	}
}

func (sc *Script) nodes(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("usage: nodes N [seed=S] [drop=P] [dup=P] [reorder=P] [prevote=true] [checkquorum=true]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 99 {
		return fmt.Errorf("bad node count %q (1 to 99)", args[0])
	}
	cfg := Config{Nodes: n, Handler: eventline.NewTextHandler(io.MultiWriter(&sc.buf, &sc.all), nil)}
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("bad option %q (want key=value)", a)
		}
		var perr error
		switch k {
		case "seed":
			cfg.Seed, perr = strconv.ParseUint(v, 10, 64)
		case "drop":
			cfg.DropRate, perr = parseRate(v)
		case "dup":
			cfg.DupRate, perr = parseRate(v)
		case "reorder":
			cfg.ReorderRate, perr = parseRate(v)
		case "prevote":
			cfg.PreVote, perr = strconv.ParseBool(v)
		case "checkquorum":
			cfg.CheckQuorum, perr = strconv.ParseBool(v)
		default:
			return fmt.Errorf("unknown option %q (seed, drop, dup, reorder, prevote, checkquorum)", k)
		}
		if perr != nil {
			return fmt.Errorf("bad %s value %q", k, v)
		}
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	sc.sim = s
	return nil
}

func parseRate(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("rate out of [0,1]")
	}
	return f, nil
}

// Commands returns the command lines of a scenario, with their line numbers. A scenario is
// either a plain script (one command a line) or a data-driven file where each command is
// followed by "----" and its expected output up to a blank line; outputs are skipped.
// Comments (#) are returned too, so that they can be echoed.
func Commands(r io.Reader) ([]string, []int, error) {
	var cmds []string
	var nos []int
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 16<<20)
	no, inOutput := 0, false
	for s.Scan() {
		no++
		line := strings.TrimSpace(s.Text())
		switch {
		case inOutput:
			inOutput = line != ""
		case line == "----":
			inOutput = true
		case line != "":
			cmds = append(cmds, line)
			nos = append(nos, no)
		}
	}
	return cmds, nos, s.Err()
}

// RunScript runs a scenario (see Commands) and writes each command, its output and errors to
// w in the data-driven layout, so that the result is itself a scenario file whose outputs
// are the expected ones:
//
//	command
//	----
//	output
//
// It stops at the first failing command and returns its error with the line number.
func RunScript(r io.Reader, w io.Writer) error {
	cmds, nos, err := Commands(r)
	if err != nil {
		return err
	}
	sc := NewScript()
	for i, line := range cmds {
		if strings.HasPrefix(line, "#") {
			fmt.Fprintln(w, line)
			continue
		}
		out, err := sc.Exec(line)
		fmt.Fprintf(w, "%s\n----\n%s", line, out)
		if err != nil {
			fmt.Fprintf(w, "error: %v\n", err)
			return fmt.Errorf("line %d: %s: %w", nos[i], line, err)
		}
		fmt.Fprintln(w)
	}
	return nil
}
