package profile

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// Line regexps of log profiles ("^TIME \[LEVEL\]\s+(?:(?P<node>[^\s:]+): )?(?P<msg>.*)$") are run
// on every line of an input. Go's regexp runs them on its backtracker, which visits and memoises
// every byte of the message and was most of a profile's parse time. Yet such a regexp almost
// never needs to take a choice back: a greedy [^\s:]+ followed by ": " cannot match by giving
// characters back, and neither can .* before $.
//
// lineRegexp runs an anchored regexp greedily, without backtracking, and knows when that is
// exact. At every choice (a repetition that could stop earlier, an optional part, an alternation)
// it takes the option Go's regexp prefers first. If the whole regexp then matches, that is the
// first match a backtracking search in preference order finds, which is the leftmost-first match
// Go's regexp reports, captures included. A choice counts only when another option could also
// lead on: a repetition of [^:] that stops before ":" has none. If the greedy run fails after a
// real choice, or a part that was tried and dropped had itself made one, the answer is not known
// and the regexp runs as usual. Unanchored regexps, lazy repetitions and repetitions of parts that
// can match nothing are always left to Go's regexp.
type lineRegexp struct {
	re   *regexp.Regexp
	fast *gnode // nil: no fast path for this regexp
	ncap int    // number of capture slots (2 per group, group 0 included)
	// lit is a literal every match contains (in any case with litFold), for Match to rule
	// lines out without running the regexp.
	lit     string
	litFold bool
	// lead finds where an unanchored regexp's matches can begin (nil: Go's regexp searches).
	lead *leadingWords
	// lazy runs "^.{0,N}?REST" as a search for REST (nil: not of that shape).
	lazy *lazyPrefix
}

// mayContain reports whether b may contain l.lit: it does, or it has bytes beyond ASCII (where
// (?i) matching is the regexp's to decide).
func (l *lineRegexp) mayContain(b []byte) bool {
	if !l.litFold {
		return bytes.Contains(b, []byte(l.lit))
	}
	s := readOnlyString(b)
	return indexFold(s, l.lit) >= 0 || !isASCII(s)
}

func newLineRegexp(re *regexp.Regexp) *lineRegexp {
	l := &lineRegexp{re: re, ncap: 2 * (re.NumSubexp() + 1)}
	l.lit, l.litFold = requiredLiteral(re.String())
	tree, err := parseSyntax(re.String())
	if err != nil {
		return l
	}
	if !beginsWithText(tree) {
		l.lead = newLeadingWords(tree, re.String())
		return l
	}
	var c gcompiler
	n := c.compile(tree, charset{}) // the end of the match: nothing follows that could fail
	if c.unsupported {
		l.lazy = newLazyPrefix(tree, re)
		return l
	}
	l.fast = n
	return l
}

// String returns the regexp's source text.
func (l *lineRegexp) String() string { return l.re.String() }

// maxStackSlots is how many capture slots a match keeps on the stack while it runs.
const maxStackSlots = 24

// FindSubmatchIndex is regexp.FindSubmatchIndex.
func (l *lineRegexp) FindSubmatchIndex(b []byte) []int { return l.findInto(nil, b) }

// findInto is FindSubmatchIndex returning its slots in dst's array where it is big enough: a
// caller that is done with a match before it asks for the next allocates nothing.
func (l *lineRegexp) findInto(dst []int, b []byte) []int {
	if l.lazy != nil {
		if m, ok := l.lazy.find(dst, b); ok {
			return m
		}
	}
	if l.lead != nil && (!l.lead.fold || isASCII(readOnlyString(b))) {
		return l.lead.findFrom(dst, b, -1)
	}
	return l.findAnchored(dst, b)
}

// findAnchored is findInto by the greedy matcher or Go's regexp, for a regexp that begins with
// ^ (leadingWords' anchored runs: a function apart, so that escape analysis sees no recursion and
// leaves dst on its caller's stack).
func (l *lineRegexp) findAnchored(dst []int, b []byte) []int {
	if l.fast != nil {
		if cap(dst) >= l.ncap {
			if m, decided := l.runFast(dst[:l.ncap], b); decided {
				return m
			}
		} else {
			// The slots live on the stack until there is a match to return: most runs (a
			// word candidate of leadingWords, a rule tried on a message) find none.
			var slots [maxStackSlots]int
			caps := slots[:0]
			if l.ncap <= len(slots) {
				caps = slots[:l.ncap]
			} else {
				caps = make([]int, l.ncap)
			}
			if m, decided := l.runFast(caps, b); decided {
				if m == nil {
					return nil
				}
				return slices.Clone(m)
			}
		}
	}
	return l.re.FindSubmatchIndex(b)
}

