package profile

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinsParseAndAreOrdered(t *testing.T) {
	names := Names()
	want := []string{"hashicorp", "etcd", "nats", "dslogs", "etcd-trace", "json", "classic"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("built-in profiles %v, want %v (detection order)", names, want)
	}
	for _, p := range Builtins() {
		if p.Description == "" || p.Source != "builtin" {
			t.Errorf("%s: description %q source %q", p.Name, p.Description, p.Source)
		}
		// Its fact rules are compiled on first use (rules panics on a mistake): here.
		if err := p.compileFacts(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := map[string]string{
		"name x\nline ^(?P<msg>[\n":                       "x.profile:2: bad regexp",
		"name x\nline ^(?P<m>.*)$\n":                      "needs a (?P<msg>...) group",
		"line ^(?P<msg>.*)$\n":                            "no name line",
		"name x\n":                                        "no line rule",
		"name x\nline builtin:yaml\n":                     "unknown builtin line syntax",
		"name x\nline builtin:classic\nfoo 1":             "unknown directive \"foo\"",
		"name x\nline builtin:classic\nfact state : (\n":  "x.profile:3: bad regexp",
		"name x\nline builtin:classic\nfact state (x)\n":  "fact wants",
		"name x\nline builtin:classic\ntime offset -1s\n": "positive unit",
		// A misspelt kind would state nothing, silently: the leader would disappear.
		"name x\nline builtin:classic\n\nfact stat state=leader : ^won\n": "x.profile:4: unknown fact kind \"stat\"",
		"name x\nline builtin:classic\nmsg-node ^(\\d+) \n":               "msg-node needs a (?P<node>...) group",
		"name x\nline builtin:classic\nbook ID:(?P<id>\\S+)\n":            "book needs (?P<id>...) and (?P<addr>...) groups",
	}
	for text, want := range cases {
		_, err := Parse(strings.NewReader(text), "x.profile")
		var pe *Error
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line with %q", text, err, want)
		}
	}
}

func TestFactsKindThenFieldsOutsideTheMatch(t *testing.T) {
	p, err := Parse(strings.NewReader(`name t
line builtin:classic
fact apply : (?i)applying index (?P<index>\d+) term (?P<eterm>\d+)
fact state state=leader : (?i)becomes leader
fact - : (?i)\bterm (?P<term>\d+)
fact - : \bT(?P<term>\d+)\b
`), "t")
	if err != nil {
		t.Fatal(err)
	}
	// The apply rule took "term 2": the node's term is not read from the entry's.
	f, ok := p.Facts("Applying index 1 term 2 cmd x")
	if !ok || f.Kind != "apply" || field(f, "eterm") != "2" || field(f, "term") != "" {
		t.Errorf("apply: %+v", f)
	}
	f, ok = p.Facts("Becomes Leader at T7")
	if !ok || f.Kind != "state" || field(f, "state") != "leader" || field(f, "term") != "7" {
		t.Errorf("leader: %+v", f)
	}
	// The first field-only rule that sets a key wins.
	f, _ = p.Facts("term 3 then T9")
	if f.Kind != "" || field(f, "term") != "3" {
		t.Errorf("fields only: %+v", f)
	}
	if _, ok := p.Facts("nothing here"); ok {
		t.Error("a message without facts matched")
	}
}

func field(f Fact, k string) string {
	for _, x := range f.Fields {
		if x.Key == k {
			return x.Value
		}
	}
	return ""
}

func TestRequiredLiteral(t *testing.T) {
	cases := []struct {
		expr string
		lit  string
		fold bool
	}{
		{`^became leader at term (?P<term>\d+)`, "became leader at term ", false},
		{`(?i)\b(?:becom\w*|became)\W+leader`, "leader", true},
		{`(?:crash|killed)`, "", false}, // an alternation has no single literal
		{`\bT(\d+)`, "", false},         // too short to be worth it
	}
	for _, c := range cases {
		lit, fold := requiredLiteral(c.expr)
		if lit != c.lit || fold != c.fold {
			t.Errorf("%s: %q %v, want %q %v", c.expr, lit, fold, c.lit, c.fold)
		}
	}
}

func TestCustomFromFlags(t *testing.T) {
	classic, _ := Lookup("classic")
	p, err := Custom(`node=(?P<node>\w+)`, "", classic)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := p.ParseLine([]byte("12:00 node=n3 became leader term=4"), nil)
	if !ok || r.Node != "n3" || string(r.Msg) != "became leader term=4" {
		t.Fatalf("%+v %v", r, ok)
	}
	// The classic profile's fact rules come with it (compiled lazily there, copied here).
	if f, ok := p.Facts(string(r.Msg)); !p.HasFacts() || !ok || f.Kind != "state" {
		t.Fatalf("facts of a --node-re profile: has %v, %+v %v", p.HasFacts(), f, ok)
	}
	for _, bad := range [][2]string{{`(`, ""}, {`node=\w+`, ""}, {`(?P<node>\w+)`, "2006"}} {
		if _, err := Custom(bad[0], bad[1], classic); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q %q: error %v", bad[0], bad[1], err)
		}
	}
}

