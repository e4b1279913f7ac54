// Package infer writes a profile for a home-made Raft's debug log that no profile reads: from a
// sample of its lines it finds the line's time, the token that names the server and, where there
// is one, the token that states the node's term, and adds the common wordings of role changes,
// votes, commits, applies and the lab testers' own lines. The result is an ordinary profile
// (docs/PROFILES.md): its text can be printed, edited and kept.
//
// Inference is statistics over a catalogue of shapes people print, not one file's format: a
// shape wins when it is where a server's name would be (near the start of the message) on most
// lines, and its values form a small stable set, as a cluster's servers do.
package infer

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/raftviz/raftviz/parse/profile"
)

// Name is the name of an inferred profile (raftviz --list shows it as the input's profile), and
// Source its Profile.Source.
const (
	Name   = "inferred"
	Source = "inferred"
)

// Result is what inference found in a sample.
type Result struct {
	Text    string           // the profile, as a file would hold it
	Profile *profile.Profile // Text, parsed
	Lines   int              // sample lines that the profile reads as a server's
	Sampled int              // sample lines that looked like debug output (not go test's own)
}

// a timeShape is a stamp at the start of a line.
type timeShape struct {
	re     string // the stamp, as a regexp without groups
	layout string // the profile's time directive
	desc   string
}

// sep is what follows the stamp: blanks, or for a clock none at all ("19:09:51.475[1, 1] ...":
// a stamp that ends in its fraction's digits needs no blank after it; a counter does).
func (t *timeShape) sep() string {
	if strings.HasPrefix(t.layout, "offset") {
		return `\s+`
	}
	return `\s*`
}

