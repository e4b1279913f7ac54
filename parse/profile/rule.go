package profile

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/raftviz/raftviz/parse/eventline"
)

// faultOrNode reports whether the rule states a fault or which node an event is about: what a
// plain table shows of facts.
func (r *rule) faultOrNode() bool { return r.node > 0 || eventline.IsFault(r.kind) }

// namesNode reports whether the rule says which node an event is about.
func (r *rule) namesNode() bool { return r.node > 0 }

// addsNothing reports whether every field the rule can state is in fs already: a field-only
// rule then has nothing to add, and is not run (the term rules of a profile all state "term").
func (r *rule) addsNothing(fs []eventline.Field) bool {
	if len(fs) == 0 {
		return false
	}
	for _, c := range r.consts {
		if !hasKey(fs, c.Key) {
			return false
		}
	}
	for _, n := range r.names {
		if n != "" && !hasKey(fs, n) {
			return false
		}
	}
	return true
}

// rule is one "fact" line: when its regexp matches a message, the message states a fact of kind
// with the constant fields and the regexp's named groups as fields.
type rule struct {
	kind   string
	consts []eventline.Field
	re     *lineRegexp
	names  []string // subexpression names, by index
	node   int      // index of a (?P<node>...) group: the fact is about that node
	// prefix is a literal every match begins with, at the start of the message ("^vote granted"):
	// a comparison of a few bytes rules out nearly every message.
	prefix string
	// lit is a string every match contains (fold: in any case). Most messages do not contain
	// it, and strings.Index is far cheaper than running the regexp.
	lit    string
	fold   bool
	litBit int // lit's place in the profile's foldIndex, or -1
	// anyOf are further sets of strings of which every match contains at least one each (the
	// alternatives of "(?:becom|convert|elected)"), checked after lit.
	anyOf []literalSet
	// need and needAny say the same of lit and anyOf as bits of the profile's foldIndex, which
	// finds every literal of every rule in one pass over a message: a rule whose literals are
	// not all there is ruled out by a few bit operations (need: all of these bits; needAny: one
	// bit of each). They over-approximate (case is ignored); lit and anyOf then decide.
	need    uint64
	needAny []uint64
}

type literalSet struct {
	alts []string
	bits []int // each alternative's place in the profile's foldIndex, or -1
	fold bool
}

func (ls literalSet) in(msg *message) bool {
	for i, a := range ls.alts {
		if msg.contains(a, ls.fold, ls.bits[i]) {
			return true
		}
	}
	return false
}

// message is a message being matched. The profile's case-insensitive literals are looked for
// all at once, in one pass, when a rule first asks (most messages contain none of them).
type message struct {
	s       string
	folds   *foldIndex
	found   uint64
	scanned bool
	high    bool // a byte >= 0x80: (?i)k matches the Kelvin sign, so the regexp must decide
	// slots is room for a rule's match, read into a Fact before the next rule runs.
	slots [maxStackSlots]int
}

// mayHave reports whether the message may contain the literals of bits need (all of them) and
// needAny (one of each).
func (m *message) mayHave(need uint64, needAny []uint64) bool {
	if !m.scanned {
		m.found, m.high = m.folds.scan(m.s)
		m.scanned = true
	}
	if m.high {
		return true
	}
	if m.found&need != need {
		return false
	}
	for _, b := range needAny {
		if m.found&b == 0 {
			return false
		}
	}
	return true
}

// contains reports whether the message may contain lit (lower case when fold); bit is lit's
// place in the foldIndex, or -1.
func (m *message) contains(lit string, fold bool, bit int) bool {
	if !fold {
		return strings.Contains(m.s, lit)
	}
	if bit < 0 || m.folds == nil {
		return indexFold(m.s, lit) >= 0 || !isASCII(m.s)
	}
	if !m.scanned {
		m.found, m.high = m.folds.scan(m.s)
		m.scanned = true
	}
	return m.high || m.found&(1<<bit) != 0
}

