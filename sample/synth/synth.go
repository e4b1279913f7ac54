// Package synth generates large, realistic go test -v logs of a Raft test suite, for benchmarks
// and for trying raftviz on big inputs. The lines imitate the classic debug style of Raft course
// implementations (elections, AppendEntries traffic, commits) across many tests.
package synth

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
)

// Options shape a generated log.
type Options struct {
	Lines int    // total lines to write (approximately; tests end on whole lines)
	Tests int    // number of tests the lines are spread over
	Nodes int    // nodes per test
	Seed  uint64 // same seed, same bytes
	// Structured writes docs/FORMAT.md event lines instead of classic free-text lines.
	Structured bool
}

// DefaultOptions is the benchmark log: a million lines (about 78 MB) in 85 tests of 5 nodes.
func DefaultOptions() Options { return Options{Lines: 1_000_000, Tests: 85, Nodes: 5, Seed: 1} }

// DefaultLog is the benchmark log (DefaultOptions) in memory, generated once per process: the
// benchmarks of several packages read it.
var DefaultLog = sync.OnceValues(func() ([]byte, error) {
	var buf bytes.Buffer
	err := Write(&buf, DefaultOptions())
	return buf.Bytes(), err
})

// Write writes the log.
func Write(w io.Writer, o Options) error {
	if o.Tests < 1 {
		o.Tests = 1
	}
	if o.Nodes < 1 {
		o.Nodes = 3
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	r := rand.New(rand.NewPCG(o.Seed, 42))
	perTest := o.Lines / o.Tests
	clock := int64(9 * 3600e9)
	var b []byte
	for t := 0; t < o.Tests; t++ {
		name := "TestRaft" + strconv.Itoa(t)
		b = append(b[:0], "=== RUN   "...)
		b = append(b, name...)
		b = append(b, '\n')
		term, index, commit := 0, 0, 0
		leader := -1
		for i := 0; i < perTest-2; i++ {
			clock += int64(r.IntN(2000)) * 1000
			node := r.IntN(o.Nodes)
			b = appendClock(b, clock)
			b = append(b, " ["...)
			b = strconv.AppendInt(b, int64(node), 10)
			b = append(b, "] "...)
			peer := (node + 1 + r.IntN(o.Nodes-1+boolInt(o.Nodes == 1))) % o.Nodes
			switch k := r.IntN(100); {
			case k < 2:
				term++
				leader = node
				b = msg(b, o.Structured, "becomes Leader; term="+strconv.Itoa(term), "state", term, "leader")
			case k < 6:
				b = msg(b, o.Structured, "Becomes Candidate (currentTerm="+strconv.Itoa(term+1)+"); log=["+strconv.Itoa(index)+"]", "state", term+1, "candidate")
			case k < 12:
				b = msg(b, o.Structured, "RequestVote reply: &{Term:"+strconv.Itoa(term)+" VoteGranted:true}", "vote", term, "follower")
			case k < 45:
				b = msg(b, o.Structured, "sending AppendEntries to "+strconv.Itoa(peer)+": ni="+strconv.Itoa(index+1)+", args={Term:"+strconv.Itoa(term)+" LeaderId:"+strconv.Itoa(max(leader, 0))+" PrevLogIndex:"+strconv.Itoa(index)+"}", "send", term, "leader")
			case k < 75:
				b = msg(b, o.Structured, "AppendEntries reply: {Term:"+strconv.Itoa(term)+" Success:true ConflictIndex:0}", "recv", term, "follower")
			case k < 85:
				index++
				b = msg(b, o.Structured, "Submit received by Leader: "+strconv.Itoa(r.IntN(1000)), "propose", term, "leader")
			case k < 95:
				if commit < index {
					commit++
				}
				b = msg(b, o.Structured, "sendCommit: commitIndex="+strconv.Itoa(commit), "commit", term, "leader")
			default:
				b = msg(b, o.Structured, "Election Timer started ("+strconv.Itoa(150+r.IntN(150))+"ms), term="+strconv.Itoa(term), "timer", term, "follower")
			}
			if len(b) > 512<<10 {
				if _, err := bw.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
		}
		b = append(b, "--- "...)
		if r.IntN(10) == 0 {
			b = append(b, "FAIL: "...)
		} else {
			b = append(b, "PASS: "...)
		}
		b = append(b, name...)
		b = append(b, " (1.23s)\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	if _, err := bw.WriteString("FAIL\nFAIL\texample.com/raft\t104.567s\n"); err != nil {
		return err
	}
	return bw.Flush()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func msg(b []byte, structured bool, text, kind string, term int, state string) []byte {
	b = append(b, text...)
	if structured {
		b = append(b, " | ev="...)
		b = append(b, kind...)
		b = append(b, " term="...)
		b = strconv.AppendInt(b, int64(term), 10)
		b = append(b, " state="...)
		b = append(b, state...)
	}
	return append(b, '\n')
}

func appendClock(b []byte, ns int64) []byte {
	ns %= 24 * 3600e9
	h, m, s, us := ns/3600e9, ns/60e9%60, ns/1e9%60, ns/1e3%1e6
	b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10), '.')
	for d := int64(100000); d > 0; d /= 10 {
		b = append(b, byte('0'+us/d%10))
	}
	return b
}
