// Package testrun runs a Go test package many times with Raft debug output switched on, in
// parallel, and keeps the complete output of every run that failed: how flaky failures of a
// Raft implementation are caught and then looked at with raftviz.
//
// The test binary is built once (go test -c) and run N times; each run's output is parsed with
// package parse to learn which tests passed or failed and how long they took.
package testrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/raftviz/raftviz/parse"
)

// Options say what to run.
type Options struct {
	Package  string        // import path or directory, as go test takes it ("." when empty)
	Run      string        // -run regexp
	Count    int           // how many runs
	Parallel int           // runs at once
	JSON     bool          // capture go test -json (through test2json) instead of -v text
	KeepAll  bool          // keep the logs of passing runs too
	RunsDir  string        // where logs go: in a folder of their own per Execute, RunsDir/001, 002, ...
	Timeout  time.Duration // per run; 0 means go test's default (10m)
	Env      []string      // extra environment for the test binary
	// Progress, when set, is called after each run completes.
	Progress func(done, failed, total int)
}

// Run is the outcome of one execution of the test binary.
type Run struct {
	Attempt  int
	Status   parse.Status // FAIL when any test failed or the binary died
	Log      string       // path of the kept log, "" when it was deleted
	Duration time.Duration
	Tests    []TestResult
	Err      error // the binary could not be started, or it was interrupted
}

// TestResult is one test's result within a run.
type TestResult struct {
	Name    string
	Status  parse.Status
	Elapsed time.Duration
}

// Summary aggregates every run of one test.
type Summary struct {
	Name     string
	Runs     int
	Failures int // FAIL or UNKNOWN (a timeout or crash)
	Mean     time.Duration
	Max      time.Duration
}

