package parse

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/raftviz/raftviz/sample/synth"
)

// readNumbered reads a Source to its end and returns its tests by their number (the order they
// complete), from first.
func readNumbered(t *testing.T, src *Source, first int) map[int]*Test {
	t.Helper()
	out := map[int]*Test{}
	seq := first
	err := src.Scan(context.Background(), ScanOptions{Emit: func(tt *Test) error {
		out[seq] = tt
		seq++
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestResumeReadsTheSameTests reads every log of the test data (go test -v and -json, classic,
// structured, hashicorp, etcd, dslogs, panics, timeouts, several packages) and a synthesized
// log of many tests once, keeping a checkpoint at every place between tests, then reads on from
// each checkpoint: every test from the checkpoint's Whole on is the same, events, lines, times
// and output, with the same number (but the test of lines outside tests, which is read whole
// only from the start); those before it come empty.
func TestResumeReadsTheSameTests(t *testing.T) {
	var files []string
	for _, pat := range []string{"../testdata/*.*", "../testdata/fixtures/*.*", "../sample/logs/*.log"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	many := filepath.Join(t.TempDir(), "many.log")
	f, err := os.Create(many)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.Write(f, synth.Options{Lines: 20000, Tests: 12, Nodes: 3, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	files = append(files, many)
	resumed := 0
	for _, name := range files {
		if filepath.Ext(name) == ".sh" || filepath.Ext(name) == ".py" || filepath.Ext(name) == ".txt" {
			continue
		}
		src, err := Open([]string{name}, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		src.KeepCheckpoints(1) // at every place between tests
		whole := readNumbered(t, src, 0)
		src.Close()
		step := max(1, len(src.cps.list)/30) // a log without tests is between tests on every line
		for k := 0; k < len(src.cps.list); k += step {
			cp := src.cps.list[k]
			for _, hold := range []bool{false, true} {
				again, err := Resume(name, cp, Options{HoldForPackage: hold})
				if err != nil {
					t.Fatal(err)
				}
				got := readNumbered(t, again, cp.First)
				again.Close()
				resumed++
				for seq, w := range whole {
					if _, ok := got[seq]; !ok && seq >= cp.First && !w.Implicit {
						t.Fatalf("%s from byte %d: test %d (%s) is missing", name, cp.Offset, seq, w.ID())
					}
				}
				for seq, g := range got {
					w := whole[seq]
					if w == nil {
						if g.Implicit {
							continue
						}
						t.Fatalf("%s from byte %d: test %d (%s) was not there", name, cp.Offset, seq, g.ID())
					}
					if g.Name != w.Name || g.Attempt != w.Attempt {
						t.Fatalf("%s from byte %d: test %d is %s, want %s", name, cp.Offset, seq, g.ID(), w.ID())
					}
					if seq < cp.Whole || w.Implicit {
						continue // lines outside tests are read whole only from the start
					}
					if g.Package != w.Package && g.Package != "" && w.Package != "" || g.Status != w.Status ||
						!reflect.DeepEqual(g.Events, w.Events) || !reflect.DeepEqual(g.Other, w.Other) {
						t.Fatalf("%s from byte %d (hold %v): test %d (%s) differs: %d events, want %d",
							name, cp.Offset, hold, seq, w.ID(), len(g.Events), len(w.Events))
					}
				}
			}
		}
	}
	if resumed < 100 {
		t.Errorf("only %d readings resumed: the test data has few places between tests", resumed)
	}
}

// TestCheckpointForPicksTheNearest: the checkpoint for a test is the last from which it reads
// whole; none before the first; a Source of stdin keeps none.
func TestCheckpointForPicksTheNearest(t *testing.T) {
	name := "../testdata/fixtures/multipkg_v.log"
	src, err := Open([]string{name}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.KeepCheckpoints(1)
	whole := readNumbered(t, src, 0)
	if len(src.cps.list) < 2 {
		t.Fatalf("%d checkpoints", len(src.cps.list))
	}
	for seq := range whole {
		cp, ok := src.CheckpointFor(seq)
		if !ok {
			if src.cps.list[0].Whole <= seq {
				t.Errorf("test %d: no checkpoint, but the first reads it whole", seq)
			}
			continue
		}
		if cp.Whole > seq {
			t.Errorf("test %d: checkpoint reads from test %d whole", seq, cp.Whole)
		}
		for _, later := range src.cps.list {
			if later.Offset > cp.Offset && later.Whole <= seq {
				t.Errorf("test %d: checkpoint at byte %d, but %d is nearer", seq, cp.Offset, later.Offset)
			}
		}
	}
	stdin, err := Open([]string{"-"}, errReader{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stdin.KeepCheckpoints(1)
	if stdin.cps.every != 0 {
		t.Error("stdin keeps checkpoints")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("not read") }
