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
	return r, nil
}

// match applies the rule to a message and returns the fact and the span the regexp matched.
func (r *rule) match(msg string) (f Fact, lo, hi int, ok bool) {
	if r.lit != "" {
		if r.fold {
			if indexFold(msg, r.lit) < 0 {
				return Fact{}, 0, 0, false
			}
		} else if !strings.Contains(msg, r.lit) {
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

// indexFold is strings.Index ignoring ASCII case; sub is lower case.
func indexFold(s, sub string) int {
	n := len(sub)
	c0 := sub[0]
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == c0|0x20 && strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}