// Execute builds the test binary and runs it opts.Count times. It returns the runs that finished
// (in attempt order) even when ctx is cancelled; ctx.Err() then tells the caller it was cut short.
func Execute(ctx context.Context, opts Options) ([]Run, error) {
	if opts.Count < 1 {
		return nil, fmt.Errorf("-count must be at least 1, not %d", opts.Count)
	}
	if opts.Parallel < 1 {
		opts.Parallel = 1
	}
	if opts.Package == "" {
		opts.Package = "."
	}
	if opts.Run != "" {
		if _, err := regexp.Compile(opts.Run); err != nil {
			return nil, fmt.Errorf("invalid -run pattern %q: %v", opts.Run, err)
		}
	}
	if opts.RunsDir == "" {
		opts.RunsDir = "runs"
	}
	// A directory is built from inside it, so a package outside the current module works too.
	workDir, pkgArg := "", opts.Package
	st, statErr := os.Stat(opts.Package)
	if statErr != nil && (filepath.IsAbs(opts.Package) || strings.HasPrefix(opts.Package, ".")) {
		return nil, fmt.Errorf("no package directory %s", opts.Package)
	}
	if statErr == nil && st.IsDir() {
		var err error
		if workDir, err = filepath.Abs(opts.Package); err != nil {
			return nil, err
		}
		pkgArg = "."
	}
	dir, importPath, err := packageDir(ctx, workDir, pkgArg)
	if err != nil {
		return nil, err
	}
	bin, err := os.MkdirTemp("", "raftrun-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bin)
	exe := filepath.Join(bin, "pkg.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", exe, pkgArg)
	build.Dir = workDir
	if out, err := build.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("go test -c %s failed:\n%s", opts.Package, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("package %s has no tests", opts.Package)
	}
	// Only now: a mistyped package or pattern leaves nothing behind. Each call's logs go in a
	// folder of their own: a second call used to write TestX-001-FAIL.log beside an earlier
	// call's TestX-005-FAIL.log, and nothing told the two runs apart.
	session, err := newSessionDir(opts.RunsDir)
	if err != nil {
		return nil, err
	}
	defer os.Remove(session) // only when empty: nothing was kept
	opts.RunsDir = session

	runs := make([]Run, opts.Count)
	jobs := make(chan int)
	var mu sync.Mutex
	done, failed := 0, 0
	var wg sync.WaitGroup
	for w := 0; w < min(opts.Parallel, opts.Count); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := runOnce(ctx, opts, exe, dir, importPath, i+1)
				mu.Lock()
				runs[i] = r
				if r.Err == nil {
					done++
					if r.Status != parse.StatusPass {
						failed++
					}
					if opts.Progress != nil {
						opts.Progress(done, failed, opts.Count)
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := 0; i < opts.Count; i++ {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	var finished []Run
	for _, r := range runs {
		if r.Attempt > 0 && r.Err == nil {
			finished = append(finished, r)
		}
	}
	return finished, ctx.Err()
}

// newSessionDir creates the next free numbered folder (001, 002, ...) in parent.
func newSessionDir(parent string) (string, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	for n := 1; n < 100000; n++ {
		dir := filepath.Join(parent, fmt.Sprintf("%03d", n))
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s holds 99,999 runs' folders: remove old ones", parent)
}

// packageDir finds the directory of a package: a test binary must run there, as go test does, so
// that testdata paths resolve.
func packageDir(ctx context.Context, workDir, pkg string) (dir, importPath string, err error) {
	list := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}\n{{.ImportPath}}", pkg)
	list.Dir = workDir
	out, err := list.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return "", "", fmt.Errorf("%s", strings.TrimSpace(string(ee.Stderr)))
		}
		return "", "", fmt.Errorf("go list %s: %v", pkg, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", "", fmt.Errorf("%s names %d packages; raftrun test takes one", pkg, len(lines)/2)
	}
	return lines[0], lines[1], nil
}

// runOnce executes the binary once, saving its output, and classifies the result.
func runOnce(ctx context.Context, opts Options, exe, dir, importPath string, attempt int) Run {
	r := Run{Attempt: attempt}
	args := []string{"-test.v", "-test.count=1"}
	if opts.Run != "" {
		args = append(args, "-test.run="+opts.Run)
	}
	if opts.Timeout > 0 {
		args = append(args, "-test.timeout="+opts.Timeout.String())
	}
	var cmd *exec.Cmd
	if opts.JSON {
		// test2json frames the binary's -test.v=test2json output exactly as go test -json does.
		args[0] = "-test.v=test2json"
		cmd = exec.Command("go", append([]string{"tool", "test2json", "-t", "-p", importPath, exe}, args...)...)
	} else {
		cmd = exec.Command(exe, args...)
	}
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "RAFT_DEBUG=1"), opts.Env...)
	// Its own process group, so Ctrl-C or cancellation stops the binary and anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		r.Err = err
		return r
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	var err error
	select {
	case err = <-waitErr:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waitErr
		r.Err = ctx.Err()
		if out.Len() > 0 { // keep what the cut-short run printed: it may be the interesting one
			r.Log = filepath.Join(opts.RunsDir, logName(opts, attempt, parse.StatusUnknown))
			r.Log = strings.Replace(r.Log, "-UNKNOWN", "-INTERRUPTED", 1)
			_ = os.WriteFile(r.Log, out.Bytes(), 0o644)
		}
		return r
	}
	r.Duration = time.Since(start)

	tests, sum, _ := parse.Read(bytes.NewReader(out.Bytes()), parse.Options{})
	r.Status = parse.StatusPass
	for _, t := range tests {
		if t.Implicit {
			continue
		}
		r.Tests = append(r.Tests, TestResult{Name: t.Name, Status: t.Status, Elapsed: t.Elapsed})
		if t.Status == parse.StatusFail || t.Status == parse.StatusUnknown {
			r.Status = parse.StatusFail
		}
	}
	if err != nil || sum.Status(tests) == parse.StatusFail {
		r.Status = parse.StatusFail // a crash or timeout may leave no test marked FAIL
	}
	if r.Status != parse.StatusPass || opts.KeepAll {
		r.Log = filepath.Join(opts.RunsDir, logName(opts, attempt, r.Status))
		if werr := os.WriteFile(r.Log, out.Bytes(), 0o644); werr != nil {
			r.Err = werr
		}
	}
	return r
}

// logName says test, attempt and result: TestElection-007-FAIL.log (.jsonl for -json).
func logName(opts Options, attempt int, st parse.Status) string {
	name := "run"
	if opts.Run != "" {
		name = sanitize(opts.Run)
	}
	ext := ".log"
	if opts.JSON {
		ext = ".jsonl"
	}
	return fmt.Sprintf("%s-%03d-%s%s", name, attempt, st, ext)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func sanitize(s string) string {
	s = strings.Trim(unsafeName.ReplaceAllString(s, "_"), "_")
	if len(s) > 60 {
		s = s[:60]
	}
	if s == "" {
		s = "run"
	}
	return s
}

// Summarize aggregates runs per test, in first-seen order.
func Summarize(runs []Run) []Summary {
	var order []string
	byName := map[string]*Summary{}
	total := map[string]time.Duration{}
	for _, r := range runs {
		for _, t := range r.Tests {
			s := byName[t.Name]
			if s == nil {
				s = &Summary{Name: t.Name}
				byName[t.Name] = s
				order = append(order, t.Name)
			}
			s.Runs++
			if t.Status == parse.StatusFail || t.Status == parse.StatusUnknown {
				s.Failures++
			}
			total[t.Name] += t.Elapsed
			s.Max = max(s.Max, t.Elapsed)
		}
	}
	out := make([]Summary, 0, len(order))
	for _, n := range order {
		s := byName[n]
		s.Mean = total[n] / time.Duration(s.Runs)
		out = append(out, *s)
	}
	return out
}

// ProgressBar draws "[#####-----] 12/50 runs, 1 failed" on a terminal, redrawn in place.
func ProgressBar(w io.Writer) func(done, failed, total int) {
	return func(done, failed, total int) {
		const width = 30
		filled := width * done / max(total, 1)
		bar := strings.Repeat("#", filled) + strings.Repeat("-", width-filled)
		fmt.Fprintf(w, "\r[%s] %s/%d runs, %d failed", bar, strconv.Itoa(done), total, failed)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
