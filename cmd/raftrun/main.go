// Command raftrun captures Raft debug output worth looking at with raftviz.
//
//	raftrun test -run TestElection -count 50 -parallel 4 ./raft/
//	raftrun live -n 5 --log live.log
//	raftrun sim --seed 7 --steps 20000 -o sim.log
//	raftrun node --id 1 --listen :7001 --peers 2=:7002,3=:7003 --data n1
//	raftrun client --peers 1=:7001,2=:7002,3=:7003 set x 1
//	raftrun soak --cycles 100
//
// raftrun test builds a package's test binary once, runs it many times in parallel with debug
// output switched on (RAFT_DEBUG=1), keeps the complete log of every failing run and ends with a
// table of runs, failures and durations per test. live drives an in-process cluster from a
// prompt or script; sim runs the deterministic simulator; node and client run a cluster of
// separate processes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/mattn/go-isatty"

	"github.com/raftviz/raftviz/cmd/raftrun/testrun"
	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/render"
)

// Exit codes, as raftviz's.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

const usageText = `usage: raftrun <command> [flags]

Commands:
  test    run a test package many times with debug output on; keep the logs of failing runs
  live    start a cluster on this machine and drive it from a prompt or a script
  sim     run a seeded, deterministic simulation with faults; check safety
  node    run one Raft node as its own process (clusters across processes and machines)
  client  send set/get/del to a cluster of raftrun nodes
  key     write a new cluster key to a file (node and client --cluster-key)
  bench   measure writes/s, commit latency and failover time of the Raft core
  soak    kill, pause, wipe and reconfigure node processes under client load; check the history

Run 'raftrun <command> -h' for the command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch args[0] {
	case "test":
		return testCommand(ctx, args[1:], stdout, stderr)
	case "live":
		return liveCommand(ctx, args[1:], stdin, stdout, stderr)
	case "sim":
		return simCommand(ctx, args[1:], stdout, stderr)
	case "node":
		return nodeCommand(ctx, args[1:], stdout, stderr)
	case "client":
		return clientCommand(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCommand(ctx, args[1:], stdout, stderr)
	case "soak":
		return soakCommand(ctx, args[1:], stdout, stderr)
	case "key":
		return keyCommand(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(stderr, "raftrun: unknown command %q (raftrun -h lists them)\n", args[0])
	return exitUsage
}

func testCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o testrun.Options
	var viz bool
	fs.StringVar(&o.Run, "run", "", "run only tests matching `regexp` (as go test -run)")
	fs.IntVar(&o.Count, "count", 1, "run the test binary `n` times")
	fs.IntVar(&o.Parallel, "parallel", 2, "run `p` test binaries at once")
	fs.BoolVar(&o.JSON, "json", false, "capture go test -json output (through test2json) instead of -v text")
	fs.BoolVar(&o.KeepAll, "keep-all", false, "keep the logs of passing runs too")
	fs.StringVar(&o.RunsDir, "runs", "runs", "`directory` for the captured logs")
	fs.DurationVar(&o.Timeout, "timeout", 0, "fail a run that takes longer than `d` (default: go test's 10m)")
	fs.BoolVar(&viz, "viz", false, "print the timing tables of the first failing run's failed tests")
	var tui bool
	fs.BoolVar(&tui, "tui", false, "open the first failing run's log in raftviz's timeline")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: raftrun test [flags] [package]")
			fs.PrintDefaults()
			return exitOK
		}
		fmt.Fprintf(stderr, "raftrun test: %v (raftrun test -h lists the flags)\n", err)
		return exitUsage
	}
	switch fs.NArg() {
	case 0:
		o.Package = "."
	case 1:
		o.Package = fs.Arg(0)
	default:
		fmt.Fprintf(stderr, "raftrun test: one package at a time, got %d\n", fs.NArg())
		return exitUsage
	}
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		o.Progress = testrun.ProgressBar(stderr)
	}
	runs, err := testrun.Execute(ctx, o)
	interrupted := ctx.Err() != nil
	if err != nil && !interrupted {
		fmt.Fprintf(stderr, "raftrun test: %v\n", err)
		return exitUsage
	}
	if len(runs) == 0 && interrupted {
		fmt.Fprintln(stderr, "raftrun test: interrupted before any run finished")
		return exitInterrupted
	}
	if !interrupted && len(testrun.Summarize(runs)) == 0 && allPassed(runs) {
		// go test calls a run of no test ok; a user who asked for tests gets none.
		what := "no test"
		if o.Run != "" {
			what = "no test matching -run " + o.Run
		}
		pkg := o.Package
		if pkg == "" {
			pkg = "."
		}
		fmt.Fprintf(stderr, "raftrun test: %s is in %s: go test ran none\n", what, pkg)
		return exitFailed
	}
	failed := report(stdout, o, runs)
	if viz && failed > 0 {
		showFailures(stdout, stderr, runs)
	}
	if tui && failed > 0 {
		for _, r := range runs {
			if r.Status != parse.StatusPass && r.Log != "" {
				if err := openTimeline(ctx, r.Log, false, stdout, nil); err != nil {
					fmt.Fprintf(stderr, "raftrun test: %v\n", err)
				}
				break
			}
		}
	}
	switch {
	case interrupted:
		fmt.Fprintf(stderr, "raftrun test: interrupted after %d of %d runs; their logs are kept\n", len(runs), o.Count)
		return exitInterrupted
	case failed > 0:
		return exitFailed
	}
	return exitOK
}

// allPassed reports whether every run passed.
func allPassed(runs []testrun.Run) bool {
	for _, r := range runs {
		if r.Status != parse.StatusPass {
			return false
		}
	}
	return true
}

// report prints the per-test table and where the logs went; it returns the number of failed runs.
func report(w io.Writer, o testrun.Options, runs []testrun.Run) int {
	tw := table.NewWriter()
	tw.SetStyle(table.StyleLight)
	tw.AppendHeader(table.Row{"TEST", "RUNS", "FAILURES", "MEAN", "MAX"})
	for _, s := range testrun.Summarize(runs) {
		tw.AppendRow(table.Row{s.Name, s.Runs, s.Failures, fmtDur(s.Mean), fmtDur(s.Max)})
	}
	fmt.Fprintln(w, tw.Render())
	failed, kept := 0, 0
	for _, r := range runs {
		if r.Status != parse.StatusPass {
			failed++
		}
		if r.Log != "" {
			kept++
		}
	}
	runsWord := "runs"
	if len(runs) == 1 {
		runsWord = "run"
	}
	fmt.Fprintf(w, "%d %s, %d failed; ", len(runs), runsWord, failed)
	if kept == 0 {
		fmt.Fprintln(w, "no logs kept (only failing runs are kept; --keep-all keeps every one)")
	} else {
		dir := o.RunsDir
		for _, r := range runs {
			if r.Log != "" {
				dir = filepath.Dir(r.Log) // this call's folder in RunsDir
				break
			}
		}
		fmt.Fprintf(w, "%d logs in %s/\n", kept, dir)
		for _, r := range runs {
			if r.Log != "" && r.Status != parse.StatusPass {
				fmt.Fprintf(w, "  %s  %s\n", r.Status, r.Log)
			}
		}
	}
	return failed
}

// showFailures renders the failed tests of the first failing run as timing tables.
func showFailures(stdout, stderr io.Writer, runs []testrun.Run) {
	for _, r := range runs {
		if r.Status == parse.StatusPass || r.Log == "" {
			continue
		}
		tests, _, err := parse.ReadFiles([]string{r.Log}, parse.Options{})
		if err != nil {
			fmt.Fprintf(stderr, "raftrun test: %v\n", err)
			return
		}
		fmt.Fprintf(stdout, "\nTiming tables of %s:\n\n", r.Log)
		w := render.NewWriter(stdout, render.Options{Wrap: render.DefaultWrap, Compact: true})
		for _, t := range tests {
			if t.Status != parse.StatusPass && !t.Implicit {
				_ = w.Test(t)
			}
		}
		return
	}
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// parseCommandFlags parses a subcommand's flags. On -h it prints usage (and after it the flags
// and the trailer, if any) to stdout; on an error it says so on stderr in one line. ok is
// false when the command must end now with code.
// parseFlagsOnly is parseCommandFlags for a command that takes flags and nothing else: a
// word left over (raftrun live 5) is refused rather than silently ignored.
func parseFlagsOnly(fs *flag.FlagSet, args []string, usage, trailer string, stdout, stderr io.Writer) (code int, ok bool) {
	if code, ok := parseCommandFlags(fs, args, usage, trailer, stdout, stderr); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q (flags come as --name value; %s -h lists them)\n", fs.Name(), fs.Arg(0), fs.Name())
		return exitUsage, false
	}
	return 0, true
}

func parseCommandFlags(fs *flag.FlagSet, args []string, usage, trailer string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
		if trailer != "" {
			fmt.Fprintln(stdout, "\n"+trailer)
		}
		return exitOK, false
	}
	fmt.Fprintf(stderr, "%s: %v (%s -h lists the flags)\n", fs.Name(), err, fs.Name())
	return exitUsage, false
}
