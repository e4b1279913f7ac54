package parse

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft/sim"
	"github.com/raftviz/raftviz/sample/synth"
)

// benchInput is the benchmark log of docs/BENCHMARKS.md: 1,000,000 lines in 85 tests.
func benchInput(b *testing.B) []byte {
	log, err := synth.DefaultLog()
	if err != nil {
		b.Fatal(err)
	}
	return log
}

// BenchmarkParseEventLines measures parsing this project's structured event lines: a seeded
// 7-node simulation with faults (about 200,000 lines, one test), as raftrun sim writes them.
func BenchmarkParseEventLines(b *testing.B) {
	var buf bytes.Buffer
	s, err := sim.New(sim.Config{Nodes: 7, Seed: 7, DropRate: 0.05, ReorderRate: 0.1, Handler: eventline.NewTextHandler(&buf, nil)})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Chaos(60000, sim.Faults{Partition: true, Crash: true}); err != nil {
		b.Fatal(err)
	}
	benchScan(b, buf.Bytes(), "raftviz")
}

// BenchmarkParse measures parsing throughput (MB/s) of a million-line go test -v log, tests
// handed off as they complete, as raftviz does.
func BenchmarkParse(b *testing.B) {
	benchScan(b, benchInput(b), "classic")
}

// benchScan parses in b.N times as raftviz does (tests handed off as they complete) and checks
// that events were found with the expected profile.
func benchScan(b *testing.B, in []byte, profile string) { benchScanWith(b, in, profile, Options{}) }

// benchScanWith is benchScan with options.
func benchScanWith(b *testing.B, in []byte, profile string, opts Options) {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := NewSource([]Input{{Name: "bench", Reader: bytes.NewReader(in)}}, opts)
		n := 0
		read := ""
		err := src.Scan(context.Background(), ScanOptions{Emit: func(t *Test) error {
			n += len(t.Events)
			if t.Profile != "" {
				read = t.Profile
			}
			return nil
		}})
		if err != nil || n == 0 || read != profile {
			b.Fatal(err, n, read)
		}
	}
}

// BenchmarkParseNoInfer is BenchmarkParse without inference: the difference is what probing a
// known dialect's input costs (its first 500 lines read once more).
func BenchmarkParseNoInfer(b *testing.B) {
	benchScanWith(b, benchInput(b), "classic", Options{NoInfer: true})
}

// BenchmarkParseInferred measures an input no profile knows, read with the profile inferred
// from its start: a real lab's log of testdata/corpus ("2026/12/06 21:42:02 term 1 server 1
// become leader"), repeated to about 30 MB.
func BenchmarkParseInferred(b *testing.B) {
	one, err := os.ReadFile(filepath.Join("..", "testdata", "corpus", "ferriem.log"))
	if err != nil {
		b.Fatal(err)
	}
	benchScan(b, bytes.Repeat(one, 30<<20/len(one)), "inferred")
}

// BenchmarkParseProfile measures the profile-driven (regexp) path: the real hashicorp/raft
// capture of testdata/fixtures, repeated to about 36 MB, detected and read with its profile's
// line regexp and fact rules.
func BenchmarkParseProfile(b *testing.B) {
	one, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", "hashicorp_v.log"))
	if err != nil {
		b.Fatal(err)
	}
	benchScan(b, bytes.Repeat(one, 250), "hashicorp")
}

// BenchmarkParseLoggerJSON measures logger records (zap, zerolog, slog JSON: the real capture of
// testdata/fixtures, repeated to about 27 MB), each decoded and read with the json profile's keys
// and facts.
func BenchmarkParseLoggerJSON(b *testing.B) {
	one, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", "jsonlog_v.log"))
	if err != nil {
		b.Fatal(err)
	}
	benchScan(b, bytes.Repeat(one, 1000), "json+etcd")
}

// BenchmarkMergeNodeLogs measures the streamed merge: three per-node logs (300k classic lines in
// all) read as one timeline, the consumer taking events as they stream.
func BenchmarkMergeNodeLogs(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var logs [][]byte
	size := 0
	for i := 1; i <= 3; i++ {
		logs = append(logs, nodeLog(r, strconv.Itoa(i), 100000, 2000))
		size += len(logs[i-1])
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		inputs := make([]Input, len(logs))
		for i, l := range logs {
			inputs[i] = Input{Name: strconv.Itoa(i), Reader: bytes.NewReader(l)}
		}
		n := 0
		take := func(t *Test) { n += len(t.Events); t.Consumed() }
		err := NewSource(inputs, Options{}).Scan(context.Background(), ScanOptions{
			Emit: func(t *Test) error { take(t); return nil },
			Batch: func(running []*Test) error {
				for _, t := range running {
					take(t)
				}
				return nil
			}})
		if err != nil || n != 300000 {
			b.Fatal(err, n)
		}
	}
}
