package parse

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/raftviz/raftviz/sample/synth"
)

var (
	benchOnce sync.Once
	benchLog  []byte
)

// benchInput is the benchmark log of docs/BENCHMARKS.md: 1,000,000 lines in 85 tests.
func benchInput(b *testing.B) []byte {
	benchOnce.Do(func() {
		var buf bytes.Buffer
		if err := synth.Write(&buf, synth.DefaultOptions()); err != nil {
			b.Fatal(err)
		}
		benchLog = buf.Bytes()
	})
	return benchLog
}

// BenchmarkParse measures parsing throughput (MB/s) of a million-line go test -v log, tests
// handed off as they complete, as raftviz does.
func BenchmarkParse(b *testing.B) {
	benchScan(b, benchInput(b), "classic")
}

// benchScan parses in b.N times as raftviz does (tests handed off as they complete) and checks
// that events were found with the expected profile.
func benchScan(b *testing.B, in []byte, profile string) {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := NewParser(Options{})
		n := 0
		err := Scan(bytes.NewReader(in), p, ScanOptions{Emit: func(t *Test) error { n += len(t.Events); return nil }})
		if err != nil || n == 0 || p.Summary().Profile != profile {
			b.Fatal(err, n, p.Summary().Profile)
		}
	}
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
