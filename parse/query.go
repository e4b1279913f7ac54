package parse

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Query is text looked for in events, as raftviz --grep and the timeline's search look: in an
// event's message, kind and fields (as key=value). A query is a regular expression after "re:";
// otherwise plain text, in any case unless it has a capital letter (smart case, as in less and
// ripgrep).
type Query struct {
	text string         // as given
	sub  string         // the plain text to find
	fold bool           // sub is found in any case
	re   *regexp.Regexp // the regexp after "re:"
}

// NewQuery compiles a query. An invalid regexp is an error that says what is wrong with it.
func NewQuery(s string) (Query, error) {
	q := Query{text: s}
	if rest, ok := strings.CutPrefix(s, "re:"); ok {
		re, err := regexp.Compile(rest)
		if err != nil {
			var serr *syntax.Error
			if errors.As(err, &serr) {
				return q, fmt.Errorf("bad regexp: %s: %s", serr.Code, serr.Expr)
			}
			return q, fmt.Errorf("bad regexp: %v", err)
		}
		q.re = re
		return q, nil
	}
	q.sub, q.fold = s, s == strings.ToLower(s)
	return q, nil
}

// Empty reports whether the query looks for nothing.
func (q Query) Empty() bool { return q.re == nil && q.sub == "" }

// String returns the query as it was given.
func (q Query) String() string { return q.text }

// Find returns where the query first occurs in s, or -1, -1.
func (q Query) Find(s string) (start, end int) {
	var i int
	switch {
	case q.re != nil:
		if loc := q.re.FindStringIndex(s); loc != nil && loc[1] > loc[0] {
			return loc[0], loc[1]
		}
		return -1, -1
	case q.fold:
		i = IndexFold(s, q.sub)
	default:
		i = strings.Index(s, q.sub)
	}
	if i < 0 {
		return -1, -1
	}
	return i, i + len(q.sub)
}

// In reports whether the query occurs in s.
func (q Query) In(s string) bool { i, _ := q.Find(s); return i >= 0 }

// Matches reports whether an event has the query in its message, kind or fields.
func (q Query) Matches(e *Event) bool {
	if q.In(e.Msg) || q.In(e.Kind) {
		return true
	}
	for k, v := range e.Fields.All() {
		if q.inField(k, v) {
			return true
		}
	}
	return false
}

// inField reports whether the query occurs in key=value, without building that string for a
// plain-text query (a search reads every field of a million events).
func (q Query) inField(key, value string) bool {
	if q.re != nil {
		return q.In(key + "=" + value)
	}
	k, v, ok := strings.Cut(q.sub, "=")
	if !ok {
		return q.In(key) || q.In(value)
	}
	if q.In(value) {
		return true
	}
	// Keys hold no "=": otherwise the query's first "=" is the one between key and value.
	if len(key) < len(k) || len(value) < len(v) {
		return false
	}
	if q.fold {
		return strings.EqualFold(key[len(key)-len(k):], k) && strings.EqualFold(value[:len(v)], v)
	}
	return key[len(key)-len(k):] == k && value[:len(v)] == v
}
