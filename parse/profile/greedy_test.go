package profile

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// randomRegexp builds an anchored regexp over a small alphabet, with the constructs log profiles
// use: literals, classes, captures, optional parts, repetitions, alternations, anchors.
func randomRegexp(r *rand.Rand, depth int) string {
	atoms := []string{"a", "b", ":", " ", `\d`, `\s`, `[^\s:]`, `[ab]`, `.`, `[a-c:]`, `\w`, "ab", "a:", `\b`, `\B`, "(?i:a)", "é", `[^a]`, `\S`, `\.`}
	if depth <= 0 || r.IntN(3) == 0 {
		return atoms[r.IntN(len(atoms))]
	}
	switch r.IntN(7) {
	case 0:
		return randomRegexp(r, depth-1) + randomRegexp(r, depth-1)
	case 1:
		return "(" + randomRegexp(r, depth-1) + ")"
	case 2:
		return "(?:" + randomRegexp(r, depth-1) + "|" + randomRegexp(r, depth-1) + ")"
	case 3:
		return "(?:" + randomRegexp(r, depth-1) + ")" + []string{"?", "*", "+", "{2}", "{1,3}", "{0,2}", "*?"}[r.IntN(7)]
	case 4:
		return "(?P<g" + string(rune('a'+r.IntN(26))) + ">" + randomRegexp(r, depth-1) + ")"
	default:
		return randomRegexp(r, depth-1) + randomRegexp(r, depth-1) + randomRegexp(r, depth-1)
	}
}

func randomInput(r *rand.Rand) []byte {
	alphabet := []string{"a", "b", "c", ":", " ", "1", "9", "\n", "é", "A", "\xff"}
	n := r.IntN(12)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return []byte(b.String())
}

// TestGreedyMatchesRegexp checks the greedy run against Go's regexp on random regexps and inputs:
// same match, same captures, every time.
func TestGreedyMatchesRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	fast, decided := 0, 0
	var scratch [maxStackSlots]int
	for i := 0; i < 4000; i++ {
		expr := "^" + randomRegexp(r, 4)
		if r.IntN(2) == 0 {
			expr += "$"
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatal(expr, err)
		}
		l := newLineRegexp(re)
		if l.fast != nil {
			fast++
		}
		for j := 0; j < 40; j++ {
			in := randomInput(r)
			want := re.FindSubmatchIndex(in)
			if got := l.FindSubmatchIndex(in); !slices.Equal(got, want) {
				t.Fatalf("%q on %q: got %v, regexp says %v", expr, in, got, want)
			}
			if got := l.findInto(scratch[:0], in); !slices.Equal(got, want) {
				t.Fatalf("%q on %q into scratch slots: got %v, regexp says %v", expr, in, got, want)
			}
			if got := l.Match(in); got != (want != nil) {
				t.Fatalf("%q on %q: Match %v, regexp says %v", expr, in, got, want != nil)
			}
			if l.fast != nil && greedyDecides(l, in) {
				decided++
			}
		}
	}
	// The fast path must be taken, or the test proves nothing about it.
	t.Logf("fast %d decided %d", fast, decided)
	if fast < 2000 || decided < 40000 {
		t.Fatalf("greedy path used for %d of 4000 regexps, decided %d of 160000 matches", fast, decided)
	}
}

// greedyDecides reports whether the greedy run answered without falling back to regexp.
func greedyDecides(l *lineRegexp, in []byte) bool {
	m := gmatch{in: in, caps: make([]int, l.ncap)}
	_, ok := m.run(l.fast, 0)
	return ok || !m.abort && m.choices == 0
}

// TestBuiltinLineRegexpsAreFast runs every regexp of the built-in profiles over every line of
// the fixtures: the answers agree with Go's regexp, and the line regexps decide (nearly) every
// line without it, which is what makes the profile path fast.
func TestBuiltinLineRegexpsAreFast(t *testing.T) {
	var lines [][]byte
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "fixtures", "*.log"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, slices.Clone(sc.Bytes()))
		}
		fh.Close()
	}
	if len(lines) < 1000 {
		t.Fatalf("only %d fixture lines", len(lines))
	}
	for _, p := range Builtins() {
		if p.line == nil {
			continue
		}
		if p.line.fast == nil {
			t.Errorf("%s: line regexp %q has no fast path", p.Name, p.line)
			continue
		}
		fallbacks := 0
		for _, in := range lines {
			want := p.line.re.FindSubmatchIndex(in)
			if got := p.line.FindSubmatchIndex(in); !slices.Equal(got, want) {
				t.Fatalf("%s on %q: got %v, regexp says %v", p.Name, in, got, want)
			}
			if !greedyDecides(p.line, in) {
				fallbacks++
			}
		}
		if fallbacks > len(lines)/100 {
			t.Errorf("%s: %d of %d lines fell back to regexp", p.Name, fallbacks, len(lines))
		}
	}
}