// foldIndex finds which of up to 64 ASCII literals a text contains, ignoring case, in one pass
// (an Aho-Corasick automaton over lower-case ASCII).
type foldIndex struct {
	lits []string
	// class maps a byte to its class: bytes that appear in no literal (and bytes >= 0x80) are
	// class 0, each letter of the literals a class of its own in either case. The table is then
	// states x classes, small enough to stay in the first-level cache (a row of 128 bytes per
	// state was not).
	class  [256]uint8
	nclass uint32
	// trans[state+class] for a state's offset (a multiple of nclass) is the next state's offset
	// times 2, plus 1 when literals end there (out[offset/nclass] says which).
	trans []uint32
	out   []uint64
}

// bit returns lit's place in the index, adding it, or -1 when the index is full.
func (x *foldIndex) bit(lit string) int {
	for i, l := range x.lits {
		if l == lit {
			return i
		}
	}
	if len(x.lits) == 64 {
		return -1
	}
	x.lits = append(x.lits, lit)
	return len(x.lits) - 1
}

// build makes the automaton of the literals added.
func (x *foldIndex) build() {
	x.nclass = 1
	for _, lit := range x.lits {
		for j := 0; j < len(lit); j++ {
			if c := lit[j]; x.class[c] == 0 {
				x.class[c] = uint8(x.nclass)
				if u := upperASCII(rune(c)); u != rune(c) {
					x.class[u] = uint8(x.nclass)
				}
				x.nclass++
			}
		}
	}
	nc := int(x.nclass)
	next := [][]int{make([]int, nc)}
	x.out = []uint64{0}
	// The trie: state 0 is the root; 0 in next means "no edge" until the links are made.
	for i, lit := range x.lits {
		st := 0
		for j := 0; j < len(lit); j++ {
			c := x.class[lit[j]]
			if next[st][c] == 0 {
				next = append(next, make([]int, nc))
				x.out = append(x.out, 0)
				next[st][c] = len(next) - 1
			}
			st = next[st][c]
		}
		x.out[st] |= 1 << i
	}
	// Breadth first: a missing edge goes where the longest proper suffix's edge goes.
	fail := make([]int, len(next))
	queue := []int{}
	for c := 1; c < nc; c++ {
		if s := next[0][c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		x.out[st] |= x.out[fail[st]]
		for c := 0; c < nc; c++ {
			s := next[st][c]
			if s == 0 {
				next[st][c] = next[fail[st]][c]
				continue
			}
			fail[s] = next[fail[st]][c]
			queue = append(queue, s)
		}
	}
	x.trans = make([]uint32, nc*len(next))
	for st := range next {
		for c, to := range next[st] {
			e := uint32(to*nc) << 1
			if x.out[to] != 0 {
				e |= 1
			}
			x.trans[st*nc+c] = e
		}
	}
}

// scan returns the literals s contains, and whether s has a byte >= 0x80 (then the answer is
// not used: see message).
func (x *foldIndex) scan(s string) (found uint64, high bool) {
	if len(x.trans) == 0 {
		return 0, !isASCII(s)
	}
	st, any := uint32(0), byte(0)
	trans, nc := x.trans, x.nclass
	for i := 0; i < len(s); i++ {
		c := s[i]
		any |= c
		e := trans[st+uint32(x.class[c])]
		st = e >> 1
		if e&1 != 0 {
			found |= x.out[st/nc]
		}
	}
	return found, any >= utf8.RuneSelf
}

// indexFold is the index of lit (ASCII, lower case) in s, ignoring ASCII case, or -1. It skips
// to occurrences of lit's first byte in either case with strings.IndexByte (vectorised), which
// made it several times faster than comparing at every byte.
func indexFold(s, lit string) int {
	if len(lit) == 0 {
		return 0
	}
	if len(lit) > len(s) {
		return -1
	}
	lo, up := lit[0], lit[0]
	if 'a' <= lo && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	last := len(s) - len(lit) // the last place a match can begin
	nextLo, nextUp := -2, -2  // the next occurrence at or after i of each case (-1: none; -2: not looked)
	if up == lo {
		nextUp = -1
	}
	for i := 0; i <= last; {
		if nextLo != -1 && nextLo < i {
			nextLo = -1
			if j := strings.IndexByte(s[i:last+1], lo); j >= 0 {
				nextLo = i + j
			}
		}
		if nextUp != -1 && nextUp < i {
			nextUp = -1
			if j := strings.IndexByte(s[i:last+1], up); j >= 0 {
				nextUp = i + j
			}
		}
		switch {
		case nextLo < 0 && nextUp < 0:
			return -1
		case nextUp < 0 || nextLo >= 0 && nextLo < nextUp:
			i = nextLo
		default:
			i = nextUp
		}
		j := 1
		for j < len(lit) && lowerByte(s[i+j]) == lit[j] {
			j++
		}
		if j == len(lit) {
			return i
		}
		i++
	}
	return -1
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// indexFolds puts the literals of the rules in one foldIndex, in lower case: a case-insensitive
// literal is looked up there alone; a literal of exact case is looked for only where the index
// says it may be.
func indexFolds(rules []*rule) *foldIndex {
	x := &foldIndex{}
	for _, r := range rules {
		if r.lit != "" {
			bit := x.bit(strings.ToLower(r.lit))
			if r.fold {
				r.litBit = bit
			}
			if bit >= 0 {
				r.need |= 1 << bit
			}
		}
		for _, set := range r.anyOf {
			var mask uint64
			for j, a := range set.alts {
				bit := x.bit(strings.ToLower(a))
				if set.fold {
					set.bits[j] = bit
				}
				if bit < 0 {
					mask = 0
					break
				}
				mask |= 1 << bit
			}
			if mask != 0 {
				r.needAny = append(r.needAny, mask)
			}
		}
	}
	if len(x.lits) == 0 {
		return nil
	}
	x.build()
	return x
}

// parseRule reads "KIND [key=value ...] : REGEXP"; KIND "-" states only fields.
func parseRule(val string, fail func(string, ...any) error, compile func(string) (*regexp.Regexp, error)) (*rule, error) {
	head, expr, ok := strings.Cut(val, " : ")
	if !ok {
		return nil, fail(`fact wants "KIND [key=value ...] : REGEXP"`)
	}
	words := strings.Fields(head)
	if len(words) == 0 {
		return nil, fail("fact needs a kind (or - for fields only)")
	}
	r := &rule{kind: words[0]}
	if r.kind == "-" {
		r.kind = ""
	} else if _, ok := eventline.Schema[r.kind]; !ok {
		return nil, fail("unknown fact kind %q (the kinds of docs/FORMAT.md: %s; or - for fields only)", r.kind, strings.Join(eventline.Kinds(), ", "))
	}
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fail("fact field %q is not key=value", w)
		}
		r.consts = append(r.consts, eventline.Field{Key: k, Value: v})
	}
	re, err := compile(strings.TrimSpace(expr))
	if err != nil {
		return nil, err
	}
	r.re, r.names = newLineRegexp(re), re.SubexpNames()
	r.node = re.SubexpIndex("node")
	r.prefix = anchoredPrefix(re.String())
	r.lit, r.fold = requiredLiteral(re.String())
	if r.lit == r.prefix && !r.fold {
		r.lit = "" // the prefix check says it already
	}
	r.anyOf = requiredAlternatives(re.String())
	r.litBit = -1
	for i := range r.anyOf {
		r.anyOf[i].bits = make([]int, len(r.anyOf[i].alts))
		for j := range r.anyOf[i].bits {
			r.anyOf[i].bits[j] = -1
		}
	}
	return r, nil
}