// Match is regexp.Match.
func (l *lineRegexp) Match(b []byte) bool {
	if l.lit != "" && !l.mayContain(b) {
		return false // a line without the literal every match holds (most lines, for a harness rule)
	}
	if l.fast != nil {
		m := gmatch{in: b, noCaps: true}
		_, ok := m.run(l.fast, 0)
		if ok || !m.abort && m.choices == 0 {
			return ok
		}
	}
	return l.re.Match(b)
}

// MatchString is regexp.MatchString.
func (l *lineRegexp) MatchString(s string) bool {
	if l.fast == nil {
		return l.re.MatchString(s)
	}
	return l.Match(readOnlyBytes(s))
}

// FindStringSubmatchIndex is regexp.FindStringSubmatchIndex.
func (l *lineRegexp) FindStringSubmatchIndex(s string) []int { return l.findStringInto(nil, s) }

// runFast runs the greedy matcher with caps as its slots: the match (caps) or nil, and whether
// that is the answer (false: the regexp must decide).
func (l *lineRegexp) runFast(caps []int, b []byte) ([]int, bool) {
	for i := range caps {
		caps[i] = -1
	}
	m := gmatch{in: b, caps: caps}
	end, ok := m.run(l.fast, 0)
	switch {
	case ok:
		caps[0], caps[1] = 0, end
		return caps, true
	case !m.abort && m.choices == 0:
		return nil, true // no choice was made: no other way to match
	}
	return nil, false
}

// findStringInto is findInto for a string.
func (l *lineRegexp) findStringInto(dst []int, s string) []int {
	if l.fast == nil && l.lead == nil && l.lazy == nil {
		return l.re.FindStringSubmatchIndex(s)
	}
	return l.findInto(dst, readOnlyBytes(s))
}

// readOnlyBytes views a string's bytes without copying them, for the greedy run and regexp,
// which only read their input (messages are matched by several rules each: a copy per rule
// was a measurable part of the profile path).
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// readOnlyString views bytes as a string without copying them, for searches that only read it.
func readOnlyString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func beginsWithText(n *syntax.Regexp) bool {
	for {
		switch n.Op {
		case syntax.OpBeginText:
			return true
		case syntax.OpConcat:
			if len(n.Sub) == 0 {
				return false
			}
			n = n.Sub[0]
		case syntax.OpCapture:
			n = n.Sub[0]
		default:
			return false
		}
	}
}

// charset over-approximates the characters that can begin something: ASCII bytes exactly, all
// non-ASCII runes as one bit. end: the end of the input can be there.
type charset struct {
	ascii [2]uint64
	high  bool
	end   bool
}

// anything is the set of every character and the end: what follows a part when nothing can be
// ruled out.
func anything() charset {
	return charset{ascii: [2]uint64{^uint64(0), ^uint64(0)}, high: true, end: true}
}

func (s *charset) addRune(r rune) {
	if r < utf8.RuneSelf {
		s.ascii[r>>6] |= 1 << (r & 63)
	} else {
		s.high = true
	}
}

func (s *charset) addRange(lo, hi rune) {
	for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
		s.addRune(r)
	}
	if hi >= utf8.RuneSelf {
		s.high = true
	}
}

func (s charset) union(o charset) charset {
	s.ascii[0] |= o.ascii[0]
	s.ascii[1] |= o.ascii[1]
	s.high = s.high || o.high
	s.end = s.end || o.end
	return s
}

// disjoint reports whether no character can be in both (the end does not count: a repetition
// that gave a character back would always have one before it).
func (s charset) disjoint(o charset) bool {
	return s.ascii[0]&o.ascii[0] == 0 && s.ascii[1]&o.ascii[1] == 0 && !(s.high && o.high)
}

// gnode is one part of a regexp compiled for the greedy run.
type gnode struct {
	op       syntax.Op
	lit      []byte // OpLiteral, in UTF-8; lower-cased ASCII when fold
	fold     bool
	class    *runeClass // one-character parts
	min, max int        // repetitions; max -1: no limit
	sub      []*gnode
	cap      int   // OpCapture: group index
	caps     []int // capture groups inside, reset when a tried part is dropped
	first    charset
	follow   charset // what can come right after this part
	nullable bool
	// choice: taking this part's preferred option leaves another that could lead on.
	choice bool
}

