package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/render/timeline"
)

// autoTUIBytes is the input size from which raftviz on a terminal opens the timeline instead
// of printing tables (a wall of tables that size is what the timeline is for).
const autoTUIBytes = 2 << 20

// wantTUI decides whether to open the timeline: --tui, --follow, or (unless --tui=false) a
// terminal on stdout with no -o and named input files of at least autoTUIBytes.
func wantTUI(c *config, stdout io.Writer) bool {
	if c.follow {
		return true
	}
	if c.tuiSet {
		return c.tui
	}
	if c.list || c.output != "" || !isTerminal(stdout) {
		return false
	}
	var size int64
	for _, f := range c.files {
		if f == "-" {
			return false
		}
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	return size >= autoTUIBytes
}

// timelineGC is the GOGC the timeline runs with unless GOGC is set: the collector runs when
// the heap has grown by a quarter instead of doubled. The timeline's heap is mostly its event
// store, which holds no pointers, so a collection costs little however big the test (it is
// not scanned), and a million events keep about their own size resident, not twice it.
const timelineGC = 25

// tuneGC sets timelineGC unless the user's GOGC says otherwise.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(timelineGC)
	}
}

// tuiOptions are the timeline's options from the flags; suggest is a --node-re made from the
// input's first line ("" when none), for the screen of a test with no events.
func tuiOptions(c *config, suggest string) timeline.Options {
	_, noColor := os.LookupEnv("NO_COLOR")
	files := make([]string, len(c.files)) // for o, which opens the log of the event in a pager
	for i, f := range c.files {
		_, files[i] = parse.SplitNamed(f)
	}
	return timeline.Options{NoColor: noColor || c.color == "never", Relative: c.relative, Follow: c.follow, Arrows: c.arrows, Group: c.group, At: c.at,
		Files: files, NoEvents: "Tried " + strings.TrimPrefix(noEventsHint(suggest), "tried ") + "."}
}

func programOptions(stdin io.Reader, stdout io.Writer) []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithOutput(stdout)}
	if isTerminal(stdin) {
		opts = append(opts, tea.WithInput(stdin))
	}
	// Otherwise the log comes through stdin, and bubbletea reads keys from the terminal
	// itself (it opens the TTY when stdin is not one).
	return opts
}

// runTUI opens the timeline. The input is parsed in the background while the first test is
// already on screen (several inputs merged by time as they stream).
func runTUI(ctx context.Context, c *config, src *parse.Source, stdin io.Reader, stdout, stderr io.Writer) int {
	if !isTerminal(stdout) {
		fmt.Fprintln(stderr, "raftviz: the timeline needs a terminal on stdout (use -o for tables in a file)")
		return exitUsage
	}
	tuneGC()
	opts := tuiOptions(c, src.SuggestNodeRe())
	opts.Loading = true
	if !slices.Contains(c.files, "-") {
		// Files can be read again: keep only the test on screen in memory, and places to
		// read a test again from that are nearer to it than the file's start.
		src.KeepCheckpoints(checkpointBytes)
		opts.Reread = func(ctx context.Context, from int, visit func(int, *parse.Test) error) error {
			return rereadTests(ctx, c.files, c.parseOptions(), src, from, visit)
		}
	}
	signals := ctx // SIGINT, SIGTERM
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(timeline.New(nil, opts), append(programOptions(stdin, stdout), tea.WithContext(ctx))...)
	errc := make(chan error, 1)
	go func() { errc <- timeline.Feed(ctx, src, c.matcher.MatchTest, p.Send) }()
	final, err := p.Run()
	cancel()
	var readErr error
	select {
	case readErr = <-errc:
	default:
		// Still reading: a pipe whose writer has not ended (go test still running). The user
		// is done with it; the read ends with the program.
	}
	return timelineExit(signals, final, err, readErr, stderr)
}

// timelineExit is the timeline's exit code: 130 when it was interrupted (a signal, or ctrl+c),
// as the tables are; 2 with the one-line error of a failed read or a failed program.
func timelineExit(signals context.Context, final tea.Model, runErr, readErr error, stderr io.Writer) int {
	m, _ := final.(*timeline.Model)
	switch {
	case signals.Err() != nil || m != nil && m.Interrupted():
		fmt.Fprintln(stderr, "raftviz: interrupted")
		return exitInterrupted
	case readErr != nil && !errors.Is(readErr, context.Canceled):
		fmt.Fprintf(stderr, "raftviz: %v\n", pathError(readErr))
		return exitUsage
	case runErr != nil && !errors.Is(runErr, tea.ErrProgramKilled):
		fmt.Fprintf(stderr, "raftviz: %v\n", runErr)
		return exitUsage
	}
	return exitOK
}

// checkpointBytes is how far apart the timeline's places to read a test again from are: a
// test let go is read again from at most this far before it (and go test's top-level tests run
// one after another, so there is a place between most of them).
const checkpointBytes = 2 << 20

// rereadTests reads the log files again and hands each test to visit with its number (in the
// order they complete), from the test numbered from or, when the first reading of src kept a
// checkpoint before it, from there (from < 0: from the start).
func rereadTests(ctx context.Context, files []string, opts parse.Options, src *parse.Source, from int, visit func(int, *parse.Test) error) error {
	opts.HoldForPackage = true // go test -v names the package after the test: a test's key needs it
	seq := 0
	var again *parse.Source
	var err error
	if cp, ok := src.CheckpointFor(from); ok && from >= 0 && len(files) == 1 {
		again, err = parse.Resume(files[0], cp, opts)
		seq = cp.First
	} else {
		again, err = parse.Open(files, nil, opts)
	}
	if err != nil {
		return err
	}
	defer again.Close()
	return again.Scan(ctx, parse.ScanOptions{Emit: func(t *parse.Test) error {
		seq++
		return visit(seq-1, t)
	}})
}

// runFollow opens the timeline on a growing file (or stdin) and appends events as they come.
func runFollow(ctx context.Context, c *config, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(c.files) > 1 {
		fmt.Fprintln(stderr, "raftviz: --follow takes one file (or stdin)")
		return exitUsage
	}
	if !isTerminal(stdout) {
		fmt.Fprintln(stderr, "raftviz: --follow needs a terminal on stdout")
		return exitUsage
	}
	tuneGC()
	name := "-"
	if len(c.files) == 1 {
		name = c.files[0]
	}
	c.implicit = logTitle(name)
	src, err := parse.OpenFollow(name, stdin, 0, c.parseOptions())
	if err != nil {
		fmt.Fprintf(stderr, "raftviz: %v\n", err)
		return exitUsage
	}
	defer src.Close()
	signals := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(timeline.New(nil, tuiOptions(c, "")), append(programOptions(stdin, stdout), tea.WithContext(ctx))...)
	errc := make(chan error, 1)
	go func() { errc <- timeline.Feed(ctx, src, nil, p.Send) }()
	final, err := p.Run()
	cancel()
	ferr := <-errc
	if ferr != nil {
		ferr = fmt.Errorf("following %s: %v", name, pathError(ferr))
	}
	return timelineExit(signals, final, err, ferr, stderr)
}
