// Command raftviz turns captured Raft debug output into per-node timing tables and an
// interactive terminal timeline.
//
//	go test -v ./raft/ | raftviz
//	raftviz -run TestFigure8 -o figure8.txt run.log
//	raftviz --list run.log
//	raftviz --tui run.log
//	raftviz --follow live.log
//	raftviz analyze run.log
//	raftviz diff pass.log fail.log
//
// Input is go test -v or go test -json output, classic "HH:MM:SS.uuuuuu [ID] message" lines or the
// structured event lines of docs/FORMAT.md; several files (one per node) are merged by time.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/profile"
	"github.com/raftviz/raftviz/render"
)

// parseOptions are the parser options every reading of the input uses.
func (c *config) parseOptions() parse.Options {
	return parse.Options{Format: c.inFormat, ImplicitName: c.implicit, Profile: c.profile, UserProfiles: c.prof.user,
		HoldForPackage: c.matcher.NamesPackage()}
}

// raftDebugEnv switches this project's Raft's event lines on (raft.DebugEnv; raftviz does not
// link the Raft it reads logs of, a test checks the two agree).
const raftDebugEnv = "RAFT_DEBUG"

// Exit codes.
const (
	exitOK          = 0
	exitTestsFailed = 1
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is the parsed command line.
type config struct {
	run       string
	output    string
	color     string
	nodes     string
	grep      string
	group     string
	list      bool
	failExit  bool
	format    string
	table     string
	wrap      int
	relative  bool
	compact   bool
	fields    bool
	arrows    bool
	quiet     bool
	chunk     int
	tui       bool
	tuiSet    bool   // --tui was given (true or false)
	at        string // --at: where the timeline opens
	follow    bool
	summary   bool
	files     []string
	implicit  string // the name of the test of lines outside tests ("" for the default)
	matcher   *parse.Matcher
	inFormat  parse.Format
	prof      profileFlags
	profile   *profile.Profile // forced by --profile or --node-re; nil: detect
	renderOpt render.Options
}

const usageText = `usage: raftviz [flags] [file ...]

Reads go test -v / -json output or Raft debug logs (stdin when no file or "-") and writes one
per-node timing table per test. Several files (one per node) are merged by timestamp.

  RAFT_DEBUG=1 go test -v -run TestFigure8 ./raft/ 2>&1 | raftviz   # this project's debug lines
  raftviz -run 'TestFigure8$' -o figure8.txt run.log
  raftviz --list run.log
  raftviz --tui run.log          # the interactive timeline (? shows its keys)
  raftviz --follow live.log      # the timeline of a log that is still being written
  raftviz analyze run.log        # leaders, latencies, safety checks (exit 1 on a violation)
  raftviz diff pass.log fail.log # where two runs of the same tests first diverge
  raftviz explain run.log        # each failing test: its symptom, the earliest anomaly, its events
  raftviz n1=a.log n2=b.log      # one server's log per file, named (default: the file's name)
  raftviz profiles               # the log dialects raftviz reads; profiles show NAME prints one
  raftviz profiles learn lab.log # the profile inferred for a log of your own Raft, to edit and keep

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("raftviz", flag.ContinueOnError)
	// The flag package's own error output would print the whole usage after a typo; the caller
	// prints one line instead, and -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	help := func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.run, "run", "", "only tests matching `regexp`, as go test -run selects them")
	fs.StringVar(&c.output, "o", "", "write tables to `file` instead of stdout")
	fs.StringVar(&c.color, "color", "auto", "colour cells by event kind: `auto|always|never` (auto: only on a terminal, never with NO_COLOR)")
	fs.StringVar(&c.nodes, "nodes", "", "only these node columns, comma-separated `ids` (e.g. 0,2)")
	fs.StringVar(&c.group, "group", "", "only this Raft `group`'s events (a log of several, as NATS JetStream's; --list shows them), with the servers' own lines")
	fs.StringVar(&c.grep, "grep", "", "only events whose message or fields contain `text` (any case unless it has a capital; re:REGEXP for a regexp)")
	fs.BoolVar(&c.list, "list", false, "list tests (status, nodes, events, duration, other lines) instead of drawing tables")
	fs.BoolVar(&c.failExit, "fail-exit", false, "exit 1 when a selected test failed (with no -run: any test or package)")
	fs.StringVar(&c.format, "format", "auto", "input `format`: auto, gotest (go test -v or a plain log), json (go test -json), plain (no test markers)")
	fs.StringVar(&c.table, "table", "text", "table `style`: text (box drawing), ascii, markdown, html, csv")
	fs.IntVar(&c.wrap, "wrap", render.DefaultWrap, "wrap messages at `width` columns; 0 disables wrapping")
	fs.BoolVar(&c.relative, "relative", false, "show times as seconds since the test's first event (to diff two runs)")
	fs.BoolVar(&c.compact, "compact", false, "no blank line under each cell and no rule between rows")
	fs.BoolVar(&c.fields, "fields", false, "append structured fields (ev=... term=...) to messages")
	fs.BoolVar(&c.arrows, "arrows", false, "draw each message as an arrow from its sender's column to its receiver's (text and ascii tables; the timeline's a key)")
	fs.BoolVar(&c.quiet, "quiet", false, "do not report lines that were not understood on stderr")
	fs.IntVar(&c.chunk, "chunk", 50000, "write a test's table in parts of `n` events when it is bigger (bounds memory)")
	fs.BoolVar(&c.tui, "tui", false, "open the interactive timeline (default on a terminal for inputs of 2 MiB and more; --tui=false never)")
	fs.StringVar(&c.at, "at", "", "open the timeline at `place`: a row or a time, as its : key takes them (raftviz explain prints one)")
	fs.BoolVar(&c.summary, "summary", false, "write a short analysis (leaders per term, commit latency, safety checks) under each table")
	fs.BoolVar(&c.follow, "follow", false, "open the timeline on a growing file (or stdin) and show events as they arrive")
	c.prof.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help()
			return nil, err
		}
		return nil, fmt.Errorf("%v (raftviz -h lists the flags)", err)
	}
	c.files = fs.Args()
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "tui" {
			c.tuiSet = true
		}
	})
	if c.follow && c.list {
		return nil, errors.New("--follow and --list do not go together")
	}
	var err error
	if c.matcher, err = parse.NewMatcher(c.run); err != nil {
		return nil, err
	}
	if c.profile, err = c.prof.resolve(); err != nil {
		return nil, err
	}
	var ok bool
	if c.inFormat, ok = parse.ParseFormat(c.format); !ok {
		return nil, fmt.Errorf("unknown input format %q (want auto, gotest, json or plain)", c.format)
	}
	if c.renderOpt.Format, err = render.ParseFormat(c.table); err != nil {
		return nil, err
	}
	switch c.color {
	case "auto", "always", "never":
	default:
		return nil, fmt.Errorf("unknown --color %q (want auto, always or never)", c.color)
	}
	if c.wrap < 0 {
		return nil, fmt.Errorf("--wrap must be 0 or more, not %d", c.wrap)
	}
	if c.chunk < 1 {
		return nil, fmt.Errorf("--chunk must be at least 1, not %d", c.chunk)
	}
	if c.arrows && c.renderOpt.Format != render.FormatText && c.renderOpt.Format != render.FormatASCII {
		return nil, fmt.Errorf("--arrows draws on text and ascii tables, not --table %s", c.table)
	}
	c.renderOpt.Arrows = c.arrows
	c.renderOpt.Wrap = c.wrap
	c.renderOpt.Relative = c.relative
	c.renderOpt.Compact = c.compact
	c.renderOpt.Fields = c.fields
	grep, err := parse.NewQuery(c.grep)
	if err != nil {
		return nil, fmt.Errorf("--grep: %v", err)
	}
	c.renderOpt.Grep = grep
	c.renderOpt.Group = c.group
	if c.nodes != "" {
		for _, n := range strings.Split(c.nodes, ",") {
			if n = strings.TrimSpace(n); n != "" {
				c.renderOpt.Nodes = append(c.renderOpt.Nodes, n)
			}
		}
	}
	return c, nil
}

// plainTable reports whether the tables show of an event's kind and fields only its faults: no
// colour, no fields, no arrows, no grep over kinds, no summary, not CSV (which has a kind column).
func (c *config) plainTable(stdout io.Writer) bool {
	o := &c.renderOpt
	color := c.color == "always"
	if c.output == "" || c.output == "-" {
		color = useColor(c.color, stdout) // a file is no terminal: colour there only when always
	}
	return !color && !o.Fields && !o.Arrows && o.Grep.Empty() && !c.summary && o.Format != render.FormatCSV
}

// run is the whole command, with its streams as parameters so tests can drive it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "analyze" || args[0] == "diff" || args[0] == "profiles" || args[0] == "explain") {
		if _, err := os.Stat(args[0]); err != nil { // a log file of that name wins
			switch args[0] {
			case "analyze":
				return analyzeCommand(ctx, args[1:], stdin, stdout, stderr)
			case "explain":
				return explainCommand(ctx, args[1:], stdin, stdout, stderr)
			case "profiles":
				return profilesCommand(args[1:], stdout, stderr)
			}
			return diffCommand(ctx, args[1:], stdout, stderr)
		}
	}
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "raftviz: %v\n", err)
		return exitUsage
	}
	if len(c.files) == 0 {
		c.files = []string{"-"}
	}
	for _, f := range c.files {
		if f == "-" && isTerminal(stdin) {
			// Also --follow: a terminal is no log to follow, and the timeline would read the
			// keys typed to quit it as lines.
			fmt.Fprint(stderr, "raftviz: no input: pipe go test output in or name a file\n\n")
			fmt.Fprint(stderr, usageText)
			return exitUsage
		}
	}
	if c.follow {
		return runFollow(ctx, c, stdin, stdout, stderr)
	}
	// Every input is opened first, so a typo in the third file name fails before anything is
	// written.
	tui := wantTUI(c, stdout)
	if tui && len(c.files) == 1 {
		c.implicit = logTitle(c.files[0]) // the timeline names a plain log's test after its file
	}
	opts := c.parseOptions()
	switch {
	case tui:
	case c.list:
		opts.Facts = parse.NodeFacts // --list shows no kinds
		opts.CountOnly = true        // nor any event: only what they amount to
	case c.plainTable(stdout):
		opts.Facts = parse.FaultFacts // a plain table shows of a kind only whether it is a fault
	}
	// The timeline opens at once on a pipe (a go test still running): no waiting for its start
	// to infer a profile from. Tables wait for it.
	opts.NoInfer = tui && slices.Contains(c.files, "-")
	src, err := parse.Open(c.files, stdin, opts)
	if err != nil {
		fmt.Fprintf(stderr, "raftviz: %v\n", err)
		return exitUsage
	}
	defer src.Close()
	if tui {
		if allEmptyFiles(c.files) {
			// As the tables say it: a timeline of nothing is no answer.
			fmt.Fprintf(stderr, "raftviz: no input: %s\n", emptyInputs(c.files))
			return exitUsage
		}
		return runTUI(ctx, c, src, stdin, stdout, stderr)
	}

	out := stdout
	var file *os.File
	tmp := "" // the file written, renamed to -o's when the tables are whole
	if c.output != "" && c.output != "-" {
		path := c.output
		if st, serr := os.Stat(path); serr != nil || st.Mode().IsRegular() {
			// An interrupted run, or one that fails, leaves the old file as it was.
			tmp = path + ".tmp"
			path = tmp
		}
		if file, err = os.Create(path); err != nil {
			fmt.Fprintf(stderr, "raftviz: %v\n", strings.Replace(pathError(err).Error(), path, c.output, 1))
			return exitUsage
		}
		out = file
	}
	c.renderOpt.Color = useColor(c.color, out)
	bw := bufio.NewWriterSize(out, 64<<10)

	var status parse.Status
	var sum parse.Summary
	sel := newSelection(c)
	if c.list {
		status, sum, err = list(ctx, c, sel, src, bw)
	} else {
		status, sum, err = tables(ctx, c, sel, src, bw)
	}
	empty := err == nil && ctx.Err() == nil && sum.Lines == 0
	// Lines, none of them go test's or a debug line raftviz reads (a binary file, a log of an
	// unknown format): a failure to read, as analyze says it, not a table of "(no events)".
	unread := err == nil && ctx.Err() == nil && sum.Lines > 0 && sum.Events == 0 && sum.Framing == 0
	if empty || unread {
		bw.Reset(io.Discard) // no table of nothing: only the one-line error
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if tmp != "" {
			if err == nil && ctx.Err() == nil && !empty && !unread {
				err = os.Rename(tmp, c.output)
			}
			if err != nil || ctx.Err() != nil || empty || unread {
				os.Remove(tmp)
			}
		}
	}
	if empty {
		fmt.Fprintf(stderr, "raftviz: no input: %s\n", emptyInputs(c.files))
		return exitUsage
	}
	if unread {
		reportUnderstood(stderr, &sum, src.SuggestNodeRe()) // its one line, also with --quiet
		return exitUsage
	}
	if !c.quiet {
		reportUnderstood(stderr, &sum, src.SuggestNodeRe())
	}
	sel.warn(stderr)
	status = sel.status(status)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "raftviz: interrupted")
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(stderr, "raftviz: %v\n", pathError(err))
		return exitUsage
	case c.failExit && status == parse.StatusFail:
		return exitTestsFailed
	}
	return exitOK
}

// selection counts what -run and --nodes selected, so that a selection of nothing is said,
// and --fail-exit looks at the selected tests only.
type selection struct {
	c               *config
	tests, selected int
	failed          bool // a selected test failed
	nodes           map[string]bool
	groups          map[string]bool
}

func newSelection(c *config) *selection {
	return &selection{c: c, nodes: map[string]bool{}, groups: map[string]bool{}}
}

// test counts t and reports whether -run selects it.
func (s *selection) test(t *parse.Test) bool {
	s.tests++
	if !s.c.matcher.MatchTest(t) {
		return false
	}
	s.selected++
	if t.Status == parse.StatusFail {
		s.failed = true
	}
	s.sawNodes(t.Events)
	return true
}

// sawNodes notes the nodes of a selected test's events (also of a part written early).
func (s *selection) sawNodes(events []parse.Event) {
	if len(s.c.renderOpt.Nodes) == 0 && s.c.group == "" {
		return
	}
	for i := range events {
		s.nodes[events[i].Node] = true
		if g := events[i].Group(); g != "" {
			s.groups[g] = true
		}
	}
}

// status is the result --fail-exit looks at: the run's (package failures too) when every test
// is selected, else only the selected tests'.
func (s *selection) status(overall parse.Status) parse.Status {
	if s.c.run == "" {
		return overall
	}
	if s.failed {
		return parse.StatusFail
	}
	return parse.StatusPass
}

// warn says on stderr when -run or --nodes selected nothing.
func (s *selection) warn(stderr io.Writer) {
	if s.c.run != "" && s.tests > 0 && s.selected == 0 {
		fmt.Fprintf(stderr, "raftviz: -run %q matches none of the %d tests (raftviz --list shows them)\n", s.c.run, s.tests)
		return
	}
	if s.selected == 0 {
		return
	}
	if g := s.c.group; g != "" && !s.groups[g] {
		fmt.Fprintf(stderr, "raftviz: --group: no group %q in the selected tests (their groups: %s)\n", g, joinSorted(s.groups))
	}
	var missing []string
	for _, n := range s.c.renderOpt.Nodes {
		if !s.nodes[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		delete(s.nodes, "*")
		fmt.Fprintf(stderr, "raftviz: --nodes: no node %s in the selected tests (their nodes: %s)\n",
			strings.Join(missing, ","), joinSorted(s.nodes))
	}
}

// joinSorted lists a set's names, sorted, comma-separated; "none" when it is empty.
func joinSorted(set map[string]bool) string {
	if len(set) == 0 {
		return "none"
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// tables streams tables test by test, in memory bounded by --chunk events of a test: a huge
// test is written in parts as it streams. Parsing and drawing run on two goroutines (a 2-core
// machine's both cores): the parser hands each finished test, or part of a huge one, to the
// drawer, in order, through a short queue; the output is the one a single goroutine writes.
func tables(ctx context.Context, c *config, sel *selection, src *parse.Source, out io.Writer) (parse.Status, parse.Summary, error) {
	d := newDrawer(c, out)
	var failed bool
	parts := make(map[*parse.Test]int)    // parts already written of a huge test
	starts := make(map[*parse.Test]int64) // first event time of a test written in parts
	write := func(t *parse.Test) error {
		if t.Status == parse.StatusFail {
			failed = true
		}
		if !sel.test(t) {
			return nil
		}
		if n := parts[t]; n > 0 {
			delete(parts, t)
			start := starts[t]
			delete(starts, t)
			return d.send(drawJob{t: t, events: t.Events, start: start, part: n + 1, last: true})
		}
		return d.send(drawJob{t: t, events: t.Events})
	}
	batch := func(running []*parse.Test) error {
		for _, t := range running {
			if len(t.Events) < c.chunk || !c.matcher.MatchTest(t) {
				continue
			}
			if _, ok := starts[t]; !ok {
				starts[t], _ = t.Start()
			}
			parts[t]++
			sel.sawNodes(t.Events)
			// The drawer gets a snapshot of the running test and its events; the parser goes on
			// with new ones (memory stays bounded by --chunk and the queue).
			snap := *t
			events := t.Events
			t.Flushed += len(t.Events)
			t.Events = nil
			if err := d.send(drawJob{t: &snap, events: events, start: starts[t], part: parts[t]}); err != nil {
				return err
			}
		}
		return nil
	}
	err := src.Scan(ctx, parse.ScanOptions{Emit: write, Batch: batch})
	derr := d.close()
	sum := src.Summary()
	st := overall(&sum, failed)
	if err == nil {
		err = derr
	}
	if err != nil {
		return st, sum, err
	}
	if st == parse.StatusUnknown && sum.Framing == 0 {
		// A plain log states no result: go test's closing PASS or FAIL has no counterpart.
		return st, sum, d.w.FinishWithoutResult()
	}
	return st, sum, d.w.Finish(st)
}

// drawJob is a table to draw: a whole test (part 0), or a part of a huge one.
type drawJob struct {
	t      *parse.Test
	events []parse.Event
	start  int64
	part   int
	last   bool
}

// drawer draws tables on a goroutine of its own, in the order they are sent.
type drawer struct {
	c    *config
	out  io.Writer
	w    *render.Writer
	jobs chan drawJob
	done chan struct{}
	err  error // the first error drawing: set before bad, then never again
	bad  atomic.Bool
}

func newDrawer(c *config, out io.Writer) *drawer {
	d := &drawer{c: c, out: out, w: render.NewWriter(out, c.renderOpt), jobs: make(chan drawJob, 2), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *drawer) run() {
	defer close(d.done)
	for j := range d.jobs {
		if d.err != nil {
			continue // drain: the parser stops at its next send
		}
		if d.err = d.draw(j); d.err != nil {
			d.bad.Store(true)
		}
	}
}

func (d *drawer) draw(j drawJob) error {
	if j.part > 0 {
		if err := d.w.Part(j.t, j.events, j.start, j.part, j.last); err != nil {
			return err
		}
		if j.last && d.c.summary {
			fmt.Fprintf(d.out, "summary: not available for a test written in parts (raise --chunk, or use raftviz analyze)\n\n")
		}
		return nil
	}
	if err := d.w.Test(j.t); err != nil {
		return err
	}
	if d.c.summary {
		writeSummary(d.out, j.t)
	}
	return nil
}

// send queues a table, or returns the error that stopped the drawing.
func (d *drawer) send(j drawJob) error {
	if d.bad.Load() {
		return d.err // set before bad, and never again
	}
	d.jobs <- j
	return nil
}

// close waits for the queued tables to be drawn and returns the drawing's error.
func (d *drawer) close() error {
	close(d.jobs)
	<-d.done
	return d.err
}

// list prints one line per test. Tests stream: only a tally of each running test's events is
// kept, so listing a huge log takes little memory.
func list(ctx context.Context, c *config, sel *selection, src *parse.Source, out io.Writer) (parse.Status, parse.Summary, error) {
	var entries []render.ListEntry
	var seqs []int // of each entry: its test's place in the input (for PackageOf)
	seq := 0
	failed := false
	tallies := map[*parse.Test]*parse.Tally{}
	tally := func(t *parse.Test) *parse.Tally {
		tl := tallies[t]
		if tl == nil {
			tl = &parse.Tally{}
			tallies[t] = tl
		}
		tl.Add(t.Events)
		t.Consumed()
		tl.Merge(&t.Tally) // what the parser counted (CountOnly) rather than handed on
		t.Tally.Reset()
		return tl
	}
	add := func(t *parse.Test) error {
		tl := tally(t)
		delete(tallies, t)
		if t.Status == parse.StatusFail {
			failed = true
		}
		if sel.test(t) {
			entries = append(entries, render.Entry(t, tl))
			seqs = append(seqs, seq)
		}
		seq++
		return nil
	}
	batch := func(running []*parse.Test) error {
		for _, t := range running {
			tally(t)
		}
		return nil
	}
	if err := src.Scan(ctx, parse.ScanOptions{Emit: add, Batch: batch}); err != nil {
		return parse.StatusUnknown, src.Summary(), err
	}
	sum := src.Summary()
	st := overall(&sum, failed)
	for i := range entries {
		if entries[i].Package == "" {
			entries[i].Package = src.PackageOf(seqs[i])
		}
	}
	render.QualifyRepeated(entries)
	return st, sum, render.List(out, entries)
}

// overall is the run's result: FAIL when any test or package failed or the input says so.
func overall(sum *parse.Summary, anyFailed bool) parse.Status {
	if anyFailed {
		return parse.StatusFail
	}
	return sum.Status(nil)
}

// logTitle names a plain log's test in the timeline: its file, or "stdin".
func logTitle(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// allEmptyFiles reports whether every input is a file, and empty.
func allEmptyFiles(files []string) bool {
	for _, f := range files {
		_, path := parse.SplitNamed(f)
		st, err := os.Stat(path)
		if f == "-" || err != nil || !st.Mode().IsRegular() || st.Size() > 0 {
			return false
		}
	}
	return len(files) > 0
}

// emptyInputs names the inputs that held nothing, for the "no input" error.
func emptyInputs(files []string) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f
		if f == "-" {
			names[i] = "stdin"
		}
	}
	if len(names) == 1 {
		return names[0] + " is empty"
	}
	return strings.Join(names, ", ") + " are empty"
}

// reportUnderstood writes the one-line account of lines that were not events or test framing.
func reportUnderstood(stderr io.Writer, s *parse.Summary, suggest string) {
	if s.Events == 0 && s.Framing == 0 {
		// Say what was tried and where to start, on one line: a user whose format no profile
		// knows is one profile (or one --node-re) away from a table.
		fmt.Fprintf(stderr, "raftviz: no tests or debug lines found in %d lines of input (%s)\n", s.Lines, noEventsHint(suggest))
		return
	}
	if s.Events == 0 && s.Framing > 0 && s.NotUnderstood == 0 {
		// go test's own lines and nothing else: the tests ran with their debug output off.
		fmt.Fprintf(stderr, "raftviz: the tests printed no debug lines: this project's Raft writes them with %s=1 (%s=1 go test -v ./raft/ | raftviz); another implementation needs its own debug output switched on\n",
			raftDebugEnv, raftDebugEnv)
		return
	}
	coarse := s.Tied > 0 && s.Tied*10 >= s.Events // a tie now and then is no matter
	if s.NotUnderstood == 0 && s.Ambiguous == 0 && s.LongLines == 0 && !coarse {
		return
	}
	var parts []string
	if s.NotUnderstood > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d lines not understood (kept as other lines)", s.NotUnderstood, s.Lines))
		if s.Events == 0 {
			parts = append(parts, "no debug line among them: "+noEventsHint(suggest))
		}
	}
	if s.Ambiguous > 0 {
		parts = append(parts, fmt.Sprintf("%d events printed while tests ran in parallel (test attribution may be wrong)", s.Ambiguous))
	}
	if coarse {
		parts = append(parts, fmt.Sprintf("%d of %d events share their stamp with another file's (stamps too coarse to order them: within one, a receipt is put after its send, the rest in file order)", s.Tied, s.Events))
	}
	if s.LongLines > 0 {
		parts = append(parts, fmt.Sprintf("%d lines over %d MiB cut", s.LongLines, parse.MaxLineBytes>>20))
	}
	fmt.Fprintf(stderr, "raftviz: %s\n", strings.Join(parts, "; "))
}

// noEventsHint says which dialects were tried and how to start on another: a user whose format
// no profile knows is one profile (or one --node-re) away from a table.
// suggest, when not "", is a --node-re made from the input's own first line to start from.
func noEventsHint(suggest string) string {
	start := "--node-re 'REGEXP with (?P<node>...)'"
	if suggest != "" {
		start = "start from " + suggest
	}
	return fmt.Sprintf("tried go test output, raftviz event lines, the profiles %s and inference; "+
		"for another format: %s, or a profile of your own (raftviz profiles show classic; docs/PROFILES.md)",
		strings.Join(profile.Names(), ", "), start)
}

// pathError shortens *os.PathError messages to "open x: no such file or directory".
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %v", pe.Op, pe.Path, pe.Err)
	}
	return err
}
