package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/sample/synth"
)

// benchLog writes the million-line, 85-test benchmark log of docs/BENCHMARKS.md to a file.
func benchLog(b *testing.B) string {
	name := filepath.Join(b.TempDir(), "big.log")
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := synth.Write(f, synth.DefaultOptions()); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return name
}

// BenchmarkRereadLastTest measures what picking a test the timeline let go costs: reading the
// last test of the million-line, 85-test log again, from the file's start and from the
// nearest checkpoint the first reading kept (every checkpointBytes).
func BenchmarkRereadLastTest(b *testing.B) {
	name := benchLog(b)
	src, err := parse.Open([]string{name}, nil, parse.Options{})
	if err != nil {
		b.Fatal(err)
	}
	src.KeepCheckpoints(checkpointBytes)
	tests, _, err := src.ReadAll(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	last := len(tests) - 1
	stop := errors.New("found")
	for _, bc := range []struct {
		name string
		from int
	}{{"from-start", -1}, {"from-checkpoint", last}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				var found *parse.Test
				err := rereadTests(context.Background(), []string{name}, parse.Options{}, src, bc.from, func(seq int, t *parse.Test) error {
					if seq == last {
						found = t
						return stop
					}
					return nil
				})
				if !errors.Is(err, stop) || found.ID() != tests[last].ID() || len(found.Events) != len(tests[last].Events) {
					b.Fatalf("read %v again (%v), want %s", found, err, tests[last].ID())
				}
			}
		})
	}
}

// BenchmarkCommands measures the commands of docs/BENCHMARKS.md as a user runs them, in process,
// on the million-line, 85-test benchmark log, their output discarded: the tables, --list,
// analyze and explain (at most twice analyze's time, issue 32).
//
//	go test ./cmd/raftviz/ -run '^$' -bench Commands -benchtime 3x
func BenchmarkCommands(b *testing.B) {
	name := benchLog(b)
	st, _ := os.Stat(name)
	for _, bc := range []struct {
		name string
		args []string
	}{{"tables", []string{"--quiet", name}}, {"list", []string{"--list", name}}, {"analyze", []string{"analyze", name}},
		{"explain", []string{"explain", name}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(st.Size())
			for b.Loop() {
				// The log has failing tests and seeded violations: 1 is a result, 2 an error.
				if code := run(context.Background(), bc.args, strings.NewReader(""), io.Discard, io.Discard); code >= exitUsage {
					b.Fatalf("%v: exit %d", bc.args, code)
				}
			}
		})
	}
}
