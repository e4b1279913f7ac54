// Command gen writes a large synthetic go test -v log of a Raft test suite to stdout, for
// benchmarks and for trying raftviz on big inputs:
//
//	go run ./sample/gen > big.log                     # 1,000,000 lines, about 78 MB
//	go run ./sample/gen -lines 50000 -structured > s.log
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/raftviz/raftviz/sample/synth"
)

func main() {
	o := synth.DefaultOptions()
	flag.IntVar(&o.Lines, "lines", o.Lines, "number of lines")
	flag.IntVar(&o.Tests, "tests", o.Tests, "number of tests")
	flag.IntVar(&o.Nodes, "nodes", o.Nodes, "nodes per test")
	flag.Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	flag.BoolVar(&o.Structured, "structured", false, "write structured event lines (docs/FORMAT.md)")
	flag.Parse()
	if o.Lines < 1 || o.Nodes < 1 || o.Tests < 1 {
		fmt.Fprintln(os.Stderr, "gen: -lines, -tests and -nodes must be at least 1")
		os.Exit(2)
	}
	if err := synth.Write(os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
