package explain

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
	"github.com/raftviz/raftviz/parse/eventline"
)

// ev is an event of node at ms milliseconds, of kind with fields.
func ev(ms int64, node, kind, msg string, fields ...eventline.Field) parse.Event {
	return parse.Event{Time: ms * 1e6, Flags: parse.FlagTime, Node: node, Kind: kind, Msg: msg, Line: int32(ms), Fields: eventline.MakeFields(fields...)}
}

func field(k, v string) eventline.Field { return eventline.Field{Key: k, Value: v} }

// explainOf runs the analysis and the rules on a test of events.
func explainOf(status parse.Status, events []parse.Event) Explanation {
	t := &parse.Test{Name: "TestX", Status: status, Attempt: 1, Events: events}
	return Explain(t, analyze.Test(t, analyze.Options{}))
}

// rules are the rules of an explanation's findings, in order.
func rules(ex Explanation) string {
	var out []string
	for _, f := range ex.Findings {
		out = append(out, f.Rule)
	}
	return strings.Join(out, ",")
}

// TestLeaderlessTermsAreFound: terms 2-4 campaigned in with no leader elected (split votes),
// then a leader in term 5: one finding, of terms 2-4, shown by the campaigns; a single term
// without a leader is not one.
func TestLeaderlessTermsAreFound(t *testing.T) {
	var events []parse.Event
	ms := int64(0)
	for term := 2; term <= 4; term++ {
		for _, n := range []string{"1", "2"} {
			ms += 10
			events = append(events, ev(ms, n, eventline.KindState, "becomes candidate", field("term", itoa(term)), field("state", "candidate")))
		}
	}
	ms += 10
	events = append(events, ev(ms, "1", eventline.KindState, "becomes leader", field("term", "5"), field("state", "leader")))
	events = append(events, ev(ms+10, "3", eventline.KindState, "follower", field("term", "5"), field("state", "follower")))
	ex := explainOf(parse.StatusFail, events)
	if rules(ex) != "leaderless" {
		t.Fatalf("findings %+v, want one leaderless", ex.Findings)
	}
	f := ex.Findings[0]
	if !strings.HasPrefix(f.Anomaly, "terms 2-4 elected no leader") || len(f.Chain) != 6 || f.At.Line != 10 || f.Certainty != Stated {
		t.Fatalf("finding %+v", f)
	}
	// Term 4 alone without a leader: no finding.
	ex = explainOf(parse.StatusFail, append(events[4:6:6], events[6:]...))
	if rules(ex) != "" || len(ex.Last) == 0 {
		t.Fatalf("one term without a leader: findings %+v, last %v", ex.Findings, ex.Last)
	}
}

// TestSilentServerIsFound: in a failing test a server that stops printing early, with no fault
// of it stated, is found; one the harness crashed is not; nor is any in a test that passed.
func TestSilentServerIsFound(t *testing.T) {
	var events []parse.Event
	for ms := int64(1); ms <= 100; ms++ {
		for _, n := range []string{"1", "2", "3"} {
			if n == "3" && ms > 20 {
				continue
			}
			events = append(events, ev(ms, n, eventline.KindRecv, "receives heartbeat", field("term", "1")))
		}
	}
	ex := explainOf(parse.StatusFail, events)
	if rules(ex) != "silent" || !strings.Contains(ex.Findings[0].Anomaly, "node 3 prints nothing for the last 81%") || ex.Findings[0].At.Line != 20 {
		t.Fatalf("findings %+v", ex.Findings)
	}
	if ex := explainOf(parse.StatusPass, events); rules(ex) != "" {
		t.Fatalf("a passing test: %+v", ex.Findings)
	}
	crashed := append([]parse.Event{ev(21, eventline.ClusterNode, eventline.KindCrash, "crash 3", field("peer", "3"))}, events...)
	if ex := explainOf(parse.StatusFail, crashed); rules(ex) != "" {
		t.Fatalf("a server crashed by the harness: %+v", ex.Findings)
	}
}

