package parse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"
)

// mergeWhole is the reference merge the streamed one must equal: all events in memory, a k-way
// merge by time that keeps each input's own order, ties to the earlier input.
func mergeWhole(parts [][]Event) []Event {
	var out []Event
	pos := make([]int, len(parts))
	for {
		best := -1
		for i, p := range parts {
			if pos[i] < len(p) && (best < 0 || p[pos[i]].Time < parts[best][pos[best]].Time) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, parts[best][pos[best]])
		pos[best]++
	}
}

// nodeLog writes n classic debug lines of one node: times go forward by up to step µs, and now
// and then back by less than the merge window (goroutines of one process logging out of order).
func nodeLog(r *rand.Rand, node string, n int, step int) []byte {
	var b bytes.Buffer
	us := int64(r.IntN(1000))
	for i := 0; i < n; i++ {
		us += int64(r.IntN(step + 1))
		t := us
		if r.IntN(20) == 0 {
			t -= int64(r.IntN(int(MergeWindow / 1000 / 2)))
			t = max(t, 0)
		}
		fmt.Fprintf(&b, "%02d:%02d:%02d.%06d [%s] event %d of %s\n", t/3600e6, t/60e6%60, t/1e6%60, t%1e6, node, i, node)
	}
	return b.Bytes()
}

func eventKeys(evs []Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = fmt.Sprintf("%d:%d", evs[i].File, evs[i].Line)
	}
	return out
}

