//go:build raftmutation

package sim

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/explain"
	"github.com/raftviz/raftviz/raft"
)

var mutationSeeds = flag.Int("mutation-seeds", 1500, "seeds to try per seeded bug before calling it missed")

var updateExplained = flag.Bool("update-explained", false, "rewrite testdata/explained/*.golden, raftviz explain's text on each caught bug's run")

// unreachable are seeded bugs that the node driver's order makes harmless, so that no run can
// catch them; a unit test of the core shows each (see the table in docs/RELIABILITY.md).
var unreachable = map[raft.Mutation]string{
	raft.MutCountNonDurableVote: "TestCandidateCountsOwnVoteOnlyWhenDurable: the driver steps no reply before its fsync",
}

// TestMutationsAreCaught seeds each classic Raft bug in turn (go test -tags raftmutation) and
// runs the mixed randomized simulation until a run shows it: the simulator's checker or
// porcupine on the client history must catch it within -mutation-seeds seeds, and raftviz's
// analysis of that run's event lines must find a violation too. -v prints the table of
// docs/RELIABILITY.md.
func TestMutationsAreCaught(t *testing.T) {
	var table strings.Builder
	table.WriteString("| seeded bug | caught in (scenario, or random seed) | simulator | raftviz analyze | raftviz explain, first finding | explain's other rules |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, m := range raft.Mutations() {
		t.Run(strings.ReplaceAll(m.String(), " ", "_"), func(t *testing.T) {
			raft.SetMutation(m)
			defer raft.SetMutation(raft.NoMutation)
			if why, ok := unreachable[m]; ok {
				fmt.Fprintf(&table, "| %s | not reachable | | %s | | |\n", m, why)
				return
			}
			// The scenarios first (a bug one of them shows is caught at once), then seeds.
			scenarios, _ := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txt"))
			for try := 0; try < len(scenarios)+*mutationSeeds; try++ {
				buf := new(bytes.Buffer)
				var simSaw, where string
				if try < len(scenarios) {
					_, events, err := runScenario(scenarios[try])
					buf.Write(events)
					if errors.Is(err, ErrViolation) {
						simSaw = "checker: " + lastPart(err.Error())
					}
					where = "scenario " + filepath.Base(scenarios[try])
				} else {
					seed := uint64(try - len(scenarios) + 1)
					simSaw = runMutated(seed, buf)
					where = strconv.FormatUint(seed, 10)
				}
				if simSaw == "" {
					continue
				}
				tests, _, err := parse.Read(bytes.NewReader(buf.Bytes()), parse.Options{})
				if err != nil || len(tests) != 1 {
					t.Fatalf("parse the run: %d tests, %v", len(tests), err)
				}
				rep := analyze.Test(tests[0], analyze.Options{})
				var checks []string
				for _, v := range rep.Violations {
					if !slices.Contains(checks, v.Check) {
						checks = append(checks, v.Check)
					}
				}
				slices.Sort(checks)
				if len(checks) == 0 {
					keepLog(t, buf, uint64(max(try-len(scenarios)+1, 0))) // 0: a scenario
					t.Fatalf("%s: the simulator caught %q (%s) but raftviz analyze found nothing", where, m, simSaw)
				}
				// raftviz explain names the bug's effect first: a violated check of the run.
				ex := explain.Explain(tests[0], rep)
				if len(ex.Findings) == 0 || ex.Findings[0].Rule != "violation" || !slices.ContainsFunc(checks, func(c string) bool {
					return strings.HasPrefix(ex.Findings[0].Anomaly, c+": ")
				}) {
					keepLog(t, buf, uint64(max(try-len(scenarios)+1, 0)))
					t.Fatalf("%s: raftviz explain's first finding is not a violated check of %v: %+v", where, checks, ex.Findings)
				}
				// A bug whose cause a rule names: that rule's finding is there too.
				var others []string
				for _, f := range ex.Findings[1:] {
					if !slices.Contains(others, f.Rule) {
						others = append(others, f.Rule)
					}
				}
				if want, ok := causeRules[m.String()]; ok && !slices.Contains(others, want) {
					keepLog(t, buf, uint64(max(try-len(scenarios)+1, 0)))
					t.Fatalf("%s: raftviz explain names no %s (the seeded cause): %+v", where, want, ex.Findings)
				}
				// What explain says of the run, whole, is a golden file reviewed by reading the log.
				var text bytes.Buffer
				explain.WriteText(&text, ex, "")
				golden := filepath.Join("testdata", "explained", strings.ReplaceAll(m.String(), " ", "_")+".golden")
				if *updateExplained {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, text.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				} else if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(want, text.Bytes()) {
					t.Errorf("%s: raftviz explain's text differs from %s (-update-explained rewrites it; %v):\n%s", where, golden, err, text.String())
				}
				first := ex.Findings[0].Anomaly
				if r := []rune(first); len(r) > 90 {
					first = string(r[:89]) + "…"
				}
				fmt.Fprintf(&table, "| %s | %s | %s | %s | %s | %s |\n", m, where, simSaw, strings.Join(checks, "; "), strings.ReplaceAll(first, "|", "\\|"), strings.Join(others, ", "))
				return
			}
			t.Errorf("%q was not caught in %d seeds", m, *mutationSeeds)
			fmt.Fprintf(&table, "| %s | not caught in %d | | | | |\n", m, *mutationSeeds)
		})
	}
	t.Log("\n" + table.String())
}