// runeClass is a set of runes, with a bitmap for ASCII.
type runeClass struct {
	ascii  [2]uint64
	ranges []rune // pairs lo, hi, for runes >= utf8.RuneSelf
	notNL  bool   // every rune but a newline
}

func (c *runeClass) has(r rune) bool {
	if r < utf8.RuneSelf {
		return c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	for i := 0; i+1 < len(c.ranges); i += 2 {
		if c.ranges[i] <= r && r <= c.ranges[i+1] {
			return true
		}
	}
	return false
}

// span matches the class as many times as it can, at most max times (max < 0: no limit), from
// pos; it returns where it stopped and how many runes it took.
func (c *runeClass) span(in []byte, pos, max int) (int, int) {
	if c.notNL && max < 0 {
		// .* : every byte but a newline (an invalid byte is read as U+FFFD, which . matches).
		end := len(in)
		if i := bytes.IndexByte(in[pos:], '\n'); i >= 0 {
			end = pos + i
		}
		return end, utf8.RuneCount(in[pos:end])
	}
	count := 0
	for (max < 0 || count < max) && pos < len(in) {
		if b := in[pos]; b < utf8.RuneSelf {
			if c.ascii[b>>6]&(1<<(b&63)) == 0 {
				break
			}
			pos++
			count++
			continue
		}
		r, w := utf8.DecodeRune(in[pos:])
		if !c.has(r) {
			break
		}
		pos += w
		count++
	}
	return pos, count
}

func newRuneClass(ranges []rune) *runeClass {
	c := &runeClass{}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			c.ascii[r>>6] |= 1 << (r & 63)
		}
		if hi >= utf8.RuneSelf {
			if lo <= utf8.RuneSelf && hi == utf8.MaxRune && len(ranges) == 4 && ranges[0] == 0 && ranges[1] == '\n'-1 && ranges[2] == '\n'+1 {
				c.notNL = true
			}
			if lo < utf8.RuneSelf {
				lo = utf8.RuneSelf
			}
			c.ranges = append(c.ranges, lo, hi)
		}
	}
	return c
}

func (c *runeClass) charset() charset {
	s := charset{ascii: c.ascii, high: len(c.ranges) > 0}
	return s
}

type gcompiler struct {
	unsupported bool
}