// mayMatch reports whether the message may contain the rule's literals, as the profile's
// foldIndex found them (cheap: most rules are ruled out here, before match is called).
func (r *rule) mayMatch(msg *message) bool {
	return r.need == 0 && r.needAny == nil || msg.folds == nil || msg.mayHave(r.need, r.needAny)
}

// match applies the rule to a message and returns the fact and the span the regexp matched.
func (r *rule) match(msg *message) (f Fact, lo, hi int, ok bool) {
	if !strings.HasPrefix(msg.s, r.prefix) {
		return Fact{}, 0, 0, false
	}
	if !r.mayMatch(msg) {
		return Fact{}, 0, 0, false
	}
	if r.lit != "" && !msg.contains(r.lit, r.fold, r.litBit) {
		return Fact{}, 0, 0, false
	}
	for _, set := range r.anyOf {
		if !set.in(msg) {
			return Fact{}, 0, 0, false
		}
	}
	m := r.re.findStringInto(msg.slots[:0], msg.s)
	if m == nil {
		return Fact{}, 0, 0, false
	}
	f = r.fact(msg.s, m)
	return f, m[0], m[1], true
}

func (r *rule) fact(msg string, m []int) Fact {
	f := Fact{Kind: r.kind}
	if len(r.consts) > 0 {
		f.Fields = append(make([]eventline.Field, 0, len(r.consts)+len(r.names)), r.consts...)
	}
	for i := 1; i < len(r.names); i++ {
		if r.names[i] == "" || m[2*i] < 0 {
			continue
		}
		v := msg[m[2*i]:m[2*i+1]]
		if i == r.node {
			f.Node = v
			continue
		}
		f.Fields = setField(f.Fields, r.names[i], v)
	}
	return f
}