// TestViolationIsFoundFirst: two leaders in one term are a stated finding, shown by the two
// leaders' events, listed before a later finding.
func TestViolationIsFoundFirst(t *testing.T) {
	events := []parse.Event{
		ev(10, "1", eventline.KindState, "becomes leader", field("term", "2"), field("state", "leader")),
		ev(11, "2", eventline.KindState, "becomes leader", field("term", "2"), field("state", "leader")),
	}
	for ms := int64(12); ms <= 100; ms++ {
		events = append(events, ev(ms, "1", eventline.KindRecv, "heartbeat reply", field("term", "2")))
	}
	events = append(events, ev(100, "2", eventline.KindRecv, "heartbeat", field("term", "2")))
	ex := explainOf(parse.StatusFail, events)
	if len(ex.Findings) == 0 || ex.Findings[0].Rule != "violation" || ex.Findings[0].Certainty != Stated ||
		len(ex.Findings[0].Chain) != 2 || ex.Symptom != ex.Findings[0].Anomaly {
		t.Fatalf("explanation %+v", ex)
	}
	// More violations of one check: the earliest is shown, the others counted.
	events = append(events, ev(101, "3", eventline.KindState, "becomes leader", field("term", "2"), field("state", "leader")))
	ex = explainOf(parse.StatusFail, events)
	if ex.Findings[0].Rule != "violation" || !strings.HasSuffix(ex.Findings[0].Anomaly, "(and 1 more of this check)") ||
		ex.Findings[0].At.Line != 10 || len(ex.Findings) > 1 && ex.Findings[1].Rule == "violation" {
		t.Fatalf("two violations of one check: %+v", ex.Findings)
	}
}