// TestStreamedMergeEqualsWholeMerge: per-node logs merged as a stream come out in exactly the
// order of the in-memory merge, for random logs with clock jitter inside the window, whether the
// consumer takes events as they stream (Batch) or only the whole test.
func TestStreamedMergeEqualsWholeMerge(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		k := 2 + r.IntN(3)
		var inputs []Input
		var parts [][]Event
		for i := 0; i < k; i++ {
			data := nodeLog(r, fmt.Sprint(i+1), 1+r.IntN(12000), 1+r.IntN(3000))
			inputs = append(inputs, Input{Name: fmt.Sprint(i), Reader: bytes.NewReader(data)})
			tests, _, err := Read(bytes.NewReader(data), Options{File: int16(i)})
			if err != nil || len(tests) != 1 {
				t.Fatal(err, len(tests))
			}
			for j := range tests[0].Events {
				tests[0].Events[j].File = int16(i)
			}
			parts = append(parts, tests[0].Events)
		}
		want := eventKeys(mergeWhole(parts))
		for _, streamed := range []bool{false, true} {
			var got []Event
			opts := ScanOptions{Emit: func(x *Test) error { got = append(got, x.Events...); return nil }}
			if streamed {
				opts.Batch = func(running []*Test) error {
					for _, x := range running {
						got = append(got, x.Events...)
						x.Consumed()
					}
					return nil
				}
			}
			if err := NewSource(inputs, Options{}).Scan(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if g := eventKeys(got); strings.Join(g, " ") != strings.Join(want, " ") {
				t.Fatalf("seed %d streamed=%v: %d events, want %d; first difference at %d", seed, streamed, len(g), len(want), firstDiff(g, want))
			}
			for i := range inputs {
				inputs[i].Reader.(*bytes.Reader).Seek(0, 0)
			}
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestStreamedMergeHoldsLittle: merging three long per-node logs keeps only the events within
// about the merge window of the slowest input, not the logs.
func TestStreamedMergeHoldsLittle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var inputs []Input
	total := 0
	for i := 1; i <= 3; i++ {
		n := 100000
		total += n
		inputs = append(inputs, Input{Name: fmt.Sprint(i), Reader: bytes.NewReader(nodeLog(r, fmt.Sprint(i), n, 2000))})
	}
	src := NewSource(inputs, Options{})
	peak, seen := 0, 0
	err := src.Scan(context.Background(), ScanOptions{
		Emit: func(x *Test) error { seen += len(x.Events); return nil },
		Batch: func(running []*Test) error {
			held := 0
			for _, m := range src.running {
				for i := range m.queue {
					held += m.queue[i].len()
				}
				held += len(m.t.Events)
			}
			for _, in := range src.inputs {
				for _, x := range in.p.Running() {
					held += len(x.Events)
				}
			}
			peak = max(peak, held)
			for _, x := range running {
				seen += len(x.Events)
				x.Consumed()
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if seen != total {
		t.Fatalf("%d events came out of %d", seen, total)
	}
	// A step reads about 1,300 short lines of one input; the window holds ~500 more per input.
	if peak > 6000 {
		t.Fatalf("the merge held up to %d of %d events at once", peak, total)
	}
	t.Logf("held at most %d of %d events", peak, total)
}

// TestMergedTestsJoinByKey: go test -v output of the same tests in two files (a test's output
// split across two captures) merges each test once, with the failure of either.
func TestMergedTestsJoinByKey(t *testing.T) {
	a := "=== RUN   TestA\n10:00:00.000001 [1] a1\n10:00:00.000003 [1] a3\n--- PASS: TestA (0.01s)\n" +
		"=== RUN   TestB\n10:00:01.000000 [1] b1\n--- PASS: TestB (0.01s)\nPASS\n"
	b := "=== RUN   TestA\n10:00:00.000002 [2] a2\n--- PASS: TestA (0.01s)\n" +
		"=== RUN   TestB\n10:00:01.000001 [2] b2\n    x_test.go:9: boom\n--- FAIL: TestB (0.02s)\nFAIL\n"
	src := NewSource([]Input{{Name: "a", Reader: strings.NewReader(a)}, {Name: "b", Reader: strings.NewReader(b)}}, Options{})
	tests, sum, err := src.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range tests {
		var msgs []string
		for _, e := range x.Events {
			msgs = append(msgs, e.Msg)
		}
		got = append(got, fmt.Sprintf("%s %s %v %d", x.Name, x.Status, msgs, len(x.Output())))
	}
	want := "TestA PASS [a1 a2 a3] 0|TestB FAIL [b1 b2] 1"
	if strings.Join(got, "|") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
	if sum.Lines != 16 || sum.Status(tests) != StatusFail {
		t.Fatalf("summary: %d lines, %s", sum.Lines, sum.Status(tests))
	}
}

// TestOpenSaysWhatIsWrong: a missing file and a directory fail before anything is read, in one
// line each.
func TestOpenSaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open([]string{dir}, nil, Options{}); err == nil || err.Error() != dir+" is a directory, not a log file" {
		t.Errorf("directory: %v", err)
	}
	if _, err := Open([]string{dir + "/nope.log"}, nil, Options{}); err == nil || err.Error() != "open "+dir+"/nope.log: no such file or directory" {
		t.Errorf("missing: %v", err)
	}
}

// TestFollowPipe: a followed pipe hands out what arrived whenever the writer pauses (a line
// split across two writes is kept whole), and the scan ends when the writer closes the pipe.
func TestFollowPipe(t *testing.T) {
	defer leaktest.Check(t)()
	pr, pw := io.Pipe()
	src, err := OpenFollow("-", pr, 0, Options{ImplicitName: "live"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	seen := make(chan []string, 16)
	done := make(chan error, 1)
	var got []string
	go func() {
		done <- src.Scan(context.Background(), ScanOptions{
			Batch: func(running []*Test) error {
				for _, x := range running {
					for _, e := range x.Events {
						got = append(got, e.Msg)
					}
					x.Consumed()
				}
				return nil
			},
			Idle: func() error { seen <- append([]string(nil), got...); return nil },
		})
	}()
	waitFor := func(want string) {
		t.Helper()
		for {
			select {
			case s := <-seen:
				if strings.Join(s, ",") == want {
					return
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("never saw %q", want)
			}
		}
	}
	io.WriteString(pw, "00:00:01.000000 [1] one\n00:00:02.000000 [2] tw")
	waitFor("one")
	io.WriteString(pw, "o\n")
	waitFor("one,two")
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("the scan of a closed pipe ended with %v", err)
	}
}

// TestProgressCountsTheBytesRead: while two files are read, the bytes read grow to their size
// (a long line read in pieces counted once); stdin has no size.
func TestProgressCountsTheBytesRead(t *testing.T) {
	dir := t.TempDir()
	var names []string
	var size int64
	for i, text := range []string{
		"=== RUN   TestA\n00:00:01.000000 [1] hello\n--- PASS: TestA (0.01s)\n",
		"00:00:02.000000 [2] " + strings.Repeat("long ", 30000) + "\n00:00:03.000000 [2] bye\n",
	} {
		name := filepath.Join(dir, fmt.Sprintf("n%d.log", i))
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		names, size = append(names, name), size+int64(len(text))
	}
	src, err := Open(names, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var seen []int64
	err = src.Scan(context.Background(), ScanOptions{Batch: func([]*Test) error {
		read, total := src.Progress()
		if total != size || read < 0 || read > size {
			t.Errorf("progress %d of %d, want at most %d of %d", read, total, size, size)
		}
		seen = append(seen, read)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if read, total := src.Progress(); read != size || total != size {
		t.Errorf("at the end: %d of %d bytes, want %d of %d", read, total, size, size)
	}
	if !slices.IsSorted(seen) {
		t.Errorf("bytes read went back: %v", seen)
	}
	stdin, err := Open([]string{"-"}, strings.NewReader("00:00:01.000000 [1] x\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, total := stdin.Progress(); total != 0 {
		t.Errorf("stdin has size %d", total)
	}
}

// TestTiedStampsKeepCausalOrder: per-node files whose stamps tie (whole seconds) merge with
// every receipt after its send: a receive after the peer's send to the node, a vote after the
// candidate's request, the candidate's receipt of the reply after the vote. Events that show no
// causal link keep input order.
func TestTiedStampsKeepCausalOrder(t *testing.T) {
	a := `00:00:01.000000 [a] configured | ev=conf conf=a,b
00:00:01.000000 [a] receives RequestVote from b | ev=recv term=2 mterm=2 type=RequestVote from=b
00:00:01.000000 [a] votes for b | ev=vote term=2 candidate=b granted=true
00:00:02.000000 [a] later | ev=timer term=2
`
	b := `00:00:01.000000 [b] configured | ev=conf conf=a,b
00:00:01.000000 [b] becomes candidate | ev=state term=2 state=candidate
00:00:01.000000 [b] sends RequestVote to a | ev=send term=2 type=RequestVote to=a
00:00:01.000000 [b] receives RequestVoteReply from a | ev=recv term=2 type=RequestVoteReply from=a granted=true
00:00:01.000000 [b] becomes leader | ev=state term=2 state=leader
`
	src := NewSource([]Input{{Name: "a", Reader: strings.NewReader(a)}, {Name: "b", Reader: strings.NewReader(b)}}, Options{})
	tests, _, err := src.ReadAll(context.Background())
	if err != nil || len(tests) != 1 {
		t.Fatalf("%d tests, %v", len(tests), err)
	}
	var got []string
	for _, e := range tests[0].Events {
		got = append(got, e.Node+" "+e.Msg)
	}
	want := []string{"a configured", "b configured", "b becomes candidate", "b sends RequestVote to a",
		"a receives RequestVote from b", "a votes for b", "b receives RequestVoteReply from a", "b becomes leader", "a later"}
	if !slices.Equal(got, want) {
		t.Fatalf("merged order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