// setField replaces a constant of the same key (a group can refine it) or appends.
func setField(fs []eventline.Field, k, v string) []eventline.Field {
	for i := range fs {
		if fs[i].Key == k {
			fs[i].Value = v
			return fs
		}
	}
	return append(fs, eventline.Field{Key: k, Value: v})
}

// syntaxTrees caches the parsed trees of the regexps being compiled: each rule's is read by
// several of the helpers below and by the greedy compiler, and parsing was half of building
// the built-in profiles at every start. Trees are only read.
var syntaxTrees struct {
	sync.Mutex
	m map[string]*syntax.Regexp
}

// parseSyntax is syntax.Parse(expr, syntax.Perl), remembered.
func parseSyntax(expr string) (*syntax.Regexp, error) {
	syntaxTrees.Lock()
	defer syntaxTrees.Unlock()
	if re, ok := syntaxTrees.m[expr]; ok {
		return re, nil
	}
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if syntaxTrees.m == nil {
		syntaxTrees.m = map[string]*syntax.Regexp{}
	}
	if len(syntaxTrees.m) < 4096 {
		syntaxTrees.m[expr] = re
	}
	return re, nil
}

// requiredLiteral returns the longest literal that every match of expr contains, and whether it
// is matched without regard to case; "" when there is none worth checking.
func requiredLiteral(expr string) (string, bool) {
	re, err := parseSyntax(expr)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	best, fold := "", false
	var walk func(*syntax.Regexp)
	walk = func(n *syntax.Regexp) {
		switch n.Op {
		case syntax.OpLiteral:
			if s := string(n.Rune); len(s) > len(best) && isASCII(s) {
				best, fold = s, n.Flags&syntax.FoldCase != 0
			}
		case syntax.OpConcat:
			for _, c := range n.Sub {
				walk(c)
			}
		case syntax.OpCapture, syntax.OpPlus:
			walk(n.Sub[0])
		case syntax.OpRepeat:
			if n.Min > 0 {
				walk(n.Sub[0])
			}
		}
	}
	walk(re)
	if len(best) < 3 {
		return "", false
	}
	if fold {
		best = strings.ToLower(best)
	}
	return best, fold
}

// anchoredPrefix returns the literal a match must begin with when expr is anchored at the
// start ("^vote granted: from=..." gives "vote granted: from="), or "".
func anchoredPrefix(expr string) string {
	re, err := parseSyntax(expr)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	if lit := re.Sub[1]; lit.Op == syntax.OpLiteral && lit.Flags&syntax.FoldCase == 0 {
		return string(lit.Rune)
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// requiredAlternatives finds, among the top-level parts of expr, alternations whose every branch
// begins with a literal: every match contains one of those literals.
func requiredAlternatives(expr string) []literalSet {
	re, err := parseSyntax(expr)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	var out []literalSet
	for _, p := range parts {
		for p.Op == syntax.OpCapture {
			p = p.Sub[0]
		}
		if p.Op != syntax.OpAlternate {
			continue
		}
		set := literalSet{}
		ok := true
		for i, b := range p.Sub {
			if b.Op == syntax.OpConcat && len(b.Sub) > 0 {
				b = b.Sub[0]
			}
			if b.Op != syntax.OpLiteral || !isASCII(string(b.Rune)) {
				ok = false
				break
			}
			fold := b.Flags&syntax.FoldCase != 0
			if i > 0 && fold != set.fold {
				ok = false
				break
			}
			set.fold = fold
			lit := string(b.Rune)
			if fold {
				lit = strings.ToLower(lit)
			}
			set.alts = append(set.alts, lit)
		}
		if ok && len(set.alts) > 0 {
			out = append(out, set)
		}
	}
	return out
}