// causeRules are the explain rules that name a seeded bug's cause, not only its effect.
var causeRules = map[string]string{
	"vote ignores log": "stale-vote", // a vote granted to a candidate whose log is behind
}

// runMutated runs one seed of the mixed simulation and says what caught the seeded bug
// ("" if nothing did): the checker's first words, porcupine, or a panic of the core.
func runMutated(seed uint64, buf *bytes.Buffer) (caught string) {
	defer func() {
		if p := recover(); p != nil {
			caught = fmt.Sprintf("the node panicked (%v)", p)
		}
	}()
	_, err := Mixed(seed, 4000, eventline.NewTextHandler(buf, nil))
	if errors.Is(err, ErrViolation) {
		return "checker: " + lastPart(err.Error())
	}
	tests, _, perr := parse.Read(bytes.NewReader(buf.Bytes()), parse.Options{})
	if perr != nil || len(tests) != 1 {
		return ""
	}
	if lin, _ := analyze.CheckHistory(tests[0], 0, ""); lin != nil && lin.Result != "Ok" {
		return "porcupine: " + lin.Result
	}
	return ""
}

// TestMutationScenario runs one scenario (-scenario) under one seeded bug (-mutation, its
// number) and prints what it wrote: for writing scenarios that show a bug.
func TestMutationScenario(t *testing.T) {
	if *scenarioPath == "" {
		t.Skip("no -scenario")
	}
	raft.SetMutation(raft.Mutation(*mutationNo))
	defer raft.SetMutation(raft.NoMutation)
	out, _, err := runScenario(*scenarioPath)
	t.Logf("%s\nerror: %v", out, err)
}

var (
	scenarioPath = flag.String("scenario", "", "scenario file for TestMutationScenario")
	mutationNo   = flag.Int("mutation", 0, "seeded bug for TestMutationScenario")
)

// lastPart is a checker error without its "seed, step, at" prefix.
func lastPart(msg string) string {
	if _, rest, ok := strings.Cut(msg, ", at "); ok {
		if _, what, ok := strings.Cut(rest, ": "); ok {
			return what
		}
	}
	return msg
}

// runScenario runs a scenario file and returns its output and every event line it caused.
func runScenario(path string) (string, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	cmds, _, err := Commands(f)
	if err != nil {
		return "", nil, err
	}
	sc := NewScript()
	var out strings.Builder
	for _, line := range cmds {
		o, err := sc.Exec(line)
		out.WriteString(line + "\n" + o)
		if err != nil {
			break
		}
	}
	if sc.Sim() != nil && sc.Sim().Violation() != nil {
		return out.String(), sc.Events(), sc.Sim().Violation()
	}
	return out.String(), sc.Events(), nil
}