// TestLeadingWordsMatchAsRegexp: a regexp run anchored where one of its leading words occurs
// finds what Go's unanchored regexp finds, submatches included, on random messages.
func TestLeadingWordsMatchAsRegexp(t *testing.T) {
	exprs := []string{`\bterm\s*=\s*(?P<term>\d+)`, `(?i)\bkilled\b`, `(?i)\bcommit\w*\s+(?:up\s+)?to\s+(?:index\s+)?(?P<commit>\d+)`,
		`(?i)\bappl(?:y|ying|ied)\s+(?:\d+\s*-\s*)?(?P<index>\d+)`, `\bcurrentTerm\s*[=:]\s*(?P<term>\d+)`,
		`(?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|elected)\W+(?:a\s+|the\s+)*leader`, `(?i)\b(?:at|in)\s+term\s+(?P<term>\d+)`,
		// The server token of inferred profiles: letters of either case written as classes.
		`\b(?:[Ss]erver|[Pp]eer|[Nn]ode|[Rr]aft(?:-[a-z]+)?|rf\.me|me)[ :=]+(?P<node>\d{1,2})\b`,
		`\b[Tt]erm:\s*\[(?P<term>\d+)\]`, `(?:[Ss]erver|peer)\s(?P<node>\d)`, `term\b`, `\bterm\B`,
		// "The term in the first N characters": run as a search for what follows the dots.
		`^.{0,40}?\b[Tt]erm[ :=]\s*(?P<term>\d+)\b`, `^.{0,5}?(?P<x>term)\s*(?P<term>\d+)`, `^.*?\bserver (?P<node>\d)`,
		// A class of two cases, then a literal of one (the search is without regard to case).
		`\b(?:[bB]ecome|[bB]ecame|[sS]witchTo|[tT]oBe)Leader`}
	words := []string{"term", "Term", "TERM", "=", " ", "3", "12", "xterm", "term=", "killed", "Killed", "skilled", "commit", "commits",
		"to", "up", "index", "apply", "applied", "appl", "-", "currentTerm", "_term", "é", "K", "\u212a", ":", "terms",
		"become", "becomes", "Became", "converting", "is", "now", "a", "the", "leader", "Leader", "elected", "at", "in", "isnow", "xbecome",
		"server", "Server", "SERVER", "peer", "Peer", "node", "raft", "raft-x", "Raft-", "rf.me", "me", "ame", "[", "]", "Term:", "\u017f", "\n", "(becomeLeader", "BecomeLeader", "switchToLeader", "becomeleader", "toBeLEADER"}
	rng := rand.New(rand.NewPCG(3, 5))
	var scratch [maxStackSlots]int
	for _, expr := range exprs {
		re := regexp.MustCompile(expr)
		l := newLineRegexp(re)
		lazy := strings.HasPrefix(expr, "^")
		if !lazy && l.lead == nil || lazy && l.lazy == nil {
			t.Fatalf("%s: no leading words (%v) or lazy prefix (%v)", expr, l.lead, l.lazy)
		}
		for i := 0; i < 20000; i++ {
			var b strings.Builder
			n := rng.IntN(8)
			if i%4 == 0 {
				n = 20 + rng.IntN(40) // longer than shortText: each word looked for apart
			}
			for j := n; j >= 0; j-- {
				b.WriteString(words[rng.IntN(len(words))])
				if rng.IntN(2) == 0 {
					b.WriteByte(' ')
				}
			}
			s := b.String()
			want := re.FindStringSubmatchIndex(s)
			if got := l.FindStringSubmatchIndex(s); !slices.Equal(got, want) {
				t.Fatalf("%s on %q: %v, want %v", expr, s, got, want)
			}
			// Into room left over from the last message, as ParseLine and the fact rules do.
			if got := l.findStringInto(scratch[:0], s); !slices.Equal(got, want) {
				t.Fatalf("%s on %q into scratch slots: %v, want %v", expr, s, got, want)
			}
			if lazy {
				continue
			}
			if got := l.lead.find([]byte(s)); isASCII(s) && !slices.Equal(got, want) {
				t.Fatalf("%s on %q (leading words): %v, want %v", expr, s, got, want)
			}
		}
	}
}

