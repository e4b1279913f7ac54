package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
	"github.com/raftviz/raftviz/parse/explain"
)

const explainUsage = `usage: raftviz explain [flags] [file ...]

For each failing test (a test with no result line in a run that failed counts: the process
ended while it ran), and each test whose safety checks analyze finds violated: the symptom in
the test's own words, then what its rules find in the events (a broken safety property first,
then the others, earliest first), each with the few events that show it and whether the log
states it or it is inferred. When no rule finds anything it says so and shows each node's last
events. Exits 1 when a test needs explaining, 0 when every test passed and no check was
violated.

  raftviz explain run.log
  go test -v -run TestFigure8 ./raft/ 2>&1 | raftviz explain --format markdown

Rules:
%s
Flags:
`

func explainCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftviz explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runRe := fs.String("run", "", "only tests matching `regexp`, as go test -run selects them")
	format := fs.String("format", "text", "output `format`: text, json or markdown")
	var pf profileFlags
	pf.register(fs)
	var rules strings.Builder
	for _, r := range explain.Rules {
		fmt.Fprintf(&rules, "  %-14s %s\n", r.Name, r.Doc)
	}
	if code, done := parseCommandFlags(fs, args, fmt.Sprintf(explainUsage, rules.String()), stdout, stderr); done {
		return code
	}
	if *format != "text" && *format != "json" && *format != "markdown" {
		fmt.Fprintf(stderr, "raftviz explain: unknown --format %q (want text, json or markdown)\n", *format)
		return exitUsage
	}
	matcher, err := parse.NewMatcher(*runRe)
	if err != nil {
		fmt.Fprintf(stderr, "raftviz explain: %v\n", err)
		return exitUsage
	}
	prof, err := pf.resolve()
	if err != nil {
		fmt.Fprintf(stderr, "raftviz explain: %v\n", err)
		return exitUsage
	}
	files, src, err := openCommandInput(fs.Args(), stdin, parse.Options{Profile: prof, UserProfiles: pf.user,
		HoldForPackage: matcher.NamesPackage()})
	if err != nil {
		fmt.Fprintf(stderr, "raftviz explain: %v\n", err)
		return exitUsage
	}
	defer src.Close()
	bw := bufio.NewWriterSize(stdout, 64<<10)
	defer bw.Flush()
	var all []explain.Explanation
	read, explained := 0, 0
	write := func(t *parse.Test, ex explain.Explanation) {
		explained++
		look := lookCommand(t, files)
		switch *format {
		case "text":
			explain.WriteText(bw, ex, look)
		case "markdown":
			explain.WriteMarkdown(bw, ex, look)
		default:
			all = append(all, ex)
		}
	}
	// A test with no result (UNKNOWN) failed if the run did (the process ended while it ran),
	// and was only cut off if the log ends there: which, the run's last lines say. Such tests
	// are few (the one running at the end), so they wait for the end of the input.
	type unfinishedTest struct {
		t *parse.Test
		r analyze.Report
	}
	var unfinished []unfinishedTest
	err = src.Scan(ctx, parse.ScanOptions{Emit: func(t *parse.Test) error {
		if !matcher.MatchTest(t) || len(t.Events) == 0 && t.Status != parse.StatusFail {
			return nil
		}
		read++
		r := analyze.Test(t, analyze.Options{})
		switch {
		case explain.NeedsExplaining(t, r):
			write(t, explain.Explain(t, r))
		case t.Status == parse.StatusUnknown && !t.Implicit: // a plain log's lines are no test run
			unfinished = append(unfinished, unfinishedTest{t, r})
		}
		return nil
	}})
	cutOff := 0 // unfinished tests of a log that ends without failing
	if err == nil && ctx.Err() == nil {
		sum := src.Summary()
		for _, u := range unfinished {
			if sum.Status(nil) != parse.StatusFail {
				cutOff++
				continue
			}
			write(u.t, explain.ExplainUnfinished(u.t, u.r))
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "raftviz explain: interrupted")
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(stderr, "raftviz explain: %v\n", pathError(err))
		return exitUsage
	case src.Summary().Lines == 0:
		fmt.Fprintf(stderr, "raftviz explain: no input: %s\n", emptyInputs(files))
		return exitUsage
	case read == 0:
		fmt.Fprintln(stderr, "raftviz explain: no test with events in the input")
		return exitUsage
	}
	if *format == "json" {
		if all == nil {
			all = []explain.Explanation{}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			fmt.Fprintf(stderr, "raftviz explain: %v\n", err)
			return exitUsage
		}
	} else if explained == 0 && cutOff > 0 {
		runs := "they run"
		if cutOff == 1 {
			runs = "it runs"
		}
		fmt.Fprintf(bw, "nothing to explain: %s, %d with no result (the log ends while %s), the others passed; no safety check violated\n",
			plural(read, "test"), cutOff, runs)
	} else if explained == 0 {
		fmt.Fprintf(bw, "nothing to explain: %s, each passed with no safety check violated\n", plural(read, "test"))
	} else {
		fmt.Fprintf(bw, "%s read, %d to explain\n", plural(read, "test"), explained)
	}
	if explained > 0 {
		return exitTestsFailed
	}
	return exitOK
}

// lookCommand is how to open a test in the timeline: its name as -run selects it, and the
// files; "" when the input was stdin (it cannot be read again).
func lookCommand(t *parse.Test, files []string) string {
	for _, f := range files {
		if f == "-" {
			return ""
		}
	}
	cmd := "raftviz --tui"
	if !t.Implicit {
		parts := strings.Split(t.Name, "/")
		for i, p := range parts {
			parts[i] = "^" + regexp.QuoteMeta(p) + "$"
		}
		cmd += " -run '" + strings.Join(parts, "/") + "'"
	}
	return cmd + " " + strings.Join(files, " ")
}
