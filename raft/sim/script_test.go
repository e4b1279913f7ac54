package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/scenarios")

// TestScenarios runs every scenario file and compares the event lines and results with the
// outputs recorded in the file. Run with -update to re-record them after a deliberate change.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := RunScript(bytes.NewReader(want), &got); err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got.Bytes(), want) {
				gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
				for i := 0; i < min(len(gl), len(wl)); i++ {
					if gl[i] != wl[i] {
						t.Fatalf("%s:%d differs (run with -update if the change is intended)\n got: %s\nwant: %s", path, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s: output has %d lines, file %d (run with -update if intended)", path, len(gl), len(wl))
			}
		})
	}
}

func TestScriptErrors(t *testing.T) {
	for _, c := range []struct{ script, want string }{
		{"campaign 1", "no cluster yet"},
		{"crash 1", "no cluster yet: start one with 'nodes N'"},
		{"trace none\nnodes 3\ntrace all", ""},
		{"nodes 3\ncampaign 9", "no node 9"},
		{"nodes 3\nfrobnicate", "unknown command"},
		{"nodes x", "bad node count"},
		{"nodes 3 seed=abc", "bad seed value"},
		{"nodes 3\nrun soon", "bad duration"},
		{"nodes 3\ncrash 1\ncrash 1", "already down"},
		{"nodes 3\npropose 1", "usage: propose"},
	} {
		var out bytes.Buffer
		err := RunScript(strings.NewReader(c.script), &out)
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.script, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to mention %q", c.script, err, c.want)
		}
	}
}
