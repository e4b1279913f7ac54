package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse/eventline"
)

// aheadInputs are the logs of every dialect the tests have: go test -v and -json, this
// project's event lines, hashicorp, etcd (zap, capnslog, trace), NATS, dslogs, JSON and logfmt
// loggers, and the home-made labs of the corpus (inferred).
func aheadInputs(t testing.TB) [][]byte {
	t.Helper()
	var logs [][]byte
	for _, pattern := range []string{"*.log", "*.jsonl", "*.ndjson", "fixtures/*.log", "fixtures/*.jsonl",
		"fixtures/cluster/*/*.log", "corpus/*.log"} {
		names, err := filepath.Glob(filepath.Join("..", "testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			logs = append(logs, b)
		}
	}
	if len(logs) < 40 {
		t.Fatalf("only %d logs found", len(logs))
	}
	return logs
}

// randomLog is a whole log of logs, or runs of lines of several spliced, with some lines
// mangled: CRLF endings, blank lines, bytes that are not UTF-8, lines longer than a batch.
func randomLog(r *rand.Rand, logs [][]byte) []byte {
	if r.IntN(3) == 0 {
		return logs[r.IntN(len(logs))]
	}
	var out []byte
	for range 1 + r.IntN(4) {
		lines := bytes.SplitAfter(logs[r.IntN(len(logs))], []byte("\n"))
		from := r.IntN(len(lines))
		to := min(len(lines), from+1+r.IntN(3000))
		for _, l := range lines[from:to] {
			switch r.IntN(200) {
			case 0:
				l = append(bytes.TrimSuffix(l, []byte("\n")), "\r\n"...)
			case 1:
				out = append(out, '\n')
			case 2:
				l = append([]byte{0xff, 0xfe}, l...)
			case 3:
				if r.IntN(10) == 0 {
					l = append(bytes.Repeat([]byte("x"), aheadBatchBytes+r.IntN(aheadBatchBytes)), l...)
				}
			}
			out = append(out, l...)
		}
	}
	if r.IntN(2) == 0 {
		out = bytes.TrimSuffix(out, []byte("\n")) // a last line without its newline
	}
	return out
}

// choppyReader returns at most a few random bytes per read, so that batches end anywhere.
type choppyReader struct {
	r   *rand.Rand
	src []byte
}

func (c *choppyReader) Read(p []byte) (int, error) {
	if len(c.src) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.src), 1+c.r.IntN(96<<10))
	copy(p, c.src[:n])
	c.src = c.src[n:]
	return n, nil
}

// readSource reads inputs as one Source, read ahead or not (aheadMode), to the end; the
// Source is closed.
func readSource(t *testing.T, mode int, inputs []Input, opts Options) (*Source, []*Test, Summary) {
	t.Helper()
	old := aheadMode
	aheadMode = mode
	defer func() { aheadMode = old }()
	src := NewSource(inputs, opts)
	defer src.Close()
	tests, sum, err := src.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return src, tests, sum
}

// readAllWith reads the logs as one Source, read ahead or not, and returns what came out.
func readAllWith(t *testing.T, mode int, r *rand.Rand, logs [][]byte, opts Options) string {
	t.Helper()
	inputs := make([]Input, len(logs))
	for i, l := range logs {
		inputs[i] = Input{Name: "n" + strconv.Itoa(i+1) + ".log", Reader: &choppyReader{r: r, src: l}}
	}
	src, tests, sum := readSource(t, mode, inputs, opts)
	var b bytes.Buffer
	for _, tt := range tests {
		fmt.Fprintf(&b, "%+v\n", *tt)
	}
	read, _ := src.Progress()
	fmt.Fprintf(&b, "summary %+v\nleftover %+v\nread %d\n", sum, src.Leftover(), read)
	return b.String()
}

// TestReadAheadChangesNothing: what a Source hands out is the same, to the byte, whether its
// inputs are read ahead on other goroutines or line by line by the parser, for logs of every
// dialect, spliced and mangled at random, one input or several merged, with each set of facts.
func TestReadAheadChangesNothing(t *testing.T) {
	defer leaktest.Check(t)()
	logs := aheadInputs(t)
	r := rand.New(rand.NewPCG(29, 2026))
	for i := range 60 {
		var in [][]byte
		inputs := 1
		if r.IntN(3) == 0 {
			inputs = 2 + r.IntN(2) // per-node logs, merged
		}
		for range inputs {
			in = append(in, randomLog(r, logs))
		}
		opts := Options{Facts: FactSet(r.IntN(3)), NoInfer: r.IntN(5) == 0}
		if opts.Facts == NodeFacts && r.IntN(2) == 0 {
			opts.CountOnly = true // --list: plain lines are counted a run at a time read ahead
		}
		seed := r.Uint64()
		want := readAllWith(t, aheadNever, rand.New(rand.NewPCG(seed, 1)), in, opts)
		got := readAllWith(t, aheadAlways, rand.New(rand.NewPCG(seed, 2)), in, opts)
		if got != want {
			w, g := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
			for k := range min(len(w), len(g)) {
				if !bytes.Equal(w[k], g[k]) {
					t.Fatalf("case %d (%d inputs, %+v): line %d of the output differs read ahead:\n got %.2000s\nwant %.2000s", i, len(in), opts, k, g[k], w[k])
				}
			}
			t.Fatalf("case %d: %d lines read ahead, %d not", i, len(g), len(w))
		}
	}
}

