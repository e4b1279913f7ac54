package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft/sim"
)

const simUsage = `usage: raftrun sim [flags]

Runs a seeded deterministic simulation of a Raft cluster and writes its event lines: the same
seed writes the same lines, byte for byte. On a safety violation it says which seed and step,
and exits 1.

  raftrun sim --seed 7 --nodes 5 --steps 20000 --faults partition,crash,drop,reorder -o sim.log
  raftrun sim --script raft/sim/testdata/scenarios/partition.txt

Flags:
`

func simCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	seed := fs.Uint64("seed", 1, "random `seed`; the run is a function of it")
	nodes := fs.Int("nodes", 5, "number of `n`odes")
	steps := fs.Int("steps", 10000, "simulation `events` to run")
	faults := fs.String("faults", "partition,crash,drop,reorder", "comma-separated `list` of partition, crash, disconnect, drop, dup, reorder (or none)")
	script := fs.String("script", "", "run a scenario `file` instead of random faults (- for stdin)")
	out := fs.String("o", "", "write event lines to `file` instead of stdout")
	jsonOut := fs.Bool("json", false, "write the JSON-lines form of the events")
	preVote := fs.Bool("prevote", false, "nodes use pre-vote and check-quorum")
	snapEvery := fs.Int("snapshot-every", 0, "nodes snapshot and compact their logs every `n` applied entries (0: never)")
	if code, ok := parseFlagsOnly(fs, args, simUsage, "", stdout, stderr); !ok {
		return code
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "raftrun sim: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		bw := bufio.NewWriterSize(f, 1<<20)
		defer bw.Flush()
		w = bw
	}
	if *script != "" {
		return runSimScript(*script, w, stderr)
	}
	if *nodes < 1 || *nodes > 99 {
		fmt.Fprintf(stderr, "raftrun sim: --nodes %d out of range (1 to 99)\n", *nodes)
		return exitUsage
	}
	if *steps < 1 {
		fmt.Fprintf(stderr, "raftrun sim: --steps must be at least 1, not %d\n", *steps)
		return exitUsage
	}
	if *snapEvery < 0 {
		fmt.Fprintf(stderr, "raftrun sim: --snapshot-every must be 0 (never) or more, not %d\n", *snapEvery)
		return exitUsage
	}
	cfg := sim.Config{Nodes: *nodes, Seed: *seed, PreVote: *preVote, CheckQuorum: *preVote, SnapshotEvery: *snapEvery}
	var f sim.Faults
	for _, name := range strings.Split(*faults, ",") {
		switch strings.TrimSpace(name) {
		case "partition":
			f.Partition = true
		case "crash":
			f.Crash = true
		case "disconnect":
			f.Disconnect = true
		case "drop":
			cfg.DropRate = 0.05
		case "dup":
			cfg.DupRate = 0.02
		case "reorder":
			cfg.ReorderRate = 0.1
		case "none", "":
		default:
			fmt.Fprintf(stderr, "raftrun sim: unknown fault %q (partition, crash, disconnect, drop, dup, reorder, none)\n", name)
			return exitUsage
		}
	}
	if *jsonOut {
		cfg.Handler = eventline.NewJSONHandler(w, nil)
	} else {
		cfg.Handler = eventline.NewTextHandler(w, nil)
	}
	s, err := sim.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "raftrun sim: %v\n", err)
		return exitUsage
	}
	// The simulation is CPU-bound and quick; check for Ctrl-C between slices of it.
	for done := 0; done < *steps; {
		n := min(2000, *steps-done)
		if err := s.Chaos(n, f); err != nil {
			fmt.Fprintf(stderr, "raftrun sim: safety violation: %v\n", err)
			return exitFailed
		}
		done += n
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "raftrun sim: interrupted at step %d\n", s.Steps())
			return exitInterrupted
		}
	}
	if err := s.Settle(30 * time.Second); err != nil {
		fmt.Fprintf(stderr, "raftrun sim: seed %d: %v\n", *seed, err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "raftrun sim: seed %d, %d nodes, %d steps, %v of virtual time, %d entries committed; safety checks passed\n",
		*seed, *nodes, s.Steps(), s.Now().Round(time.Millisecond), s.CommittedCount())
	return exitOK
}

func runSimScript(path string, w, stderr io.Writer) int {
	script, err := readScript(path, os.Stdin)
	if err != nil {
		fmt.Fprintf(stderr, "raftrun sim: %v\n", err)
		return exitUsage
	}
	if err := sim.RunScript(bytes.NewReader(script), w); err != nil {
		fmt.Fprintf(stderr, "raftrun sim: %s: %v\n", path, err)
		return exitFailed
	}
	return exitOK
}