// compile builds the greedy form of n, given what can follow it.
func (c *gcompiler) compile(n *syntax.Regexp, follow charset) *gnode {
	g := &gnode{op: n.Op, follow: follow}
	switch n.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpBeginLine, syntax.OpEndLine, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		g.nullable = true
		if n.Op == syntax.OpEndText || n.Op == syntax.OpEndLine {
			g.first.end = true
		}
	case syntax.OpLiteral:
		if len(n.Rune) == 0 {
			g.op, g.nullable = syntax.OpEmptyMatch, true
			break
		}
		g.fold = n.Flags&syntax.FoldCase != 0
		for _, r := range n.Rune {
			if r == utf8.RuneError {
				c.unsupported = true // regexp reads an invalid byte as U+FFFD
				return g
			}
			if g.fold {
				if r >= utf8.RuneSelf {
					c.unsupported = true // non-ASCII case folding: left to regexp
					return g
				}
				r = lowerASCII(r)
			}
			g.lit = utf8.AppendRune(g.lit, r)
		}
		g.first.addRune(n.Rune[0])
		if g.fold {
			g.first.addRune(lowerASCII(n.Rune[0]))
			g.first.addRune(upperASCII(n.Rune[0]))
			g.first.high = true // the Kelvin sign folds to k, the long s to s
		}
	case syntax.OpCharClass:
		g.class = newRuneClass(n.Rune)
		g.first = g.class.charset()
	case syntax.OpAnyCharNotNL:
		g.class = newRuneClass([]rune{0, '\n' - 1, '\n' + 1, utf8.MaxRune})
		g.first = g.class.charset()
	case syntax.OpAnyChar:
		g.class = newRuneClass([]rune{0, utf8.MaxRune})
		g.first = g.class.charset()
	case syntax.OpCapture:
		g.cap = n.Cap
		g.sub = []*gnode{c.compile(n.Sub[0], follow)}
		g.first, g.nullable = g.sub[0].first, g.sub[0].nullable
		g.caps = append([]int{n.Cap}, g.sub[0].caps...)
	case syntax.OpConcat:
		g.sub = make([]*gnode, len(n.Sub))
		f := follow
		g.nullable = true
		for i := len(n.Sub) - 1; i >= 0; i-- {
			s := c.compile(n.Sub[i], f)
			g.sub[i] = s
			if s.op == syntax.OpWordBoundary || s.op == syntax.OpNoWordBoundary {
				// The assertion reads the character before it too: a repetition before it that
				// stops earlier may pass it where the greedy run fails ("\S+\b" on "5."). Anything
				// may follow, for what comes before.
				f = anything()
			} else if s.nullable {
				f = s.first.union(f)
			} else {
				f = s.first
				g.nullable = false
			}
		}
		g.first = f
		if g.nullable {
			// f ended as the follow set united with everything: keep only this part's own.
			g.first = charset{}
			for _, s := range g.sub {
				g.first = g.first.union(s.first)
			}
		}
		for _, s := range g.sub {
			g.caps = append(g.caps, s.caps...)
		}
	case syntax.OpAlternate:
		for _, b := range n.Sub {
			s := c.compile(b, follow)
			if s.nullable {
				g.nullable = true
			}
			// A branch after one that can begin with the same character is another way on.
			if !s.first.disjoint(g.first) || s.nullable {
				g.choice = true
			}
			g.first = g.first.union(s.first)
			g.sub = append(g.sub, s)
			g.caps = append(g.caps, s.caps...)
		}
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if n.Flags&syntax.NonGreedy != 0 {
			c.unsupported = true
			return g
		}
		g.min, g.max = 0, -1
		switch n.Op {
		case syntax.OpPlus:
			g.min = 1
		case syntax.OpQuest:
			g.max = 1
		case syntax.OpRepeat:
			g.min, g.max = n.Min, n.Max
		}
		g.op = syntax.OpRepeat
		// What follows one repetition is another or what follows them all.
		subFollow := follow
		if g.max != 1 {
			first, _ := firstOf(n.Sub[0])
			subFollow = first.union(follow)
		}
		s := c.compile(n.Sub[0], subFollow)
		if s.nullable {
			c.unsupported = true // repeating what can match nothing: regexp's rules are subtle
			return g
		}
		g.sub = []*gnode{s}
		g.caps = s.caps
		g.first = s.first
		g.nullable = g.min == 0
		// Stopping earlier than the greedy run does leaves the next character as the start of
		// another repetition: a real choice only if what follows could begin with it.
		g.choice = !s.first.disjoint(follow)
	default:
		c.unsupported = true
	}
	return g
}

