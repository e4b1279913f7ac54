package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft/cluster"
	"github.com/raftviz/raftviz/raft/command"
	"github.com/raftviz/raftviz/raft/kv"
	"github.com/raftviz/raftviz/render"
)

const liveUsage = `usage: raftrun live [flags]

Starts a Raft cluster on this machine (one TCP port per node on 127.0.0.1), writes every node's
event lines to a file, and takes commands at a prompt or from a script.

  raftrun live -n 5 --log live.log
  raftrun live -n 3 --script scenario.txt --viz

Flags:
`

// liveHelp is the commands section of the usage: the console's own help, which the command
// interpreter writes.
var liveHelp = "commands:\n" + (&console{}).interpreter(context.Background()).Help()

// lockedWriter serialises event lines written by many nodes' goroutines.
type lockedWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error // the first write error: event lines are being lost
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if err == nil {
		// Flush per line: the file is followed live (raftviz --follow, tail -f).
		err = l.w.Flush()
	}
	if err != nil && l.err == nil {
		l.err = err
	}
	return n, err
}

// Err returns the first error writing the event lines (nil: none lost).
func (l *lockedWriter) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func liveCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun live", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 3, "number of `nodes`")
	logPath := fs.String("log", "raftrun-live.log", "write event lines to `file`")
	script := fs.String("script", "", "read commands from `file` instead of the prompt")
	dataDir := fs.String("data", "", "keep the nodes' write-ahead logs in `dir` (default: a temporary directory, removed at exit)")
	election := fs.Duration("election-timeout", 150*time.Millisecond, "minimum election `timeout` (the actual one is drawn from [t, 2t))")
	heartbeat := fs.Duration("heartbeat", 50*time.Millisecond, "heartbeat `interval`")
	mem := fs.Bool("mem", false, "connect the nodes by an in-memory network instead of TCP")
	preVote := fs.Bool("prevote", true, "pre-vote: a node that rejoins does not disrupt the leader (false: the classic behaviour)")
	checkQuorum := fs.Bool("check-quorum", true, "a leader that cannot hear a majority steps down")
	snapEvery := fs.Int("snapshot-every", 1000, "snapshot the state machine and compact the log every `n` applied entries (0: never)")
	jsonOut := fs.Bool("json", false, "write the JSON-lines form of the events")
	viz := fs.Bool("viz", false, "print the timing table of the captured log at exit")
	tui := fs.Bool("tui", false, "show the event lines live in raftviz's timeline while --script runs (q quits and stops the cluster)")
	if code, ok := parseFlagsOnly(fs, args, liveUsage, liveHelp, stdout, stderr); !ok {
		return code
	}
	if *n < 1 || *n > 99 {
		fmt.Fprintf(stderr, "raftrun live: -n %d out of range (1 to 99)\n", *n)
		return exitUsage
	}
	tick := raftTick
	if *heartbeat < tick || *election < 2**heartbeat {
		fmt.Fprintf(stderr, "raftrun live: need heartbeat >= %v and election timeout >= 2 x heartbeat\n", tick)
		return exitUsage
	}
	if *tui && *script == "" {
		fmt.Fprintln(stderr, "raftrun live: --tui needs --script (the timeline takes the terminal the prompt would use)")
		return exitUsage
	}
	var in io.Reader = stdin
	interactive := false
	if *script != "" {
		b, err := readScript(*script, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "raftrun live: %v\n", err)
			return exitUsage
		}
		in = bytes.NewReader(b)
	} else if f, ok := stdin.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		interactive = true
	}
	logFile, err := os.Create(*logPath)
	if err != nil {
		fmt.Fprintf(stderr, "raftrun live: %v\n", err)
		return exitUsage
	}
	defer logFile.Close()
	lw := &lockedWriter{w: bufio.NewWriter(logFile)}
	var h slog.Handler = eventline.NewTextHandler(lw, nil)
	if *jsonOut {
		h = eventline.NewJSONHandler(lw, nil)
	}
	dir := *dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "raftrun-live-"); err != nil {
			fmt.Fprintf(stderr, "raftrun live: %v\n", err)
			return exitUsage
		}
		defer os.RemoveAll(dir)
	}
	c, err := cluster.Start(cluster.Options{Nodes: *n, TCP: !*mem, Dir: dir, Handler: h, TickInterval: tick,
		ElectionTick: int(*election / tick), HeartbeatTick: int(*heartbeat / tick), PreVote: *preVote, CheckQuorum: *checkQuorum, SnapshotEvery: *snapEvery})
	if err != nil {
		fmt.Fprintf(stderr, "raftrun live: %v\n", err)
		return exitUsage
	}
	if err := lw.Err(); err != nil {
		c.Close()
		fmt.Fprintf(stderr, "raftrun live: cannot write event lines to %s: %v\n", *logPath, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "cluster of %d nodes started; event lines go to %s\n", *n, *logPath)
	if !*mem {
		for _, id := range c.Peers() {
			fmt.Fprintf(stdout, "  node %d on %s\n", id, c.Addr(id))
		}
	}
	con := &console{c: c, out: stdout}
	var failures int
	if *tui {
		// The script runs behind the timeline: each line it prints shows at the timeline's
		// bottom as it comes, then its end; all of it is printed again after the timeline.
		out := &lockedBuffer{notices: make(chan string, 64)}
		con.out = out
		done := make(chan int, 1)
		go func() {
			f := con.loop(ctx, in, false)
			done <- f
			end := "script finished: every command ran (q quits and stops the cluster)"
			if f > 0 {
				end = fmt.Sprintf("script finished: %d commands failed (q quits and stops the cluster)", f)
			}
			out.notifyEnd(end)
		}()
		if err := openTimeline(ctx, *logPath, true, stdout, out.notices); err != nil {
			fmt.Fprintf(stderr, "raftrun live: %v\n", err)
		}
		select {
		case failures = <-done:
		default: // the user quit before the script ended
		}
		io.Copy(stdout, out)
	} else {
		failures = con.loop(ctx, in, interactive)
	}
	if err := c.Close(); err != nil {
		fmt.Fprintf(stderr, "raftrun live: shutting down: %v\n", err)
	}
	lw.mu.Lock()
	lw.w.Flush()
	lw.mu.Unlock()
	fmt.Fprintf(stdout, "cluster stopped; %s holds its event lines (view: raftviz %s)\n", *logPath, *logPath)
	if *viz {
		if tests, _, err := parse.ReadFiles([]string{*logPath}, parse.Options{ImplicitName: "raftrun live"}); err == nil {
			w := render.NewWriter(stdout, render.Options{Wrap: render.DefaultWrap, Compact: true})
			for _, t := range tests {
				_ = w.Test(t)
			}
		}
	}
	switch {
	case ctx.Err() != nil:
		return exitInterrupted
	case failures > 0 && *script != "":
		fmt.Fprintf(stderr, "raftrun live: %d commands of %s failed\n", failures, *script)
		return exitFailed
	}
	return exitOK
}

