package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
)

const analyzeUsage = `usage: raftviz analyze [flags] [file ...]

Reports per test: the leader of each term and for how long, elections, term changes, commits and
applies per node, commit latency, RPC counts and round trips, heartbeat gaps, crashes; and checks
Raft's safety properties from the events alone. Exits 1 when a violation is found, 0 otherwise,
so it can gate CI.

  raftviz analyze run.log
  go test -v ./raft/ 2>&1 | raftviz analyze --json

Flags:
`

func analyzeCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftviz analyze", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runRe := fs.String("run", "", "only tests matching `regexp`, as go test -run selects them")
	jsonOut := fs.Bool("json", false, "write the report as JSON")
	format := fs.String("format", "auto", "input `format`, as for raftviz: auto, gotest, json (go test -json), plain; text and json (report formats) are kept as the old spelling of --json")
	slow := fs.Duration("slow", 100*time.Millisecond, "flag RPC round trips longer than `d`")
	out := fs.String("o", "", "write the report to `file`")
	group := fs.String("group", "", "analyse only this Raft `group` (a log of several, as NATS JetStream's; raftviz --list shows them)")
	linHTML := fs.String("lin-html", "", "write porcupine's visualization of each test's client history to `file` (test number appended when several)")
	var pf profileFlags
	pf.register(fs)
	if code, done := parseCommandFlags(fs, args, analyzeUsage, stdout, stderr); done {
		return code
	}
	// --format once chose the report format; "text" and "json" keep meaning that. Input in
	// go test -json form is detected without it.
	inFormat := parse.FormatAuto
	switch *format {
	case "text":
	case "json":
		*jsonOut = true
	default:
		var ok bool
		if inFormat, ok = parse.ParseFormat(*format); !ok {
			fmt.Fprintf(stderr, "raftviz analyze: unknown --format %q (want auto, gotest or plain; --json for a JSON report)\n", *format)
			return exitUsage
		}
	}
	matcher, err := parse.NewMatcher(*runRe)
	if err != nil {
		fmt.Fprintf(stderr, "raftviz analyze: %v\n", err)
		return exitUsage
	}
	prof, err := pf.resolve()
	if err != nil {
		fmt.Fprintf(stderr, "raftviz analyze: %v\n", err)
		return exitUsage
	}
	if *linHTML != "" {
		// Said before the analysis, not as a note after it with exit 0.
		if st, err := os.Stat(filepath.Dir(*linHTML)); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "raftviz analyze: --lin-html: no directory %s to write %s in\n", filepath.Dir(*linHTML), filepath.Base(*linHTML))
			return exitUsage
		}
	}
	files, src, err := openCommandInput(fs.Args(), stdin, parse.Options{Format: inFormat, Profile: prof, UserProfiles: pf.user,
		HoldForPackage: matcher.NamesPackage()})
	if err != nil {
		fmt.Fprintf(stderr, "raftviz analyze: %v\n", err)
		return exitUsage
	}
	defer src.Close()
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "raftviz analyze: %v\n", pathError(err))
			return exitUsage
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	opts := analyze.Options{SlowRPC: *slow, Group: *group}
	htmlN := 0
	var reports []analyze.Report
	violations, analyzed := 0, 0
	err = analyze.Stream(ctx, src, analyze.StreamOptions{
		Select: func(t *parse.Test) (analyze.Options, bool) {
			if !matcher.MatchTest(t) {
				return analyze.Options{}, false
			}
			o := opts
			if *linHTML != "" {
				htmlN++
				o.LinHTML = *linHTML
				if htmlN > 1 {
					o.LinHTML = strings.TrimSuffix(*linHTML, ".html") + "-" + strconv.Itoa(htmlN) + ".html"
				}
			}
			return o, true
		},
		// A pattern that names a package waits for the test to end (go test -v names the
		// package last).
		Whole: matcher.NamesPackage(),
		Report: func(r analyze.Report) error {
			analyzed++
			violations += r.Failures()
			if *jsonOut {
				reports = append(reports, r)
			} else {
				analyze.WriteText(bw, r)
			}
			return nil
		},
	})
	sum := src.Summary()
	lines := sum.Lines
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "raftviz analyze: interrupted")
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(stderr, "raftviz analyze: %v\n", pathError(err))
		return exitUsage
	case lines == 0:
		fmt.Fprintf(stderr, "raftviz analyze: no input: %s\n", emptyInputs(files))
		return exitUsage
	}
	if *jsonOut {
		if err := analyze.WriteJSON(bw, reports); err != nil {
			fmt.Fprintf(stderr, "raftviz analyze: %v\n", err)
			return exitUsage
		}
	} else {
		fmt.Fprintf(bw, "%s analysed, %s\n", plural(analyzed, "test"), plural(violations, "safety violation"))
	}
	if analyzed == 0 {
		bw.Flush()
		fmt.Fprintln(stderr, "raftviz analyze: no test with events in the input")
		return exitUsage
	}
	if violations > 0 {
		return exitTestsFailed
	}
	return exitOK
}

