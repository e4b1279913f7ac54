package parse

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestInferredShapes: a log in each shape of the catalogue, read with no flags, has its servers
// as nodes, its time, and the leader of its term; shapes of no server are not inferred.
func TestInferredShapes(t *testing.T) {
	line := func(shape string, node, i int) string {
		clock := fmt.Sprintf("21:38:%02d.%06d", i/20, (i%20)*1000)
		switch shape {
		case "[me, term]":
			return fmt.Sprintf("%s[%d, 1] tick %d", clock, node, i)
		case "[me N]":
			return fmt.Sprintf("2026/12/06 %s [me %d] tick %d", clock, node, i)
		case "{Node N}":
			return fmt.Sprintf("2026/12/06 %s {Node %d} tick %d", clock, node, i)
		case "X[N]":
			return fmt.Sprintf("2026/12/06 %s F[%d] tick %d", clock, node, i)
		case "SN":
			return fmt.Sprintf("%08d RAFT TICK S%d tick %d", i*1000, node, i)
		case "server N":
			return fmt.Sprintf("2026/12/06 %s term 1 server %d tick %d", clock, node, i)
		case "(N)":
			return fmt.Sprintf("%s (%d) tick %d", clock, node, i)
		case "nN":
			return fmt.Sprintf("2026-12-06T%sZ n%d: tick %d", clock, node, i)
		}
		panic(shape)
	}
	for _, c := range []struct {
		shape  string
		nodes  []string
		leader string
	}{
		{"[me, term]", []string{"0", "1", "2"}, "1"},
		{"[me N]", []string{"0", "1", "2"}, "1"},
		{"{Node N}", []string{"0", "1", "2"}, "1"},
		{"X[N]", []string{"0", "1", "2"}, "1"},
		{"SN", []string{"S0", "S1", "S2"}, "S1"},
		{"server N", []string{"0", "1", "2"}, "1"},
		{"(N)", []string{"0", "1", "2"}, "1"},
		{"nN", []string{"n0", "n1", "n2"}, "n1"},
	} {
		var b strings.Builder
		b.WriteString("=== RUN   TestX\n")
		for i := 0; i < 60; i++ {
			l := line(c.shape, i%3, i)
			if i == 30 {
				l = strings.Replace(line(c.shape, 1, i), fmt.Sprintf("tick %d", i), "became leader at term 1", 1)
			}
			b.WriteString(l + "\n")
		}
		b.WriteString("--- PASS: TestX (0.10s)\n")
		tests, sum, err := Read(strings.NewReader(b.String()), Options{})
		if err != nil || len(tests) != 1 {
			t.Fatalf("%s: %d tests, %v", c.shape, len(tests), err)
		}
		if tests[0].Profile != "inferred" || !slices.Equal(tests[0].Nodes(), c.nodes) || sum.NotUnderstood != 0 {
			t.Errorf("%s: profile %q, nodes %v, %d not understood; want inferred, %v", c.shape, tests[0].Profile, tests[0].Nodes(), sum.NotUnderstood, c.nodes)
			continue
		}
		var leader string
		for _, e := range tests[0].Events {
			if e.BecameLeader() {
				leader = e.Node
			}
		}
		if leader != c.leader || tests[0].Events[0].Flags&FlagTime == 0 {
			t.Errorf("%s: leader %q (want %q), first event timed %v", c.shape, leader, c.leader, tests[0].Events[0].Flags&FlagTime != 0)
		}
	}

	// Not a cluster: one constant name, or none, near the start of the lines.
	for name, text := range map[string]string{
		"one name":   strings.Repeat("2026/12/06 21:38:00 [0] the same server\n", 40),
		"prose":      strings.Repeat("starting the service on port 8080\nhandled a request in 3ms\n", 20),
		"deep names": strings.Repeat("2026/12/06 21:38:00 handled a request of a client that was slow, from server 1\n2026/12/06 21:38:00 handled a request of a client that was slow, from server 2\n", 20),
	} {
		if tests, _, _ := Read(strings.NewReader(text), Options{}); len(tests) > 0 && tests[0].Profile == "inferred" {
			t.Errorf("%s: inferred a profile for a log of no cluster", name)
		}
	}
}

// TestInferenceLeavesKnownDialectsAlone: an input a built-in profile reads is not inferred.
func TestInferenceLeavesKnownDialectsAlone(t *testing.T) {
	text := strings.Repeat("17:06:39.885142 [0] Becomes Candidate (currentTerm=1)\n17:06:39.885142 [1] Becomes Follower\n", 30)
	if tests, _, _ := Read(strings.NewReader(text), Options{}); len(tests) != 1 || tests[0].Profile != "classic" {
		t.Errorf("classic lines not read as classic: %+v", tests)
	}
}
