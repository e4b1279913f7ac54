package main

import (
	"bufio"
	"context"
	"errors"
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

const liveHelp = `commands:
  set KEY VALUE | get KEY | del KEY     a client request, sent to the leader (redirects followed)
  read KEY                              a linearizable read without a log entry (ReadIndex)
  leader                                which node leads, in which term
  status                                role, term, commit and last index of every node
  disconnect N | reconnect N            cut node N off the network, or put it back
  partition 1,2|3,4,5 | heal            split the network into groups, or heal it
  crash N | restart N                   kill node N without a clean shutdown, or restart it from disk
  transfer N                            hand leadership to node N
  add | remove N                        start a new node and add it (learner, then voter), or remove node N
  sleep DURATION                        wait (scripts), e.g. sleep 500ms
  wait-leader [LIMIT]                   wait until one leader is agreed (default 10s)
  help | quit`

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
	if code, ok := parseCommandFlags(fs, args, liveUsage, liveHelp, stdout, stderr); !ok {
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
		f, err := os.Open(*script)
		if err != nil {
			fmt.Fprintf(stderr, "raftrun live: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		in = f
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
		// The script runs behind the timeline; its own output is kept for after.
		var out lockedBuffer
		con.out = &out
		done := make(chan int, 1)
		go func() { done <- con.loop(ctx, in, false) }()
		if err := openTimeline(ctx, *logPath, true, stdout); err != nil {
			fmt.Fprintf(stderr, "raftrun live: %v\n", err)
		}
		select {
		case failures = <-done:
		default: // the user quit before the script ended
		}
		io.Copy(stdout, &out)
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
		res, err := con.exec(ctx, line)
		switch {
		case err != nil:
			failures++
			fmt.Fprintf(con.out, "error: %v\n", err)
		case res != "":
			fmt.Fprintln(con.out, res)
		}
	}
}

func (con *console) id(args []string, usage string) (uint64, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("usage: %s", usage)
	}
	id, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad node id %q", args[0])
	}
	return id, nil
}

func (con *console) exec(ctx context.Context, line string) (string, error) {
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	c := con.c
	switch cmd {
	case "set", "get", "del":
		kc, err := kv.Parse(line)
		if err != nil {
			return "", err
		}
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res, by, err := c.Submit(tctx, string(kc.Encode()))
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
	case "read":
		if len(args) != 1 {
			return "", errors.New("usage: read KEY")
		}
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, found, by, err := c.Read(tctx, args[0])
		if err != nil {
			return "", err
		}
		if !found {
			return fmt.Sprintf("%s: not found (read index, leader %d)", args[0], by), nil
		}
		return fmt.Sprintf("%s = %s (read index, leader %d)", args[0], v, by), nil
	case "leader", "wait-leader":
		limit := 10 * time.Second
		if cmd == "leader" {
			limit = 2 * time.Second
		}
		if len(args) > 0 {
			d, err := time.ParseDuration(args[0])
			if err != nil {
				return "", fmt.Errorf("bad duration %q (e.g. 5s)", args[0])
			}
			limit = d
		}
		tctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		l, err := c.Leader(tctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("leader %d, term %d", l, c.Node(l).Status().Term), nil
	case "status":
		var b strings.Builder
		for i, id := range c.Peers() {
			if i > 0 {
				b.WriteByte('\n')
			}
			n := c.Node(id)
			if n == nil {
				fmt.Fprintf(&b, "node %d: crashed", id)
				continue
			}
			st := n.Status()
			conn := ""
			if !c.Connected(id) {
				conn = ", disconnected"
			}
			fmt.Fprintf(&b, "node %d: %s, term %d, commit %d, last index %d%s", id, st.Role, st.Term, st.Commit, st.LastIndex, conn)
		}
		return b.String(), nil
	case "disconnect", "reconnect", "crash", "restart":
		id, err := con.id(args, cmd+" N")
		if err != nil {
			return "", err
		}
		f := map[string]func(uint64) error{"disconnect": c.Disconnect, "reconnect": c.Reconnect,
			"crash": c.Crash, "restart": c.Restart}[cmd]
		if err := f(id); err != nil {
			return "", err
		}
		return fmt.Sprintf("node %d: %sed", id, cmd), nil
	case "partition":
		if len(args) == 0 {
			return "", errors.New("usage: partition 1,2|3,4,5")
		}
		var groups [][]uint64
		for _, g := range strings.Split(strings.Join(args, ""), "|") {
			var ids []uint64
			for _, f := range strings.Split(g, ",") {
				id, err := strconv.ParseUint(f, 10, 64)
				if err != nil {
					return "", fmt.Errorf("bad node id %q in %q", f, line)
				}
				ids = append(ids, id)
			}
			groups = append(groups, ids)
		}
		if err := c.Partition(groups...); err != nil {
			return "", err
		}
		return "partitioned", nil
	case "heal":
		c.Heal()
		return "healed", nil
	case "sleep":
		if len(args) != 1 {
			return "", errors.New("usage: sleep DURATION")
		}
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 {
			return "", fmt.Errorf("bad duration %q (e.g. 500ms)", args[0])
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return "", nil
	case "transfer":
		id, err := con.id(args, "transfer N")
		if err != nil {
			return "", err
		}
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.Transfer(tctx, id); err != nil {
			return "", err
		}
		return fmt.Sprintf("leader %d, term %d", id, c.Node(id).Status().Term), nil
	case "add":
		if len(args) != 0 {
			return "", errors.New("usage: add (starts a new node and adds it to the cluster)")
		}
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		id, err := c.AddServer(tctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("node %d added; voters %s", id, joinUint(c.Peers())), nil
	case "remove":
		id, err := con.id(args, "remove N")
		if err != nil {
			return "", err
		}
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := c.RemoveServer(tctx, id); err != nil {
			return "", err
		}
		return fmt.Sprintf("node %d removed; voters %s", id, joinUint(c.Peers())), nil
	case "help":
		return liveHelp, nil
	}
	return "", fmt.Errorf("unknown command %q (help lists them)", cmd)
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

// lockedBuffer collects a console's output while the timeline owns the terminal.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
	r  int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
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