const diffUsage = `usage: raftviz diff [flags] A B

Puts two runs of the same tests side by side (a passing and a failing one, say) and shows where
they first diverge: the leader of each term, and the sequence of committed commands.

Flags:
`

// openCommandInput opens a subcommand's inputs: the files named, or stdin ("-") when none is;
// stdin on a terminal is refused (nothing would ever come). One log's lines outside tests are
// named after the file.
func openCommandInput(files []string, stdin io.Reader, opts parse.Options) ([]string, *parse.Source, error) {
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, f := range files {
		if f == "-" && isTerminal(stdin) {
			return nil, nil, errors.New("no input: pipe go test output in or name a file")
		}
	}
	if len(files) == 1 {
		opts.ImplicitName = files[0]
	}
	src, err := parse.Open(files, stdin, opts)
	return files, src, err
}

// parseCommandFlags parses a subcommand's flags (fs named after the command): -h prints its
// usage and flags on stdout, a bad flag is said in one line on stderr. done says the command
// ends there, with code.
func parseCommandFlags(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
		return exitOK, true
	default:
		fmt.Fprintf(stderr, "%s: %v (%s -h lists the flags)\n", fs.Name(), err, fs.Name())
		return exitUsage, true
	}
}

func diffCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftviz diff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runRe := fs.String("run", "", "only tests matching `regexp`")
	if code, done := parseCommandFlags(fs, args, diffUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "raftviz diff: name two logs: raftviz diff A B")
		return exitUsage
	}
	matcher, err := parse.NewMatcher(*runRe)
	if err != nil {
		fmt.Fprintf(stderr, "raftviz diff: %v\n", err)
		return exitUsage
	}
	read := func(path string) (map[string]*parse.Test, []string, error) {
		tests, sum, err := parse.ReadFiles([]string{path}, parse.Options{ImplicitName: "(log)"})
		if err != nil {
			return nil, nil, pathError(err)
		}
		if sum.Lines == 0 {
			return nil, nil, fmt.Errorf("no input: %s", emptyInputs([]string{path}))
		}
		// A test is named as --list names it: by package only where the log holds several
		// (go test ./...), so that two runs of one package line up with or without it.
		pkgs := map[string]bool{}
		for _, t := range tests {
			pkgs[t.Package] = true
		}
		byName := map[string]*parse.Test{}
		var order []string
		for _, t := range tests {
			name := t.Name
			if len(pkgs) > 1 {
				name = t.QualifiedName()
			}
			if t.Attempt > 1 {
				name += "#" + strconv.Itoa(t.Attempt)
			}
			if matcher.MatchTest(t) && len(t.Events) > 0 {
				byName[name] = t
				order = append(order, name)
			}
		}
		return byName, order, nil
	}
	a, order, err := read(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "raftviz diff: %v\n", err)
		return exitUsage
	}
	b, orderB, err := read(fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "raftviz diff: %v\n", err)
		return exitUsage
	}
	bw := bufio.NewWriter(stdout)
	defer bw.Flush()
	compared := 0
	var onlyA, onlyB []string
	for _, name := range orderB {
		if _, ok := a[name]; !ok {
			onlyB = append(onlyB, name)
		}
	}
	defer func() {
		// A test in one run only is a difference too (it did not run, or under another name).
		if len(onlyA) > 0 {
			fmt.Fprintf(bw, "only in A (%s): %s\n", fs.Arg(0), strings.Join(onlyA, ", "))
		}
		if len(onlyB) > 0 {
			fmt.Fprintf(bw, "only in B (%s): %s\n", fs.Arg(1), strings.Join(onlyB, ", "))
		}
	}()
	for _, name := range order {
		tb, ok := b[name]
		if !ok {
			onlyA = append(onlyA, name)
			continue
		}
		if ctx.Err() != nil {
			return exitInterrupted
		}
		compared++
		writeDiff(bw, name, a[name], tb, fs.Arg(0), fs.Arg(1))
	}
	if compared == 0 {
		bw.Flush()
		fmt.Fprintln(stderr, "raftviz diff: the two logs have no test in common")
		return exitUsage
	}
	return exitOK
}

// commitSeq is the commands in index order, as the first node to apply each index applied it.
func commitSeq(t *parse.Test) []string {
	var seq []string
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != "apply" {
			continue
		}
		idx, ok := e.FieldInt("index")
		if !ok || idx < 1 {
			continue
		}
		cmd, _ := e.Field("cmd")
		for int64(len(seq)) < idx {
			seq = append(seq, "")
		}
		if seq[idx-1] == "" {
			seq[idx-1] = cmd
		}
	}
	return seq
}