// TestFaultFactsAgreeWithFacts: FaultFacts says a message is a fault exactly when Facts does,
// also when a rule of another kind comes first and matches too.
func TestFaultFactsAgreeWithFacts(t *testing.T) {
	p, err := Parse(strings.NewReader(`name t
line ^(?P<msg>.*)$
fact state state=leader : (?i)\bleader\b
fact crash : (?i)\bcrash
fact leader : ^raft\.node: (?P<node>\d+) elected leader (?P<leader>\d+)
`), "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"the leader crashed", "crash of 2", "raft.node: 1 elected leader 2", "nothing", "leader here"} {
		all, okAll := p.Facts(msg)
		f, ok := p.FaultFacts(msg)
		wantFault := okAll && (all.Kind == "crash" || all.Node != "")
		if ok != wantFault || ok && (f.Kind != all.Kind || f.Node != all.Node) {
			t.Errorf("%q: FaultFacts %+v %v, Facts %+v %v", msg, f, ok, all, okAll)
		}
	}
}

// TestNodeFactsAgreeWithFacts: NodeFacts names the node Facts names, and only then.
func TestNodeFactsAgreeWithFacts(t *testing.T) {
	p, err := Parse(strings.NewReader(`name t
line ^(?P<msg>.*)$
fact state state=leader : (?i)\bleader\b
fact crash : (?i)\bcrash\w*\s+(?P<node>S\d+)
fact crash : (?i)\bcrash
`), "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"crash S1", "the leader crashed S2", "crash", "nothing"} {
		all, okAll := p.Facts(msg)
		f, ok := p.NodeFacts(msg)
		if want := okAll && all.Node != ""; ok != want || ok && f.Node != all.Node {
			t.Errorf("%q: NodeFacts %+v %v, Facts %+v %v", msg, f, ok, all, okAll)
		}
	}
}

// TestEtcdPreVoteIsAPreVote: etcd-io/raft's "cast MsgPreVote for 2" is a pre-vote (prevote=true),
// not a vote of the term: read as one, a node seemed to vote twice in a term.
func TestEtcdPreVoteIsAPreVote(t *testing.T) {
	var etcd *Profile
	for _, p := range Builtins() {
		if p.Name == "etcd" {
			etcd = p
		}
	}
	if etcd == nil {
		t.Fatal("no etcd profile")
	}
	for msg, want := range map[string]string{
		"[logterm: 1, index: 3, vote: 1] cast MsgPreVote for 2 [logterm: 1, index: 3] at term 1":      "true",
		"[logterm: 1, index: 1, vote: 0] cast MsgVote for 1 [logterm: 1, index: 1] at term 1":         "",
		"[logterm: 1, index: 3, vote: 1] rejected MsgPreVote from 2 [logterm: 1, index: 2] at term 1": "true",
	} {
		f, ok := etcd.Facts(msg)
		got := ""
		for _, fl := range f.Fields {
			if fl.Key == "prevote" {
				got = fl.Value
			}
		}
		if !ok || f.Kind != "vote" || got != want {
			t.Errorf("%q: %+v %v, want a vote with prevote=%q", msg, f, ok, want)
		}
	}
}
