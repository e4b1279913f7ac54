package profile

import (
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/raftviz/raftviz/parse/eventline"
)

// rule is one "fact" line: when its regexp matches a message, the message states a fact of kind
// with the constant fields and the regexp's named groups as fields.
type rule struct {
	kind   string
	consts []eventline.Field
	re     *regexp.Regexp
	names  []string // subexpression names, by index
	node   int      // index of a (?P<node>...) group: the fact is about that node
	// lit is a string every match contains (fold: in any case). Most messages do not contain
	// it, and strings.Index is far cheaper than running the regexp.
	lit  string
	fold bool
	// anyOf are further sets of strings of which every match contains at least one each (the
	// alternatives of "(?:becom|convert|elected)"), checked after lit.
	anyOf []literalSet
}

type literalSet struct {
	alts []string
	fold bool
}

func (ls literalSet) in(msg, lower string) bool {
	if ls.fold {
		msg = lower
	}
	for _, a := range ls.alts {
		if strings.Contains(msg, a) {
			return true
		}
	}
	return false
}

// toLower is strings.ToLower for ASCII letters only (the literals are ASCII); a message with no
// upper-case letter is returned as it is, without allocating.
func toLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
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
	r.re, r.names = re, re.SubexpNames()
	r.node = re.SubexpIndex("node")
	r.lit, r.fold = requiredLiteral(re.String())
	r.anyOf = requiredAlternatives(re.String())
	return r, nil
}

// match applies the rule to a message and returns the fact and the span the regexp matched. lower
// is the message in ASCII lower case, for the case-insensitive literal checks.
func (r *rule) match(msg, lower string) (f Fact, lo, hi int, ok bool) {
	if r.lit != "" {
		in := msg
		if r.fold {
			in = lower
		}
		if !strings.Contains(in, r.lit) {
			return Fact{}, 0, 0, false
		}
	}
	for _, set := range r.anyOf {
		if !set.in(msg, lower) {
			return Fact{}, 0, 0, false
		}
	}
	m := r.re.FindStringSubmatchIndex(msg)
	if m == nil {
		return Fact{}, 0, 0, false
	}
	f = r.fact(msg, m)
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

// requiredLiteral returns the longest literal that every match of expr contains, and whether it
// is matched without regard to case; "" when there is none worth checking.
func requiredLiteral(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
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
	re, err := syntax.Parse(expr, syntax.Perl)
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
