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
	// lead is a literal every match of an unanchored rule begins with, after a \b ("\bterm\s*="):
	// a match can begin only where it occurs, so the rule runs anchored there (at) instead of
	// being tried at every byte of the message, which Go's regexp does for such a rule.
	lead     []string // one of them, for an alternation of words ("\b(?:becom|convert|elected)")
	leadFold bool
	at       *regexp.Regexp // ^(?:expr)
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
	// trans[state+c] for a state's offset (a multiple of 128) and a lower-case ASCII byte c is
	// the next state's offset, plus 1 when literals end there (out[offset/128] says which).
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
	next := [][128]int{{}}
	x.out = []uint64{0}
	// The trie: state 0 is the root; 0 in next means "no edge" until the links are made.
	for i, lit := range x.lits {
		st := 0
		for j := 0; j < len(lit); j++ {
			c := lit[j]
			if next[st][c] == 0 {
				next = append(next, [128]int{})
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
	for c := 0; c < 128; c++ {
		if s := next[0][c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		x.out[st] |= x.out[fail[st]]
		for c := 0; c < 128; c++ {
			s := next[st][c]
			if s == 0 {
				next[st][c] = next[fail[st]][c]
				continue
			}
			fail[s] = next[fail[st]][c]
			queue = append(queue, s)
		}
	}
	x.trans = make([]uint32, 128*len(next))
	for st := range next {
		for c, to := range next[st] {
			e := uint32(to * 128)
			if x.out[to] != 0 {
				e |= 1
			}
			x.trans[st*128+c] = e
		}
	}
}

// lowerASCIITable maps a byte to its lower case; bytes >= 0x80 to 0 (scan reports them).
var lowerASCIITable = func() (t [256]byte) {
	for c := 0; c < 128; c++ {
		t[c] = lowerByte(byte(c))
	}
	return t
}()

// scan returns the literals s contains, and whether s has a byte >= 0x80 (then the answer is
// not used: see message).
func (x *foldIndex) scan(s string) (found uint64, high bool) {
	if len(x.trans) == 0 {
		return 0, !isASCII(s)
	}
	st, any := uint32(0), byte(0)
	trans := x.trans
	for i := 0; i < len(s); i++ {
		c := s[i]
		any |= c
		e := trans[st+uint32(lowerASCIITable[c])]
		st = e &^ 127
		if e&1 != 0 {
			found |= x.out[st/128]
		}
	}
	return found, any >= utf8.RuneSelf
}

// indexFold is the index of lit (ASCII, lower case) in s, ignoring ASCII case, or -1.
func indexFold(s, lit string) int {
	if len(lit) == 0 {
		return 0
	}
	first := lit[0]
	for i := 0; i+len(lit) <= len(s); i++ {
		if lowerByte(s[i]) != first {
			continue
		}
		j := 1
		for j < len(lit) && lowerByte(s[i+j]) == lit[j] {
			j++
		}
		if j == len(lit) {
			return i
		}
	}
	return -1
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// indexFolds puts the case-insensitive literals of the rules in one foldIndex.
func indexFolds(rules []*rule) *foldIndex {
	x := &foldIndex{}
	for _, r := range rules {
		if r.lit != "" && r.fold {
			r.litBit = x.bit(r.lit)
		}
		for _, set := range r.anyOf {
			if set.fold {
				for j, a := range set.alts {
					set.bits[j] = x.bit(a)
				}
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
	if lead, fold := leadingLiterals(re.String()); len(lead) > 0 {
		if at, err := regexp.Compile(`^(?:` + re.String() + `)`); err == nil {
			r.lead, r.leadFold, r.at = lead, fold, at
		}
	}
	r.litBit = -1
	for i := range r.anyOf {
		r.anyOf[i].bits = make([]int, len(r.anyOf[i].alts))
		for j := range r.anyOf[i].bits {
			r.anyOf[i].bits[j] = -1
		}
	}
	return r, nil
}

// match applies the rule to a message and returns the fact and the span the regexp matched.
func (r *rule) match(msg *message) (f Fact, lo, hi int, ok bool) {
	if !strings.HasPrefix(msg.s, r.prefix) {
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
	var m []int
	if r.at != nil && (!r.leadFold || isASCII(msg.s)) {
		m = r.matchAtLead(msg.s)
	} else {
		m = r.re.FindStringSubmatchIndex(msg.s)
	}
	if m == nil {
		return Fact{}, 0, 0, false
	}
	f = r.fact(msg.s, m)
	return f, m[0], m[1], true
}

// matchAtLead finds the rule's leftmost match by running it anchored where one of its leading
// literals occurs at a word boundary, in order, as the unanchored regexp would find it.
func (r *rule) matchAtLead(s string) []int {
	var next [8]int // each literal's next occurrence at or after from (-1: none left)
	for i := range r.lead {
		next[i] = -2 // not looked for yet
	}
	for from := 0; from < len(s); {
		pos := -1
		for i, lit := range r.lead {
			if next[i] == -2 || next[i] >= 0 && next[i] < from {
				var j int
				if r.leadFold {
					j = indexFold(s[from:], lit)
				} else {
					j = strings.Index(s[from:], lit)
				}
				next[i] = -1
				if j >= 0 {
					next[i] = from + j
				}
			}
			if next[i] >= 0 && (pos < 0 || next[i] < pos) {
				pos = next[i]
			}
		}
		if pos < 0 {
			return nil
		}
		if pos == 0 || !isWordByte(s[pos-1]) {
			if m := r.at.FindStringSubmatchIndex(s[pos:]); m != nil {
				for k := range m {
					if m[k] >= 0 {
						m[k] += pos
					}
				}
				return m
			}
		}
		from = pos + 1
	}
	return nil
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// leadingLiterals returns the literals (ASCII, beginning with a word character, up to 8) one of
// which every match of expr begins with right after a \b, and whether they are matched without
// regard to case; none when expr is anchored or begins otherwise.
func leadingLiterals(expr string) ([]string, bool) {
	re, err := parseSyntax(expr)
	if err != nil {
		return nil, false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpWordBoundary {
		return nil, false
	}
	var lits []*syntax.Regexp
	if !firstLiterals(re.Sub[1], &lits) || len(lits) == 0 || len(lits) > 8 {
		return nil, false
	}
	fold := lits[0].Flags&syntax.FoldCase != 0
	var out []string
	for _, l := range lits {
		s := string(l.Rune)
		if len(s) < 2 || !isASCII(s) || !isWordByte(s[0]) || (l.Flags&syntax.FoldCase != 0) != fold {
			return nil, false
		}
		if fold {
			s = strings.ToLower(s)
		}
		out = append(out, s)
	}
	return out, fold
}

// firstLiterals collects the literal each match of n begins with, for every branch of n; false
// when a branch can begin otherwise.
func firstLiterals(n *syntax.Regexp, out *[]*syntax.Regexp) bool {
	switch n.Op {
	case syntax.OpLiteral:
		*out = append(*out, n)
		return true
	case syntax.OpCapture:
		return firstLiterals(n.Sub[0], out)
	case syntax.OpConcat:
		return len(n.Sub) > 0 && firstLiterals(n.Sub[0], out)
	case syntax.OpAlternate:
		for _, b := range n.Sub {
			if !firstLiterals(b, out) {
				return false
			}
		}
		return true
	}
	return false
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