// firstOf returns what can begin a match of n and whether n can match nothing, as compile
// computes them, without building anything (a repetition needs its part's before compiling it).
func firstOf(n *syntax.Regexp) (charset, bool) {
	var s charset
	switch n.Op {
	case syntax.OpEndText, syntax.OpEndLine:
		s.end = true
		return s, true
	case syntax.OpLiteral:
		if len(n.Rune) == 0 {
			return s, true
		}
		s.addRune(n.Rune[0])
		if n.Flags&syntax.FoldCase != 0 {
			s.addRune(lowerASCII(n.Rune[0]))
			s.addRune(upperASCII(n.Rune[0]))
			s.high = true
		}
		return s, false
	case syntax.OpCharClass:
		return newRuneClass(n.Rune).charset(), false
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		s.ascii = [2]uint64{^uint64(0), ^uint64(0)}
		s.high = true
		return s, false
	case syntax.OpCapture:
		return firstOf(n.Sub[0])
	case syntax.OpConcat:
		for _, sub := range n.Sub {
			f, nullable := firstOf(sub)
			s = s.union(f)
			if !nullable {
				return s, false
			}
		}
		return s, true
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range n.Sub {
			f, nl := firstOf(sub)
			s, nullable = s.union(f), nullable || nl
		}
		return s, nullable
	case syntax.OpStar, syntax.OpQuest:
		f, _ := firstOf(n.Sub[0])
		return f, true
	case syntax.OpPlus:
		return firstOf(n.Sub[0])
	case syntax.OpRepeat:
		f, nullable := firstOf(n.Sub[0])
		return f, nullable || n.Min == 0
	}
	return s, true // assertions and the like: nothing of their own
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

func upperASCII(r rune) rune {
	if 'a' <= r && r <= 'z' {
		return r - ('a' - 'A')
	}
	return r
}

// gmatch is one greedy run over an input.
type gmatch struct {
	in     []byte
	caps   []int
	noCaps bool
	// choices counts the real choices taken so far; abort is set when a part that was tried
	// and dropped had made one (the regexp might have matched it another way).
	choices int
	abort   bool
}

func (m *gmatch) setCap(i, pos int) {
	if !m.noCaps {
		m.caps[i] = pos
	}
}

// run matches n at pos and returns where it ended.
func (m *gmatch) run(n *gnode, pos int) (int, bool) {
	in := m.in
	switch n.op {
	case syntax.OpEmptyMatch:
		return pos, true
	case syntax.OpNoMatch:
		return 0, false
	case syntax.OpBeginText:
		return pos, pos == 0
	case syntax.OpEndText:
		return pos, pos == len(in)
	case syntax.OpBeginLine:
		return pos, pos == 0 || in[pos-1] == '\n'
	case syntax.OpEndLine:
		return pos, pos == len(in) || in[pos] == '\n'
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		before := pos > 0 && syntax.IsWordChar(rune(in[pos-1]))
		after := pos < len(in) && syntax.IsWordChar(rune(in[pos]))
		return pos, (before != after) == (n.op == syntax.OpWordBoundary)
	case syntax.OpLiteral:
		if len(in)-pos < len(n.lit) {
			return 0, false
		}
		if !n.fold {
			for i, b := range n.lit {
				if in[pos+i] != b {
					return 0, false
				}
			}
			return pos + len(n.lit), true
		}
		for i, b := range n.lit {
			c := in[pos+i]
			if c >= utf8.RuneSelf {
				m.abort = true // a non-ASCII letter may fold to an ASCII one: let regexp decide
				return 0, false
			}
			if byte(lowerASCII(rune(c))) != b {
				return 0, false
			}
		}
		return pos + len(n.lit), true
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return m.char(n.class, pos)
	case syntax.OpCapture:
		end, ok := m.run(n.sub[0], pos)
		if ok {
			m.setCap(2*n.cap, pos)
			m.setCap(2*n.cap+1, end)
		}
		return end, ok
	case syntax.OpConcat:
		for _, s := range n.sub {
			var ok bool
			if pos, ok = m.run(s, pos); !ok {
				return 0, false
			}
		}
		return pos, true
	case syntax.OpAlternate:
		for _, s := range n.sub {
			end, ok := m.try(n, s, pos)
			if m.abort {
				return 0, false
			}
			if ok {
				if n.choice {
					m.choices++
				}
				return end, true
			}
		}
		return 0, false
	case syntax.OpRepeat:
		return m.repeat(n, pos)
	}
	m.abort = true
	return 0, false
}

// try runs a part that may be dropped: when it fails, its captures are cleared, and if it had
// made a real choice on the way the run is aborted.
func (m *gmatch) try(parent, s *gnode, pos int) (int, bool) {
	before := m.choices
	var saved [8]int
	keep := saved[:0]
	if !m.noCaps {
		for _, c := range parent.caps {
			keep = append(keep, m.caps[2*c], m.caps[2*c+1])
		}
	}
	end, ok := m.run(s, pos)
	if ok {
		return end, true
	}
	if m.choices != before {
		m.abort = true
	}
	m.choices = before
	for i, c := range parent.caps {
		if !m.noCaps {
			m.caps[2*c], m.caps[2*c+1] = keep[2*i], keep[2*i+1]
		}
	}
	return 0, false
}

func (m *gmatch) char(c *runeClass, pos int) (int, bool) {
	if pos >= len(m.in) {
		return 0, false
	}
	r, w := rune(m.in[pos]), 1
	if r >= utf8.RuneSelf {
		r, w = utf8.DecodeRune(m.in[pos:])
	}
	if !c.has(r) {
		return 0, false
	}
	return pos + w, true
}

func (m *gmatch) repeat(n *gnode, pos int) (int, bool) {
	s := n.sub[0]
	count := 0
	if c := s.class; c != nil {
		pos, count = c.span(m.in, pos, n.max)
	}
	for s.class == nil && (n.max < 0 || count < n.max) {
		var end int
		var ok bool
		if count < n.min {
			end, ok = m.run(s, pos)
		} else {
			end, ok = m.try(n, s, pos)
		}
		if m.abort {
			return 0, false
		}
		if !ok {
			break
		}
		pos = end
		count++
	}
	if count < n.min {
		return 0, false
	}
	if count > n.min && n.choice {
		m.choices++
	}
	return pos, true
}
