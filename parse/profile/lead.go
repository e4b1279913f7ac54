package profile

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// An unanchored regexp that begins with a word ("\bterm\s*=", "\b(?:[Ss]erver|[Nn]ode)[ :=]+")
// is tried by Go's regexp at every byte of the message: it finds no literal prefix to skip to
// when the regexp begins with \b, an alternation or a case-insensitive word, and its backtracker
// clears a bitmap the size of the rest of the message at each try. That was most of the time of
// an inferred profile, whose server token and wordings are such regexps.
//
// A leadingWords search instead finds where a match can begin: at an occurrence of one of the
// words every match begins with (compared without regard to ASCII case, which only adds
// candidates), after a word boundary when the regexp begins with \b. The regexp then runs
// anchored at each candidate, leftmost first. All match starts are candidates, and the anchored
// regexp finds at a start exactly the match the unanchored one prefers there, so the first
// candidate that matches gives Go's leftmost-first answer, submatches included.
type leadingWords struct {
	words   []string  // ASCII, lower case where fold; at most maxLeadingWords
	longest int       // the longest word's length
	starts  [256]bool // the bytes a word begins with, in both cases where fold
	fold    bool      // compare without regard to case (then only on ASCII messages: see message)
	word    bool      // the regexp begins with \b: a candidate must begin a word
	at      *lineRegexp
}

// maxLeadingWords bounds the words looked for: beyond it, scanning the message for each costs
// more than the regexp's own search.
const maxLeadingWords = 12

// newLeadingWords returns the search for an unanchored regexp whose every match begins with one
// of a few words, or nil.
func newLeadingWords(tree *syntax.Regexp, expr string) *leadingWords {
	n := tree.Simplify()
	lw := &leadingWords{}
	if n.Op == syntax.OpConcat && len(n.Sub) > 1 && n.Sub[0].Op == syntax.OpWordBoundary {
		lw.word = true
		n = &syntax.Regexp{Op: syntax.OpConcat, Sub: n.Sub[1:]}
	}
	words, _, ok := wordPrefixes(n, &lw.fold)
	if !ok || len(words) == 0 || len(words) > maxLeadingWords {
		return nil
	}
	for _, w := range words {
		if len(w) < 2 {
			return nil // a one-letter candidate is nearly every position
		}
		if lw.word && !isWordByte(w[0]) {
			return nil // \b before a non-word byte asks for a word byte before the match
		}
	}
	if lw.fold {
		// Searched without regard to case (indexFold wants lower case), also the parts that
		// are of one case in the regexp ("Leader" after "[bB]ecome"): the anchored run decides.
		for i, w := range words {
			words[i] = strings.ToLower(w)
		}
	}
	// A word that begins with another is found where the other is: keep the shorter.
	slices.Sort(words)
	words = slices.Compact(words)
	kept := words[:0]
	for _, w := range words {
		if len(kept) == 0 || !strings.HasPrefix(w, kept[len(kept)-1]) {
			kept = append(kept, w)
		}
	}
	if containsAnchor(tree) {
		return nil // ^, $ of a line or \A inside would see the candidate's start as the text's
	}
	at, err := regexp.Compile(`^(?:` + expr + `)`)
	if err != nil {
		return nil
	}
	lw.words, lw.at = kept, newLineRegexp(at)
	for _, w := range kept {
		lw.longest = max(lw.longest, len(w))
		lw.starts[w[0]] = true
		if lw.fold {
			lw.starts[upperByte(w[0])] = true
		}
	}
	return lw
}

// wordPrefixes returns strings of which every match of n begins with one (lower case where a
// letter may be in either case, which sets *fold), whether every match of n is exactly one of
// them (complete: what follows n can extend them), and false when some match can begin with
// anything.
func wordPrefixes(n *syntax.Regexp, fold *bool) (pre []string, complete, ok bool) {
	switch n.Op {
	case syntax.OpLiteral:
		s := string(n.Rune)
		if !isASCII(s) {
			return nil, false, false
		}
		if n.Flags&syntax.FoldCase != 0 {
			s = strings.ToLower(s)
			*fold = true
		}
		return []string{s}, true, true
	case syntax.OpCharClass:
		// [x] or [Ss]: one letter in either case.
		r := n.Rune
		switch {
		case len(r) == 2 && r[0] == r[1] && r[0] < 0x80:
			return []string{string(r[0])}, true, true
		case len(r) == 4 && r[0] == r[1] && r[2] == r[3] && 'A' <= r[0] && r[0] <= 'Z' && r[2] == r[0]+'a'-'A':
			*fold = true
			return []string{string(r[2])}, true, true
		}
		return nil, false, false
	case syntax.OpCapture:
		return wordPrefixes(n.Sub[0], fold)
	case syntax.OpAlternate:
		complete = true
		for _, b := range n.Sub {
			p, c, ok := wordPrefixes(b, fold)
			if !ok {
				return nil, false, false
			}
			pre = append(pre, p...)
			complete = complete && c
		}
		return pre, complete, len(pre) <= maxLeadingWords
	case syntax.OpConcat:
		pre, complete = []string{""}, true
		for _, sub := range n.Sub {
			p, c, ok := wordPrefixes(sub, fold)
			if !ok || len(pre)*len(p) > maxLeadingWords {
				complete = false
				break
			}
			var next []string
			for _, a := range pre {
				for _, b := range p {
					next = append(next, a+b)
				}
			}
			pre = next
			if !c {
				complete = false
				break
			}
		}
		if len(pre) == 1 && pre[0] == "" {
			return nil, false, false
		}
		return pre, complete, true
	}
	return nil, false, false
}

