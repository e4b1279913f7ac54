package parse

import (
	"fmt"
	"regexp"
	"strings"
)

// Matcher selects tests the way go test -run does: the pattern is split at slashes that are not
// inside brackets or parentheses, and each part must match the corresponding level of the test
// name (TestA/sub). A name with fewer levels than the pattern matches if its levels do, as go test
// runs a parent to reach the subtests the pattern names.
type Matcher struct {
	levels []*regexp.Regexp
}

// NewMatcher compiles a -run pattern. The empty pattern matches everything.
func NewMatcher(pattern string) (*Matcher, error) {
	m := &Matcher{}
	if pattern == "" {
		return m, nil
	}
	for _, part := range splitRegexp(pattern) {
		re, err := regexp.Compile(part)
		if err != nil {
			return nil, fmt.Errorf("invalid -run pattern %q: %v", pattern, err)
		}
		m.levels = append(m.levels, re)
	}
	return m, nil
}

// MatchTest reports whether a test is selected by its name, or by its package-qualified name
// (raft.TestElection) when its package is known.
func (m *Matcher) MatchTest(t *Test) bool {
	return m.Match(t.Name) || t.Package != "" && m.Match(t.QualifiedName())
}

// NamesPackage reports whether the pattern selects by package (raft\.TestElection): a dot
// before a test function's name, which no Go test name contains. The input's tests must then
// carry their package before they are matched (Options.HoldForPackage).
func (m *Matcher) NamesPackage() bool {
	return m != nil && len(m.levels) > 0 && packagePattern.MatchString(m.levels[0].String())
}

var packagePattern = regexp.MustCompile(`\\\.|[\w\])]\.\^?\(?(Test|Benchmark|Example|Fuzz)`)

// Match reports whether a test name is selected.
func (m *Matcher) Match(name string) bool {
	if m == nil || len(m.levels) == 0 {
		return true
	}
	elems := strings.Split(name, "/")
	for i, e := range elems {
		if i >= len(m.levels) {
			break
		}
		if !m.levels[i].MatchString(e) {
			return false
		}
	}
	return true
}

// splitRegexp splits at '/' outside [] and (), as the testing package does.
func splitRegexp(s string) []string {
	var parts []string
	cs, cp := 0, 0
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			cs++
		case ']':
			if cs--; cs < 0 {
				cs = 0
			}
		case '(':
			if cs == 0 {
				cp++
			}
		case ')':
			if cs == 0 {
				cp--
			}
		case '\\':
			i++
		case '/':
			if cs == 0 && cp == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