// console reads commands and runs them against the cluster.
type console struct {
	c   *cluster.Cluster
	out io.Writer
}

// loop runs commands until the input ends, quit, or ctx is cancelled. It returns how many
// commands failed.
func (con *console) loop(ctx context.Context, in io.Reader, interactive bool) int {
	lines := make(chan string)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(in)
		for s.Scan() {
			select {
			case lines <- s.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	interp := con.interpreter(ctx)
	failures := 0
	for {
		if interactive {
			fmt.Fprint(con.out, "raft> ")
		}
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-ctx.Done():
			return failures
		}
		if !ok {
			return failures
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !interactive {
			fmt.Fprintf(con.out, "> %s\n", line)
		}
		if line == "quit" || line == "exit" {
			return failures
		}
		res, err := interp.Exec(line)
		switch {
		case err != nil:
			failures++
			fmt.Fprintf(con.out, "error: %v\n", err)
		case res != "":
			fmt.Fprintln(con.out, res)
		}
	}
}

// liveCluster is a running cluster as the shared commands see it; ctx cancels their waits.
type liveCluster struct {
	c   *cluster.Cluster
	ctx context.Context
}

func (l liveCluster) Nodes() []uint64                    { return l.c.Peers() }
func (l liveCluster) Disconnect(id uint64) error         { return l.c.Disconnect(id) }
func (l liveCluster) Reconnect(id uint64) error          { return l.c.Reconnect(id) }
func (l liveCluster) Crash(id uint64) error              { return l.c.Crash(id) }
func (l liveCluster) Restart(id uint64) error            { return l.c.Restart(id) }
func (l liveCluster) Partition(groups ...[]uint64) error { return l.c.Partition(groups...) }
func (l liveCluster) Heal()                              { l.c.Heal() }

// Transfer waits until the target leads (or 5 s pass).
func (l liveCluster) Transfer(id uint64) (bool, error) {
	ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
	defer cancel()
	if err := l.c.Transfer(ctx, id); err != nil {
		return false, err
	}
	return true, nil
}

func (l liveCluster) WaitLeader(limit time.Duration) (uint64, uint64, error) {
	ctx, cancel := context.WithTimeout(l.ctx, limit)
	defer cancel()
	id, err := l.c.Leader(ctx)
	if err != nil {
		return 0, 0, err
	}
	st, _ := l.Status(id)
	return id, st.Term, nil
}

func (l liveCluster) Sleep(d time.Duration) error {
	select {
	case <-time.After(d):
	case <-l.ctx.Done():
	}
	return nil
}

func (l liveCluster) Status(id uint64) (command.NodeStatus, bool) {
	n := l.c.Node(id)
	if n == nil {
		return command.NodeStatus{}, false
	}
	st := n.Status()
	return command.NodeStatus{Role: st.Role.String(), Term: st.Term, Lead: st.Lead, Commit: st.Commit,
		Last: st.LastIndex, Disconnected: !l.c.Connected(id)}, true
}

// interpreter returns the shared commands on the console's cluster plus the live cluster's own:
// client requests, membership changes and help.
func (con *console) interpreter(ctx context.Context) *command.Interpreter {
	var in *command.Interpreter
	cl := func() command.Cluster {
		if con.c == nil {
			return nil
		}
		return liveCluster{con.c, ctx}
	}
	request := func(name, args, help string, minArgs, maxArgs int) command.Command {
		return command.Command{Name: name, Args: args, Help: help, Min: minArgs, Max: maxArgs, Run: func(_ []string, line string) (string, error) {
			return con.request(ctx, line)
		}}
	}
	read := command.Command{Name: "read", Args: "KEY", Help: "a linearizable read without a log entry (ReadIndex)", Min: 1, Max: 1}
	read.Run = func(args []string, _ string) (string, error) {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, found, by, err := con.c.Read(tctx, args[0])
		if err != nil {
			return "", err
		}
		if !found {
			return fmt.Sprintf("%s: not found (read index, leader %d)", args[0], by), nil
		}
		return fmt.Sprintf("%s = %s (read index, leader %d)", args[0], v, by), nil
	}
	add := command.Command{Name: "add", Help: "start a new node and add it (learner, then voter)"}
	add.Run = func(args []string, _ string) (string, error) {
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		id, err := con.c.AddServer(tctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("node %d added; voters %s", id, joinUint(con.c.Peers())), nil
	}
	remove := command.Command{Name: "remove", Args: "ID", Help: "remove a node from the cluster", Min: 1, Max: 1}
	remove.Run = func(args []string, _ string) (string, error) {
		id, err := command.ParseID(args[0])
		if err != nil {
			return "", err
		}
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := con.c.RemoveServer(tctx, id); err != nil {
			return "", err
		}
		return fmt.Sprintf("node %d removed; voters %s", id, joinUint(con.c.Peers())), nil
	}
	leader := command.Command{Name: "leader", Help: "which node leads, in which term (waits up to 2s)"}
	leader.Run = func([]string, string) (string, error) { return in.Exec("wait-leader 2s") }
	in = command.New(cl,
		request("set", "KEY VALUE", "a client request, sent to the leader (redirects followed)", 2, -1),
		request("get", "KEY", "a read through the log", 1, 1),
		request("del", "KEY", "delete a key", 1, 1),
		read, leader, add, remove,
		command.Command{Name: "help", Help: "this list", NoCluster: true, Run: func([]string, string) (string, error) { return in.Help(), nil }},
		// The console's loop ends at quit before the interpreter sees it; listed for help.
		command.Command{Name: "quit", Alias: []string{"exit"}, Help: "stop the cluster and exit", NoCluster: true,
			Run: func([]string, string) (string, error) { return "", nil }},
	)
	return in
}

// request sends a client command (set, get, del) to the leader.
func (con *console) request(ctx context.Context, line string) (string, error) {
	kc, err := kv.Parse(line)
	if err != nil {
		return "", err
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, by, err := con.c.Submit(tctx, string(kc.Encode()))
	if err != nil {
		return "", err
	}
	switch kc.Op {
	case kv.OpGet:
		if !res.Found {
			return fmt.Sprintf("%s: not found (index %d, leader %d)", kc.Key, res.Index, by), nil
		}
		return fmt.Sprintf("%s = %s (index %d, leader %d)", kc.Key, res.Value, res.Index, by), nil
	default:
		return fmt.Sprintf("ok (index %d, leader %d)", res.Index, by), nil
	}
}

// raftTick is the Raft tick of the clusters raftrun starts. A fine tick gives election timeouts
// many distinct values, so that two followers rarely time out together and split the vote
// (with 10ms ticks and timeouts of 150-300ms, one failover in fifteen needed a second round).
const raftTick = time.Millisecond

func joinUint(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(s, ",")
}

// lockedBuffer collects a console's output while the timeline owns the terminal, and hands
// each complete line to notices (dropping lines while the timeline is behind).
type lockedBuffer struct {
	mu      sync.Mutex
	b       []byte
	r       int
	line    []byte // the line being written
	notices chan string
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	for _, c := range p {
		if c != '\n' {
			l.line = append(l.line, c)
			continue
		}
		l.notifyLocked("script: " + string(l.line))
		l.line = l.line[:0]
	}
	return len(p), nil
}

// notifyEnd hands the script's last line to notices, waiting a while for room: that line is
// the sign that the script finished.
func (l *lockedBuffer) notifyEnd(s string) {
	select {
	case l.notices <- s:
	case <-time.After(2 * time.Second): // the timeline has gone
	}
}

func (l *lockedBuffer) notifyLocked(s string) {
	select {
	case l.notices <- s:
	default: // the timeline is behind: a later line replaces this one anyway
	}
}

func (l *lockedBuffer) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r >= len(l.b) {
		return 0, io.EOF
	}
	n := copy(p, l.b[l.r:])
	l.r += n
	return n, nil
}