// TestReadAheadStopsWithTheScan: a scan stopped by its consumer, and a Source closed before it
// was read, leave no goroutine behind.
func TestReadAheadStopsWithTheScan(t *testing.T) {
	defer leaktest.Check(t)()
	old := aheadMode
	aheadMode = aheadAlways
	defer func() { aheadMode = old }()
	log := benchLines(20000)
	stop := errors.New("enough")
	src := NewSource([]Input{{Name: "a", Reader: bytes.NewReader(log)}}, Options{})
	n := 0
	err := src.Scan(context.Background(), ScanOptions{Emit: func(*Test) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) {
		t.Fatalf("scan: %v, want the consumer's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src = NewSource([]Input{{Name: "b", Reader: bytes.NewReader(log)}}, Options{})
	if err := src.Scan(ctx, ScanOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("scan of an ended context: %v", err)
	}
	src = NewSource([]Input{{Name: "c", Reader: bytes.NewReader(log)}}, Options{})
	src.Close()
}

// benchLines is a go test -v log of n classic lines in tests of 1,000 lines.
func benchLines(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			if i > 0 {
				fmt.Fprintf(&b, "--- PASS: Test%d (0.10s)\n", i/1000)
			}
			fmt.Fprintf(&b, "=== RUN   Test%d\n", i/1000+1)
		}
		fmt.Fprintf(&b, "10:00:%02d.%06d [%d] becomes leader in term %d\n", i/1000%60, i%1000000, i%3, i/1000+1)
	}
	fmt.Fprintf(&b, "--- PASS: Test%d (0.10s)\nPASS\n", n/1000)
	return b.Bytes()
}

// TestCloseWhileScanning: a Source closed by another goroutine while its scan waits for a pipe
// that is still being written (the timeline quitting while go test runs) ends the scan, with no
// goroutine left waiting on the batches.
func TestCloseWhileScanning(t *testing.T) {
	defer leaktest.Check(t)()
	old := aheadMode
	aheadMode = aheadAlways
	defer func() { aheadMode = old }()
	r, w := io.Pipe()
	defer w.Close()
	go w.Write(benchLines(100))
	src := NewSource([]Input{{Name: "-", Reader: r}}, Options{NoInfer: true})
	done := make(chan error, 1)
	lines := make(chan struct{}, 1)
	go func() {
		done <- src.Scan(context.Background(), ScanOptions{Promptly: true, Idle: func() error {
			select {
			case lines <- struct{}{}:
			default:
			}
			return nil
		}})
	}()
	<-lines // the lines that came were handed out: the scan now waits for more
	src.Close()
	w.Close() // the reading goroutine's read returns; nothing reads the pipe after this
	if err := <-done; err == nil {
		t.Fatal("the scan of a closed Source ended without an error")
	}
}

// TestFieldBlockIsIndex: fieldBlock finds the separator where bytes.Index does, on messages
// made of the separator's pieces.
func TestFieldBlockIsIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 29))
	pieces := []string{" ", "|", " |", "| ", "ev", "=", "ev=", " | ev", " | ev=", "x", "||", "  "}
	for range 20000 {
		var b []byte
		for range r.IntN(8) {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		if got, want := fieldBlock(b), bytes.Index(b, []byte(eventline.Separator)); got != want {
			t.Fatalf("fieldBlock(%q) = %d, want %d", b, got, want)
		}
	}
}

// TestCountOnlyCountsTheEvents: a test read with CountOnly (--list) amounts to what the same
// test read with its events does, and is otherwise the same, on logs of every dialect spliced
// and mangled at random, read ahead or line by line.
func TestCountOnlyCountsTheEvents(t *testing.T) {
	defer leaktest.Check(t)()
	logs := aheadInputs(t)
	// A harness's lines among the servers', and a finished test's indented output that a
	// server's line ends (what follows it is no longer that test's).
	crafted := []byte("=== RUN   TestA\n10:00:00.000001 [1] leader\n10:00:00.000002 [TEST] Disconnect 2\n" +
		"10:00:00.000003 [2] hello\n--- FAIL: TestA (0.10s)\n    a_test.go:12: failed\n" +
		"10:00:00.000004 [1] after the test\n    more\n=== RUN   TestB\n10:00:01.000001 [3] hi\n--- PASS: TestB (0.01s)\n")
	r := rand.New(rand.NewPCG(31, 2026))
	for i := range 42 {
		in := randomLog(r, logs)
		mode := []int{aheadNever, aheadAlways}[r.IntN(2)]
		if i < 2 {
			in, mode = crafted, []int{aheadNever, aheadAlways}[i]
		}
		opts := Options{Facts: NodeFacts}
		want := countedTests(t, mode, in, opts)
		opts.CountOnly = true
		got := countedTests(t, mode, in, opts)
		if got != want {
			t.Fatalf("case %d: counted only:\n%s\nwith the events:\n%s", i, got, want)
		}
	}
}

// countedTests reads one log and describes each test by its tally and everything but its events.
func countedTests(t *testing.T, mode int, log []byte, opts Options) string {
	t.Helper()
	_, tests, sum := readSource(t, mode, []Input{{Name: "a.log", Reader: bytes.NewReader(log)}}, opts)
	var b bytes.Buffer
	for _, tt := range tests {
		tl := tt.Tally
		tl.Add(tt.Events)
		c := *tt
		c.Events, c.Flushed, c.Tally = nil, 0, Tally{}
		fmt.Fprintf(&b, "%+v\n  events %d nodes %v groups %v span %v\n", c, tl.Events, tl.Nodes(), tl.Groups(), tl.Span())
	}
	fmt.Fprintf(&b, "summary %+v\n", sum)
	return b.String()
}