// containsAnchor reports whether n asserts the beginning or end of a line or of the text.
func containsAnchor(n *syntax.Regexp) bool {
	switch n.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText:
		return true
	}
	for _, s := range n.Sub {
		if containsAnchor(s) {
			return true
		}
	}
	return false
}

// lazyPrefix runs a regexp "^.{0,N}?REST" ("the node's term, in the first 40 characters of the
// message"), which Go's regexp runs on its backtracker, as a search for REST that begins at most
// N characters in: the lazy repetition tries REST at 0, 1, ... N characters in and takes the
// first place where it matches, which is the leftmost match of REST beginning there. REST must
// begin with leading words; the text must be ASCII without a newline (so that characters are
// bytes and "." matches each).
type lazyPrefix struct {
	max  int // N; -1 for ".*?"
	rest *leadingWords
}

// newLazyPrefix returns the search for a regexp "^.{0,N}?REST" or "^.*?REST", or nil.
func newLazyPrefix(tree *syntax.Regexp, re *regexp.Regexp) *lazyPrefix {
	if tree.Op != syntax.OpConcat || len(tree.Sub) < 3 || tree.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	dots := tree.Sub[1]
	max := -1
	switch {
	case dots.Op == syntax.OpStar && dots.Flags&syntax.NonGreedy != 0:
	case dots.Op == syntax.OpRepeat && dots.Flags&syntax.NonGreedy != 0 && dots.Min == 0 && dots.Max >= 0:
		max = dots.Max
	default:
		return nil
	}
	if dots.Sub[0].Op != syntax.OpAnyCharNotNL {
		return nil
	}
	rest := &syntax.Regexp{Op: syntax.OpConcat, Sub: tree.Sub[2:]}
	expr := rest.String()
	// REST alone must number and name its groups as the whole regexp does.
	whole, err := regexp.Compile(expr)
	if err != nil || !slices.Equal(whole.SubexpNames(), re.SubexpNames()) {
		return nil
	}
	lw := newLeadingWords(rest, expr)
	if lw == nil {
		return nil
	}
	return &lazyPrefix{max: max, rest: lw}
}

// find returns the regexp's match in b, as FindSubmatchIndex does, or ok false when b is not
// ASCII or has a newline (then the regexp must decide).
func (lp *lazyPrefix) find(dst []int, b []byte) (m []int, ok bool) {
	if !isASCII(readOnlyString(b)) || bytes.IndexByte(b, '\n') >= 0 {
		return nil, false
	}
	m = lp.rest.findFrom(dst, b, lp.max)
	if m != nil {
		m[0] = 0 // the match begins where the text does: the repetition took what lies before
	}
	return m, true
}

// find returns the leftmost-first match of the regexp in b, as FindSubmatchIndex does.
func (lw *leadingWords) find(b []byte) []int { return lw.findFrom(nil, b, -1) }

// findFrom is find for matches that begin at most limit bytes in (-1: anywhere), returning the
// match's slots in dst's array where it is big enough (lineRegexp.findInto).
func (lw *leadingWords) findFrom(dst []int, b []byte, limit int) []int {
	s := readOnlyString(b)
	words := s // where the words are looked for: a match that begins by limit ends its word by limit+longest
	if limit >= 0 && limit+lw.longest < len(s) {
		words = s[:limit+lw.longest]
	}
	var c candidates
	c.init(lw, words)
	for from := 0; from < len(words); {
		pos := c.next(lw, words, from)
		if pos < 0 || limit >= 0 && pos > limit {
			return nil
		}
		if !lw.word || pos == 0 || !isWordByte(s[pos-1]) {
			if m := lw.at.findAnchored(dst, b[pos:]); m != nil {
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

// shortText is the length up to which the words are found in one pass over the text, byte by
// byte; in a longer text each word is looked for apart (strings.Index and indexFold skip ahead
// many bytes at a time, but each word costs a pass).
const shortText = 128

// candidates finds, one after another, where one of the leading words occurs.
type candidates struct {
	scan bool
	// nextBuf holds each word's next occurrence at or after the last from (-1: none left;
	// -2: not looked for yet), when the words are looked for apart.
	nextBuf [maxLeadingWords]int
}

func (c *candidates) init(lw *leadingWords, text string) {
	c.scan = len(text) <= shortText
	if !c.scan {
		for i := range lw.words {
			c.nextBuf[i] = -2
		}
	}
}

// next is the first place at or after from where a word occurs, or -1.
func (c *candidates) next(lw *leadingWords, text string, from int) int {
	if c.scan {
		for i := from; i < len(text); i++ {
			if !lw.starts[text[i]] {
				continue
			}
			for _, w := range lw.words {
				if hasWordAt(text, i, w, lw.fold) {
					return i
				}
			}
		}
		return -1
	}
	pos := -1
	next := c.nextBuf[:len(lw.words)]
	for i, w := range lw.words {
		if next[i] == -2 || next[i] >= 0 && next[i] < from {
			var j int
			if lw.fold {
				j = indexFold(text[from:], w)
			} else {
				j = strings.Index(text[from:], w)
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
	return pos
}

// hasWordAt reports whether w occurs in text at i (in any ASCII case with fold; w is then lower
// case).
func hasWordAt(text string, i int, w string, fold bool) bool {
	if len(text)-i < len(w) {
		return false
	}
	if !fold {
		return text[i:i+len(w)] == w
	}
	for j := 0; j < len(w); j++ {
		if lowerByte(text[i+j]) != w[j] {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func upperByte(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