func writeDiff(w io.Writer, name string, a, b *parse.Test, nameA, nameB string) {
	ra, rb := analyze.Test(a, analyze.Options{}), analyze.Test(b, analyze.Options{})
	fmt.Fprintf(w, "== %s: A %s (%s), B %s (%s)\n", name, ra.Status, nameA, rb.Status, nameB)
	leaders := func(r analyze.Report) map[uint64]analyze.Term {
		m := map[uint64]analyze.Term{}
		for _, t := range r.Terms {
			m[t.Term] = t
		}
		return m
	}
	la, lb := leaders(ra), leaders(rb)
	var terms []uint64
	seen := map[uint64]bool{}
	for _, r := range []analyze.Report{ra, rb} {
		for _, t := range r.Terms {
			if !seen[t.Term] {
				seen[t.Term] = true
				terms = append(terms, t.Term)
			}
		}
	}
	sortU64(terms)
	tw := table.NewWriter()
	tw.SetOutputMirror(w)
	tw.SetStyle(table.StyleLight)
	tw.AppendHeader(table.Row{"TERM", "A LEADER", "A FROM", "B LEADER", "B FROM", "DIFFERS"})
	first := ""
	show := func(t analyze.Term, ok bool) (string, string) {
		switch {
		case !ok:
			return "-", "-"
		case t.Leader == "":
			return "none", t.Start
		}
		return t.Leader, t.Start
	}
	for _, term := range terms {
		ta, oka := la[term]
		tb, okb := lb[term]
		al, af := show(ta, oka)
		bl, bf := show(tb, okb)
		mark := ""
		if al != bl {
			mark = "≠"
			if first == "" {
				first = fmt.Sprintf("elections diverge at term %d: A elected %s, B elected %s", term, al, bl)
			}
		}
		tw.AppendRow(table.Row{term, al, af, bl, bf, mark})
	}
	tw.Render()
	if first == "" {
		fmt.Fprintln(w, "elections: the same leader in every term")
	} else {
		fmt.Fprintln(w, first)
	}
	ca, cb := commitSeq(a), commitSeq(b)
	switch {
	case len(ca) == 0 && len(cb) == 0:
		fmt.Fprintln(w, "commits: none recorded (the logs have no apply events)")
	default:
		div := -1
		for i := 0; i < max(len(ca), len(cb)); i++ {
			var x, y string
			if i < len(ca) {
				x = ca[i]
			}
			if i < len(cb) {
				y = cb[i]
			}
			if x != y {
				div = i
				break
			}
		}
		if div < 0 {
			fmt.Fprintf(w, "commits: the same %d commands in the same order\n", len(ca))
		} else {
			get := func(s []string, i int) string {
				if i < len(s) && s[i] != "" {
					return strconv.Quote(s[i])
				}
				return "nothing"
			}
			fmt.Fprintf(w, "commits diverge at index %d: A applied %s, B applied %s (A applied %d entries, B %d)\n",
				div+1, get(ca, div), get(cb, div), len(ca), len(cb))
		}
	}
	fmt.Fprintf(w, "safety: A %d violations, B %d\n\n", len(ra.Violations), len(rb.Violations))
}

func sortU64(s []uint64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// writeSummary writes the short analysis that --summary puts under a table.
func writeSummary(w io.Writer, t *parse.Test) {
	if len(t.Events) == 0 {
		return
	}
	r := analyze.Test(t, analyze.Options{})
	var terms []string
	for _, term := range r.Terms {
		if term.Leader == "" {
			terms = append(terms, fmt.Sprintf("term %d: no leader", term.Term))
			continue
		}
		terms = append(terms, fmt.Sprintf("term %d: %s for %s", term.Term, term.Leader,
			time.Duration(term.Led*float64(time.Second)).Round(time.Microsecond)))
	}
	if len(terms) > 8 {
		terms = append(terms[:8], fmt.Sprintf("... %d terms in all", len(r.Terms)))
	}
	if len(terms) == 0 {
		terms = []string{"no leader found"}
	}
	fmt.Fprintf(w, "summary: leaders: %s\n", strings.Join(terms, "; "))
	if r.Commit.Count > 0 {
		fmt.Fprintf(w, "summary: commit latency p50 %s p99 %s max %s (%d commands)\n",
			time.Duration(r.Commit.P50*1e9), time.Duration(r.Commit.P99*1e9), time.Duration(r.Commit.Max*1e9), r.Commit.Count)
	}
	fmt.Fprintf(w, "summary: safety: %s\n", r.Verdict())
	for _, v := range r.Violations {
		label := "VIOLATION"
		if v.Warning {
			label = "WARNING"
		}
		fmt.Fprintf(w, "summary: %s %s: %s\n", label, v.Check, v.Detail)
	}
	fmt.Fprintln(w)
}

// plural writes n and a noun, in the plural unless n is 1 ("1 test", "3 tests").
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
