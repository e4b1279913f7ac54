package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
)

// Script runs scenario commands against a simulated cluster, one line each, and returns what
// each printed: the event lines it caused (filtered by the trace command) and its own result.
// The commands (docs/SCENARIOS.md):
//
//	nodes N [seed=S] [drop=P] [dup=P] [reorder=P] [prevote=B] [checkquorum=B]
//	                                                start a fresh cluster
//	run DURATION | sleep DURATION                   advance the virtual clock
//	tick [N]                                        advance N ticks (default 1)
//	campaign ID                                     make a node campaign now
//	propose ID COMMAND...                           submit a command at a node
//	commit COMMAND...                               submit at the leader and wait until applied
//	wait-leader [LIMIT]                             run until one leader is agreed
//	disconnect ID | reconnect ID | crash ID | restart ID | transfer ID
//	partition 1,2|3 | heal
//	status                                          one line per node
//	check                                           run the safety checks
//	trace all | none | KIND,KIND...                 which event lines to print
type Script struct {
	sim   *Sim
	buf   bytes.Buffer
	all   bytes.Buffer    // every event line, whatever trace says
	kinds map[string]bool // nil: all
	off   bool
}

// NewScript returns a runner with no cluster; the first command is usually nodes.
func NewScript() *Script { return &Script{} }

// Events returns every event line the script's clusters wrote so far, whatever trace selected.
func (sc *Script) Events() []byte { return sc.all.Bytes() }

// Sim returns the current cluster (nil before nodes).
func (sc *Script) Sim() *Sim { return sc.sim }

// Exec runs one command line and returns its output. Blank lines and # comments do nothing.
func (sc *Script) Exec(line string) (string, error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", nil
	}
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	sc.buf.Reset()
	res, err := sc.exec(cmd, args, line)
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

func (sc *Script) need(n int, args []string, usage string) error {
	if sc.sim == nil && !strings.HasPrefix(usage, "nodes") {
		return fmt.Errorf("no cluster yet: start one with 'nodes N'")
	}
	if len(args) < n {
		return fmt.Errorf("usage: %s", usage)
	}
	return nil
}

func parseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("bad node id %q", s)
	}
	return id, nil
}

func (sc *Script) exec(cmd string, args []string, line string) (string, error) {
	withID := func(usage string, f func(uint64) error) (string, error) {
		if err := sc.need(1, args, usage); err != nil {
			return "", err
		}
		id, err := parseID(args[0])
		if err != nil {
			return "", err
		}
		return "", f(id)
	}
	switch cmd {
	case "nodes":
		return "", sc.nodes(args)
	case "run", "sleep":
		if err := sc.need(1, args, cmd+" DURATION"); err != nil {
			return "", err
		}
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 {
			return "", fmt.Errorf("bad duration %q (want e.g. 500ms or 2s)", args[0])
		}
		sc.sim.RunFor(d)
		return "", nil
	case "tick":
		if err := sc.need(0, args, "tick [N]"); err != nil {
			return "", err
		}
		n := 1
		if len(args) > 0 {
			var err error
			if n, err = strconv.Atoi(args[0]); err != nil || n < 0 {
				return "", fmt.Errorf("bad tick count %q", args[0])
			}
		}
		sc.sim.RunFor(time.Duration(n) * sc.sim.cfg.TickInterval)
		return "", nil
	case "campaign":
		return withID("campaign ID", sc.sim.Campaign)
	case "disconnect":
		return withID("disconnect ID", sc.sim.Disconnect)
	case "reconnect":
		return withID("reconnect ID", sc.sim.Reconnect)
	case "crash":
		return withID("crash ID", sc.sim.Crash)
	case "transfer":
		return withID("transfer ID", sc.sim.Transfer)
	case "restart":
		return withID("restart ID", sc.sim.Restart)
	case "propose":
		if err := sc.need(2, args, "propose ID COMMAND"); err != nil {
			return "", err
		}
		id, err := parseID(args[0])
		if err != nil {
			return "", err
		}
		idx, err := sc.sim.Propose(id, strings.Join(args[1:], " "))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("proposed at index %d", idx), nil
	case "commit":
		if err := sc.need(1, args, "commit COMMAND"); err != nil {
			return "", err
		}
		idx, err := sc.sim.Commit(strings.Join(args, " "), 10*time.Second)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("committed at index %d", idx), nil
	case "wait-leader":
		if err := sc.need(0, args, "wait-leader [LIMIT]"); err != nil {
			return "", err
		}
		limit := 10 * time.Second
		if len(args) > 0 {
			d, err := time.ParseDuration(args[0])
			if err != nil {
				return "", fmt.Errorf("bad duration %q", args[0])
			}
			limit = d
		}
		l, err := sc.sim.StableLeader(limit)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("leader %d term %d", l, sc.sim.Status(l).Term), nil
	case "partition":
		if err := sc.need(1, args, "partition 1,2|3"); err != nil {
			return "", err
		}
		var groups [][]uint64
		for _, g := range strings.Split(strings.Join(args, ""), "|") {
			var ids []uint64
			for _, f := range strings.Split(g, ",") {
				id, err := parseID(f)
				if err != nil {
					return "", err
				}
				ids = append(ids, id)
			}
			groups = append(groups, ids)
		}
		return "", sc.sim.Partition(groups...)
	case "heal":
		if err := sc.need(0, args, "heal"); err != nil {
			return "", err
		}
		sc.sim.Heal()
		return "", nil
	case "status":
		if err := sc.need(0, args, "status"); err != nil {
			return "", err
		}
		var b strings.Builder
		for i, id := range sc.sim.Nodes() {
			st := sc.sim.Status(id)
			if i > 0 {
				b.WriteByte('\n')
			}
			conn := ""
			if !sc.sim.Connected(id) {
				conn = " disconnected"
			}
			fmt.Fprintf(&b, "%d: %s term=%d lead=%d commit=%d last=%d%s", id, st.Role, st.Term, st.Lead, st.Commit, st.LastIndex, conn)
		}
		return b.String(), nil
	case "check":
		if err := sc.need(0, args, "check"); err != nil {
			return "", err
		}
		if err := sc.sim.CheckLogs(); err != nil {
			return "", err
		}
		return "safety checks passed", nil
	case "trace":
		if len(args) != 1 {
			return "", fmt.Errorf("usage: trace all|none|KIND,KIND")
		}
		sc.off, sc.kinds = false, nil
		switch args[0] {
		case "all":
		case "none":
			sc.off = true
		default:
			sc.kinds = map[string]bool{}
			for _, k := range strings.Split(args[0], ",") {
				sc.kinds[k] = true
			}
		}
		return "", nil
	}
	return "", fmt.Errorf("unknown command %q", cmd)
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
