package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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

func tuiOptions(c *config) timeline.Options {
	_, noColor := os.LookupEnv("NO_COLOR")
	return timeline.Options{NoColor: noColor || c.color == "never", Relative: c.relative, Follow: c.follow}
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

// runTUI opens the timeline. A single input is parsed in the background while the first test
// is already on screen; several inputs are merged by time first.
func runTUI(ctx context.Context, c *config, inputs []parse.Input, stdin io.Reader, stdout, stderr io.Writer) int {
	if !isTerminal(stdout) {
		fmt.Fprintln(stderr, "raftviz: the timeline needs a terminal on stdout (use -o for tables in a file)")
		return exitUsage
	}
	opts := tuiOptions(c)
	var model *timeline.Model
	if len(inputs) > 1 {
		all, sum, err := parse.ReadInputs(inputs, c.parseOptions(""))
		if err != nil {
			fmt.Fprintf(stderr, "raftviz: %v\n", pathError(err))
			return exitUsage
		}
		var tests []*parse.Test
		for _, t := range all {
			if c.matcher.Match(t.Name) && len(t.Events) > 0 {
				tests = append(tests, t)
			}
		}
		if len(tests) == 0 {
			fmt.Fprintln(stderr, "raftviz: no test with events to show")
			if !c.quiet {
				reportUnderstood(stderr, &sum)
			}
			return exitUsage
		}
		model = timeline.New(tests, opts)
	} else {
		opts.Loading = true
		if name := inputs[0].Name; name != "-" {
			// A file can be read again: keep only the test on screen in memory.
			opts.Reload = func(want *parse.Test) (*parse.Test, error) {
				return reloadTest(name, c.parseOptions(name), want)
			}
		}
		model = timeline.New(nil, opts)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(model, append(programOptions(stdin, stdout), tea.WithContext(ctx))...)
	errc := make(chan error, 1)
	if len(inputs) == 1 {
		go func() {
			errc <- timeline.Load(ctx, inputs[0].Reader, c.parseOptions(inputs[0].Name),
				c.matcher.MatchTest, p.Send)
		}()
	} else {
		errc <- nil
	}
	_, err := p.Run()
	cancel()
	if lerr := <-errc; lerr != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "raftviz: %v\n", pathError(lerr))
		return exitUsage
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		fmt.Fprintf(stderr, "raftviz: %v\n", err)
		return exitUsage
	}
	return exitOK
}

var errFound = errors.New("found")

// reloadTest reads one test (by package, name and attempt: parse.Test.Key) from a log file
// again.
func reloadTest(path string, opts parse.Options, want *parse.Test) (*parse.Test, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if want.Package != "" {
		opts.HoldForPackage = true // go test -v names the package after the test
	}
	var found *parse.Test
	err = parse.Scan(f, parse.NewParser(opts), parse.ScanOptions{
		Emit: func(t *parse.Test) error {
			if t.Key() == want.Key() {
				found = t
				return errFound
			}
			return nil
		}})
	if found != nil {
		return found, nil
	}
	if err == nil {
		err = fmt.Errorf("%s has no test %s any more", path, want.QualifiedName())
	}
	return nil, err
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
	name := "-"
	if len(c.files) == 1 {
		name = c.files[0]
	}
	if name != "-" {
		if _, err := os.Stat(name); err != nil {
			fmt.Fprintf(stderr, "raftviz: %v\n", pathError(err))
			return exitUsage
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(timeline.New(nil, tuiOptions(c)), append(programOptions(stdin, stdout), tea.WithContext(ctx))...)
	errc := make(chan error, 1)
	go func() {
		opts := c.parseOptions(name)
		if name == "-" {
			errc <- timeline.FollowReader(ctx, stdin, opts, 0, p.Send)
		} else {
			errc <- timeline.FollowFile(ctx, name, opts, 0, p.Send)
		}
	}()
	_, err := p.Run()
	cancel()
	if ferr := <-errc; ferr != nil {
		fmt.Fprintf(stderr, "raftviz: following %s: %v\n", name, pathError(ferr))
		return exitUsage
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "raftviz: %v\n", err)
		return exitUsage
	}
	return exitOK
}
