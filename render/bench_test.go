package render

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"regexp"
	"sort"
	"strconv"
	"testing"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/raftviz/raftviz/parse"
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

// BenchmarkRenderLog is raftviz's whole job on the million-line log: parse and write every
// test's classic timing table (box drawing, wrapped at 30, separated rows), streamed test by test.
func BenchmarkRenderLog(b *testing.B) {
	in := benchInput(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bw := bufio.NewWriterSize(io.Discard, 256<<10)
		w := NewWriter(bw, Options{Wrap: DefaultWrap})
		src := parse.NewSource([]parse.Input{{Name: "bench", Reader: bytes.NewReader(in)}}, parse.Options{})
		if err := src.Scan(context.Background(), parse.ScanOptions{Emit: w.Test}); err != nil {
			b.Fatal(err)
		}
		if err := w.Finish(parse.StatusFail); err != nil {
			b.Fatal(err)
		}
		bw.Flush()
	}
}

// BenchmarkClassicBaseline is the classic approach the fast path is measured against: one regexp
// per line and a go-pretty table built row by row, rendered per test.
func BenchmarkClassicBaseline(b *testing.B) {
	in := benchInput(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	lineRE := regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d+) \[(\d+)\] (.*)$`)
	runRE := regexp.MustCompile(`^=== RUN\s+(\S+)`)
	endRE := regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+)`)
	for i := 0; i < b.N; i++ {
		out := bufio.NewWriter(io.Discard)
		sc := bufio.NewScanner(bytes.NewReader(in))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		type row struct{ t, node, msg string }
		var rows []row
		flush := func(status, name string) {
			nodes := map[int]bool{}
			for _, r := range rows {
				n, _ := strconv.Atoi(r.node)
				nodes[n] = true
			}
			var ids []int
			for n := range nodes {
				ids = append(ids, n)
			}
			sort.Ints(ids)
			tw := table.NewWriter()
			tw.SetStyle(table.StyleLight)
			tw.Style().Options.SeparateRows = true
			header := table.Row{"TIME"}
			col := map[string]int{}
			for _, n := range ids {
				col[strconv.Itoa(n)] = len(header)
				header = append(header, n)
			}
			tw.AppendHeader(header)
			for _, r := range rows {
				cells := make(table.Row, len(header))
				cells[0] = r.t
				cells[col[r.node]] = text.WrapHard(r.msg, 30) + "\n"
				tw.AppendRow(cells)
			}
			out.WriteString(status + " " + name + "\n" + tw.Render() + "\n\n")
			rows = rows[:0]
		}
		for sc.Scan() {
			line := sc.Text()
			if m := lineRE.FindStringSubmatch(line); m != nil {
				rows = append(rows, row{m[1], m[2], m[3]})
			} else if m := endRE.FindStringSubmatch(line); m != nil {
				flush(m[1], m[2])
			} else {
				runRE.MatchString(line)
			}
		}
		out.Flush()
	}
}