// times are the stamps people's loggers write, most specific first.
var times = []timeShape{
	{`\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?`, "2006/01/02 15:04:05", "log.Printf date and time"},
	{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)`, "2006-01-02T15:04:05.999999999Z07:00", "RFC 3339"},
	{`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?`, "2006-01-02 15:04:05", "date and time"},
	{`\d\d:\d\d:\d\d(?:\.\d+)?`, "15:04:05", "time of day"},
	{`\d{6,}`, "offset 1ms", "a counter since the start"}, // unit set from its values (see counterUnit)
}

// a nodeShape is a way of naming the server a line is about.
type nodeShape struct {
	re   string // with (?P<node>...), and maybe (?P<term>...)
	desc string
	term bool // re always reads the term too
}

// nodes are the ways students and hobbyists name their servers in debug lines, from real logs
// (testdata/corpus), most specific first: "[1, 3]" (me, term), "[me 1]", "[S1]", "{Node 1}",
// "s[1]", "L[1]", "[1]", "S1", "server 1", "raft-server 1", "rf.me=1", "(1)", "n1".
var nodes = []nodeShape{
	{`\[(?P<node>\d{1,2}), ?(?P<term>\d+)\]`, "[me, term]", true},
	{`\[(?:me|id|server|peer|node|raft|rf\.me|Server|Peer|Node|Raft)[ :=]?(?P<node>\d{1,2})\]`, "[me N]", false},
	{`\[(?P<node>[SRN]\d{1,2})\]`, "[SN]", false},
	{`\{(?:Node|node|Server|server|Peer|peer|S)[ :=]?(?P<node>\d{1,2})\}`, "{Node N}", false},
	{`\b[A-Za-z]\[(?P<node>\d{1,2})\]`, "X[N]", false}, // "s[1]", a role's initial: "L[1]", "F[2]"
	{`\[(?P<node>\d{1,2})\]`, "[N]", false},
	{`\b(?P<node>[SR]\d{1,2})\b(?:\((?P<term>\d+)(?:,\s*[A-Za-z-]+)?\))?`, "SN", false}, // "S0(3,Leader)": its term in parentheses
	{`\b(?:[Ss]erver|[Pp]eer|[Nn]ode|[Rr]aft(?:-[a-z]+)?|rf\.me|me)[ :=]+(?P<node>\d{1,2})\b`, "server N", false},
	{`\((?P<node>\d{1,2})\)`, "(N)", false},
	{`\b(?P<node>n\d{1,2})\b`, "nN", false},
}

// terms are the ways a line states its node's term in its prefix: "term 3", "T3", "T(3)",
// "[term 3]".
var terms = []struct{ re, desc string }{
	{`\[[Tt]erm[ :=]?(?P<term>\d+)\]`, "[term N]"},
	{`\b[Tt]erm[ :=]\s*(?P<term>\d+)\b`, "term N"},
	{`\bT\((?P<term>\d+)\)`, "T(N)"},
	{`\bT(?P<term>\d+)\b`, "TN"},
}

// prefixLimit is how far into a message (after its time) a server's name may be: names are
// printed first, or after a topic or a role word, not deep in a sentence.
const prefixLimit = 40

// ansi matches the colour codes some loggers write around a line.
const ansi = `(?:\x1b\[[0-9;]*m)*`

var (
	ansiRe = regexp.MustCompile("\x1b\\[[0-9;]*m")
	// framing is go test's own output and the 6.824 tester's, which name no server.
	framing = regexp.MustCompile(`^(?:=== (?:RUN|PAUSE|CONT|NAME) |--- (?:PASS|FAIL|SKIP)|PASS$|FAIL|ok\s|\?\s|panic:|goroutine \d|\s|Test \(|\s*\.\.\. |exit status|go: |#)`)
)

// Infer writes a profile for lines (a sample from the start of an input), or returns false when
// no shape names servers on enough of them.
func Infer(lines [][]byte) (Result, bool) {
	var sample []string
	for _, l := range lines {
		s := strings.TrimRight(ansiRe.ReplaceAllString(string(l), ""), "\r ")
		if s == "" || framing.MatchString(s) {
			continue
		}
		sample = append(sample, s)
	}
	if len(sample) < 10 {
		return Result{}, false
	}
	ts, rests := pickTime(sample)
	ns, hits := pickNode(rests)
	if ns == nil || hits*10 < len(sample)*4 {
		return Result{}, false // a server is named on fewer than 40% of the lines
	}
	term, termDesc := pickTerm(rests, ns)
	text := write(ts, ns, term, termDesc, rests)
	p, err := profile.Parse(strings.NewReader(text), Name)
	if err != nil {
		return Result{}, false // a bug here; the input is read without inference
	}
	p.Source = Source
	return Result{Text: text, Profile: p, Lines: hits, Sampled: len(sample)}, true
}

// pickTime finds the stamp that begins most lines (at least 30% of them), and returns the
// lines' text after it.
func pickTime(sample []string) (*timeShape, []string) {
	best, bestN := -1, 0
	for i, t := range times {
		re := regexp.MustCompile(`^` + t.re + t.sep())
		n := 0
		for _, s := range sample {
			if re.MatchString(s) {
				n++
			}
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	if best < 0 || bestN*10 < len(sample)*3 {
		return nil, sample
	}
	t := times[best]
	re := regexp.MustCompile(`^` + t.re + t.sep())
	rests := make([]string, len(sample))
	var maxCounter int64
	for i, s := range sample {
		if loc := re.FindStringIndex(s); loc != nil {
			if t.layout == "offset 1ms" {
				n, _ := strconv.ParseInt(strings.TrimSpace(s[:loc[1]]), 10, 64)
				maxCounter = max(maxCounter, n)
			}
			rests[i] = s[loc[1]:]
		} else {
			rests[i] = s
		}
	}
	if t.layout == "offset 1ms" {
		t.layout = "offset " + counterUnit(maxCounter)
	}
	return &t, rests
}

// counterUnit guesses the unit of a counter since the start from the largest value in the
// sample, which covers a few seconds of a test: 6 digits are milliseconds (or dslogs' tenths),
// more are microseconds.
func counterUnit(max int64) string {
	if max >= 10_000_000 {
		return "1us"
	}
	return "1ms"
}

// pickNode finds the shape that names a server near the start of most messages, with values of
// a cluster (2 to 16 of them, none on almost every line: a constant is no server's name). A line
// counts for the first shape of the catalogue it has (the most specific): "s[2] ... Term:[0]" is
// s[N]'s, not [N]'s.
func pickNode(rests []string) (*nodeShape, int) {
	res := make([]*regexp.Regexp, len(nodes))
	for i := range nodes {
		res[i] = regexp.MustCompile(nodes[i].re)
	}
	hits := make([]int, len(nodes))
	values := make([]map[string]int, len(nodes))
	for i := range values {
		values[i] = map[string]int{}
	}
	for _, s := range rests {
		head := s[:min(len(s), prefixLimit+24)]
		for i, re := range res {
			m := re.FindStringSubmatchIndex(head)
			if m == nil || m[0] > prefixLimit {
				continue
			}
			ni := re.SubexpIndex("node")
			hits[i]++
			values[i][head[m[2*ni]:m[2*ni+1]]]++
			break
		}
	}
	var best *nodeShape
	bestN := 0
	for i := range nodes {
		n := hits[i]
		if len(values[i]) < 2 || len(values[i]) > 16 {
			continue
		}
		top := 0
		for _, c := range values[i] {
			top = max(top, c)
		}
		if top*100 > n*95 {
			continue
		}
		if n > bestN {
			best, bestN = &nodes[i], n
		}
	}
	return best, bestN
}

// pickTerm finds a shape that states a term in most messages' prefixes (a lab's "T3" after the
// topic, "term 1 server 1 ..."), unless the node's shape carries the term.
func pickTerm(rests []string, ns *nodeShape) (re, desc string) {
	if ns.term {
		return "", ""
	}
	for _, t := range terms {
		re := regexp.MustCompile(t.re)
		n := 0
		for _, s := range rests {
			if m := re.FindStringIndex(s[:min(len(s), prefixLimit+16)]); m != nil && m[0] <= prefixLimit {
				n++
			}
		}
		if n*2 >= len(rests) {
			return t.re, t.desc
		}
	}
	return "", ""
}

// write renders the profile. The server's name is taken out of the message when it begins it
// (after a topic word at most); a message that names it further in keeps it.
func write(ts *timeShape, ns *nodeShape, term, termDesc string, rests []string) string {
	re := regexp.MustCompile(ns.re)
	atStart := 0
	for _, s := range rests {
		if m := re.FindStringIndex(s); m != nil && m[0] == 0 {
			atStart++
		}
	}
	var b bytes.Buffer
	desc := "no time"
	timePart := ""
	if ts != nil {
		desc = ts.desc
		timePart = `(?P<time>` + ts.re + `)` + ts.sep() + ansi
	}
	fmt.Fprintf(&b, "# Inferred by raftviz from the start of the input: %s, the server as %s", desc, ns.desc)
	if term != "" {
		fmt.Fprintf(&b, ", its term as %s", termDesc)
	}
	fmt.Fprintf(&b, ".\n# Edit it and keep it: raftviz --profile FILE, or in $XDG_CONFIG_HOME/raftviz/profiles/.\n")
	fmt.Fprintf(&b, "name        %s\n", Name)
	fmt.Fprintf(&b, "description inferred: %s, server as %s\n", desc, ns.desc)
	nodeRe := ns.re
	atStartRule := `^` + nodeRe + `[\s:,\-]*`
	switch {
	case ts != nil:
		// Every stamped line is read, with its time: one that names no server is the cluster's
		// (the tester's "Test: disconnect(0)"). The name is taken off the start of the message,
		// or found near its start and left in ("term 1 server 1 receive ...").
		fmt.Fprintf(&b, "detect      ^%s%s.{0,%d}?%s\n", ansi, timePart, prefixLimit, nodeRe)
		fmt.Fprintf(&b, "line        ^%s%s(?P<msg>.*)$\n", ansi, timePart)
		if atStart*2 >= len(rests) {
			fmt.Fprintf(&b, "msg-node    %s\n", atStartRule)
		} else {
			fmt.Fprintf(&b, "msg-node    %s\n", nodeRe)
		}
	case atStart*2 >= len(rests):
		// No stamp to tell a line of the log from a panic's or a dump's: a line is read when it
		// names a server.
		line := `^` + ansi + nodeRe + `[\s:,\-]*(?P<msg>.*)$`
		fmt.Fprintf(&b, "detect      %s\n", line)
		fmt.Fprintf(&b, "line        %s\n", line)
	default:
		fmt.Fprintf(&b, "detect      ^%s.{0,%d}?%s\n", ansi, prefixLimit, nodeRe)
		fmt.Fprintf(&b, "line        ^%s(?P<msg>.{0,%d}?%s.*)$\n", ansi, prefixLimit, nodeRe)
	}
	if ts != nil {
		fmt.Fprintf(&b, "time        %s\n", ts.layout)
	}
	b.WriteString("# Generic wordings: a term on a line that is no role change may be a message's.\nweak-terms\n")
	if term != "" {
		// First: the field-only rules after it have no term left to state.
		fmt.Fprintf(&b, "# The node's term, where the line's prefix states it.\nfact -      : ^.{0,%d}?%s\n", prefixLimit, term)
	}
	b.WriteString(wordings)
	return b.String()
}

// wordings are the facts of an inferred profile: how people write role changes, votes, commits,
// applies and faults in English, from the corpus of real labs and hobby projects
// (testdata/corpus), and the 6.824 tester's own lines, which name no server.
const wordings = `# The tester's own prints (connect(0), disconnect(0)) and harness tags are not a server's.
harness     node ^(?:TEST|TESTER|TESTING|HARNESS|CONFIG|tester|test|harness|config)$
harness     connect\(\d+\)\s*$
harness     (?i)^(?:\S+\s){0,2}\[?test(?:er)?\]?:\s
fact disconnect : \bdisconnect\((?P<node>\d+)\)
fact reconnect  : \bconnect\((?P<node>\d+)\)
# An election or a timer started again is no server restarting.
fact timer      : (?i)\b(?:re)?start\w*\s+(?:the\s+|a\s+|an\s+)?(?:election\s+)?(?:timer|ticker|timeout)\b
fact timer      : (?i)\b(?:attempt\w*|try|tries|trying|cannot|can't|won't|not)\s+(?:to\s+)?start\w*\s+(?:an?\s+|the\s+|new\s+)*election\b
fact state state=candidate : (?i)\brestart\w*\s+(?:an?\s+|the\s+)?election\b
fact state state=candidate : (?i)\bstart\w*\s+(?:an?\s+|the\s+|new\s+)*election\b
fact state state=candidate : (?i)\belection\s+started\b
fact crash      : (?i)\bcrash(?:ed|es|ing)?\b
fact crash      : (?i)\bkilled\b
fact restart    : (?i)\brestart(?:ed|s|ing)?\s+(?:server|peer|node)\b
fact partition  : (?i)\bpartition
# Role changes: "became leader", "converting to Leader", "changes state from Follower to
# Candidate", "set state Leader", "switchToLeader", "L[1] is a leader now", "成为了新的 leader".
fact state state=leader    : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|switch\w*\s*(?:from\s+\w+\s+)?to|set\s+state|change\w*\s+(?:state\s+)?(?:from\s+\w+\s+)?to|elected|won\s+(?:the\s+)?election\W+becom\w*)\W*(?:a\s+|the\s+|new\s+)*leader\b(?:\s+(?:at\s+|in\s+|of\s+)?(?:term\s+|T)?(?P<term>\d+)\b)?
fact state state=leader    : (?i)^(?:\S+\s+)?is\s+(?:a\s+|the\s+)?(?:new\s+)?leader\b
# Function names as people log them: "becomeLeader", "switchToLeader", "convertToCandidate".
fact state state=leader    : \b(?:[bB]ecome|[bB]ecame|[sS]witchTo|[cC]onvertTo|[cC]hangeTo|[tT]urnTo|[tT]oBe)Leader
fact state state=candidate : \b(?:[bB]ecome|[bB]ecame|[sS]witchTo|[cC]onvertTo|[cC]hangeTo|[tT]urnTo|[tT]oBe)Candidate
fact state state=follower  : \b(?:[bB]ecome|[bB]ecame|[sS]witchTo|[cC]onvertTo|[cC]hangeTo|[tT]urnTo|[tT]oBe)Follower
fact state state=leader    : 成为\S{0,4}\s*(?i:leader)
fact state state=candidate : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|switch\w*\s*(?:from\s+\w+\s+)?to|set\s+state|change\w*\s+(?:state\s+)?(?:from\s+\w+\s+)?to)\W*(?:a\s+|the\s+)*candidate\b(?:\s+(?:at\s+|in\s+|of\s+)?(?:term\s+|T)?(?P<term>\d+)\b)?
fact state state=candidate : 成为\S{0,4}\s*(?i:candidate)
fact state state=follower  : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|switch\w*\s*(?:from\s+\w+\s+)?to|set\s+state|change\w*\s+(?:state\s+)?(?:from\s+\w+\s+)?to|step\w*\s+down\s+to)\W*(?:a\s+|the\s+)*follower\b(?:\s+(?:at\s+|in\s+|of\s+)?(?:term\s+|T)?(?P<term>\d+)\b)?
fact state state=follower  : 成为\S{0,4}\s*(?i:follower)
# Votes: "granted vote to 2", "vote for S1", "F[1] vote to C[2]", a reply with VoteGranted:true.
fact vote granted=true     : (?i)\b(?:grant\w*|cast\w*|give\w*)\s+(?:a\s+|my\s+|the\s+)?vote\s+(?:to|for)\s+(?:server\s+|peer\s+|node\s+|S|[A-Z]\[)?(?P<candidate>\d+)
fact vote granted=true     : (?i)\bvote[sd]?\s+(?:for|to)\s+(?:server\s+|peer\s+|node\s+|S|[A-Z]\[)?(?P<candidate>\d+)
fact vote granted=false    : (?i)\b(?:refus|reject|deny|deni)\w*\s+(?:to\s+)?vote\s+(?:to|for|from)\s+(?:server\s+|peer\s+|node\s+|S|[A-Z]\[)?(?P<candidate>\d+)
fact recv type=RequestVoteReply granted=true : \bVoteGranted:\s*true\b.*\bfrom\s+\W*(?:[Nn]ode\s+|[Ss]erver\s+|[Pp]eer\s+|S)?(?P<from>\d+)
fact commit : (?i)\bcommit\s*index\s*(?:from\s+)?(?:(?P<prev>\d+)\s*(?:-+>|to)\s*)?(?P<commit>\d+)
fact commit : (?i)\bcommit\w*\s+(?:up\s+)?to\s+(?:index\s+)?(?P<commit>\d+)
fact apply  : (?i)\bappl(?:y|ying|ied)\s+(?:log\s+|index\s+|entry\s+|entries\s+)?(?:\d+\s*(?:-|to|\.\.)\s*)?(?P<index>\d+)
# The node's own term: "currentTerm=3", "term=3", "at term 3", "in term 3", "Term:[3]", "term: 3",
# "state Follower, term 3"
# (a struct dump's "Term:3" is a message's).
fact -      : \bcurrentTerm\s*[=:]\s*(?P<term>\d+)
fact -      : \bterm\s*=\s*(?P<term>\d+)
fact -      : (?i)\b(?:at|in)\s+term\s+(?P<term>\d+)
fact -      : \b[Tt]erm:\s*\[(?P<term>\d+)\]
fact -      : \b[Tt]erm:\s+(?P<term>\d+)
fact -      : (?i)\bstate\W+(?:leader|candidate|follower)\W+term\W+(?P<term>\d+)\b
`

// Shapes lists the catalogue (for documentation and tests): time layouts and server shapes.
func Shapes() (timeShapes, nodeShapes []string) {
	for _, t := range times {
		timeShapes = append(timeShapes, t.desc)
	}
	for _, n := range nodes {
		nodeShapes = append(nodeShapes, n.desc)
	}
	sort.Strings(timeShapes)
	return timeShapes, nodeShapes
}

// Suggest writes a --node-re (and --time-layout) for a log no shape of the catalogue reads, from
// its first line that looks like debug output: its stamp, then its first word as the node. It is
// a start for a user to edit, not a guess raftviz reads with; false when no such line.
func Suggest(lines [][]byte) (nodeRe, timeLayout string, ok bool) {
	for _, l := range lines {
		s := strings.TrimRight(ansiRe.ReplaceAllString(string(l), ""), "\r ")
		if s == "" || framing.MatchString(s) {
			continue
		}
		for _, t := range times {
			if strings.HasPrefix(t.layout, "offset") {
				continue
			}
			if regexp.MustCompile(`^` + t.re + `\s+\S+\s`).MatchString(s) {
				return `^(?P<time>` + t.re + `)\s+(?P<node>\S+)\s+(?P<msg>.*)$`, t.layout, true
			}
		}
		if strings.Contains(s, " ") {
			return `^(?P<node>\S+)\s+(?P<msg>.*)$`, "", true
		}
	}
	return "", "", false
}