// TestNoFindingShowsTheLastEvents: with nothing found, the explanation says so and holds each
// server's last events, at most lastPerNode of each.
func TestNoFindingShowsTheLastEvents(t *testing.T) {
	var events []parse.Event
	for ms := int64(1); ms <= 30; ms++ {
		for _, n := range []string{"1", "2"} {
			events = append(events, ev(ms, n, eventline.KindRecv, "heartbeat", field("term", "1")))
		}
	}
	ex := explainOf(parse.StatusFail, events)
	if len(ex.Findings) != 0 || len(ex.Last) != 2*lastPerNode || ex.Last[0].Node != "1" || ex.Last[lastPerNode].Node != "2" ||
		ex.Last[lastPerNode-1].Line != 30 {
		t.Fatalf("explanation %+v", ex)
	}
	if ex.Symptom != "the test failed without saying why" {
		t.Fatalf("symptom %q", ex.Symptom)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestDoubleVoteIsFound: a node that grants its vote in one term to two candidates (restarting
// in between) is a stated finding naming both, shown by the two grants and the restart; granting
// the same candidate twice (a retried request) and pre-votes are not.
func TestDoubleVoteIsFound(t *testing.T) {
	grant := func(ms int64, node, cand string, more ...eventline.Field) parse.Event {
		return ev(ms, node, eventline.KindVote, "votes for "+cand,
			append([]eventline.Field{field("term", "1"), field("candidate", cand), field("granted", "true"), field("reason", "ok")}, more...)...)
	}
	events := []parse.Event{
		grant(10, "3", "1"),
		grant(11, "3", "1"), // the same request again
		grant(12, "3", "2", field("prevote", "true")),
		ev(20, "3", eventline.KindRestart, "restarts", field("term", "1")),
		grant(30, "3", "2"),
	}
	ex := explainOf(parse.StatusFail, events)
	if len(ex.Findings) != 1 || ex.Findings[0].Rule != "double-vote" ||
		ex.Findings[0].Anomaly != "node 3 granted its vote in term 1 twice: to 1, then to 2 (it restarted in between: the first vote was not kept)" ||
		len(ex.Findings[0].Chain) != 3 || ex.Findings[0].At.Line != 30 {
		t.Fatalf("findings %+v", ex.Findings)
	}
	if ex := explainOf(parse.StatusFail, events[:3]); rules(ex) != "" {
		t.Fatalf("one candidate granted twice, and a pre-vote: %+v", ex.Findings)
	}
}

// TestStuckLeaderIsFound: a leader that proposes index 5 and leads on for two seconds without
// committing it, its AppendEntries refused by 2 and 3, is found with the refusals; one that
// commits it, or stops leading soon after, is not.
func TestStuckLeaderIsFound(t *testing.T) {
	base := []parse.Event{
		ev(10, "1", eventline.KindState, "becomes leader", field("term", "2"), field("state", "leader")),
		ev(20, "1", eventline.KindPropose, "proposes set x 1 at 5", field("term", "2"), field("index", "5"), field("cmd", "set x 1")),
	}
	var refusals []parse.Event
	for ms := int64(100); ms <= 2100; ms += 100 {
		for _, from := range []string{"2", "3"} {
			refusals = append(refusals, ev(ms, "1", eventline.KindRecv, "receives AppendEntriesReply from "+from,
				field("term", "2"), field("type", "AppendEntriesReply"), field("from", from), field("success", "false")))
		}
	}
	events := append(append([]parse.Event{}, base...), refusals...)
	ex := explainOf(parse.StatusFail, events)
	if rules(ex) != "stuck" || !strings.HasPrefix(ex.Findings[0].Anomaly, "leader 1 of term 2 proposed index 5 and, leading on for 2.080s, never committed it: refused AppendEntries from 2 (21), 3 (21)") ||
		ex.Findings[0].At.Line != 20 || len(ex.Findings[0].Chain) != maxChain {
		t.Fatalf("findings %+v", ex.Findings)
	}
	committed := append(append([]parse.Event{}, events...), ev(2200, "1", eventline.KindCommit, "commits up to 5", field("term", "2"), field("commit", "5"), field("prev", "4")))
	if ex := explainOf(parse.StatusFail, committed); rules(ex) != "" {
		t.Fatalf("a leader that committed it: %+v", ex.Findings)
	}
	deposed := append(append([]parse.Event{}, base...), ev(500, "1", eventline.KindState, "becomes follower", field("term", "3"), field("state", "follower")))
	for ms := int64(600); ms <= 2100; ms += 100 {
		deposed = append(deposed, ev(ms, "1", eventline.KindRecv, "receives AppendEntries from 2", field("term", "3"), field("type", "AppendEntries"), field("from", "2")))
	}
	if ex := explainOf(parse.StatusFail, deposed); rules(ex) != "" {
		t.Fatalf("a leader deposed 0.5 s after its proposal: %+v", ex.Findings)
	}
}

// TestTwoLeadersShowTheirElections: the finding of two leaders in one term shows, before each
// leader, the votes that elected it (the grants naming it and its receipt of them); other
// terms' votes and pre-votes are left out.
func TestTwoLeadersShowTheirElections(t *testing.T) {
	vote := func(ms int64, node, cand, term string, more ...eventline.Field) parse.Event {
		return ev(ms, node, eventline.KindVote, "votes for "+cand,
			append([]eventline.Field{field("term", term), field("candidate", cand), field("granted", "true"), field("reason", "ok")}, more...)...)
	}
	events := []parse.Event{
		vote(1, "3", "1", "1"), // another term
		vote(2, "3", "1", "2", field("prevote", "true")),
		vote(3, "3", "1", "2"),
		ev(4, "1", eventline.KindRecv, "receives RequestVoteReply from 3", field("term", "2"), field("type", "RequestVoteReply"), field("from", "3"), field("granted", "true")),
		ev(10, "1", eventline.KindState, "becomes leader", field("term", "2"), field("state", "leader")),
		ev(11, "2", eventline.KindState, "becomes leader", field("term", "2"), field("state", "leader")),
	}
	ex := explainOf(parse.StatusFail, events)
	if len(ex.Findings) == 0 || ex.Findings[0].Rule != "violation" {
		t.Fatalf("findings %+v", ex.Findings)
	}
	var lines []int32
	for _, s := range ex.Findings[0].Chain {
		lines = append(lines, s.Line)
	}
	if fmt.Sprint(lines) != "[3 4 10 11]" {
		t.Fatalf("chain at lines %v, want the vote of term 2, its receipt, and the two leaders", lines)
	}
}

// FuzzExplain: on any input, every test the parser makes is explained without a panic, and
// every step of a finding points at an event of the test.
func FuzzExplain(f *testing.F) {
	for _, seed := range []string{
		"=== RUN   TestA\n10:00:00.000001 [1] becomes leader | ev=state term=2 state=leader\n10:00:00.000002 [2] becomes leader | ev=state term=2 state=leader\n--- FAIL: TestA (0.01s)\n",
		"=== RUN   TestB\n10:00:00.000001 [3] votes | ev=vote term=1 candidate=1 granted=true reason=ok\n10:00:00.000002 [3] votes | ev=vote term=1 candidate=2 granted=true reason=ok\n--- FAIL: TestB (0.01s)\n",
		"004045 TERM S0 converting to Candidate in T(3)\n004046 TERM S1 converting to Candidate in T(4)\n",
		"=== RUN   TestC\npanic: test timed out after 8s\n\ngoroutine 7 [sync.Mutex.Lock]:\nsync.(*Mutex).Lock(0x1)\n\t/go/src/sync/mutex.go:46 +0x15\n" +
			"example.com/raft.(*Raft).Vote(0x2)\n\t/src/raft/vote.go:76 +0x45\nFAIL\texample.com/raft\t8.0s\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tests, _, err := parse.Read(bytes.NewReader(in), parse.Options{NoInfer: true})
		if err != nil {
			return
		}
		for _, tt := range tests {
			ex := Explain(tt, analyze.Test(tt, analyze.Options{}))
			for _, fd := range ex.Findings {
				if fd.At.Event == -1 && len(fd.Chain) == 0 {
					continue // a finding with no event to point at
				}
				for _, s := range append([]Step{fd.At}, fd.Chain...) {
					if s.Event < 0 || s.Event >= len(tt.Events) {
						t.Fatalf("a step at event %d of %d", s.Event, len(tt.Events))
					}
				}
			}
		}
	})
}

// TestLaggingServerIsFound: a server that runs on to the end with its commit index 25 behind
// the others' is found, with its last commit and the highest; a disconnected one, or one only a
// few entries behind, is not.
func TestLaggingServerIsFound(t *testing.T) {
	commit := func(ms int64, node string, c int) parse.Event {
		return ev(ms, node, eventline.KindCommit, "commits", field("term", "1"), field("commit", strconv.Itoa(c)), field("prev", strconv.Itoa(c-1)))
	}
	build := func(lag int) []parse.Event {
		var events []parse.Event
		for i := 1; i <= 30; i++ {
			events = append(events, commit(int64(10*i), "1", i), commit(int64(10*i+1), "2", i))
			if i <= 30-lag {
				events = append(events, commit(int64(10*i+2), "3", i))
			}
			events = append(events, ev(int64(10*i+3), "3", eventline.KindRecv, "receives AppendEntries", field("term", "1"), field("type", "AppendEntries"), field("from", "1")))
		}
		return events
	}
	ex := explainOf(parse.StatusFail, build(25))
	if rules(ex) != "lagging" || !strings.HasPrefix(ex.Findings[0].Anomaly, "node 3's commit index ends at 5 while 1's reaches 30") || ex.Findings[0].At.Line != 52 {
		t.Fatalf("findings %+v", ex.Findings)
	}
	if ex := explainOf(parse.StatusFail, build(5)); rules(ex) != "" {
		t.Fatalf("5 entries behind: %+v", ex.Findings)
	}
	cut := append([]parse.Event{ev(1, eventline.ClusterNode, eventline.KindDisconnect, "disconnect 3", field("peer", "3"))}, build(25)...)
	if ex := explainOf(parse.StatusFail, cut); rules(ex) != "" {
		t.Fatalf("a disconnected server: %+v", ex.Findings)
	}
}

// TestStaleVoteIsFound: node 3 holds entry 2 of term 2 (appended from the leader of term 2,
// which appended it as its own) and grants its vote to a candidate whose log ends at entry 2
// of term 1: a stale vote. A candidate with a later last term, or the same one and a log as
// long, is up to date; a voter whose last entry's term is not known (appended from a leader
// that did not append it in its term) says nothing, and one whose entry 2 was truncated away
// is as up to date as a candidate holding entry 1 of term 2.
func TestStaleVoteIsFound(t *testing.T) {
	start := func(ms int64, node string) parse.Event {
		return ev(ms, node, eventline.KindStart, "starts", field("term", "0"), field("last_index", "0"), field("last_term", "0"))
	}
	appendOwn := ev(10, "2", eventline.KindAppend, "appends entry 2", field("term", "2"), field("state", "leader"), field("first", "1"), field("last", "2"))
	appendFrom := func(ms int64, leader, term string) parse.Event {
		return ev(ms, "3", eventline.KindAppend, "appends entry 2", field("term", term), field("state", "follower"), field("first", "1"), field("last", "2"), field("from", leader))
	}
	request := func(ms int64, lastIndex, lastTerm string) parse.Event {
		return ev(ms, "3", eventline.KindRecv, "receives RequestVote from 1", field("term", "2"), field("type", "RequestVote"), field("from", "1"),
			field("mterm", "3"), field("last_index", lastIndex), field("last_term", lastTerm))
	}
	grant := ev(40, "3", eventline.KindVote, "votes for 1", field("term", "3"), field("candidate", "1"), field("granted", "true"))
	base := []parse.Event{start(0, "2"), start(0, "3"), appendOwn, appendFrom(20, "2", "2")}
	with := func(more ...parse.Event) []parse.Event { return append(append([]parse.Event{}, base...), more...) }
	ex := explainOf(parse.StatusFail, with(request(30, "2", "1"), grant))
	if !strings.HasPrefix(rules(ex), "stale-vote") || ex.Findings[0].Anomaly != "node 3 granted its vote in term 3 to 1, whose log ends at index 2 of term 1, behind its own (index 2 of term 2): a vote without checking that the candidate's log is up to date" ||
		len(ex.Findings[0].Chain) != 2 || ex.Findings[0].At.Line != 40 || ex.Findings[0].Certainty != Inferred {
		t.Fatalf("findings %+v", ex.Findings)
	}
	if ex := explainOf(parse.StatusFail, with(request(30, "1", "2"), grant)); !strings.HasPrefix(rules(ex), "stale-vote") {
		t.Fatalf("a shorter log of the same last term: %+v", ex.Findings)
	}
	truncate := ev(25, "3", eventline.KindTruncate, "truncates 2", field("term", "2"), field("index", "2"), field("last", "2"))
	if ex := explainOf(parse.StatusFail, with(truncate, request(30, "1", "1"), grant)); !strings.HasPrefix(rules(ex), "stale-vote") ||
		!strings.Contains(ex.Findings[0].Anomaly, "behind its own (index 1 of term 2)") {
		t.Fatalf("after a truncation to entry 1 of term 2: %+v", ex.Findings)
	}
	for name, events := range map[string][]parse.Event{
		"a later last term":              with(request(30, "1", "3"), grant),
		"as long, of the same last term": with(request(30, "2", "2"), grant),
		"a pre-vote": with(request(30, "2", "1"), ev(40, "3", eventline.KindVote, "would vote for 1", field("term", "3"), field("candidate", "1"),
			field("granted", "true"), field("prevote", "true"))),
		"the voter's entry term unknown": {start(0, "3"), appendFrom(20, "2", "2"), request(30, "2", "1"), grant},
		"the voter's entry truncated":    with(truncate, request(30, "1", "2"), grant), // as long as what is left of the voter's
	} {
		if ex := explainOf(parse.StatusFail, events); strings.Contains(rules(ex), "stale-vote") {
			t.Errorf("%s: findings %+v", name, ex.Findings)
		}
	}
}

// TestChainsFollowSends: a receive in a chain brings the send it received (happens-before
// across nodes): by the RPC number when the log has one (not another RequestVote to the same
// node), else by type, sender, receiver and term; a receive with no send before it brings none.
func TestChainsFollowSends(t *testing.T) {
	send := func(ms int64, rpc, term string) parse.Event {
		fs := []eventline.Field{field("term", term), field("type", "RequestVote"), field("to", "3")}
		if rpc != "" {
			fs = append(fs, field("rpc", rpc))
		}
		return ev(ms, "1", eventline.KindSend, "sends RequestVote to 3", fs...)
	}
	recv := func(ms int64, rpc string) parse.Event {
		fs := []eventline.Field{field("term", "2"), field("type", "RequestVote"), field("from", "1"), field("mterm", "3")}
		if rpc != "" {
			fs = append(fs, field("rpc", rpc))
		}
		return ev(ms, "3", eventline.KindRecv, "receives RequestVote from 1", fs...)
	}
	for name, c := range map[string]struct {
		events []parse.Event
		want   int
	}{
		"by rpc":          {[]parse.Event{send(10, "1-7", "3"), send(20, "1-8", "3"), recv(30, "1-7")}, 0},
		"by term":         {[]parse.Event{send(10, "", "3"), send(20, "", "4"), recv(30, "")}, 0},
		"the latest such": {[]parse.Event{send(10, "", "3"), send(20, "", "3"), recv(30, "")}, 1},
		"none before it":  {[]parse.Event{recv(30, "1-7"), send(40, "1-7", "3")}, -1},
	} {
		cs := &Case{Test: &parse.Test{Events: c.events}}
		i := slices.IndexFunc(c.events, func(e parse.Event) bool { return e.Kind == eventline.KindRecv })
		if got := cs.sendOf(i); got != c.want {
			t.Errorf("%s: sendOf = %d, want %d", name, got, c.want)
		}
		if chain := cs.withSends([]Step{cs.step(i)}); c.want >= 0 && (len(chain) != 2 || chain[0].Event != c.want || chain[1].Event != i) {
			t.Errorf("%s: chain %+v", name, chain)
		}
	}
}

// TestSlowHeartbeatIsFound: node 2's election timer (150ms) fires 290ms after leader 1 last
// sent it anything, with no fault between: found. Not when a partition came between, when the
// leader sent within the timeout, when no timeout is stated, or when the leader had crashed.
func TestSlowHeartbeatIsFound(t *testing.T) {
	lead := ev(0, "1", eventline.KindState, "becomes leader", field("term", "1"), field("state", "leader"))
	send := func(ms int64) parse.Event {
		return ev(ms, "1", eventline.KindSend, "sends AppendEntries to 2", field("term", "1"), field("type", "AppendEntries"), field("to", "2"))
	}
	reset := ev(5, "2", eventline.KindTimer, "resets election timer", field("term", "1"), field("timer", "election"), field("action", "reset"), field("timeout", "150ms"))
	fire := ev(300, "2", eventline.KindTimer, "election timer fires", field("term", "1"), field("timer", "election"), field("action", "fire"))
	ex := explainOf(parse.StatusFail, []parse.Event{lead, reset, send(10), fire})
	if !strings.Contains(rules(ex), "slow-heartbeat") {
		t.Fatalf("findings %+v", ex.Findings)
	}
	var f Finding
	for _, x := range ex.Findings {
		if x.Rule == "slow-heartbeat" {
			f = x
		}
	}
	if !strings.HasPrefix(f.Anomaly, "node 2's election timer fired while 1 led term 1, up and not cut off, but had sent it nothing for 0.290s, longer than its election timeout (150ms)") ||
		len(f.Chain) != 3 || f.At.Line != 300 || f.Certainty != Inferred {
		t.Fatalf("finding %+v", f)
	}
	for name, events := range map[string][]parse.Event{
		"a partition between": {lead, reset, send(10), ev(100, "*", eventline.KindPartition, "partitioned", field("groups", "1|2")), fire},
		"a send within it":    {lead, reset, send(10), send(200), fire},
		"no timeout stated":   {lead, send(10), fire},
		"the leader crashed":  {lead, reset, send(10), ev(50, "1", eventline.KindCrash, "crashes", field("term", "1")), fire},
	} {
		if ex := explainOf(parse.StatusFail, events); strings.Contains(rules(ex), "slow-heartbeat") {
			t.Errorf("%s: findings %+v", name, ex.Findings)
		}
	}
}

// TestDoubleVoteStatedInOneLine: a vote whose line says the node had voted for another in the
// term (etcd-io/raft's "vote: 3") is a double vote by itself; one saying it had voted for the
// same candidate, or nobody, is not. Grants of one node on either side of a fresh start (a new
// cluster of a table test: term 0) are not one either.
func TestDoubleVoteStatedInOneLine(t *testing.T) {
	grant := func(ms int64, cand, had string) parse.Event {
		return ev(ms, "4", eventline.KindVote, "cast MsgVote for "+cand, field("term", "2"), field("candidate", cand),
			field("granted", "true"), field("voted_for", had))
	}
	ex := explainOf(parse.StatusFail, []parse.Event{grant(10, "1", "3")})
	if rules(ex) != "double-vote" || ex.Findings[0].Anomaly != "node 4 granted its vote in term 2 to 1 though it had voted for 3 in that term" {
		t.Fatalf("findings %+v", ex.Findings)
	}
	if ex := explainOf(parse.StatusFail, []parse.Event{grant(10, "1", "1"), grant(20, "1", "0")}); rules(ex) != "" {
		t.Fatalf("voted for the same candidate, or nobody: %+v", ex.Findings)
	}
	fresh := ev(15, "4", eventline.KindStart, "newRaft", field("init_term", "0"))
	if ex := explainOf(parse.StatusFail, []parse.Event{grant(10, "1", "0"), fresh, grant(20, "2", "0")}); rules(ex) != "" {
		t.Fatalf("votes of two fresh nodes: %+v", ex.Findings)
	}
	restarted := ev(15, "4", eventline.KindStart, "newRaft", field("init_term", "2"))
	if ex := explainOf(parse.StatusFail, []parse.Event{grant(10, "1", "0"), restarted, grant(20, "2", "0")}); rules(ex) != "double-vote" {
		t.Fatalf("votes on either side of a restart from disk: %+v", ex.Findings)
	}
}

// TestPanicPlaceIsFound: a panic's place is the first goroutine's first frame outside Go's own
// packages, found first, with the events before the panic's line; a test timeout's panic (the
// alarm's goroutine) has no such place.
func TestPanicPlaceIsFound(t *testing.T) {
	crash := func(line int32, text string) parse.OtherLine {
		return parse.OtherLine{Text: text, Line: line, Kind: parse.OtherCrash}
	}
	events := []parse.Event{
		ev(10, "1", eventline.KindState, "becomes leader", field("term", "1"), field("state", "leader")),
		ev(20, "2", eventline.KindRecv, "receives AppendEntries", field("term", "1"), field("type", "AppendEntries"), field("from", "1")),
	}
	tt := &parse.Test{Name: "TestX", Status: parse.StatusFail, Attempt: 1, Events: events, Panicked: true, Other: []parse.OtherLine{
		crash(30, "panic: runtime error: index out of range [5] with length 3"),
		crash(31, ""),
		crash(32, "goroutine 7 [running]:"),
		crash(33, "panic({0x6a2c1e, 0xc000012345})"),
		crash(34, "        /usr/local/go/src/runtime/panic.go:770 +0x132"),
		crash(35, "github.com/x/raft.(*node).step(0xc0001c2000, 0xc000416080)"),
		crash(36, "        /home/x/raft/node.go:88 +0x5a5"),
		crash(37, "created by github.com/x/raft.(*node).run in goroutine 1"),
		crash(38, "        /home/x/raft/node.go:40 +0x1b1"),
	}}
	ex := Explain(tt, analyze.Test(tt, analyze.Options{}))
	if len(ex.Findings) == 0 || ex.Findings[0].Rule != "panic" ||
		ex.Findings[0].Anomaly != "the test panicked in github.com/x/raft.(*node).step at node.go:88: runtime error: index out of range [5] with length 3" ||
		len(ex.Findings[0].Chain) != 2 || ex.Findings[0].At.Line != 20 {
		t.Fatalf("findings %+v", ex.Findings)
	}
	tt.Other = []parse.OtherLine{crash(30, "panic: test timed out after 10s"), crash(31, "goroutine 9 [running]:"),
		crash(32, "testing.(*M).startAlarm.func1()"), crash(33, "        /usr/local/go/src/testing/testing.go:2802 +0x605")}
	if ex := Explain(tt, analyze.Test(tt, analyze.Options{})); strings.Contains(rules(ex), "panic") {
		t.Fatalf("a timeout: %+v", ex.Findings)
	}
}

// TestApplyOrderIsFound: node 2 applies 1, 2, 3 and then 2 again: found; applies again after a
// restart, or after a snapshot installed, and gaps are not.
func TestApplyOrderIsFound(t *testing.T) {
	apply := func(ms int64, idx string) parse.Event {
		return ev(ms, "2", eventline.KindApply, "applies at "+idx, field("term", "1"), field("index", idx), field("eterm", "1"))
	}
	ex := explainOf(parse.StatusFail, []parse.Event{apply(10, "1"), apply(20, "2"), apply(30, "3"), apply(40, "2")})
	if rules(ex) != "apply-order" || ex.Findings[0].Anomaly != "node 2 applied index 2 after index 3, with no restart or snapshot between: an entry applied out of order" ||
		len(ex.Findings[0].Chain) != 2 || ex.Findings[0].At.Line != 40 {
		t.Fatalf("findings %+v", ex.Findings)
	}
	if ex := explainOf(parse.StatusFail, []parse.Event{apply(10, "1"), apply(20, "1")}); !strings.HasSuffix(ex.Findings[0].Anomaly, "an entry applied again") {
		t.Fatalf("the same index twice: %+v", ex.Findings)
	}
	for name, events := range map[string][]parse.Event{
		"after a restart": {apply(10, "1"), apply(20, "2"), ev(25, "2", eventline.KindRestart, "restarts", field("term", "1")), apply(30, "1")},
		"after a snapshot": {apply(10, "5"), ev(15, "2", eventline.KindSnapshot, "installs snapshot", field("term", "1"), field("index", "3"),
			field("action", "installed")), apply(20, "4")},
		"a gap": {apply(10, "1"), apply(20, "4")},
	} {
		if ex := explainOf(parse.StatusFail, events); strings.Contains(rules(ex), "apply-order") {
			t.Errorf("%s: findings %+v", name, ex.Findings)
		}
	}
}

// TestDeadlockIsFound: a test timeout whose dump has goroutines of the code under test waiting
// in sync.Mutex.Lock is found first, the places by how many wait there; goroutines waiting
// otherwise (a sync.Cond, a channel), or a timeout with no lock waited for, are not.
func TestDeadlockIsFound(t *testing.T) {
	crash := func(text string) parse.OtherLine { return parse.OtherLine{Text: text, Kind: parse.OtherCrash} }
	waiting := func(id, state, fn, file string) []parse.OtherLine {
		return []parse.OtherLine{crash("goroutine " + id + " [" + state + "]:"), crash("sync.(*Mutex).Lock(0x4c9fbe?)"),
			crash("        /usr/local/go/src/sync/mutex.go:46 +0x15"), crash(fn + "(0xc000132000)"), crash("        /src/raft/" + file + " +0x45")}
	}
	dump := []parse.OtherLine{crash("panic: test timed out after 8s")}
	dump = append(dump, waiting("7", "sync.Mutex.Lock", "example.com/raft.(*Raft).RequestVote", "vote.go:76")...)
	dump = append(dump, waiting("8", "sync.Mutex.Lock, 2 minutes", "example.com/raft.(*Raft).RequestVote", "vote.go:76")...)
	dump = append(dump, waiting("9", "sync.Mutex.Lock", "example.com/raft.(*Raft).ticker", "raft.go:149")...)
	dump = append(dump, waiting("10", "sync.Cond.Wait", "example.com/raft.(*Raft).applier", "apply.go:20")...)
	tt := &parse.Test{Name: "TestX", Status: parse.StatusFail, Attempt: 1, Panicked: true, Other: dump,
		Events: []parse.Event{ev(10, "1", eventline.KindState, "becomes leader", field("term", "1"), field("state", "leader"))}}
	ex := Explain(tt, analyze.Test(tt, analyze.Options{}))
	if len(ex.Findings) == 0 || ex.Findings[0].Rule != "deadlock" || ex.Findings[0].Anomaly != "the test timed out with 3 goroutines of the code under test waiting for a lock "+
		"(2 in example.com/raft.(*Raft).RequestVote at vote.go:76, 1 in example.com/raft.(*Raft).ticker at raft.go:149): a lock taken and never released, as a rule (a deadlock)" {
		t.Fatalf("findings %+v", ex.Findings)
	}
	tt.Other = append(append([]parse.OtherLine{}, dump[:1]...), dump[16:]...) // the Cond waiter only
	if ex := Explain(tt, analyze.Test(tt, analyze.Options{})); strings.Contains(rules(ex), "deadlock") {
		t.Fatalf("no lock waited for: %+v", ex.Findings)
	}
}