// TestFoldIndexFindsEveryLiteral checks the one-pass literal scan against strings.Contains on a
// lower-cased copy, for random literal sets and texts.
func TestFoldIndexFindsEveryLiteral(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abAB: "[r.IntN(6)]
		}
		return string(b)
	}
	for i := 0; i < 500; i++ {
		x := &foldIndex{}
		for j := 0; j < 1+r.IntN(12); j++ {
			x.bit(strings.ToLower(word(1 + r.IntN(5))))
		}
		x.build()
		for j := 0; j < 50; j++ {
			text := word(r.IntN(30))
			found, high := x.scan(text)
			if high {
				t.Fatalf("%q: reported non-ASCII", text)
			}
			for b, lit := range x.lits {
				want := strings.Contains(strings.ToLower(text), lit)
				if got := found&(1<<b) != 0; got != want {
					t.Fatalf("literals %q, text %q: %q found=%v, want %v", x.lits, text, lit, got, want)
				}
				if got := indexFold(text, lit) >= 0; got != want {
					t.Fatalf("indexFold(%q, %q) = %v, want %v", text, lit, got, want)
				}
			}
		}
	}
	if _, high := (&foldIndex{}).scan("é"); !high {
		t.Fatal("a non-ASCII text must be left to the regexp")
	}
}

// TestRFC3339MatchesTimeParse checks the hand-written stamp reader against time.Parse on random
// stamps, valid and broken: the same instant, or no answer (time.Parse then decides).
func TestRFC3339MatchesTimeParse(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	num := func(n, max int) string {
		v := r.IntN(max + 1)
		s := strconv.Itoa(v)
		for len(s) < n {
			s = "0" + s
		}
		return s
	}
	zones := []string{"Z", "+01:00", "-07:30", "+0530", "-1200", "+23:59", "+24:00", "Z ", "", "+1:00"}
	agreed := 0
	for i := 0; i < 200000; i++ {
		s := num(4, 9999) + "-" + num(2, 13) + "-" + num(2, 32) + "T" + num(2, 24) + ":" + num(2, 60) + ":" + num(2, 60)
		if frac := r.IntN(12); frac > 0 {
			s += "." + num(frac, 999999999)[:frac]
		}
		s += zones[r.IntN(len(zones))]
		if r.IntN(20) == 0 { // a broken byte anywhere
			b := []byte(s)
			b[r.IntN(len(b))] = "x-:T.9"[r.IntN(6)]
			s = string(b)
		}
		layout := time.RFC3339Nano
		if !strings.Contains(s[min(len(s), 19):], ":") {
			layout = "2006-01-02T15:04:05.999999999Z0700"
		}
		want, err := time.Parse(layout, s)
		got, ok := UnixNanoRFC3339(s)
		if ok && (err != nil || got != want.UnixNano()) {
			t.Fatalf("%q: got %d, time.Parse says %v (%v)", s, got, want.UnixNano(), err)
		}
		if ok {
			agreed++
		}
		if !ok && err == nil {
			t.Fatalf("%q: not read, time.Parse reads %v", s, want)
		}
	}
	if agreed < 10000 {
		t.Fatalf("only %d stamps read", agreed)
	}
	for _, l := range []string{time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if !isRFC3339Layout(l) {
			t.Errorf("%q not taken for RFC 3339", l)
		}
	}
	for _, l := range []string{"2006-01-02T15:04:05.000Z07:00", "2006/01/02 15:04:05", time.Kitchen} {
		if isRFC3339Layout(l) {
			t.Errorf("%q taken for RFC 3339", l)
		}
	}
}

// TestGreedyWordBoundaryAfterRepetition: a \b or \B after a repetition can make the repetition
// give characters back ("\S+\b" on "5." matches "5"), which the greedy run must not take for a
// failure.
func TestGreedyWordBoundaryAfterRepetition(t *testing.T) {
	for _, c := range []struct{ expr, in string }{
		{`^commit index (?P<commit>\S+)\b`, "commit index 5."},
		{`^(?P<a>\S+)\B`, "ab."},
		{`^x(?P<a>[a-z.]*)\b.*$`, "xab.. tail"},
		{`^(?P<n>\d+\.?)\b`, "12."},
	} {
		re := regexp.MustCompile(c.expr)
		l := newLineRegexp(re)
		want := re.FindSubmatchIndex([]byte(c.in))
		if got := l.FindSubmatchIndex([]byte(c.in)); !slices.Equal(got, want) {
			t.Errorf("%q on %q: got %v, regexp says %v", c.expr, c.in, got, want)
		}
		if got := l.Match([]byte(c.in)); got != (want != nil) {
			t.Errorf("%q on %q: Match %v, regexp says %v", c.expr, c.in, got, want != nil)
		}
	}
}
